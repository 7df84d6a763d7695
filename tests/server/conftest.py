"""Fixtures of the ``storekit server`` tests: real server processes on loopback.

Every test here talks to a ``storekit server`` subprocess over TCP (no in-process
test client): the same process, uvicorn and limits that users run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from tests.databases import DatabaseFactory, server_uri
from tests.storekit_server_process import StorekitServer


@pytest.fixture(scope="session")
def storekit_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StorekitServer]:
    """One ``storekit server`` on the embedded SQLite store, for the whole session."""
    try:
        server = StorekitServer.start(Path(tmp_path_factory.mktemp("storekit-server")))
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)
    yield server
    server.stop()


@pytest.fixture
def pg_database() -> Iterator[str]:
    """A fresh PostgreSQL database (dropped afterwards); its storekit URI."""
    factory = DatabaseFactory("postgresql", server_uri("postgresql"))
    try:
        yield factory.create()
    finally:
        factory.drop_all()
