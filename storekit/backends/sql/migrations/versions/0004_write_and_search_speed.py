"""Faster ingest and search: no per-row foreign-key check on metric points; search indexes.

* ``metrics.run_row`` loses its foreign key.  Every point is inserted in
  the transaction that has just read and locked its run row, runs are never
  hard-deleted, and ``storekit check`` reports orphans; the per-row check
  cost more than half of PostgreSQL's ingest time.
* Indexes on ``(key, kind, value)`` of latest metrics and ``(key, value)``
  of params and tags let a selective filter drive the search instead of
  probing every run of the experiment.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storekit.backends.sql.schema import RowId, Str

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_MYSQL = {"mysql_charset": "utf8mb4", "mysql_engine": "InnoDB"}
_COLUMNS = "id, run_row, key, value, kind, timestamp, step, model_id"
_KEY_VALUE = {"params": "ix_params_key_value", "tags": "ix_tags_key_value"}


def _recreate_sqlite_metrics(with_foreign_key: bool) -> None:
    """SQLite cannot drop or add a constraint: copy into a new table and swap."""
    run_row = sa.Column("run_row", RowId(), nullable=False)
    if with_foreign_key:
        run_row = sa.Column("run_row", RowId(), sa.ForeignKey("runs.row_id"), nullable=False)
    op.create_table(
        "metrics_new",
        sa.Column("id", RowId(), primary_key=True, autoincrement=True),
        run_row,
        sa.Column("key", Str(250), nullable=False),
        sa.Column("value", sa.Double(), nullable=False),
        sa.Column("kind", sa.SmallInteger, nullable=False),
        sa.Column("timestamp", sa.BigInteger, nullable=False),
        sa.Column("step", sa.BigInteger, nullable=False),
        sa.Column("model_id", Str(64), nullable=True),
    )
    op.execute(f"INSERT INTO metrics_new ({_COLUMNS}) SELECT {_COLUMNS} FROM metrics")
    op.drop_index("ix_metrics_history", table_name="metrics")
    op.drop_table("metrics")
    op.rename_table("metrics_new", "metrics")
    op.create_index("ix_metrics_history", "metrics", ["run_row", "key", "step", "timestamp"])


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        _recreate_sqlite_metrics(with_foreign_key=False)
    else:
        for fk in sa.inspect(bind).get_foreign_keys("metrics"):
            op.drop_constraint(fk["name"], "metrics", type_="foreignkey")
    op.create_index("ix_latest_metrics_key_value", "latest_metrics", ["key", "kind", "value"])
    for table, name in _KEY_VALUE.items():
        op.create_index(name, table, ["key", "value"], mysql_length={"value": 255})


def downgrade() -> None:
    for table, name in _KEY_VALUE.items():
        op.drop_index(name, table_name=table)
    op.drop_index("ix_latest_metrics_key_value", table_name="latest_metrics")
    if op.get_bind().dialect.name == "sqlite":
        _recreate_sqlite_metrics(with_foreign_key=True)
    else:
        op.create_foreign_key("metrics_run_row_fkey", "metrics", "runs", ["run_row"], ["row_id"])
