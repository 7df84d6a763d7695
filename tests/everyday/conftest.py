"""Fixtures of the everyday-use tests: a tracking client on each real backend."""

from __future__ import annotations

from typing import Iterator

import pytest

from storekit.client import TrackingClient
from tests.databases import DatabaseFactory, server_uri


@pytest.fixture(params=["file", "sqlite"])
def local_client(request: pytest.FixtureRequest, tmp_path) -> Iterator[TrackingClient]:  # type: ignore[no-untyped-def]
    """A client on a fresh file store or SQLite database."""
    uri = str(tmp_path / "store") if request.param == "file" else f"sqlite:///{tmp_path / 'store.db'}"
    with TrackingClient(uri) as client:
        yield client


@pytest.fixture(params=["file", "sqlite", "postgresql", "mariadb"])
def any_client(request: pytest.FixtureRequest, tmp_path) -> Iterator[TrackingClient]:  # type: ignore[no-untyped-def]
    """A client on every built-in backend, server databases included (a missing server fails)."""
    if request.param == "file":
        uri = str(tmp_path / "store")
    elif request.param == "sqlite":
        uri = f"sqlite:///{tmp_path / 'store.db'}"
    else:
        factory = DatabaseFactory(request.param, server_uri(request.param))
        request.addfinalizer(factory.drop_all)
        uri = factory.create()
    with TrackingClient(uri) as client:
        yield client
