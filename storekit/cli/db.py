"""``storekit db``: schema management of the SQL backends."""

from __future__ import annotations

import click

__all__ = ["db"]


@click.group()
def db() -> None:
    """Database schema management (SQL backends)."""


@db.command("upgrade")
@click.argument("uri")
def upgrade(uri: str) -> None:
    """Upgrade the database at URI to the current schema revision."""
    from ..backends.sql.engine import Database
    from ..backends.sql.migrate import upgrade as run_upgrade
    from ..backends.sql.schema import HEAD_REVISION
    from ..errors import StorekitError
    from ..uri import redact_uri

    try:
        database = Database(uri)
        click.echo(f"Upgrading {redact_uri(uri)} to schema revision {HEAD_REVISION} ...")

        def step(source: str, target: str) -> None:
            click.echo(f"  applied migration {source} -> {target}")

        before, after = run_upgrade(database, on_step=step)
        database.dispose()
    except StorekitError as exc:
        raise click.ClickException(str(exc)) from None
    if before == after:
        click.echo(f"Already at revision {after}; nothing to do.")
    else:
        click.echo(f"Schema revision: {before or 'none'} -> {after}")
