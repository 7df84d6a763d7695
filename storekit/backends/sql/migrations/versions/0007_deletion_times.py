"""Deletion times: when a run or experiment was deleted, and when gc began to purge it.

``deleted_time`` (ms) is set by ``delete_run``/``delete_experiment`` and cleared
by restore; ``storekit gc --older-than`` compares it with its cutoff.
``purge_time`` (ms) is set by ``begin_purge`` (the first step of ``storekit gc``)
and makes the entity impossible to restore until gc has removed it.

Rows deleted before this revision keep ``deleted_time`` NULL: "deleted at an
unknown time, before the upgrade".  gc treats them as old enough for any
``--older-than`` (docs/everyday.md).

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_TABLES = ("runs", "experiments")
_COLUMNS = ("deleted_time", "purge_time")


def upgrade() -> None:
    for table in _TABLES:
        with op.batch_alter_table(table) as batch:
            for column in _COLUMNS:
                # NULL for every existing row: a deleted one was deleted at an unknown time
                batch.add_column(sa.Column(column, sa.BigInteger, nullable=True))


def downgrade() -> None:
    for table in _TABLES:
        with op.batch_alter_table(table) as batch:
            for column in reversed(_COLUMNS):
                batch.drop_column(column)
