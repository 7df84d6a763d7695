"""An up-to-date SQLite store on plain :mod:`sqlite3` connections, without SQLAlchemy.

Importing SQLAlchemy costs more than everything else a short script does
with a local store, so :func:`open_current` opens a SQLite file that already
holds a storekit store at :data:`~.basics.HEAD_REVISION` with the standard
library alone: the same connection settings as the engine
(:func:`~.basics.configure_sqlite`), ``BEGIN IMMEDIATE`` for write
transactions, the statement timeout (here bounding each transaction), and
retries of lock contention.  Anything else — a new, old, foreign or
in-memory database, a URI with options — is left to the SQLAlchemy engine.

Errors are classified and worded by :class:`~.engine.Database` (imported on
the first error only), so both paths raise the same storekit errors.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from typing import TYPE_CHECKING, Any, Callable, Optional, TypeVar

from ...errors import StorekitError
from ...uri import redact_uri
from .basics import HEAD_REVISION, SECRET_NAME, VERSION_TABLE, configure_sqlite, statement_timeout

if TYPE_CHECKING:
    from .engine import Database

__all__ = ["RawSqlite", "raw_sqlite_path", "open_current", "RAW_OPTIONS"]

T = TypeVar("T")

#: engine options the raw path honours (any other option means the SQLAlchemy engine)
RAW_OPTIONS = frozenset({"sqlite_synchronous", "statement_timeout"})


def raw_sqlite_path(uri: str) -> Optional[str]:
    """The file of a plain ``sqlite:///path`` URI (no driver, query or escapes), else None."""
    prefix = "sqlite:///"
    if not uri.startswith(prefix):
        return None
    path = uri[len(prefix) :]
    if not path or path == ":memory:" or any(c in path for c in "?#%") or path.startswith("file:"):
        return None
    return path


class RawSqlite:
    """One SQLite file: a connection per thread and a retrying transaction runner."""

    #: attempts for lock contention (each waits up to the 30 s busy timeout first)
    attempts: int = 6
    #: first backoff in seconds (doubles each attempt, with jitter)
    backoff: float = 0.05

    def __init__(self, uri: str, path: str, synchronous: str = "NORMAL", timeout: Optional[float] = None) -> None:
        self.uri = uri
        self.redacted_uri = redact_uri(uri)
        self.path = path
        self.synchronous = synchronous
        self.timeout = timeout
        self._local = threading.local()
        self._lock = threading.Lock()
        self._open: list[sqlite3.Connection] = []
        self._database: Optional[Database] = None

    def __repr__(self) -> str:
        return f"RawSqlite({self.redacted_uri!r})"

    def _connection(self) -> tuple[sqlite3.Connection, list[Optional[float]]]:
        found = getattr(self._local, "conn", None)
        if found is not None:
            return found
        return self.adopt(_connect(self.path))

    def adopt(self, conn: sqlite3.Connection) -> tuple[sqlite3.Connection, list[Optional[float]]]:
        """Configure ``conn`` (opened by :func:`_connect`) as the calling thread's connection."""
        configure_sqlite(conn, self.synchronous, file_backed=True)
        deadline: list[Optional[float]] = [None]
        if self.timeout is not None:

            def over_time() -> int:
                stop = deadline[0]
                return 1 if stop is not None and time.monotonic() > stop else 0

            conn.set_progress_handler(over_time, 20_000)
        with self._lock:
            self._open.append(conn)
        self._local.conn = (conn, deadline)
        return conn, deadline

    def database(self) -> Database:
        """The SQLAlchemy-side :class:`~.engine.Database` of this file (error wording; made on first use)."""
        if self._database is None:
            from .engine import Database

            options: dict[str, Any] = {"sqlite_synchronous": self.synchronous}
            options["statement_timeout"] = self.timeout if self.timeout is not None else 0
            self._database = Database(self.uri, **options)
        return self._database

    def run(self, fn: Callable[[sqlite3.Cursor], T], write: bool = True) -> T:
        """Run ``fn(cursor)`` in one transaction; retried on lock contention, errors as storekit errors."""
        for attempt in range(self.attempts):
            conn, deadline = self._connection()
            cur = conn.cursor()
            try:
                cur.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                if self.timeout is not None:
                    deadline[0] = time.monotonic() + self.timeout
                try:
                    result = fn(cur)
                    cur.execute("COMMIT")
                    return result
                except BaseException:
                    if conn.in_transaction:
                        conn.rollback()
                    raise
                finally:
                    deadline[0] = None
            except StorekitError:
                raise
            except sqlite3.Error as exc:
                db = self.database()
                wrapped = _wrapped(exc)
                if db.is_transient(wrapped) and not db.is_permanent(wrapped) and attempt < self.attempts - 1:
                    db._sleep(attempt)
                    continue
                raise db.translate(wrapped, attempt + 1) from None
            finally:
                cur.close()
        raise AssertionError("unreachable")  # pragma: no cover

    def close(self) -> None:
        """Close every connection (of every thread) and the SQLAlchemy side, if it was made."""
        with self._lock:
            conns, self._open = self._open, []
        for conn in conns:
            conn.close()
        self._local = threading.local()
        if self._database is not None:
            self._database.dispose()


def _wrapped(exc: sqlite3.Error) -> BaseException:
    """A sqlite3 error as the SQLAlchemy exception the engine would have raised."""
    from sqlalchemy import exc as sa_exc

    return sa_exc.DBAPIError.instance(None, None, exc, sqlite3.Error)


def _connect(path: str) -> sqlite3.Connection:
    return sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)


def _read_current(conn: sqlite3.Connection) -> Optional[bytes]:
    """The page-token secret of a storekit store at the head revision; None for anything else.

    Only reads: a database that turns out not to be a current store is left
    exactly as it was (the connection is not configured before this returns).
    """
    try:
        row = conn.execute(f"SELECT version_num FROM {VERSION_TABLE}").fetchone()
        if row is None or row[0] != HEAD_REVISION:
            return None
        secret = conn.execute("SELECT value FROM storekit_settings WHERE name = ?", (SECRET_NAME,)).fetchone()
        return None if secret is None else str(secret[0]).encode()
    except sqlite3.Error:
        return None  # not a database, no version table, ...: the engine path says what is wrong


def open_current(uri: str, options: dict[str, Any]) -> Optional[tuple[RawSqlite, bytes]]:
    """The raw connection to an up-to-date SQLite store and its page-token secret, else None.

    None (use the SQLAlchemy engine) unless ``uri`` is a plain ``sqlite:///``
    file URI, ``options`` are ones the raw path honours, and the file holds a
    storekit store at the head revision with its page-token secret.  Nothing
    is written before that is known.
    """
    path = raw_sqlite_path(uri)
    if path is None or not set(options) <= RAW_OPTIONS or not os.path.isfile(path):
        return None
    try:
        conn = _connect(path)
    except sqlite3.Error:
        return None
    key = _read_current(conn)
    if key is None:
        conn.close()
        return None
    synchronous = str(options.get("sqlite_synchronous", "NORMAL")).upper()
    raw = RawSqlite(uri, path, synchronous, statement_timeout(options.get("statement_timeout")))
    try:
        raw.adopt(conn)
    except sqlite3.Error:
        conn.close()
        return None
    return raw, key
