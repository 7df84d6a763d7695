"""Basic auth against MLflow's basic-auth app (``mlflow server --app-name basic-auth``)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Iterator

import pytest

from storekit.errors import BackendUnavailableError
from storekit_http import HttpRegistryStore, HttpTrackingStore
from tests.mlflow_server.processes import MlflowServer

ADMIN = "admin"
PASSWORD = "Adm1n-Long-Passw0rd-42"
WRONG = "Wr0ng-Passw0rd-Value-77"


@pytest.fixture(scope="module")
def auth_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MlflowServer]:
    server = MlflowServer.start(
        Path(tmp_path_factory.mktemp("mlflow-auth")),
        app_name="basic-auth",
        extra_env={
            "MLFLOW_AUTH_ADMIN_USERNAME": ADMIN,
            "MLFLOW_AUTH_ADMIN_PASSWORD": PASSWORD,
            "MLFLOW_FLASK_SERVER_SECRET_KEY": uuid.uuid4().hex,
        },
    )
    yield server
    server.stop()


@pytest.mark.parametrize("prefix", ["STOREKIT", "MLFLOW"])
def test_basic_auth_from_environment(auth_server: MlflowServer, monkeypatch: pytest.MonkeyPatch, prefix: str) -> None:
    monkeypatch.setenv(f"{prefix}_TRACKING_USERNAME", ADMIN)
    monkeypatch.setenv(f"{prefix}_TRACKING_PASSWORD", PASSWORD)
    store = HttpTrackingStore(auth_server.url)
    exp_id = store.create_experiment(f"auth-{uuid.uuid4().hex[:8]}")
    run = store.create_run(exp_id)
    assert store.get_run(run.info.run_id).info.experiment_id == exp_id
    registry = HttpRegistryStore(auth_server.url)
    assert registry.create_registered_model(f"m-{uuid.uuid4().hex[:8]}").name.startswith("m-")
    assert PASSWORD not in repr(store) and PASSWORD not in repr(store.http.settings)


def test_credentials_in_the_uri(auth_server: MlflowServer) -> None:
    host = auth_server.url.split("://", 1)[1]
    store = HttpTrackingStore(f"http://{ADMIN}:{PASSWORD}@{host}")
    assert store.search_experiments(max_results=1) is not None
    assert PASSWORD not in repr(store)


def test_wrong_or_missing_credentials_are_a_typed_error_without_secrets(
    auth_server: MlflowServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(BackendUnavailableError, match="refused the credentials"):
        HttpTrackingStore(auth_server.url).search_experiments()
    monkeypatch.setenv("STOREKIT_TRACKING_USERNAME", ADMIN)
    monkeypatch.setenv("STOREKIT_TRACKING_PASSWORD", WRONG)
    with pytest.raises(BackendUnavailableError) as info:
        HttpTrackingStore(auth_server.url).create_experiment("never")
    assert WRONG not in str(info.value) and PASSWORD not in str(info.value)


def test_cli_never_prints_the_password(auth_server: MlflowServer, tmp_path: Path) -> None:
    host = auth_server.url.split("://", 1)[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STOREKIT_", "MLFLOW_"))}
    for password, expect_ok in ((WRONG, False), (PASSWORD, True)):
        proc = subprocess.run(
            [
                str(Path(sys.executable).with_name("storekit")),
                "--tracking-uri",
                f"http://{ADMIN}:{password}@{host}",
                "experiments",
                "list",
            ],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env=env,
            timeout=120,
        )
        assert (proc.returncode == 0) is expect_ok, proc.stderr
        assert password not in proc.stdout + proc.stderr
