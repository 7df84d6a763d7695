"""Whose database is it? A read-only look before a store opens (or creates) anything.

:func:`probe` lists the tables of a database without writing a byte: a
SQLite file is read through a separate read-only connection (the store's
own connections switch the file to WAL mode, which is a write), a server
database through one read-only transaction.  :func:`refuse_foreign` then
raises :class:`~storekit.errors.ForeignStoreError` for a database that holds
tables but no storekit version table, naming an MLflow database as such.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from typing import Optional
from urllib.parse import quote, unquote, urlsplit

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..opening import foreign_store, mlflow_store, store_not_found
from . import schema
from .engine import Database

__all__ = ["DatabaseState", "probe", "refuse_foreign", "require_store", "MLFLOW_TABLES"]

#: Tables whose presence (with ``alembic_version``) marks an MLflow tracking database.
MLFLOW_TABLES = frozenset({"alembic_version", "experiments", "runs"})


@dataclass(frozen=True)
class DatabaseState:
    """What a database holds, as far as opening a store is concerned."""

    #: False for a SQLite file that does not exist
    exists: bool
    #: names of the tables in the database's default schema
    tables: frozenset[str]
    #: the storekit schema revision (None: no version table, or it is empty)
    revision: Optional[str] = None
    #: the revision in ``alembic_version`` (another application's, e.g. MLflow's)
    foreign_revision: Optional[str] = None
    #: why the database could not be read as a database at all (e.g. not a SQLite file)
    unreadable: Optional[str] = None

    @property
    def is_storekit(self) -> bool:
        """The database carries storekit's version table (possibly still being created)."""
        return schema.VERSION_TABLE in self.tables

    @property
    def is_empty(self) -> bool:
        """No tables at all: a new store may be created here."""
        return self.exists and self.unreadable is None and not self.tables


def _scalar(conn: Connection, table: str) -> Optional[str]:
    value = conn.execute(sa.text(f"SELECT version_num FROM {table}")).scalar()
    return None if value is None else str(value)


def _probe_sqlite(db: Database) -> DatabaseState:
    path = db.url.database
    if path in (None, "", ":memory:") or "mode=memory" in (path or ""):
        return DatabaseState(exists=True, tables=frozenset())
    if str(db.url.query.get("uri", "")).lower() in ("true", "1") and path.startswith("file:"):
        path = unquote(urlsplit(path).path)  # sqlite:///file:/x.db?mode=ro&uri=true
    if not os.path.exists(path):
        return DatabaseState(exists=False, tables=frozenset())
    # Read-only, never ``immutable=1``: an immutable connection takes no locks and trusts the
    # file not to change, and opening one beside live WAL writers of the same database made
    # later connections of this process miss committed rows.  (Reading a closed WAL-mode
    # database read-only lets SQLite create its -wal/-shm side files; MLflow's databases
    # are not in WAL mode, so they stay byte-for-byte untouched.)
    uri = f"file:{quote(os.path.abspath(path))}?mode=ro"
    try:
        raw = sqlite3.connect(uri, uri=True, timeout=30)
    except sqlite3.Error as exc:
        raise db.translate(exc) from None
    try:
        rows = raw.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
        tables = frozenset(str(r[0]) for r in rows)
        revision = foreign = None
        if schema.VERSION_TABLE in tables:
            row = raw.execute(f"SELECT version_num FROM {schema.VERSION_TABLE}").fetchone()
            revision = None if row is None else str(row[0])
        if "alembic_version" in tables:
            row = raw.execute("SELECT version_num FROM alembic_version").fetchone()
            foreign = None if row is None else str(row[0])
    except sqlite3.DatabaseError as exc:
        if "not a database" in str(exc) or "malformed" in str(exc):
            return DatabaseState(exists=True, tables=frozenset(), unreadable="not a SQLite database")
        raise db.translate(exc) from None
    finally:
        raw.close()
    return DatabaseState(exists=True, tables=tables, revision=revision, foreign_revision=foreign)


def _probe_server(conn: Connection) -> DatabaseState:
    tables = frozenset(sa.inspect(conn).get_table_names())
    revision = _scalar(conn, schema.VERSION_TABLE) if schema.VERSION_TABLE in tables else None
    foreign = _scalar(conn, "alembic_version") if "alembic_version" in tables else None
    return DatabaseState(exists=True, tables=tables, revision=revision, foreign_revision=foreign)


def probe(db: Database) -> DatabaseState:
    """The tables and revisions of ``db``, read without writing anything."""
    if db.dialect == "sqlite":
        return _probe_sqlite(db)
    return db.run(_probe_server, write=False)


def refuse_foreign(db: Database, state: DatabaseState) -> None:
    """Raise ForeignStoreError unless ``db`` is empty (or missing) or storekit's own."""
    if state.unreadable is not None:
        raise foreign_store(db.redacted_uri, state.unreadable)
    if not state.tables or state.is_storekit:
        return
    if MLFLOW_TABLES <= state.tables:
        revision = f", schema revision {state.foreign_revision}" if state.foreign_revision else ""
        raise mlflow_store(
            db.redacted_uri, f"an MLflow tracking database: tables experiments, runs, alembic_version{revision}"
        )
    names = sorted(state.tables)
    shown = ", ".join(names[:5]) + (", ..." if len(names) > 5 else "")
    raise foreign_store(
        db.redacted_uri, f"the database holds {len(names)} tables ({shown}) and no {schema.VERSION_TABLE} table"
    )


def require_store(db: Database, state: DatabaseState) -> None:
    """Raise StoreNotFoundError unless ``db`` holds a (complete) storekit store; foreign ones are refused."""
    refuse_foreign(db, state)
    if not state.exists:
        raise store_not_found(db.redacted_uri, "the database file does not exist")
    if state.revision is None:
        raise store_not_found(db.redacted_uri, "the database holds no storekit tables")
