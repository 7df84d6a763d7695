"""Fixtures of the ``mlflow server`` tests: one real server per storekit backend.

``mlflow_server`` (module scope, parametrized over the file backend, SQLite
and PostgreSQL) starts ``python -m mlflow server`` with
``--backend-store-uri storekit:<store>``, ``--registry-store-uri
storekit:<store>``, ``--artifacts-destination storekit:file:///<dir>`` and
:data:`WORKERS` uvicorn workers, waits for ``/health`` and stops the whole
process group afterwards (:meth:`tests.mlflow_server.processes.MlflowServer.on_storekit`).
``mlflow_client_env`` points MLflow's client in this process at it through
``MLFLOW_TRACKING_URI``, the way a user would.
"""

from __future__ import annotations

from typing import Iterator

import mlflow
import pytest

import storekit_mlflow  # noqa: F401
from tests.databases import DatabaseFactory, server_uri
from tests.mlflow_server.processes import MlflowServer

#: uvicorn workers of every server these tests start: several, so requests of one test
#: land in different processes, each with its own store instance.
WORKERS = 3
BACKENDS = ["sqlite", "file", "postgresql"]


@pytest.fixture(scope="module")
def database_factories() -> Iterator[dict[str, DatabaseFactory]]:
    """Database factories per SQL server, created on first use; their databases dropped at the end."""
    factories: dict[str, DatabaseFactory] = {}
    yield factories
    for factory in factories.values():
        factory.drop_all()


@pytest.fixture(scope="module", params=BACKENDS)
def mlflow_server(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    database_factories: dict[str, DatabaseFactory],
) -> Iterator[MlflowServer]:
    """A real ``mlflow server`` with several workers on a new storekit store of each backend."""
    backend = str(request.param)
    root = tmp_path_factory.mktemp(f"mlflow-server-{backend}")
    if backend == "sqlite":
        store_uri = f"sqlite:///{root / 'store.db'}"
    elif backend == "file":
        store_uri = str(root / "filestore")
    else:
        if backend not in database_factories:
            database_factories[backend] = DatabaseFactory(backend, server_uri(backend))
        store_uri = database_factories[backend].create()
    server = MlflowServer.on_storekit(store_uri, root, workers=WORKERS)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def mlflow_client_env(mlflow_server: MlflowServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[MlflowServer]:
    """MLflow's client in this process talks to ``mlflow_server`` (``MLFLOW_TRACKING_URI``)."""
    for name in ("MLFLOW_REGISTRY_URI", "STOREKIT_TRACKING_URI", "STOREKIT_REGISTRY_URI"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server.url)
    monkeypatch.setenv("MLFLOW_SKIP_PIP_REQUIREMENTS_CHECK", "true")
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    monkeypatch.setenv("DO_NOT_TRACK", "true")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")
    mlflow.set_tracking_uri(None)
    mlflow.set_registry_uri(None)
    assert mlflow.get_tracking_uri() == mlflow_server.url
    yield mlflow_server
    while mlflow.active_run() is not None:
        mlflow.end_run()
    mlflow.set_tracking_uri(None)
    mlflow.set_registry_uri(None)
