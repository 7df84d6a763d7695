"""The fluent API end to end against real embedded stores (file and SQLite)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import Iterator, Optional

import pytest

import storekit.config as config
import storekit.fluent as fluent
from storekit.client import TrackingClient
from storekit.context.host import HostContextProvider
from storekit.entities import RunStatus
from storekit.errors import InvalidParameterError
from storekit.plugins import PluginWarning
from tests.test_client import store_uri  # noqa: F401  (fixture)


@pytest.fixture
def tracking(store_uri: str) -> Iterator[TrackingClient]:
    """The fluent API pointed at a fresh store; its global state is reset afterwards."""
    fluent.set_tracking_uri(store_uri)
    try:
        yield TrackingClient(store_uri)
    finally:
        while fluent.active_run() is not None:
            fluent.end_run()
        fluent._reset()


def test_uri_precedence(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(config, "_tracking_uri", None)
    monkeypatch.setattr(config, "_registry_uri", None)
    monkeypatch.setattr(fluent, "_client", None)
    monkeypatch.delenv("STOREKIT_REGISTRY_URI", raising=False)
    monkeypatch.delenv("STOREKIT_TRACKING_URI", raising=False)
    monkeypatch.chdir(tmp_path)
    assert fluent.get_tracking_uri() == f"sqlite:///{tmp_path}/storekit.db"
    monkeypatch.setenv("STOREKIT_TRACKING_URI", "sqlite:///from-env.db")
    assert fluent.get_tracking_uri() == "sqlite:///from-env.db"
    assert fluent.get_registry_uri() == "sqlite:///from-env.db"
    fluent.set_tracking_uri("relative/store")
    assert fluent.get_tracking_uri() == str(tmp_path / "relative" / "store")  # absolute, wins over env
    monkeypatch.setenv("STOREKIT_REGISTRY_URI", "sqlite:///reg-env.db")
    assert fluent.get_registry_uri() == "sqlite:///reg-env.db"
    fluent.set_registry_uri("sqlite:///reg-set.db")
    assert fluent.get_registry_uri() == "sqlite:///reg-set.db"
    assert fluent.get_client().registry_uri == "sqlite:///reg-set.db"


def test_start_run_defaults_to_the_default_experiment(tracking: TrackingClient) -> None:
    with fluent.start_run(run_name="first") as run:
        assert fluent.active_run() is run
        fluent.log_param("lr", 0.01)
        fluent.log_metric("loss", 0.5, step=2)
        fluent.set_tag("phase", "train")
    assert fluent.active_run() is None
    default = tracking.get_experiment_by_name("Default")
    assert default is not None and run.info.experiment_id == default.experiment_id
    got = tracking.get_run(run.info.run_id)
    assert got.info.status == RunStatus.FINISHED and got.info.end_time is not None
    assert got.info.run_name == "first"
    assert got.data.params == {"lr": "0.01"}
    assert got.data.metrics == {"loss": 0.5}
    assert got.data.tags["phase"] == "train"
    # context tags were added
    assert got.data.tags["storekit.python.version"]
    assert got.data.tags["storekit.source.type"] in ("LOCAL", "NOTEBOOK", "JOB")


def test_exception_marks_the_run_failed_and_propagates(tracking: TrackingClient) -> None:
    with pytest.raises(ZeroDivisionError):
        with fluent.start_run() as run:
            1 / 0
    assert tracking.get_run(run.info.run_id).info.status == RunStatus.FAILED
    assert fluent.active_run() is None


def test_set_experiment_and_deleted_experiments(tracking: TrackingClient) -> None:
    exp = fluent.set_experiment("exp-a")
    assert fluent.set_experiment("exp-a").experiment_id == exp.experiment_id  # found, not re-created
    with fluent.start_run() as run:
        pass
    assert run.info.experiment_id == exp.experiment_id
    assert [r.info.run_id for r in fluent.search_runs()] == [run.info.run_id]
    tracking.delete_experiment(exp.experiment_id)
    with pytest.raises(InvalidParameterError, match="deleted"):
        fluent.set_experiment("exp-a")
    with pytest.raises(InvalidParameterError, match="deleted"):
        fluent.start_run(experiment_name="exp-a")
    other = fluent.start_run(experiment_name="exp-b")
    assert tracking.get_experiment(other.info.experiment_id).name == "exp-b"


def test_nested_runs(tracking: TrackingClient) -> None:
    with fluent.start_run() as parent:
        with pytest.raises(InvalidParameterError, match="nested=True"):
            fluent.start_run()
        with fluent.start_run(nested=True) as child:
            assert fluent.active_run() is child
            grandchild = fluent.start_run(nested=True)
        # leaving the child's block ended the grandchild nested inside it too
        assert fluent.active_run() is parent
    tags = tracking.get_run(child.info.run_id).data.tags
    assert tags["storekit.parentRunId"] == parent.info.run_id
    for run in (parent, child, grandchild):
        assert tracking.get_run(run.info.run_id).info.status == RunStatus.FINISHED


def test_end_run_and_resume(tracking: TrackingClient) -> None:
    run = fluent.start_run()
    fluent.end_run("KILLED")
    fluent.end_run()  # no active run: no-op
    assert tracking.get_run(run.info.run_id).info.status == RunStatus.KILLED
    with fluent.start_run(run_id=run.info.run_id, tags={"resumed": "yes"}) as resumed:
        assert tracking.get_run(run.info.run_id).info.status == RunStatus.RUNNING
        fluent.log_metric("m", 1.0)
    assert resumed.info.run_id == run.info.run_id
    got = tracking.get_run(run.info.run_id)
    assert got.info.status == RunStatus.FINISHED and got.data.tags["resumed"] == "yes"
    tracking.delete_run(run.info.run_id)
    with pytest.raises(InvalidParameterError, match="deleted"):
        fluent.start_run(run_id=run.info.run_id)
    with pytest.raises(InvalidParameterError, match="terminal"):
        fluent.end_run("RUNNING")


def test_batched_logging_beyond_the_batch_limits(tracking: TrackingClient) -> None:
    with fluent.start_run() as run:
        fluent.log_params({f"p{i}": i for i in range(150)})
        fluent.log_metrics({f"m{i}": i / 2 for i in range(1200)}, step=7)
        fluent.set_tags({f"t{i}": i for i in range(120)})
    data = tracking.get_run(run.info.run_id).data
    assert len(data.params) == 150 and data.params["p149"] == "149"
    assert len(data.metrics) == 1200 and data.metrics["m1199"] == 599.5
    assert tracking.get_metric_history(run.info.run_id, "m3")[0].step == 7
    assert data.tags["t119"] == "119"


def test_logging_without_a_run_starts_one(tracking: TrackingClient) -> None:
    assert fluent.active_run() is None
    fluent.log_metric("auto", 1.0)
    run = fluent.active_run()
    assert run is not None
    assert tracking.get_run(run.info.run_id).data.metrics == {"auto": 1.0}


def test_user_tags_win_over_context_tags(tracking: TrackingClient) -> None:
    with fluent.start_run(tags={"storekit.user": "someone-else", "storekit.source.type": "JOB"}) as run:
        pass
    tags = tracking.get_run(run.info.run_id).data.tags
    assert tags["storekit.user"] == "someone-else" and tags["storekit.source.type"] == "JOB"


def test_failing_provider_warns_and_the_run_is_still_created(
    tracking: TrackingClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(self: HostContextProvider) -> bool:
        raise OSError("cannot resolve host")

    monkeypatch.setattr(HostContextProvider, "in_context", boom)
    with pytest.warns(PluginWarning, match="cannot resolve host"):
        run = fluent.start_run()
    fluent.end_run()
    tags = tracking.get_run(run.info.run_id).data.tags
    assert "storekit.host.name" not in tags and "storekit.python.version" in tags


def test_artifacts_and_get_run(tracking: TrackingClient, tmp_path: Path) -> None:
    model = tmp_path / "model"
    model.mkdir()
    (model / "w.json").write_text("[1, 2]")
    (tmp_path / "notes.txt").write_text("n")
    with fluent.start_run() as run:
        fluent.log_artifacts(model, "model")
        fluent.log_artifact(tmp_path / "notes.txt")
    assert [f.path for f in tracking.list_artifacts(run.info.run_id)] == ["model", "notes.txt"]
    assert fluent.get_run(run.info.run_id).info.run_id == run.info.run_id


def test_active_run_stack_is_per_thread(tracking: TrackingClient) -> None:
    seen: dict[str, Optional[str]] = {}

    def worker() -> None:
        seen["before"] = None if fluent.active_run() is None else "leaked"
        with fluent.start_run() as run:  # not nested: this thread has no active run
            fluent.log_metric("thread", 1.0)
            seen["run"] = run.info.run_id

    with fluent.start_run() as main_run:
        thread = threading.Thread(target=worker)
        thread.start()
        thread.join()
        assert fluent.active_run() is main_run
    assert seen["before"] is None
    assert seen["run"] != main_run.info.run_id
    assert tracking.get_run(seen["run"]).data.metrics == {"thread": 1.0}


def test_atexit_finishes_a_run_left_active(store_uri: str, tmp_path: Path) -> None:
    script = textwrap.dedent(
        f"""
        import storekit.fluent as fluent
        fluent.set_tracking_uri({store_uri!r})
        run = fluent.start_run()
        fluent.log_metric("m", 1.0)
        print(run.info.run_id)
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert proc.returncode == 0, proc.stderr
    run_id = proc.stdout.strip().splitlines()[-1]
    info = TrackingClient(store_uri).get_run(run_id).info
    assert info.status == RunStatus.FINISHED and info.end_time is not None


def test_active_run_stays_bound_to_its_store(tracking: TrackingClient, tmp_path: Path) -> None:
    run = fluent.start_run()
    fluent.set_tracking_uri(tmp_path / "another-store")
    fluent.log_metric("m", 2.0)  # still goes to the run's own store
    fluent.end_run()
    got = tracking.get_run(run.info.run_id)
    assert got.info.status == RunStatus.FINISHED and got.data.metrics == {"m": 2.0}
