"""Datasets and run inputs (contract section 3b).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storekit.backends.sql.schema import RowId, Str, Txt, apply_mysql_collation

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_MYSQL = {"mysql_charset": "utf8mb4", "mysql_engine": "InnoDB"}


def upgrade() -> None:
    op.create_table(
        "datasets",
        sa.Column("dataset_id", RowId(), primary_key=True, autoincrement=True),
        sa.Column("experiment_id", sa.Integer, sa.ForeignKey("experiments.experiment_id"), nullable=False),
        sa.Column("name", Str(500), nullable=False),
        sa.Column("digest", Str(64), nullable=False),
        sa.Column("source_type", Str(64), nullable=False),
        sa.Column("source", Txt(), nullable=False),
        sa.Column("schema", Txt(), nullable=True),
        sa.Column("profile", Txt(), nullable=True),
        sa.UniqueConstraint("experiment_id", "name", "digest", name="uq_datasets_name_digest"),
        **_MYSQL,
    )
    op.create_table(
        "inputs",
        sa.Column("run_row", RowId(), sa.ForeignKey("runs.row_id"), primary_key=True),
        sa.Column("dataset_id", RowId(), sa.ForeignKey("datasets.dataset_id"), primary_key=True),
        sa.Column("context", Str(250), primary_key=True),
        sa.Column("tags_json", Txt(), nullable=False),
        **_MYSQL,
    )
    bind = op.get_bind()
    if bind.dialect.name == "mysql":
        apply_mysql_collation(bind, ["datasets", "inputs"])


def downgrade() -> None:
    op.drop_table("inputs")
    op.drop_table("datasets")
