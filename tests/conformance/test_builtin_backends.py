"""Every built-in backend passes the conformance suite, through the public entry points.

To add a backend (PostgreSQL, MariaDB, S3, Azure, SFTP...), add one test
calling ``check_conformance(interface, uri)``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from storekit.uri import path_to_file_uri

from .conformance_helpers import check_conformance

pytestmark = pytest.mark.timeout(900)


def test_file_tracking_store(tmp_path: Path) -> None:
    check_conformance("tracking", str(tmp_path / "store"))


def test_file_registry_store(tmp_path: Path) -> None:
    check_conformance("registry", str(tmp_path / "store"))


def test_sqlite_tracking_store(tmp_path: Path) -> None:
    check_conformance("tracking", f"sqlite:///{tmp_path / 'store.db'}")


def test_sqlite_registry_store(tmp_path: Path) -> None:
    check_conformance("registry", f"sqlite:///{tmp_path / 'store.db'}")


def test_local_artifact_repository(tmp_path: Path) -> None:
    check_conformance("artifacts", path_to_file_uri(tmp_path / "artifacts"))


def test_builtin_context_providers() -> None:
    check_conformance("context", "all")


@pytest.fixture(scope="module")
def server_databases():
    """A fresh database per server for this module, dropped afterwards."""
    from tests.databases import DatabaseFactory, server_uri

    factories: dict[str, DatabaseFactory] = {}

    def create(backend: str) -> str:
        if backend not in factories:
            factories[backend] = DatabaseFactory(backend, server_uri(backend))
        return factories[backend].create()

    yield create
    for factory in factories.values():
        factory.drop_all()


@pytest.mark.parametrize("backend", ["postgresql", "mariadb"])
def test_sql_server_tracking_store(backend: str, server_databases) -> None:
    check_conformance("tracking", server_databases(backend))


@pytest.mark.parametrize("backend", ["postgresql", "mariadb"])
def test_sql_server_registry_store(backend: str, server_databases) -> None:
    check_conformance("registry", server_databases(backend))
