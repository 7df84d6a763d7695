"""Fixtures of the http(s) store tests: one real ``mlflow server`` for the whole session.

MLflow must be installed (``scripts/bootstrap.sh --all`` installs it); a server
that does not start fails the tests that need it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

import pytest

from tests.mlflow_server.processes import MlflowServer


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MlflowServer]:
    """A plain ``mlflow server`` on MLflow's own SQLite store, with the artifact proxy.

    ``STOREKIT_TEST_MLFLOW_URL`` (with ``STOREKIT_TEST_MLFLOW_WORKDIR``, the server's
    ``--artifacts-destination`` parent) points the tests at a server you started yourself.
    """
    url = os.environ.get("STOREKIT_TEST_MLFLOW_URL")
    if url:
        workdir = Path(os.environ.get("STOREKIT_TEST_MLFLOW_WORKDIR", "."))
        yield MlflowServer.attach(url, workdir)
        return
    server = MlflowServer.start(Path(tmp_path_factory.mktemp("mlflow-server")))
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _no_ambient_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests choose their credentials explicitly."""
    for prefix in ("STOREKIT_", "MLFLOW_"):
        for name in (
            "TRACKING_USERNAME",
            "TRACKING_PASSWORD",
            "TRACKING_TOKEN",
            "TRACKING_INSECURE_TLS",
            "TRACKING_SERVER_CERT_PATH",
            "TRACKING_CLIENT_CERT_PATH",
        ):
            monkeypatch.delenv(prefix + name, raising=False)


#: Modules whose tests need no mlflow server.
_WITHOUT_SERVER = {"test_session.py"}
#: Modules that start servers of their own (over a minute each).
_SLOW = {"test_auth.py", "test_conformance.py"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark the tests that start a real ``mlflow server`` (marker ``mlflow``; ``slow`` for the longest)."""
    here = Path(__file__).parent
    for item in items:
        path = Path(str(item.fspath))
        if path.parent != here or path.name in _WITHOUT_SERVER:
            continue
        item.add_marker(pytest.mark.mlflow)
        if path.name in _SLOW:
            item.add_marker(pytest.mark.slow)
