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

from storekit.backends.sql import SqlRegistryStore, SqlTrackingStore
from tests.databases import DatabaseFactory
from tests.databases import server_uri as _server_uri

BACKENDS = ["sqlite", "postgresql", "mariadb"]


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
