"""What the SQL backend needs before (and without) SQLAlchemy: revisions, timeouts, SQLite set-up.

The raw SQLite path (:mod:`.raw`) opens an up-to-date store without importing
SQLAlchemy, so the constants and connection settings it shares with the
SQLAlchemy engine (:mod:`.engine`) live here, once.
"""

from __future__ import annotations

from typing import Any, Optional

from ...envvars import env_float

__all__ = [
    "HEAD_REVISION",
    "BASE_REVISION",
    "VERSION_TABLE",
    "SECRET_NAME",
    "STATEMENT_TIMEOUT_ENV",
    "DEFAULT_STATEMENT_TIMEOUT",
    "statement_timeout",
    "SQLITE_TUNING",
    "configure_sqlite",
    "like_to_glob",
    "MAX_EXPERIMENT_KEY",
    "is_experiment_key",
]

#: Revision a database created by this code is stamped with.
HEAD_REVISION = "0009"
#: The first revision (the oldest database ``storekit db upgrade`` can upgrade).
BASE_REVISION = "0001"
#: Alembic's version table (named so it never collides with an application's own).
VERSION_TABLE = "storekit_alembic_version"
#: ``storekit_settings.name`` of the page-token secret.
SECRET_NAME = "page_token_secret"

#: Environment variable: the longest one SQL statement may run, in seconds (0 turns the bound off).
STATEMENT_TIMEOUT_ENV = "STOREKIT_SQL_STATEMENT_TIMEOUT"
#: The statement timeout when neither the engine option nor the environment sets one.
DEFAULT_STATEMENT_TIMEOUT = 120.0


def statement_timeout(explicit: Any = None) -> Optional[float]:
    """The statement timeout in seconds (None: unbounded): ``explicit``, else the environment, else 120.

    A malformed or negative value in the environment keeps the default: a typo
    must not turn the bound off.
    """
    if explicit is not None:
        value = float(explicit)
    else:
        value = env_float(STATEMENT_TIMEOUT_ENV, DEFAULT_STATEMENT_TIMEOUT, minimum=0, unit="seconds", fallback=True)
    return value if value > 0 else None


#: page cache, temporary tables and memory-mapped reads sized for million-point runs
SQLITE_TUNING = ("cache_size = -32768", "temp_store = MEMORY", "mmap_size = 268435456")


def _lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def configure_sqlite(dbapi_conn: Any, synchronous: str, file_backed: bool) -> None:
    """WAL (for a file), busy timeout, foreign keys, cache sizes and a Unicode-aware ``lower()``.

    The connection is left in autocommit mode: storekit issues ``BEGIN``
    (``BEGIN IMMEDIATE`` for writes) itself.
    """
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA busy_timeout = 30000")
    if file_backed:
        cur.execute("PRAGMA journal_mode = WAL")
    cur.execute(f"PRAGMA synchronous = {synchronous}")
    cur.execute("PRAGMA foreign_keys = ON")
    for pragma in SQLITE_TUNING:
        cur.execute(f"PRAGMA {pragma}")
    cur.close()
    # Unicode-aware lower() so ILIKE folds case exactly like PostgreSQL and MySQL
    dbapi_conn.create_function("lower", 1, _lower, deterministic=True)


def _glob_literal(text: str) -> str:
    return "".join(f"[{c}]" if c in "*?[" else c for c in text)


def like_to_glob(pattern: str) -> str:
    """A ``LIKE`` pattern (``%``, ``_`` wildcards, everything else literal) as a case-sensitive SQLite GLOB."""
    return "".join("*" if c == "%" else "?" if c == "_" else _glob_literal(c) for c in pattern)


#: Experiment ids are 32-bit integer keys on every database.
MAX_EXPERIMENT_KEY = 2**31 - 1


def is_experiment_key(text: str) -> bool:
    """Whether ``text`` can be an experiment's integer key (ASCII digits within the column's range)."""
    return text.isascii() and text.isdigit() and len(text) <= 10 and int(text) <= MAX_EXPERIMENT_KEY
