"""Fixtures of the SQL backend tests: one fresh database per server per session.

``store`` and ``registry`` are parametrized over SQLite, PostgreSQL and
MariaDB.  The servers come from ``scripts/services/databases.sh`` (or the
``STOREKIT_TEST_POSTGRES_URI`` / ``STOREKIT_TEST_MYSQL_URI`` variables); a
server that cannot be reached fails the tests, it never skips them.
"""

from __future__ import annotations

import uuid
from typing import Callable, Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from storekit.backends.sql import SqlRegistryStore, SqlTrackingStore
from storekit.backends.sql.engine import to_sqlalchemy_url
from tests.services import ensure_service

BACKENDS = ["sqlite", "postgresql", "mariadb"]
_ENV = ("STOREKIT_TEST_POSTGRES_URI", "STOREKIT_TEST_MYSQL_URI")


def _server_uri(backend: str) -> str:
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
                conn.exec_driver_sql(f'CREATE DATABASE "{name}" ENCODING \'UTF8\' TEMPLATE template0')
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


@pytest.fixture(scope="session")
def server_factories() -> Iterator[dict[str, DatabaseFactory]]:
    """Lazily created database factories per server backend."""
    factories: dict[str, DatabaseFactory] = {}
    yield factories
    for factory in factories.values():
        factory.drop_all()


@pytest.fixture
def new_database_uri(server_factories: dict[str, DatabaseFactory], tmp_path) -> Callable[[str], str]:
    """``new_database_uri(backend)``: the URI of a new, empty database on that backend."""
    counter = iter(range(1_000_000))

    def make(backend: str) -> str:
        if backend == "sqlite":
            return f"sqlite:///{tmp_path}/db{next(counter)}.sqlite"
        if backend not in server_factories:
            server_factories[backend] = DatabaseFactory(backend, _server_uri(backend))
        return server_factories[backend].create()

    return make


@pytest.fixture(scope="session")
def session_database_uris(server_factories: dict[str, DatabaseFactory]) -> dict[str, str]:
    """One shared database per server for the whole session (tests use unique names in it)."""
    return {}


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The backend under test."""
    return request.param


@pytest.fixture
def db_uri(backend: str, session_database_uris: dict[str, str], server_factories, tmp_path) -> str:
    """A database URI for this test: a fresh SQLite file, or the session database on a server."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path}/storekit.db"
    if backend not in session_database_uris:
        if backend not in server_factories:
            server_factories[backend] = DatabaseFactory(backend, _server_uri(backend))
        session_database_uris[backend] = server_factories[backend].create()
    return session_database_uris[backend]


@pytest.fixture
def store(db_uri: str, tmp_path) -> Iterator[SqlTrackingStore]:
    """A tracking store on the backend under test."""
    st = SqlTrackingStore(db_uri, default_artifact_root=(tmp_path / "artifacts").as_uri())
    yield st
    st.close()


@pytest.fixture
def registry(db_uri: str) -> Iterator[SqlRegistryStore]:
    """A registry store on the backend under test."""
    reg = SqlRegistryStore(db_uri)
    yield reg
    reg.close()


@pytest.fixture
def uniq() -> Callable[[str], str]:
    """Unique names, so tests sharing a server database never collide."""
    return lambda prefix="x": f"{prefix}-{uuid.uuid4().hex[:10]}"
