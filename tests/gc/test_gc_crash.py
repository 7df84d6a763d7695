"""An interrupted ``storekit gc`` leaves nothing half-removed, and running it again finishes the job.

A real ``storekit gc`` process is killed with SIGKILL at named points
(``STOREKIT_CRASH_AT``, see :mod:`storekit.crashpoints`): after an entity was
marked, after an artifact tree was deleted, after the rows went, and -- on
the file store -- between the atomic rename into the trash and the index
commit.  After each kill the store must be consistent from a user's point of
view (every entity is either whole and restorable, or marked and not
restorable, or gone; the kept run untouched), and a second gc must leave a
store that ``storekit check`` finds clean.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from storekit.client import TrackingClient
from storekit.crashpoints import ENV
from storekit.entities import LifecycleStage, Metric
from storekit.errors import ExperimentNotFound, InvalidParameterError, RunNotFound
from storekit.integrity import check_store

from .conftest import make_uri

_GC = "from storekit.cli import main; main()"

#: (backend, crash point); the file store also dies between its rename and its commit
CASES = [
    *[
        (b, p)
        for b in ("file", "sqlite")
        for p in ("gc-begun:1", "gc-artifacts:1", "gc-purged:1", "gc-artifacts:2", "gc-begun:3", "gc-artifacts:3")
    ],
    ("file", "file-run-trashed:1"),
    ("file", "file-run-trashed:2"),
    ("file", "file-experiment-trashed:1"),
    *[(b, p) for b in ("postgresql", "mariadb") for p in ("gc-artifacts:1", "gc-begun:3", "gc-artifacts:3")],
]


def _populate(client: TrackingClient, tmp_path: Path) -> dict[str, str]:
    src = tmp_path / "model.bin"
    src.write_bytes(b"\x00" * 4096)

    def run(eid: str, name: str) -> str:
        run_id = client.create_run(eid, run_name=name).info.run_id
        client.log_batch(run_id, metrics=[Metric("loss", float(i), i, i) for i in range(20)])
        client.log_artifact(run_id, src, "model")
        return run_id

    a = client.create_experiment("a")
    ids = {"a": a, "kept": run(a, "kept"), "d1": run(a, "d1"), "d2": run(a, "d2")}
    b = client.create_experiment("b")
    ids.update(b=b, b1=run(b, "b1"), b2=run(b, "b2"))
    client.delete_run(ids["d1"])
    client.delete_run(ids["d2"])
    client.delete_experiment(b)
    return ids


def _gc(uri: str, crash_at: "str | None") -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.pop(ENV, None)
    if crash_at:
        env[ENV] = crash_at
    return subprocess.run(
        [sys.executable, "-c", _GC, "--tracking-uri", uri, "gc", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _has_artifacts(client: TrackingClient, run_id: str) -> bool:
    return [f.path for f in client.list_artifacts(run_id, "model")] == ["model/model.bin"]


def _assert_consistent(client: TrackingClient, ids: dict[str, str], artifact_root: Path) -> None:
    """Whatever is still there is whole, or marked (not restorable) -- never a restorable half."""
    assert client.get_run(ids["kept"]).info.lifecycle_stage is LifecycleStage.ACTIVE
    assert _has_artifacts(client, ids["kept"])
    assert [m.value for m in client.get_metric_history(ids["kept"], "loss")] == [float(i) for i in range(20)]
    for key in ("d1", "d2"):
        try:
            run = client.get_run(ids[key])
        except RunNotFound:
            assert not (artifact_root / ids["a"] / ids[key]).exists(), f"{key}: rows gone, artifacts left"
            continue
        assert run.info.lifecycle_stage is LifecycleStage.DELETED
        if not _has_artifacts(client, ids[key]):
            with pytest.raises(InvalidParameterError, match="being purged"):
                client.restore_run(ids[key])  # half-removed runs cannot come back
    try:
        client.get_experiment(ids["b"])
    except ExperimentNotFound:
        for key in ("b1", "b2"):
            with pytest.raises(RunNotFound):
                client.get_run(ids[key])
        assert not (artifact_root / ids["b"]).exists()
    else:
        whole = all(_has_artifacts(client, ids[k]) for k in ("b1", "b2"))
        for key in ("b1", "b2"):
            assert client.get_run(ids[key]).info.lifecycle_stage is LifecycleStage.DELETED
        if not whole:
            with pytest.raises(InvalidParameterError, match="being purged"):
                client.restore_experiment(ids["b"])


@pytest.mark.timeout(600)
@pytest.mark.parametrize(("backend", "crash_at"), CASES)
def test_killed_gc_then_gc_again(
    backend: str, crash_at: str, tmp_path: Path, artifact_root: Path, request: pytest.FixtureRequest
) -> None:
    uri = make_uri(backend, tmp_path, request)
    with TrackingClient(uri) as client:
        ids = _populate(client, tmp_path)
    killed = _gc(uri, crash_at)
    assert killed.returncode == -signal.SIGKILL, f"gc was not killed at {crash_at}: {killed.stderr}"
    with TrackingClient(uri) as client:
        _assert_consistent(client, ids, artifact_root)
    again = _gc(uri, None)
    assert again.returncode == 0, again.stderr
    with TrackingClient(uri) as client:
        for key in ("d1", "d2", "b1", "b2"):
            with pytest.raises(RunNotFound):
                client.get_run(ids[key])
        with pytest.raises(ExperimentNotFound):
            client.get_experiment(ids["b"])
        assert client.get_run(ids["kept"]).info.lifecycle_stage is LifecycleStage.ACTIVE
    files = {str(p.relative_to(artifact_root)) for p in artifact_root.rglob("*") if p.is_file()}
    assert files == {f"{ids['a']}/{ids['kept']}/artifacts/model/model.bin"}
    report = check_store(uri)
    assert report.ok and report.findings == [], [f.message for f in report.findings]
