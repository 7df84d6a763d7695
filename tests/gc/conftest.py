"""Fixtures of the ``storekit gc`` tests: a store URI on every built-in backend and the memory template."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Iterator

import pytest

from tests.databases import DatabaseFactory, server_uri

BACKENDS = ["file", "sqlite", "postgresql", "mariadb", "memory"]


def make_uri(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """A fresh store of ``backend`` (server databases are dropped at the end; a missing server fails)."""
    if backend == "file":
        return str(tmp_path / "store")
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    if backend == "memory":
        return f"memory://gc-{uuid.uuid4().hex[:12]}"
    factory = DatabaseFactory(backend, server_uri(backend))
    request.addfinalizer(factory.drop_all)
    return factory.create()


@pytest.fixture
def artifact_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The store's own artifact root (``STOREKIT_ARTIFACT_URI``), a fresh directory."""
    root = tmp_path / "artifacts"
    root.mkdir()
    monkeypatch.setenv("STOREKIT_ARTIFACT_URI", root.as_uri())
    return root


@pytest.fixture(params=BACKENDS)
def gc_uri(request: pytest.FixtureRequest, tmp_path: Path, artifact_root: Path) -> Iterator[str]:
    """A fresh store on each backend, artifacts under ``artifact_root``."""
    yield make_uri(request.param, tmp_path, request)
