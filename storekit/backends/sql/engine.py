"""From a storekit URI to a configured SQLAlchemy engine, and the transaction runner.

* ``postgresql://`` uses psycopg 3, ``mysql://`` and ``mariadb://`` use PyMySQL,
  unless the URI names a driver (``postgresql+psycopg2://``).
* SQLite runs in WAL mode with a busy timeout; write transactions start with
  ``BEGIN IMMEDIATE`` so that concurrent writers queue instead of failing.
* Every statement is bounded by a statement timeout (``statement_timeout``
  engine option or ``STOREKIT_SQL_STATEMENT_TIMEOUT`` seconds, default 120;
  0 turns it off): PostgreSQL's ``statement_timeout``, MariaDB's
  ``max_statement_time`` (MySQL's ``max_execution_time``), and on SQLite a
  progress handler that interrupts the statement.  A statement stopped by it
  is a :class:`~storekit.errors.BackendUnavailableError` naming the limit,
  never retried: no query outlives its caller by more than the timeout.
* :meth:`Database.run` executes a function in one transaction, retrying
  transient failures (locks, deadlocks, serialization failures, dropped
  connections) with bounded exponential backoff, and translates what is left
  into storekit errors.  Pooled connections are not pinged at checkout (that
  is a round trip per transaction): one that died while idle fails the first
  statement of its transaction, before anything was written, and the retry
  runs on a fresh connection (a disconnect marks the whole pool stale).  URIs in messages are always redacted.
"""

from __future__ import annotations

import importlib.util
import random
import time
from typing import TYPE_CHECKING, Any, Callable, Optional, TypeVar
from urllib.parse import unquote

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.pool import StaticPool

if TYPE_CHECKING:
    from sqlalchemy.engine.interfaces import DBAPIModule

from ...errors import (
    AlreadyExistsError,
    BackendUnavailableError,
    InvalidParameterError,
    StorekitError,
    StoreNotFoundError,
    UnknownSchemeError,
)
from ...uri import redact_uri, split_password, uri_secrets
from .basics import DEFAULT_STATEMENT_TIMEOUT, STATEMENT_TIMEOUT_ENV, configure_sqlite, statement_timeout

__all__ = [
    "Database",
    "SERVER_POOL_SIZE",
    "to_sqlalchemy_url",
    "DRIVER_HINTS",
    "STATEMENT_TIMEOUT_ENV",
    "DEFAULT_STATEMENT_TIMEOUT",
    "statement_timeout",
]

T = TypeVar("T")

#: dialect -> (default driver, module it needs, pip extra)
_DRIVERS: dict[str, tuple[str, str, str]] = {
    "postgresql": ("psycopg", "psycopg", "postgres"),
    "mysql": ("pymysql", "pymysql", "mysql"),
    "mariadb": ("pymysql", "pymysql", "mysql"),
}
#: driver name -> module that must be importable
_DRIVER_MODULES = {
    "psycopg": "psycopg",
    "psycopg2": "psycopg2",
    "pymysql": "pymysql",
    "mysqldb": "MySQLdb",
    "pysqlite": "sqlite3",
}
#: pip command that installs a dialect's driver
DRIVER_HINTS = {d: f"pip install 'storekit[{extra}]'" for d, (_, _, extra) in _DRIVERS.items()}

#: connections a PostgreSQL or MySQL/MariaDB engine keeps open for reuse (SQLAlchemy's default is 5)
SERVER_POOL_SIZE = 16
#: MySQL/MariaDB error codes worth retrying (deadlock, lock wait timeout)
_MYSQL_TRANSIENT = {1213, 1205}
#: PostgreSQL SQLSTATEs worth retrying (serialization failure, deadlock)
_PG_TRANSIENT = {"40001", "40P01"}
#: MySQL codes meaning "cannot connect / gone away" (retried)
_MYSQL_UNAVAILABLE = {2002, 2003, 2005, 2006, 2013}
#: MySQL codes that no retry can fix: access denied (user, database), unknown database
_MYSQL_PERMANENT = {1044, 1045, 1049, 1698}
#: MySQL codes for "not allowed to write": command denied, read-only server
_MYSQL_READ_ONLY = {1142, 1227, 1290, 1036}
#: PostgreSQL SQLSTATEs that no retry can fix: bad credentials, unknown role or database
_PG_PERMANENT = {"28000", "28P01", "3D000", "42501"}
#: libpq texts of those failures (connection errors carry no SQLSTATE)
_PG_PERMANENT_TEXT = (
    "password authentication failed",
    "does not exist",
    "no pg_hba.conf entry",
    "permission denied for database",
)
#: driver texts of a query that can never run (too many bound parameters)
_TOO_MANY_PARAMETERS = (
    "number of parameters must be between",
    "too many sql variables",
    "prepared statement contains too many placeholders",
)


