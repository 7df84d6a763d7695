"""Schema revision checks, race-free creation of new databases, and upgrades.

* :func:`ensure_schema` is called when a store opens: a database at the
  head revision costs one small query; an empty database is created from
  :mod:`.schema` and stamped, under a lock so that parallel processes do not
  race (SQLite ``BEGIN IMMEDIATE``, PostgreSQL ``pg_advisory_xact_lock``,
  MySQL ``GET_LOCK``); an older one raises :class:`SchemaOutOfDateError`.
* :func:`upgrade` runs the Alembic migrations to head under the same lock
  (``storekit db upgrade URI``).
"""

from __future__ import annotations

import contextlib
import zlib
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection

from ...errors import BackendUnavailableError, SchemaOutOfDateError
from . import schema
from .engine import Database

__all__ = ["current_revision", "ensure_schema", "upgrade", "open_database", "MIGRATIONS_DIR"]

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
_version_table = sa.Table(
    schema.VERSION_TABLE, sa.MetaData(), sa.Column("version_num", sa.String(32), primary_key=True)
)


def _read_revision(conn: Connection) -> Optional[str]:
    if not sa.inspect(conn).has_table(schema.VERSION_TABLE):
        return None
    return conn.execute(sa.select(_version_table.c.version_num)).scalar()


def current_revision(db: Database) -> Optional[str]:
    """The database's schema revision, or None for a database storekit never touched (read-only)."""
    from .probe import probe

    return probe(db).revision


@contextlib.contextmanager
def schema_lock(db: Database) -> Iterator[Connection]:
    """A connection holding the database-wide schema lock, inside a transaction where DDL is transactional."""
    conn = db.connect()
    try:
        if db.dialect == "sqlite":
            conn = conn.execution_options(storekit_write=True)  # BEGIN IMMEDIATE
            with conn.begin():
                yield conn
        elif db.dialect == "postgresql":
            key = zlib.crc32(b"storekit-schema")
            with conn.begin():
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})
                yield conn
        else:  # mysql: DDL commits implicitly, so the lock is a named server lock
            name = f"storekit_schema_{db.url.database}"[:64]
            got = conn.execute(sa.text("SELECT GET_LOCK(:n, 120)"), {"n": name}).scalar()
            conn.commit()
            if got != 1:
                raise BackendUnavailableError(f"timed out waiting for the schema lock of {db.redacted_uri}")
            try:
                with conn.begin():
                    yield conn
            finally:
                conn.execute(sa.text("SELECT RELEASE_LOCK(:n)"), {"n": name})
                conn.commit()
    finally:
        conn.close()


def _out_of_date(db: Database, revision: str) -> SchemaOutOfDateError:
    if revision > schema.HEAD_REVISION:
        return SchemaOutOfDateError(
            f"the database {db.redacted_uri} has schema revision {revision}, newer than this "
            f"storekit's {schema.HEAD_REVISION}; upgrade storekit"
        )
    return SchemaOutOfDateError(
        f"the database {db.redacted_uri} has schema revision {revision}, older than "
        f"{schema.HEAD_REVISION}; run: storekit db upgrade {db.redacted_uri}"
    )


def ensure_schema(db: Database, create: bool = True) -> None:
    """Make sure the database is a storekit store at the head revision.

    An empty database (or a missing SQLite file) gets the schema when
    ``create`` is true and raises :class:`~storekit.errors.StoreNotFoundError`
    otherwise; a database holding someone else's tables (an MLflow database)
    raises :class:`~storekit.errors.ForeignStoreError` before anything is
    written; an older storekit schema raises :class:`SchemaOutOfDateError`.
    """
    from .probe import probe, refuse_foreign, require_store

    state = probe(db)
    if state.revision == schema.HEAD_REVISION:
        return
    if state.revision is not None:
        raise _out_of_date(db, state.revision)
    if not create:
        require_store(db, state)
    refuse_foreign(db, state)
    try:
        with schema_lock(db) as conn:
            tables = set(sa.inspect(conn).get_table_names())
            if tables and schema.VERSION_TABLE not in tables:  # filled by someone else meanwhile
                refuse_foreign(db, type(state)(exists=True, tables=frozenset(tables)))
            revision = _read_revision(conn)
            if revision is None:
                # The version table first: from here on the database is recognisably storekit's,
                # so a creation interrupted on MySQL (DDL is not transactional) is resumed, not refused.
                _version_table.create(conn, checkfirst=True)
                schema.metadata.create_all(conn, checkfirst=True)
                if db.dialect == "mysql":
                    schema.apply_mysql_collation(conn, [t.name for t in schema.metadata.sorted_tables])
                conn.execute(sa.insert(_version_table).values(version_num=schema.HEAD_REVISION))
                from .secret import read_or_create_secret

                read_or_create_secret(conn)  # the page-token secret is created with the store
                return
    except sa_exc.SQLAlchemyError as exc:
        raise db.translate(exc) from None
    if revision != schema.HEAD_REVISION:
        raise _out_of_date(db, revision)


def upgrade(
    db: Database,
    target: str = "head",
    on_step: Optional[Callable[[str, str], None]] = None,
) -> tuple[Optional[str], Optional[str]]:
    """Migrate the database to ``target`` (default head); returns ``(before, after)`` revisions.

    An empty database is migrated from nothing.  ``on_step(from, to)`` is
    called after each applied revision (for progress display).
    """
    from alembic import command
    from alembic.config import Config

    from .probe import probe, refuse_foreign

    refuse_foreign(db, probe(db))
    with schema_lock(db) as conn:
        before = _read_revision(conn)
        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
        cfg.attributes["connection"] = conn

        def _applied(*, step: Any, **_kw: Any) -> None:
            if on_step is not None:
                on_step(",".join(step.source_revision_ids) or "none", ",".join(step.destination_revision_ids))

        cfg.attributes["on_version_apply"] = _applied
        command.upgrade(cfg, target)
        after = _read_revision(conn)
    return before, after


def open_database(uri: str, create: bool = True, **engine_options: object) -> Database:
    """Connect to ``uri`` and make sure its schema is current (creating a new store when ``create``)."""
    db = Database(uri, **engine_options)
    try:
        ensure_schema(db, create=create)
    except BaseException:
        db.dispose()
        raise
    return db
