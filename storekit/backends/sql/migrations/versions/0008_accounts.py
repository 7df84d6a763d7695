"""Accounts of ``storekit server``: users, bearer tokens, grants.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storekit.backends.sql.schema import Str, apply_mysql_collation

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_MYSQL = {"mysql_charset": "utf8mb4", "mysql_engine": "InnoDB"}
_TABLES = ["storekit_users", "storekit_tokens", "storekit_grants"]


def upgrade() -> None:
    op.create_table(
        "storekit_users",
        sa.Column("username", Str(64), primary_key=True),
        sa.Column("password_hash", Str(256), nullable=False),
        sa.Column("is_admin", sa.Boolean, nullable=False),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
        **_MYSQL,
    )
    op.create_table(
        "storekit_tokens",
        sa.Column("token_id", Str(32), primary_key=True),
        sa.Column("sha256", Str(64), nullable=False, unique=True),
        sa.Column("username", Str(64), nullable=False),
        sa.Column("name", Str(100), nullable=False),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
        sa.Column("expires_ms", sa.BigInteger, nullable=True),
        **_MYSQL,
    )
    op.create_table(
        "storekit_grants",
        sa.Column("username", Str(64), primary_key=True),
        sa.Column("kind", Str(32), primary_key=True),
        sa.Column("resource_id", Str(500), primary_key=True),
        sa.Column("permission", Str(32), nullable=False),
        **_MYSQL,
    )
    op.create_index("ix_storekit_grants_resource", "storekit_grants", ["kind", "resource_id"])
    bind = op.get_bind()
    if bind.dialect.name == "mysql":
        apply_mysql_collation(bind, _TABLES)


def downgrade() -> None:
    for name in reversed(_TABLES):
        op.drop_table(name)