def to_sqlalchemy_url(uri: str) -> sa.engine.URL:
    """The SQLAlchemy URL for a storekit SQL URI, with the default driver filled in.

    Raises :class:`UnknownSchemeError` (also for a missing driver, with the
    ``pip install`` that provides it).
    """
    # The password is read by the one URI parser that redaction uses, so an
    # unescaped ``@`` in it cannot move part of it into the host name.
    stripped, password = split_password(uri)
    try:
        url = make_url(stripped)
        if password is not None:
            url = url.set(password=unquote(password))
    except sa_exc.ArgumentError:
        raise UnknownSchemeError(f"not a SQL database URI: {redact_uri(uri)}") from None
    backend, _, driver = url.drivername.partition("+")
    if backend == "sqlite":
        return url
    if backend not in _DRIVERS:
        raise UnknownSchemeError(
            f"the SQL backend does not handle {backend!r} URIs ({redact_uri(uri)}); "
            "use sqlite, postgresql, mysql or mariadb"
        )
    default_driver, _module, extra = _DRIVERS[backend]
    driver = driver or default_driver
    if backend == "mariadb":
        backend = "mysql"  # the mysql dialect speaks to MariaDB; keeps one code path
    module = _DRIVER_MODULES.get(driver, driver)
    if importlib.util.find_spec(module) is None:
        raise UnknownSchemeError(
            f"the {backend} driver {driver!r} is not installed; run: pip install 'storekit[{extra}]'"
        )
    url = url.set(drivername=f"{backend}+{driver}")
    if backend == "mysql" and "charset" not in url.query:
        url = url.update_query_dict({"charset": "utf8mb4"})
    return url


def _is_sqlite_memory(url: sa.engine.URL) -> bool:
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")


#: SQLSTATE / MySQL codes / SQLite text of a statement stopped by the statement timeout
_PG_TIMEOUT = "57014"
_MYSQL_TIMEOUT = {1969, 3024}
_SQLITE_TIMEOUT_TEXT = "interrupted"


