"""Logged models, their tags, params and metrics, and run outputs (contract section 3b).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storekit.backends.sql.schema import RowId, Str, Txt, apply_mysql_collation

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_MYSQL = {"mysql_charset": "utf8mb4", "mysql_engine": "InnoDB"}
_TABLES = ["logged_models", "logged_model_tags", "logged_model_params", "logged_model_metrics", "run_outputs"]


def _model_child(name: str, *columns: sa.Column) -> None:
    op.create_table(
        name,
        sa.Column("model_row", RowId(), sa.ForeignKey("logged_models.model_row"), primary_key=True),
        sa.Column("key", Str(250), primary_key=True),
        *columns,
        **_MYSQL,
    )


def upgrade() -> None:
    op.create_table(
        "logged_models",
        sa.Column("model_row", RowId(), primary_key=True, autoincrement=True),
        sa.Column("model_id", Str(64), nullable=False, unique=True),
        sa.Column("experiment_id", sa.Integer, sa.ForeignKey("experiments.experiment_id"), nullable=False),
        sa.Column("name", Str(500), nullable=False),
        sa.Column("artifact_location", Txt(), nullable=False),
        sa.Column("creation_timestamp", sa.BigInteger, nullable=False),
        sa.Column("last_updated_timestamp", sa.BigInteger, nullable=False),
        sa.Column("model_type", Str(500), nullable=True),
        sa.Column("source_run_id", Str(32), nullable=True),
        sa.Column("status", Str(20), nullable=False),
        sa.Column("status_message", Txt(), nullable=True),
        sa.Column("lifecycle_stage", Str(32), nullable=False),
        **_MYSQL,
    )
    op.create_index("ix_logged_models_experiment_created", "logged_models",
                    ["experiment_id", "creation_timestamp"])
    _model_child("logged_model_tags", sa.Column("value", Txt(), nullable=False))
    _model_child("logged_model_params", sa.Column("value", Txt(), nullable=False))
    _model_child(
        "logged_model_metrics",
        sa.Column("value", sa.Double(), nullable=False),
        sa.Column("kind", sa.SmallInteger, nullable=False),
        sa.Column("timestamp", sa.BigInteger, nullable=False),
        sa.Column("step", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "run_outputs",
        sa.Column("run_row", RowId(), sa.ForeignKey("runs.row_id"), primary_key=True),
        sa.Column("model_row", RowId(), sa.ForeignKey("logged_models.model_row"), primary_key=True),
        sa.Column("position", sa.Integer, nullable=False),
        **_MYSQL,
    )
    bind = op.get_bind()
    if bind.dialect.name == "mysql":
        apply_mysql_collation(bind, _TABLES)


def downgrade() -> None:
    for name in reversed(_TABLES):
        op.drop_table(name)
