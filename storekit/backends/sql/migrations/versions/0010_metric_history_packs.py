"""Packed metric histories: one Arrow blob per run for the bulk history read.

``metric_history_packs`` holds each run's whole history as an Arrow IPC
stream, written lazily by the bulk history read on SQLite and used only while
no metric row of the run is newer than ``through_id`` and the store's pack
generation is unchanged (see :mod:`storekit.backends.sql.history_packs`).
The table starts empty: nothing is packed by the upgrade.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storekit.backends.sql.schema import Blob, RowId, apply_mysql_collation

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "metric_history_packs",
        sa.Column("run_row", RowId(), sa.ForeignKey("runs.row_id"), primary_key=True, autoincrement=False),
        sa.Column("generation", sa.BigInteger, nullable=False),
        sa.Column("through_id", sa.BigInteger, nullable=False),
        sa.Column("points", sa.BigInteger, nullable=False),
        sa.Column("data", Blob(), nullable=False),
        mysql_charset="utf8mb4",
        mysql_engine="InnoDB",
    )
    bind = op.get_bind()
    if bind.dialect.name == "mysql":
        apply_mysql_collation(bind, ["metric_history_packs"])


def downgrade() -> None:
    op.drop_table("metric_history_packs")