def _install_statement_timeout(engine: Engine, dialect: str, seconds: float) -> None:
    """Bound every statement of ``engine`` (PostgreSQL's is set through the connect options)."""
    if dialect == "mysql":

        @event.listens_for(engine, "connect")
        def _on_mysql_connect(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            try:
                cur.execute(f"SET SESSION max_statement_time = {seconds:.3f}")  # MariaDB
            except Exception:  # MySQL names it differently (milliseconds, SELECT only)
                cur.execute(f"SET SESSION max_execution_time = {int(seconds * 1000)}")
            finally:
                cur.close()

    elif dialect == "sqlite":

        @event.listens_for(engine, "connect")
        def _on_sqlite_connect(dbapi_conn: Any, record: Any) -> None:
            info = record.info

            def over_time() -> int:
                deadline = info.get("storekit_deadline")
                return 1 if deadline is not None and time.monotonic() > deadline else 0

            dbapi_conn.set_progress_handler(over_time, 20_000)

        @event.listens_for(engine, "before_cursor_execute")
        def _start(conn: Connection, *_args: Any) -> None:
            conn.info["storekit_deadline"] = time.monotonic() + seconds

        @event.listens_for(engine, "after_cursor_execute")
        def _stop(conn: Connection, *_args: Any) -> None:
            conn.info["storekit_deadline"] = None


def _install_sqlite_hooks(engine: Engine, synchronous: str) -> None:
    """WAL, busy timeout, foreign keys, cache sizes; BEGIN IMMEDIATE for write transactions."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        configure_sqlite(dbapi_conn, synchronous, engine.url.database not in (None, "", ":memory:"))

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get("storekit_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


class Database:
    """One database: its engine, dialect name and a retrying transaction runner."""

    #: attempts for transient failures and for connecting
    attempts: int = 6
    #: first backoff in seconds (doubles each attempt, with jitter)
    backoff: float = 0.05

    def __init__(self, uri: str, **engine_options: Any) -> None:
        self.uri = uri
        self.redacted_uri = redact_uri(uri)
        url = to_sqlalchemy_url(uri)
        self.url = url
        self.dialect = url.get_backend_name()  # sqlite | postgresql | mysql
        synchronous = str(engine_options.pop("sqlite_synchronous", "NORMAL")).upper()
        self.statement_timeout = statement_timeout(engine_options.pop("statement_timeout", None))
        # No ping per checkout (a round trip per transaction): a pooled connection that died while idle
        # fails its transaction's first statement, which :meth:`run` retries on a fresh connection.
        options: dict[str, Any] = {"pool_pre_ping": False}
        if self.dialect == "sqlite":
            connect_args = {"timeout": 30, "check_same_thread": False}
            if _is_sqlite_memory(url):
                options["poolclass"] = StaticPool
            options["connect_args"] = connect_args
        elif self.dialect == "mysql":
            options["isolation_level"] = "READ COMMITTED"
            options["connect_args"] = {"connect_timeout": 10}
        else:
            options["connect_args"] = {"connect_timeout": 10}
            if self.statement_timeout is not None:
                options["connect_args"]["options"] = f"-c statement_timeout={int(self.statement_timeout * 1000)}"
        if self.dialect != "sqlite":
            # Connections kept open for reuse: past ``pool_size`` concurrent transactions each extra
            # connection is opened and closed again per transaction (a new server backend, its caches
            # and prepared statements each time), which a server with a handler thread pool hits.
            options["pool_size"] = SERVER_POOL_SIZE
        options.update(engine_options)
        try:
            self.engine = sa.create_engine(url, **options)
        except (sa_exc.ArgumentError, TypeError) as exc:
            raise UnknownSchemeError(f"cannot configure {self.redacted_uri}: {self._clean(exc)}") from None
        if self.dialect == "sqlite":
            _install_sqlite_hooks(self.engine, synchronous)
        if self.statement_timeout is not None:
            _install_statement_timeout(self.engine, self.dialect, self.statement_timeout)

    def __repr__(self) -> str:
        return f"Database({self.redacted_uri!r})"

    # --- error handling ------------------------------------------------
    def _clean(self, exc: BaseException) -> str:
        """The first line of a driver message, without the password and without SQL text."""
        text = str(getattr(exc, "orig", None) or exc).split("\n(Background")[0].strip()
        text = text.split("\n[SQL:")[0].strip().splitlines()[0] if text.strip() else type(exc).__name__
        secrets = set(uri_secrets(self.uri))
        if self.url.password:
            secrets.add(str(self.url.password))
        for secret in sorted(secrets, key=len, reverse=True):
            text = text.replace(secret, "***")
        return text

    def is_timeout(self, exc: BaseException) -> bool:
        """The statement was stopped by the statement timeout (never retried: it would run as long again)."""
        orig = getattr(exc, "orig", exc)
        if self.dialect == "postgresql":
            return getattr(orig, "sqlstate", None) == _PG_TIMEOUT
        if self.dialect == "mysql":
            args: tuple[Any, ...] = getattr(orig, "args", ())
            return bool(args) and args[0] in _MYSQL_TIMEOUT
        return isinstance(exc, sa_exc.OperationalError) and _SQLITE_TIMEOUT_TEXT in str(orig).lower()

    def is_transient(self, exc: BaseException) -> bool:
        """Lock contention, deadlock or serialization failure: safe to retry the transaction."""
        orig = getattr(exc, "orig", exc)
        if self.is_timeout(exc):
            return False
        if self.dialect == "sqlite":
            msg = str(orig).lower()
            return isinstance(exc, sa_exc.OperationalError) and ("locked" in msg or "busy" in msg)
        if self.dialect == "postgresql":
            return getattr(orig, "sqlstate", None) in _PG_TRANSIENT
        args: tuple[Any, ...] = getattr(orig, "args", ())
        return bool(args) and args[0] in _MYSQL_TRANSIENT

    def is_unavailable(self, exc: BaseException) -> bool:
        """The server cannot be reached, or refused the credentials."""
        if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
            return True
        if self.is_timeout(exc):
            return False
        orig = getattr(exc, "orig", exc)
        if self.dialect == "mysql":
            args: tuple[Any, ...] = getattr(orig, "args", ())
            return bool(args) and args[0] in _MYSQL_UNAVAILABLE
        if self.dialect == "postgresql":
            sqlstate = getattr(orig, "sqlstate", None)
            if sqlstate is None:
                return isinstance(exc, sa_exc.OperationalError)
            return sqlstate.startswith("08") or sqlstate == "57P03"
        msg = str(orig).lower()
        return isinstance(exc, sa_exc.OperationalError) and ("disk is full" in msg or "disk i/o error" in msg)

    def is_permanent(self, exc: BaseException) -> bool:
        """A failure no retry can fix: wrong credentials, unknown role or database, unopenable file,
        a statement with more parameters than the server accepts."""
        orig = getattr(exc, "orig", exc)
        msg = str(orig).lower()
        if any(text in msg for text in _TOO_MANY_PARAMETERS):
            return True
        if self.dialect == "mysql":
            args: tuple[Any, ...] = getattr(orig, "args", ())
            return bool(args) and args[0] in _MYSQL_PERMANENT
        if self.dialect == "postgresql":
            sqlstate = getattr(orig, "sqlstate", None)
            if sqlstate is not None:
                return sqlstate in _PG_PERMANENT
            return isinstance(exc, sa_exc.OperationalError) and any(t in msg for t in _PG_PERMANENT_TEXT)
        return isinstance(exc, sa_exc.OperationalError) and "unable to open" in msg

    def is_read_only(self, exc: BaseException) -> bool:
        """The database (file, server or role) does not allow this write."""
        orig = getattr(exc, "orig", exc)
        if self.dialect == "mysql":
            args: tuple[Any, ...] = getattr(orig, "args", ())
            return bool(args) and args[0] in _MYSQL_READ_ONLY
        if self.dialect == "postgresql":
            return getattr(orig, "sqlstate", None) in {"42501", "25006"}
        msg = str(orig).lower()
        return "readonly database" in msg or "read-only" in msg

    def translate(self, exc: BaseException, attempts: int = 1) -> StorekitError:
        """The storekit error for a driver or SQLAlchemy failure (message cleaned, never SQL text)."""
        if isinstance(exc, StorekitError):
            return exc
        orig = getattr(exc, "orig", exc)
        msg = self._clean(exc)
        lowered = str(orig).lower()
        if any(text in lowered for text in _TOO_MANY_PARAMETERS):
            limit = {"postgresql": "65,535", "sqlite": "32,766"}.get(self.dialect, "65,535")
            return InvalidParameterError(
                f"the request needs more bound values than {self.dialect} accepts in one statement "
                f"(at most {limit}); ask for fewer ids or keys at once ({msg})"
            )
        if self.is_timeout(exc):
            return BackendUnavailableError(
                f"a statement on {self.redacted_uri} ran longer than the statement timeout of "
                f"{self.statement_timeout:g} s ({STATEMENT_TIMEOUT_ENV}) and was stopped; "
                "narrow the request (fewer runs, keys or comparisons) or raise the timeout"
            )
        code = getattr(orig, "args", (None,))[:1]
        if (
            getattr(orig, "sqlstate", None) == "3D000"
            or code == (1049,)
            or (self.dialect == "postgresql" and 'database "' in lowered and "does not exist" in lowered)
        ):
            return StoreNotFoundError(
                f"no storekit store at {self.redacted_uri}: the database does not exist on the server "
                f"(create it first): {msg}"
            )
        if self.is_read_only(exc):
            return BackendUnavailableError(
                f"database {self.redacted_uri} does not allow this write (read-only file, server or "
                f"role without write rights): {msg}"
            )
        if self.is_permanent(exc):
            if self.dialect == "sqlite":
                return BackendUnavailableError(
                    f"cannot open {self.redacted_uri}: {msg} (does its directory exist, and may this "
                    "process create files in it?)"
                )
            return BackendUnavailableError(f"database {self.redacted_uri} refused the connection: {msg}")
        if self.is_unavailable(exc) or self.is_transient(exc):
            return self.unavailable(exc, attempts)
        if isinstance(exc, sa_exc.IntegrityError):
            return AlreadyExistsError(f"conflicting record in {self.redacted_uri}: {msg}")
        if isinstance(exc, sa_exc.OperationalError):
            return BackendUnavailableError(f"database {self.redacted_uri} failed: {msg}")
        return StorekitError(f"database {self.redacted_uri} failed: {type(orig).__name__}: {msg}")

    def _sleep(self, attempt: int) -> None:
        time.sleep(self.backoff * (2**attempt) * (0.5 + random.random()))

    def unavailable(self, exc: BaseException, attempts: int) -> BackendUnavailableError:
        """The error raised when the database stays unreachable."""
        return BackendUnavailableError(
            f"database {self.redacted_uri} is unavailable after {attempts} attempts: {self._clean(exc)}"
        )

    def connect(self) -> Connection:
        """A connection, retrying with backoff while the server is unreachable.

        Permanent failures (wrong password, unknown role or database) are
        raised at once, as storekit errors.
        """
        for attempt in range(self.attempts):
            try:
                return self.engine.connect()
            except sa_exc.DBAPIError as exc:
                if self.is_permanent(exc) or not self.is_unavailable(exc) or attempt == self.attempts - 1:
                    raise self.translate(exc, attempt + 1) from None
                self._sleep(attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    # --- transactions --------------------------------------------------
    def run(self, fn: Callable[[Connection], T], write: bool = True) -> T:
        """Run ``fn(conn)`` in one transaction and return its result.

        The whole transaction is retried on transient failures; storekit
        errors raised by ``fn`` roll it back and propagate unchanged.
        ``fn`` may use the driver's cursor directly (the write hot path):
        driver errors are wrapped like SQLAlchemy's own before handling.
        """
        last: Optional[BaseException] = None
        driver_error = self.engine.dialect.loaded_dbapi.Error
        for attempt in range(self.attempts):
            conn = self.connect()
            try:
                if write and self.dialect == "sqlite":  # BEGIN IMMEDIATE (the begin hook reads it)
                    conn = conn.execution_options(storekit_write=True)
                try:
                    with conn.begin():
                        return fn(conn)
                except driver_error as raw:
                    raise self._wrap(conn, raw, driver_error) from raw
            except StorekitError:
                raise
            except sa_exc.DBAPIError as exc:
                last = exc
                retry = (self.is_transient(exc) or self.is_unavailable(exc)) and not self.is_permanent(exc)
                if retry and attempt < self.attempts - 1:
                    self._sleep(attempt)
                    continue
                raise self.translate(exc, attempt + 1) from None
            except sa_exc.SQLAlchemyError as exc:
                raise self.translate(exc, attempt + 1) from None
            finally:
                conn.close()
        assert last is not None  # pragma: no cover
        raise last  # pragma: no cover

    def _wrap(self, conn: Connection, raw: DBAPIModule.Error, driver_error: type) -> sa_exc.StatementError:
        """A driver exception as the SQLAlchemy exception it would have raised (connection invalidated if lost)."""
        disconnect = self.engine.dialect.is_disconnect(raw, conn.connection.dbapi_connection, None)
        if disconnect and not conn.invalidated:
            # as SQLAlchemy does for its own statements: every connection pooled before now is suspect
            # (the server went away), so each is replaced at its next checkout, not tried one retry at a time
            self.engine.pool._invalidate(conn.connection, raw)
            conn.invalidate(raw)
        return sa_exc.DBAPIError.instance(None, None, raw, driver_error, connection_invalidated=disconnect)

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()
