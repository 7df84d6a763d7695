"""storekit.config: the one place the tracking, registry and default URIs of a process live."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest

from storekit import config, fluent
from storekit.artifacts.indirect import RunsArtifactRepository
from storekit.client import TrackingClient
from storekit.errors import InvalidParameterError


@pytest.fixture(autouse=True)
def clean(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    monkeypatch.delenv(config.TRACKING_URI_ENV, raising=False)
    monkeypatch.delenv(config.REGISTRY_URI_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    fluent._reset()
    yield
    fluent._reset()


def test_default_uris(monkeypatch: pytest.MonkeyPatch) -> None:
    expected = "sqlite:///" + os.path.join(os.getcwd(), "storekit.db")
    assert config.default_tracking_uri() == expected
    assert config.default_registry_uri() == expected
    assert config.default_registry_uri("file:///t") == "file:///t"
    monkeypatch.setenv("STOREKIT_TRACKING_URI", "postgresql://h/db")
    assert config.default_tracking_uri() == "postgresql://h/db"
    assert config.default_registry_uri() == "postgresql://h/db"
    monkeypatch.setenv("STOREKIT_REGISTRY_URI", "mysql://h/reg")
    assert config.default_registry_uri("file:///t") == "mysql://h/reg"


def test_set_wins_over_env_and_reset_forgets(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("STOREKIT_TRACKING_URI", "postgresql://h/db")
    assert config.get_tracking_uri() == "postgresql://h/db"
    assert config.get_registry_uri() == "postgresql://h/db"
    config.set_tracking_uri("store")  # a bare path becomes absolute
    assert config.get_tracking_uri() == str(tmp_path / "store")
    assert config.get_registry_uri() == str(tmp_path / "store")
    config.set_registry_uri("sqlite:///reg.db")
    assert config.get_registry_uri() == "sqlite:///reg.db"
    assert config.registry_uri_for("file:///other") == "sqlite:///reg.db"
    config.reset()
    assert config.get_tracking_uri() == "postgresql://h/db"
    with pytest.raises(InvalidParameterError, match="tracking URI"):
        config.set_tracking_uri("")


def test_fluent_setter_is_what_client_reads(tmp_path: Path) -> None:
    fluent.set_tracking_uri(f"sqlite:///{tmp_path / 'a.db'}")
    assert config.get_tracking_uri() == f"sqlite:///{tmp_path / 'a.db'}"
    with TrackingClient() as client:
        assert client.tracking_uri == f"sqlite:///{tmp_path / 'a.db'}"
        assert client.registry_uri == client.tracking_uri


def test_runs_uri_follows_config_without_fluent(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'runs.db'}"
    with TrackingClient(uri) as client:
        run = client.create_run(client.create_experiment("e"))
    config.set_tracking_uri(uri)  # not through the fluent API
    repo = RunsArtifactRepository(f"runs:/{run.info.run_id}/sub")
    assert repo.target_uri.rstrip("/").endswith("/sub")
    assert repo.target_uri.startswith(run.info.artifact_uri.rstrip("/"))


def test_client_does_not_import_fluent() -> None:
    code = "import sys, storekit.client, storekit.artifacts.indirect; print('storekit.fluent' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
