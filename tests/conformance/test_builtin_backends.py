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
