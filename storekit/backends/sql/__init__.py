"""The SQL backend: tracking and registry stores on SQLite, PostgreSQL and MySQL/MariaDB.

URIs: ``sqlite:///path/to/storekit.db``, ``postgresql://user@host/db``
(psycopg 3), ``mysql://`` or ``mariadb://user@host/db`` (PyMySQL); a driver
may be named explicitly (``postgresql+psycopg2://``).  A new database is
created at the current schema revision; an older one must be upgraded with
``storekit db upgrade URI``.
"""

from __future__ import annotations

from typing import Any

__all__ = ["SqlTrackingStore", "SqlRegistryStore"]


def __getattr__(name: str) -> Any:
    # Imported lazily so that resolving a scheme does not pay for both stores.
    if name == "SqlTrackingStore":
        from .store import SqlTrackingStore

        return SqlTrackingStore
    if name == "SqlRegistryStore":
        from .registry import SqlRegistryStore

        return SqlRegistryStore
    raise AttributeError(name)
