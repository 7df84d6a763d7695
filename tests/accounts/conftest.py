"""Fixtures of the accounts tests: an account store on every backend that keeps accounts."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from storekit.accounts import AccountStore, open_account_store
from tests.databases import DatabaseFactory, server_uri

BACKENDS = [
    "file",
    "sqlite",
    pytest.param("postgresql", marks=pytest.mark.postgres),
    pytest.param("mariadb", marks=pytest.mark.mariadb),
]


@pytest.fixture(scope="session")
def account_factories() -> Iterator[dict[str, DatabaseFactory]]:
    """Database factories per server, dropped at the end of the session."""
    factories: dict[str, DatabaseFactory] = {}
    yield factories
    for factory in factories.values():
        factory.drop_all()


@pytest.fixture
def store_uri(request, tmp_path, account_factories) -> str:
    """A new store's URI on the backend of ``request.param`` (default: file)."""
    backend = getattr(request, "param", "file")
    if backend == "file":
        return str(tmp_path / "store")
    if backend == "sqlite":
        return f"sqlite:///{tmp_path}/store.db"
    if backend not in account_factories:
        account_factories[backend] = DatabaseFactory(backend, server_uri(backend))
    return account_factories[backend].create()


@pytest.fixture
def accounts(store_uri) -> Iterator[AccountStore]:
    """The account store of a new store."""
    store = open_account_store(store_uri)
    yield store
    store.close()
