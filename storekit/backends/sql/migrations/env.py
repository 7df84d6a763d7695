"""Alembic environment of the storekit SQL backend.

Run through :func:`storekit.backends.sql.migrate.upgrade`, which passes an
open connection (holding the schema lock) in ``config.attributes``.
"""

from __future__ import annotations

from alembic import context

from storekit.backends.sql.schema import VERSION_TABLE

config = context.config
connection = config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=None,
    version_table=VERSION_TABLE,
    transaction_per_migration=True,
    on_version_apply=config.attributes.get("on_version_apply"),
)
with context.begin_transaction():
    context.run_migrations()
