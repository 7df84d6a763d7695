"""TrackingClient end to end against real embedded stores (file and SQLite)."""

from __future__ import annotations

import math
import os
import time
from pathlib import Path
from typing import Iterator

import pytest

from storekit.client import TrackingClient
from storekit.context.user import current_user
from storekit.entities import Metric, Param, RunStatus, RunTag, ViewType
from storekit.errors import (
    AlreadyExistsError,
    InvalidParameterError,
    ModelVersionNotFound,
    NotFoundError,
    RunNotFound,
    UnknownSchemeError,
)
from storekit.uri import path_to_file_uri

BACKENDS = ("file", "sqlite")


def make_store_uri(kind: str, root: Path) -> str:
    """A fresh store URI of backend ``kind`` under ``root``."""
    if kind == "file":
        return path_to_file_uri(root / "store")
    return f"sqlite:///{root / 'storekit.db'}"


@pytest.fixture(params=BACKENDS)
def store_uri(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh store URI of each embedded backend; cwd and artifacts live in ``tmp_path``."""
    for var in ("STOREKIT_TRACKING_URI", "STOREKIT_REGISTRY_URI", "STOREKIT_ARTIFACT_URI"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)
    return make_store_uri(request.param, tmp_path)


@pytest.fixture
def client(store_uri: str) -> Iterator[TrackingClient]:
    """A client of the fresh store, closed afterwards."""
    with TrackingClient(store_uri) as c:
        yield c


def test_experiments(client: TrackingClient) -> None:
    exp_id = client.create_experiment("exp", tags={"team": "a"})
    assert client.get_experiment(exp_id).name == "exp"
    assert client.get_experiment_by_name("exp").experiment_id == exp_id
    assert client.get_experiment_by_name("nope") is None
    with pytest.raises(AlreadyExistsError):
        client.create_experiment("exp")
    client.set_experiment_tag(exp_id, "n", 3)
    assert client.get_experiment(exp_id).tags == {"team": "a", "n": "3"}
    client.delete_experiment_tag(exp_id, "team")
    client.rename_experiment(exp_id, "renamed")
    client.delete_experiment(exp_id)
    assert [e.name for e in client.search_experiments(ViewType.DELETED_ONLY)] == ["renamed"]
    assert client.search_experiments() == []
    client.restore_experiment(exp_id)
    assert [e.tags for e in client.search_experiments()] == [{"n": "3"}]


def test_run_lifecycle_and_friendly_logging(client: TrackingClient) -> None:
    exp_id = client.create_experiment("exp")
    before = int(time.time() * 1000)
    run = client.create_run(exp_id, tags={"k": 1}, run_name="r1")
    run_id = run.info.run_id
    assert run.info.status is RunStatus.RUNNING or run.info.status == "RUNNING"
    assert run.info.user_id == current_user()
    assert run.info.run_name == "r1" and run.data.tags["k"] == "1"

    client.log_param(run_id, "lr", 0.1)
    client.log_param(run_id, "lr", "0.1")  # same value again: no-op
    with pytest.raises(InvalidParameterError, match="lr"):
        client.log_param(run_id, "lr", 0.2)
    client.set_tag(run_id, "epochs", 10)
    client.log_metric(run_id, "loss", 1.5)
    client.log_metric(run_id, "loss", 0.5, step=3)
    client.log_metric(run_id, "nan", float("nan"), timestamp=123, step=1)
    client.log_batch(run_id, metrics=[Metric("acc", 0.9, 5, 2)], params=[Param("opt", "sgd")], tags=[RunTag("t", "v")])

    got = client.get_run(run_id)
    assert got.data.params == {"lr": "0.1", "opt": "sgd"}
    assert got.data.metrics["loss"] == 0.5 and got.data.metrics["acc"] == 0.9
    assert math.isnan(got.data.metrics["nan"])
    assert got.data.tags["epochs"] == "10" and got.data.tags["t"] == "v"
    history = client.get_metric_history(run_id, "loss")
    assert [(m.value, m.step) for m in history] == [(1.5, 0), (0.5, 3)]
    assert before <= history[0].timestamp <= int(time.time() * 1000)

    client.delete_tag(run_id, "t")
    with pytest.raises(NotFoundError):
        client.delete_tag(run_id, "t")

    with pytest.raises(InvalidParameterError, match="status"):
        client.set_terminated(run_id, "RUNNING")
    with pytest.raises(InvalidParameterError, match="status"):
        client.set_terminated(run_id, "DONE")
    client.set_terminated(run_id, "failed")
    info = client.get_run(run_id).info
    assert info.status == RunStatus.FAILED and info.end_time is not None and info.end_time >= before

    assert [r.info.run_id for r in client.search_runs(exp_id)] == [run_id]
    assert client.search_runs([exp_id], "params.opt = 'adam'") == []
    client.delete_run(run_id)
    assert client.search_runs(exp_id) == []
    client.restore_run(run_id)
    assert len(client.search_runs(exp_id, max_results=5)) == 1


def test_bad_input_is_refused_with_typed_errors(client: TrackingClient) -> None:
    run_id = client.create_run(client.create_experiment("e")).info.run_id
    with pytest.raises(InvalidParameterError, match="metric"):
        client.log_metric(run_id, "m", "not a number")  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match="metric"):
        client.log_metric(run_id, "m", True)  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match="250"):
        client.log_param(run_id, "k" * 251, "v")
    with pytest.raises(RunNotFound):
        client.get_run("0" * 32)
    assert client.get_run(run_id).data.metrics == {}


def test_artifacts_round_trip(client: TrackingClient, tmp_path: Path) -> None:
    run_id = client.create_run(client.create_experiment("e")).info.run_id
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "a.txt").write_text("alpha")
    (src / "sub" / "b.txt").write_text("beta!")
    single = tmp_path / "single.txt"
    single.write_text("one")

    client.log_artifacts(run_id, src, artifact_path="model")
    client.log_artifact(run_id, single)
    assert [(f.path, f.is_dir) for f in client.list_artifacts(run_id)] == [("model", True), ("single.txt", False)]
    listing = client.list_artifacts(run_id, "model")
    assert [(f.path, f.file_size) for f in listing] == [("model/a.txt", 5), ("model/sub", None)]

    dst = tmp_path / "dst"
    dst.mkdir()
    local = client.download_artifacts(run_id, "model", dst)
    assert Path(local, "sub", "b.txt").read_text() == "beta!"
    assert Path(client.download_artifacts(run_id, "single.txt", dst)).read_text() == "one"
    with pytest.raises(InvalidParameterError):
        client.list_artifacts(run_id, "../escape")


def test_registry(client: TrackingClient) -> None:
    run_id = client.create_run(client.create_experiment("e")).info.run_id
    client.create_registered_model("m", tags={"a": "b"}, description="first")
    v1 = client.create_model_version("m", f"runs:/{run_id}/model", run_id=run_id)
    v2 = client.create_model_version("m", f"runs:/{run_id}/model")
    assert (v1.version, v2.version) == ("1", "2")
    client.set_registered_model_alias("m", "champion", 1)
    assert client.get_model_version_by_alias("m", "champion").version == "1"
    client.transition_model_version_stage("m", 2, "production")
    assert [v.version for v in client.get_latest_versions("m", ["Production"])] == ["2"]
    assert client.get_model_version_download_uri("m", "1") == f"runs:/{run_id}/model"
    client.set_model_version_tag("m", 1, "k", 1)
    assert client.get_model_version("m", "1").tags == {"k": "1"}
    client.update_registered_model("m", "second")
    assert client.get_registered_model("m").description == "second"
    assert [m.name for m in client.search_registered_models("name = 'm'")] == ["m"]
    assert {v.version for v in client.search_model_versions("name = 'm'")} == {"1", "2"}
    client.delete_model_version("m", 1)
    with pytest.raises(ModelVersionNotFound):
        client.get_model_version_by_alias("m", "champion")


def test_registry_store_is_resolved_lazily(store_uri: str) -> None:
    client = TrackingClient(store_uri, registry_uri="nosuchscheme://somewhere")
    exp_id = client.create_experiment("tracking works without the registry")
    assert client.get_experiment(exp_id).name.startswith("tracking")
    with pytest.raises(UnknownSchemeError, match="nosuchscheme"):
        client.get_registered_model("m")


def test_uris_and_redacted_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STOREKIT_REGISTRY_URI", raising=False)
    monkeypatch.setenv("STOREKIT_TRACKING_URI", "postgresql://bob:hunter2@db.example/track")
    client = TrackingClient()  # nothing is connected yet
    assert client.tracking_uri == "postgresql://bob:hunter2@db.example/track"
    assert client.registry_uri == client.tracking_uri
    assert "hunter2" not in repr(client) and "bob:***@db.example" in repr(client)
    explicit = TrackingClient("sqlite:///x.db", "mysql://u:pw@h/db")
    assert explicit.registry_uri == "mysql://u:pw@h/db" and "pw@" not in repr(explicit)
    monkeypatch.setenv("STOREKIT_REGISTRY_URI", "sqlite:///reg.db")
    assert TrackingClient("sqlite:///other.db").registry_uri == "sqlite:///reg.db"
    assert os.environ["STOREKIT_TRACKING_URI"]  # untouched


# --- second-reading findings: ordering with the async logger, native errors ---------------------


def test_synchronous_writes_wait_for_queued_asynchronous_ones(tmp_path) -> None:
    import storekit
    from storekit.errors import InvalidParameterError

    client = storekit.TrackingClient(tracking_uri=str(tmp_path / "store"))
    run = client.create_run(client.create_experiment("order"))
    rid = run.info.run_id
    client.set_tag(rid, "t", "v", synchronous=False)
    client.delete_tag(rid, "t")  # must see the queued tag, then delete it
    client.flush()
    assert "t" not in client.get_run(rid).data.tags
    client.log_metric(rid, "m", 1.0, synchronous=False)
    client.delete_run(rid)  # the queued point is stored before the run is deleted
    assert [p.value for p in client.get_metric_history(rid, "m")] == [1.0]
    with pytest.raises(InvalidParameterError):
        client.log_metric(rid, "m", 2.0)
    client.close()


def test_huge_integer_metric_and_bad_status_are_typed_errors(tmp_path) -> None:
    import storekit
    from storekit.errors import InvalidParameterError

    client = storekit.TrackingClient(tracking_uri=str(tmp_path / "store"))
    exp = client.create_experiment("typed")
    run = client.create_run(exp)
    with pytest.raises(InvalidParameterError, match="too large"):
        client.log_metric(run.info.run_id, "m", 10**400)
    model = client.create_logged_model(exp)
    with pytest.raises(InvalidParameterError, match="status"):
        client.finalize_logged_model(model.model_id, "weird")
    assert client.finalize_logged_model(model.model_id, "ready").status.value == "READY"
    client.close()
