"""Fresh databases on the PostgreSQL and MariaDB test servers, shared by every test package.

:class:`DatabaseFactory` creates uniquely named databases on a server and
drops them all at the end; :func:`server_uri` is the server's base URI from
``scripts/services/databases.sh`` (or ``STOREKIT_TEST_POSTGRES_URI`` /
``STOREKIT_TEST_MYSQL_URI``).  A server that cannot be reached fails the
test, it never skips it.
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from storekit.backends.sql.engine import to_sqlalchemy_url
from tests.services import ensure_service

__all__ = ["DatabaseFactory", "server_uri"]

_ENV = ("STOREKIT_TEST_POSTGRES_URI", "STOREKIT_TEST_MYSQL_URI")


def server_uri(backend: str) -> str:
    """The base URI of the ``postgresql`` or ``mariadb`` test server (starting it if needed)."""
    settings = ensure_service("databases", _ENV)
    return settings["STOREKIT_TEST_POSTGRES_URI" if backend == "postgresql" else "STOREKIT_TEST_MYSQL_URI"]


class DatabaseFactory:
    """Creates uniquely named databases on a server and drops them all at the end."""

    def __init__(self, backend: str, base_uri: str) -> None:
        self.backend = backend
        self.base_uri = base_uri
        self.created: list[str] = []
        url = to_sqlalchemy_url(base_uri)
        self._admin = sa.create_engine(url, isolation_level="AUTOCOMMIT", pool_pre_ping=True)

    def create(self) -> str:
        """A new empty database; returns its storekit URI."""
        name = f"storekit_test_{uuid.uuid4().hex[:12]}"
        with self._admin.connect() as conn:
            if self.backend == "postgresql":
                conn.exec_driver_sql(f"CREATE DATABASE \"{name}\" ENCODING 'UTF8' TEMPLATE template0")
            else:
                conn.exec_driver_sql(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
        self.created.append(name)
        return str(make_url(self.base_uri).set(database=name).render_as_string(hide_password=False))

    def drop_all(self) -> None:
        """Drop every database this factory created."""
        with self._admin.connect() as conn:
            for name in self.created:
                if self.backend == "postgresql":
                    conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                else:
                    conn.exec_driver_sql(f"DROP DATABASE IF EXISTS `{name}`")
        self._admin.dispose()
