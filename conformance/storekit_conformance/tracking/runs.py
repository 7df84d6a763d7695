"""Runs: creation defaults, updates, soft delete, tags, writes to deleted runs (contract section 3)."""

from __future__ import annotations

import re
import uuid
from typing import Callable

import pytest

from storekit.entities import LifecycleStage, Metric, Param, Run, RunStatus, RunTag, ViewType
from storekit.errors import InvalidParameterError, NotFoundError, RunNotFound
from storekit.interfaces import TrackingStore

from ..helpers import now_ms, unique
from ..marks import contract

__all__ = ["RunChecks"]

_WRITES: dict[str, Callable[[TrackingStore, str], object]] = {
    "log_batch": lambda s, r: s.log_batch(r, metrics=[Metric("m", 1.0, now_ms(), 0)]),
    "log_metric": lambda s, r: s.log_metric(r, Metric("m", 1.0, now_ms(), 0)),
    "log_param": lambda s, r: s.log_param(r, Param("p", "v")),
    "set_tag": lambda s, r: s.set_tag(r, RunTag("t", "v")),
    "delete_tag": lambda s, r: s.delete_tag(r, "existing"),
    "update_run_info": lambda s, r: s.update_run_info(r, status=RunStatus.FINISHED, end_time=now_ms()),
}


