"""Initial tables: experiments, runs, params, tags, metrics, latest metrics, registry.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storekit.backends.sql.schema import RowId, Str, Txt, apply_mysql_collation

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_MYSQL = {"mysql_charset": "utf8mb4", "mysql_engine": "InnoDB"}
_TABLES = [
    "experiments", "experiment_tags", "runs", "params", "tags", "metrics", "latest_metrics",
    "registered_models", "registered_model_tags", "model_versions", "model_version_tags",
    "registered_model_aliases",
]


def _run_child(name: str, *columns: sa.Column) -> None:
    op.create_table(
        name,
        sa.Column("run_row", RowId(), sa.ForeignKey("runs.row_id"), primary_key=True),
        sa.Column("key", Str(250), primary_key=True),
        *columns,
        **_MYSQL,
    )


def upgrade() -> None:
    op.create_table(
        "experiments",
        sa.Column("experiment_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", Str(500), nullable=False, unique=True),
        sa.Column("artifact_location", Txt(), nullable=False),
        sa.Column("lifecycle_stage", Str(32), nullable=False),
        sa.Column("creation_time", sa.BigInteger, nullable=False),
        sa.Column("last_update_time", sa.BigInteger, nullable=False),
        **_MYSQL,
    )
    op.create_table(
        "experiment_tags",
        sa.Column("experiment_id", sa.Integer, sa.ForeignKey("experiments.experiment_id"), primary_key=True),
        sa.Column("key", Str(250), primary_key=True),
        sa.Column("value", Txt(), nullable=False),
        **_MYSQL,
    )
    op.create_table(
        "runs",
        sa.Column("row_id", RowId(), primary_key=True, autoincrement=True),
        sa.Column("run_uuid", Str(32), nullable=False, unique=True),
        sa.Column("experiment_id", sa.Integer, sa.ForeignKey("experiments.experiment_id"), nullable=False),
        sa.Column("name", Str(500), nullable=True),
        sa.Column("user_id", Str(256), nullable=True),
        sa.Column("status", Str(20), nullable=False),
        sa.Column("start_time", sa.BigInteger, nullable=False),
        sa.Column("end_time", sa.BigInteger, nullable=True),
        sa.Column("lifecycle_stage", Str(32), nullable=False),
        sa.Column("artifact_uri", Txt(), nullable=False),
        **_MYSQL,
    )
    op.create_index("ix_runs_experiment_start", "runs", ["experiment_id", "start_time", "run_uuid"])
    _run_child("params", sa.Column("value", Txt(), nullable=False))
    _run_child("tags", sa.Column("value", Txt(), nullable=False))
    op.create_table(
        "metrics",
        sa.Column("id", RowId(), primary_key=True, autoincrement=True),
        sa.Column("run_row", RowId(), sa.ForeignKey("runs.row_id"), nullable=False),
        sa.Column("key", Str(250), nullable=False),
        sa.Column("value", sa.Double(), nullable=False),
        sa.Column("kind", sa.SmallInteger, nullable=False),
        sa.Column("timestamp", sa.BigInteger, nullable=False),
        sa.Column("step", sa.BigInteger, nullable=False),
        sa.Column("model_id", Str(64), nullable=True),
        **_MYSQL,
    )
    op.create_index("ix_metrics_history", "metrics", ["run_row", "key", "step", "timestamp"])
    _run_child(
        "latest_metrics",
        sa.Column("value", sa.Double(), nullable=False),
        sa.Column("kind", sa.SmallInteger, nullable=False),
        sa.Column("timestamp", sa.BigInteger, nullable=False),
        sa.Column("step", sa.BigInteger, nullable=False),
        sa.Column("model_id", Str(64), nullable=True),
    )
    op.create_table(
        "registered_models",
        sa.Column("model_row", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", Str(500), nullable=False, unique=True),
        sa.Column("creation_timestamp", sa.BigInteger, nullable=False),
        sa.Column("last_updated_timestamp", sa.BigInteger, nullable=False),
        sa.Column("description", Txt(), nullable=True),
        sa.Column("next_version", sa.Integer, nullable=False),
        **_MYSQL,
    )
    op.create_table(
        "registered_model_tags",
        sa.Column("model_row", sa.Integer, sa.ForeignKey("registered_models.model_row"), primary_key=True),
        sa.Column("key", Str(250), primary_key=True),
        sa.Column("value", Txt(), nullable=False),
        **_MYSQL,
    )
    op.create_table(
        "model_versions",
        sa.Column("model_row", sa.Integer, sa.ForeignKey("registered_models.model_row"), primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("creation_timestamp", sa.BigInteger, nullable=False),
        sa.Column("last_updated_timestamp", sa.BigInteger, nullable=False),
        sa.Column("description", Txt(), nullable=True),
        sa.Column("user_id", Str(256), nullable=True),
        sa.Column("current_stage", Str(20), nullable=False),
        sa.Column("source", Txt(), nullable=True),
        sa.Column("run_id", Str(32), nullable=True),
        sa.Column("status", Str(32), nullable=False),
        sa.Column("model_id", Str(64), nullable=True),
        **_MYSQL,
    )
    op.create_table(
        "model_version_tags",
        sa.Column("model_row", sa.Integer, primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("key", Str(250), primary_key=True),
        sa.Column("value", Txt(), nullable=False),
        sa.ForeignKeyConstraint(
            ["model_row", "version"], ["model_versions.model_row", "model_versions.version"]
        ),
        **_MYSQL,
    )
    op.create_table(
        "registered_model_aliases",
        sa.Column("model_row", sa.Integer, sa.ForeignKey("registered_models.model_row"), primary_key=True),
        sa.Column("alias", Str(255), primary_key=True),
        sa.Column("version", sa.Integer, nullable=False),
        **_MYSQL,
    )
    bind = op.get_bind()
    if bind.dialect.name == "mysql":
        apply_mysql_collation(bind, _TABLES)


def downgrade() -> None:
    for name in reversed(_TABLES):
        op.drop_table(name)
