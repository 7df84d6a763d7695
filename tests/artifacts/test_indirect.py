"""runs:/ and models:/ URIs resolve through the tracking and registry stores."""

from __future__ import annotations

from pathlib import Path

import pytest

from storekit.errors import InvalidParameterError, ModelVersionNotFound, RunNotFound
from storekit.plugins import resolve_artifact_repository, resolve_registry_store, resolve_tracking_store

from .behaviour import write


@pytest.fixture
def stores(tmp_path: Path):
    uri = (tmp_path / "store").as_uri()
    tracking = resolve_tracking_store(uri, default_artifact_root=str(tmp_path / "art"))
    registry = resolve_registry_store(uri)
    yield uri, tracking, registry
    tracking.close()
    registry.close()


def test_runs_uri_resolves_to_run_artifacts(stores, tmp_path: Path) -> None:
    uri, tracking, _ = stores
    run = tracking.create_run(tracking.create_experiment("e"))
    repo = resolve_artifact_repository(f"runs:/{run.info.run_id}/model", tracking_uri=uri)
    repo.log_artifact(write(tmp_path / "w.bin", b"weights"))
    direct = resolve_artifact_repository(run.info.artifact_uri)
    assert [(i.path, i.file_size) for i in direct.list_artifacts("model")] == [("model/w.bin", 7)]
    assert [i.path for i in repo.list_artifacts()] == ["w.bin"]
    whole = resolve_artifact_repository(f"runs:/{run.info.run_id}", tracking_uri=uri)
    assert [i.path for i in whole.list_artifacts()] == ["model"]


def test_runs_uri_uses_environment_tracking_uri(stores, tmp_path: Path, monkeypatch) -> None:
    uri, tracking, _ = stores
    run = tracking.create_run(tracking.create_experiment("e"))
    monkeypatch.setenv("STOREKIT_TRACKING_URI", uri)
    repo = resolve_artifact_repository(f"runs:/{run.info.run_id}/x")
    repo.log_artifact(write(tmp_path / "f.txt", b"1"))
    assert [i.path for i in repo.list_artifacts()] == ["f.txt"]


def test_models_uri_by_version_and_alias(stores, tmp_path: Path) -> None:
    uri, tracking, registry = stores
    run = tracking.create_run(tracking.create_experiment("e"))
    src_repo = resolve_artifact_repository(f"runs:/{run.info.run_id}/model", tracking_uri=uri)
    src_repo.log_artifact(write(tmp_path / "m.pkl", b"model-bytes"))
    registry.create_registered_model("clf")
    v1 = registry.create_model_version("clf", f"runs:/{run.info.run_id}/model", run_id=run.info.run_id)
    other = tmp_path / "elsewhere"
    write(other / "m2.pkl", b"v2")
    v2 = registry.create_model_version("clf", other.as_uri())
    registry.set_registered_model_alias("clf", "champion", v1.version)
    by_version = resolve_artifact_repository("models:/clf/1", registry_uri=uri)
    assert [i.path for i in by_version.list_artifacts()] == ["m.pkl"]
    by_alias = resolve_artifact_repository("models:/clf/champion", registry_uri=uri)
    out = by_alias.download_artifacts("m.pkl", tmp_path / "dl")
    assert Path(out).read_bytes() == b"model-bytes"
    assert [
        i.path for i in resolve_artifact_repository(f"models:/clf/{v2.version}", registry_uri=uri).list_artifacts()
    ] == ["m2.pkl"]


def test_bad_and_unknown_references(stores) -> None:
    uri, _, registry = stores
    with pytest.raises(InvalidParameterError):
        resolve_artifact_repository("runs:/not-a-run-id/x", tracking_uri=uri)
    with pytest.raises(RunNotFound):
        resolve_artifact_repository("runs:/" + "0" * 32 + "/x", tracking_uri=uri)
    with pytest.raises(InvalidParameterError):
        resolve_artifact_repository("runs:/" + "0" * 32 + "/../x", tracking_uri=uri)
    with pytest.raises(InvalidParameterError):
        resolve_artifact_repository("models:/only-name", registry_uri=uri)
    registry.create_registered_model("m")
    with pytest.raises(ModelVersionNotFound):
        resolve_artifact_repository("models:/m/7", registry_uri=uri)
