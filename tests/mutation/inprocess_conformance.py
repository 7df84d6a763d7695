"""The conformance suites run in-process on SQLite and the file store, for mutation testing only.

``tests/conformance`` runs the suite the way a plugin author does, in a pytest
subprocess: the right test for the product, but a mutation tool cannot see
into it (the subprocess imports the unmutated package).  These subclasses run
the same checks in the mutation tool's own process, so a mutant of the rules
layer, the search compilers or paging is held to the contract too.

The file name does not match ``test_*.py`` on purpose: the normal suite does
not collect it (its checks already run through ``tests/conformance``);
``scripts/mutation.sh`` names it explicitly.  Multi-process checks are skipped
here only where a child process opens the store again (it imports the unmutated code).
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

import pytest

from storekit.plugins import resolve_artifact_repository, resolve_registry_store, resolve_tracking_store
from storekit_conformance import ArtifactRepositorySuite, RegistryStoreSuite, TrackingStoreSuite


def _store_uri(kind: str, root: Path) -> str:
    """The URI of the store of ``kind`` (``sqlite`` or ``file``) kept under ``root``."""
    return f"sqlite:///{root / 'store.db'}" if kind == "sqlite" else root.as_uri()


@pytest.fixture(scope="class", params=["sqlite", "file"])
def store_root(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    """A fresh, empty directory per backend kind and suite class."""
    return request.param, tmp_path_factory.mktemp(f"mutation-{request.param}")


class TestTrackingInProcess(TrackingStoreSuite):
    """The tracking suite on SQLite and the file store, in this process."""

    @pytest.fixture(scope="class")
    @classmethod
    def tracking_store(cls, store_root: tuple[str, Path]) -> Iterator[Any]:
        store = resolve_tracking_store(_store_uri(*store_root))
        yield store
        store.close()

    @pytest.fixture
    def tracking_uri(self, store_root: tuple[str, Path]) -> Optional[str]:
        return _store_uri(*store_root)

    @pytest.fixture
    def store_is_new(self) -> bool:
        return True  # each suite class gets an empty directory of its own


class TestRegistryInProcess(RegistryStoreSuite):
    """The registry suite on SQLite and the file store, in this process."""

    @pytest.fixture(scope="class")
    @classmethod
    def registry_store(cls, store_root: tuple[str, Path]) -> Iterator[Any]:
        store = resolve_registry_store(_store_uri(*store_root))
        yield store
        store.close()

    @pytest.fixture
    def registry_uri(self, store_root: tuple[str, Path]) -> Optional[str]:
        return _store_uri(*store_root)


class TestArtifactsInProcess(ArtifactRepositorySuite):
    """The artifact suite on the local repository, in this process."""

    @pytest.fixture(scope="class")
    @classmethod
    def artifact_repository(cls, tmp_path_factory: pytest.TempPathFactory) -> Callable[[], Any]:
        base = tmp_path_factory.mktemp("mutation-artifacts")
        counter = itertools.count()
        return lambda: resolve_artifact_repository((base / f"root{next(counter)}").as_uri())
