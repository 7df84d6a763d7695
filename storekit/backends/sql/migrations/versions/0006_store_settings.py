"""Store settings: the secret page tokens are signed with.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storekit.backends.sql.schema import Str, apply_mysql_collation
from storekit.paging import new_store_secret

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    table = op.create_table(
        "storekit_settings",
        sa.Column("name", Str(64), primary_key=True),
        sa.Column("value", Str(256), nullable=False),
        mysql_charset="utf8mb4",
        mysql_engine="InnoDB",
    )
    bind = op.get_bind()
    if bind.dialect.name == "mysql":
        apply_mysql_collation(bind, ["storekit_settings"])
    op.bulk_insert(table, [{"name": "page_token_secret", "value": new_store_secret()}])


def downgrade() -> None:
    op.drop_table("storekit_settings")