class RunChecks:
    """Checks of runs."""

    @contract("3", "create_run: RUNNING, active, 32-hex run id, start_time defaults to now, name/user None stay None")
    def test_create_run_defaults(self, tracking_store: TrackingStore, experiment_id: str) -> None:
        before = now_ms()
        run = tracking_store.create_run(experiment_id, tags={"k": "v"})
        after = now_ms()
        info = run.info
        assert re.fullmatch(r"[0-9a-f]{32}", info.run_id), info.run_id
        assert info.experiment_id == experiment_id
        assert info.status == RunStatus.RUNNING
        assert info.lifecycle_stage == LifecycleStage.ACTIVE
        assert info.run_name is None and info.user_id is None
        assert info.start_time is not None and before - 1000 <= info.start_time <= after + 1000
        assert run.data.tags.get("k") == "v"
        fetched = tracking_store.get_run(info.run_id)
        assert fetched.info == info

    @contract("3", "create_run keeps the given start_time, run_name and user_id")
    def test_create_run_explicit_fields(self, tracking_store: TrackingStore, experiment_id: str) -> None:
        run = tracking_store.create_run(experiment_id, user_id="alice", start_time=1234567, run_name="first try")
        got = tracking_store.get_run(run.info.run_id).info
        assert (got.user_id, got.start_time, got.run_name) == ("alice", 1234567, "first try")

    @contract("3", "a malformed run id raises InvalidParameterError; a well-formed unknown one RunNotFound")
    def test_get_unknown_run(self, tracking_store: TrackingStore) -> None:
        with pytest.raises(RunNotFound):
            tracking_store.get_run(uuid.uuid4().hex)
        for bad in ("not-a-run", "A" * 32, "../" + "a" * 29):
            with pytest.raises(InvalidParameterError):
                tracking_store.get_run(bad)

    @contract("3", "create_run in a deleted experiment raises InvalidParameterError saying it is deleted")
    def test_create_run_in_deleted_experiment(self, tracking_store: TrackingStore, experiment_id: str) -> None:
        tracking_store.delete_experiment(experiment_id)
        with pytest.raises(InvalidParameterError, match="(?i)deleted"):
            tracking_store.create_run(experiment_id)

    @contract("3", "update_run_info changes status, end time and name; None leaves a field unchanged")
    def test_update_run_info(self, tracking_store: TrackingStore, run: Run) -> None:
        run_id = run.info.run_id
        end = now_ms()
        tracking_store.update_run_info(run_id, status=RunStatus.FINISHED, end_time=end, run_name="done")
        info = tracking_store.get_run(run_id).info
        assert (info.status, info.end_time, info.run_name) == (RunStatus.FINISHED, end, "done")
        tracking_store.update_run_info(run_id, status=None, end_time=None, run_name=None)
        assert tracking_store.get_run(run_id).info == info

    @contract("3", "deleting a run is soft: hidden from ACTIVE_ONLY, shown by DELETED_ONLY/ALL, restored unchanged")
    def test_soft_delete_and_restore_run(self, tracking_store: TrackingStore, experiment_id: str) -> None:
        run = tracking_store.create_run(experiment_id, tags={"t": "1"})
        run_id = run.info.run_id
        tracking_store.log_batch(run_id, metrics=[Metric("m", 0.5, 1, 0)], params=[Param("p", "x")])
        before = tracking_store.get_run(run_id)

        def visible(view: ViewType) -> list[str]:
            return [r.info.run_id for r in tracking_store.search_runs([experiment_id], view_type=view)]

        tracking_store.delete_run(run_id)
        assert tracking_store.get_run(run_id).info.lifecycle_stage == LifecycleStage.DELETED
        assert visible(ViewType.ACTIVE_ONLY) == []
        assert visible(ViewType.DELETED_ONLY) == [run_id]
        assert visible(ViewType.ALL) == [run_id]
        tracking_store.delete_run(run_id)  # idempotent
        tracking_store.restore_run(run_id)
        after = tracking_store.get_run(run_id)
        assert after.info == before.info and after.data == before.data
        assert visible(ViewType.ACTIVE_ONLY) == [run_id]
        tracking_store.restore_run(run_id)  # restoring an active run is a no-op

    @contract("3", "runs of a deleted experiment are hidden from ACTIVE_ONLY searches")
    def test_deleted_experiment_hides_runs(self, tracking_store: TrackingStore, experiment_id: str, run: Run) -> None:
        tracking_store.delete_experiment(experiment_id)
        assert tracking_store.search_runs([experiment_id], view_type=ViewType.ACTIVE_ONLY) == []
        tracking_store.restore_experiment(experiment_id)
        assert [r.info.run_id for r in tracking_store.search_runs([experiment_id])] == [run.info.run_id]

    @pytest.mark.parametrize("write", sorted(_WRITES))
    @contract("3", "writing to a deleted run raises InvalidParameterError saying it is deleted")
    def test_write_to_deleted_run_raises(self, tracking_store: TrackingStore, run: Run, write: str) -> None:
        run_id = run.info.run_id
        tracking_store.set_tag(run_id, RunTag("existing", "x"))
        before = tracking_store.get_run(run_id).data
        tracking_store.delete_run(run_id)
        with pytest.raises(InvalidParameterError, match="(?i)deleted"):
            _WRITES[write](tracking_store, run_id)
        after = tracking_store.get_run(run_id)
        assert after.data == before
        assert after.info.status == RunStatus.RUNNING

    @contract("3", "writing to a finished run is allowed")
    def test_write_to_finished_run(self, tracking_store: TrackingStore, run: Run) -> None:
        run_id = run.info.run_id
        tracking_store.update_run_info(run_id, status=RunStatus.FINISHED, end_time=now_ms())
        tracking_store.log_batch(
            run_id, metrics=[Metric("late", 2.0, 5, 1)], params=[Param("p", "v")], tags=[RunTag("t", "v")]
        )
        data = tracking_store.get_run(run_id).data
        assert (data.metrics, data.params, data.tags.get("t")) == ({"late": 2.0}, {"p": "v"}, "v")

    @contract("3", "run tags: set overwrites, delete removes; deleting an unset key raises NotFoundError")
    def test_run_tags(self, tracking_store: TrackingStore, run: Run) -> None:
        run_id = run.info.run_id
        tracking_store.set_tag(run_id, RunTag("a", "1"))
        tracking_store.set_tag(run_id, RunTag("a", "2"))
        assert tracking_store.get_run(run_id).data.tags.get("a") == "2"
        tracking_store.delete_tag(run_id, "a")
        assert "a" not in tracking_store.get_run(run_id).data.tags
        with pytest.raises(NotFoundError):
            tracking_store.delete_tag(run_id, "a")

    @contract("3", "run names: at most 500 characters")
    def test_run_name_limit(self, tracking_store: TrackingStore, experiment_id: str) -> None:
        ok = tracking_store.create_run(experiment_id, run_name="r" * 500)
        assert tracking_store.get_run(ok.info.run_id).info.run_name == "r" * 500
        with pytest.raises(InvalidParameterError):
            tracking_store.create_run(experiment_id, run_name="r" * 501)
        assert len(tracking_store.search_runs([experiment_id], view_type=ViewType.ALL)) == 1

    @contract("3", "search_runs returns a run's latest metrics, params and tags as get_run does")
    def test_search_returns_full_runs(self, tracking_store: TrackingStore, experiment_id: str) -> None:
        run = tracking_store.create_run(experiment_id, run_name=unique("full"))
        tracking_store.log_batch(
            run.info.run_id,
            metrics=[Metric("m", 1.0, 1, 0), Metric("m", 2.0, 1, 1)],
            params=[Param("p", "v")],
            tags=[RunTag("t", "w")],
        )
        (found,) = tracking_store.search_runs([experiment_id])
        got = tracking_store.get_run(run.info.run_id)
        assert found.info == got.info and found.data == got.data
        assert found.data.metrics == {"m": 2.0}
