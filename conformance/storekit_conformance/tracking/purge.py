"""The purge hook of ``storekit gc`` (capability PURGE): deletion times, marking, removal."""

from __future__ import annotations

import pytest

from storekit.entities import DeletedEntity, Metric, Param, ViewType
from storekit.errors import ExperimentNotFound, InvalidParameterError, NotFoundError, RunNotFound
from storekit.interfaces import Capability, TrackingStore

from ..helpers import now_ms, unique
from ..marks import contract, requires

__all__ = ["PurgeChecks"]


def _listed(store: TrackingStore, kind: str, entity_id: str, experiment_id: str) -> "DeletedEntity | None":
    for entity in store.list_deleted([experiment_id]):
        if entity.kind == kind and entity.entity_id == entity_id:
            return entity
    return None


class PurgeChecks:
    """Checks of list_deleted / begin_purge / purge (contract section 8, capability PURGE)."""

    @requires(Capability.PURGE)
    @contract("8", "PURGE: deleting records the deletion time, restoring clears it; list_deleted lists it")
    def test_purge_deletion_time(self, tracking_store: TrackingStore, experiment_id: str) -> None:
        run_id = tracking_store.create_run(experiment_id, run_name="doomed").info.run_id
        assert _listed(tracking_store, "run", run_id, experiment_id) is None, "an active run was listed as deleted"
        before = now_ms()
        tracking_store.delete_run(run_id)
        after = now_ms()
        entity = _listed(tracking_store, "run", run_id, experiment_id)
        assert entity is not None, "list_deleted does not list a deleted run"
        assert entity.experiment_id == experiment_id and entity.name == "doomed" and not entity.purging
        assert entity.artifact_uri == tracking_store.get_run(run_id).info.artifact_uri
        assert entity.deleted_time is not None and before - 1000 <= entity.deleted_time <= after + 1000, (
            f"deleted_time {entity.deleted_time} is not the time of deletion ({before}..{after})"
        )
        tracking_store.restore_run(run_id)
        assert _listed(tracking_store, "run", run_id, experiment_id) is None, "a restored run is still listed"
        tracking_store.delete_experiment(experiment_id)
        exp = _listed(tracking_store, "experiment", experiment_id, experiment_id)
        assert exp is not None and exp.deleted_time is not None and exp.deleted_time >= before - 1000
        assert _listed(tracking_store, "run", run_id, experiment_id) is None, (
            "an active run of a deleted experiment was listed on its own (it goes with the experiment)"
        )
        tracking_store.restore_experiment(experiment_id)
        assert _listed(tracking_store, "experiment", experiment_id, experiment_id) is None

    @requires(Capability.PURGE)
    @contract("8", "PURGE: begin_purge marks (restore refuses), purge removes the run at once, again is a no-op")
    def test_purge_run(self, tracking_store: TrackingStore, experiment_id: str) -> None:
        kept = tracking_store.create_run(experiment_id).info.run_id
        doomed = tracking_store.create_run(experiment_id).info.run_id
        for run_id in (kept, doomed):
            tracking_store.log_batch(run_id, metrics=[Metric("m", 1.0, 1, 0)], params=[Param("p", run_id)])
        active = DeletedEntity("run", doomed, experiment_id, None, "", None)
        with pytest.raises(InvalidParameterError):
            tracking_store.begin_purge(active)  # not deleted
        tracking_store.delete_run(doomed)
        entity = _listed(tracking_store, "run", doomed, experiment_id)
        assert entity is not None
        with pytest.raises(InvalidParameterError):
            tracking_store.purge(entity)  # not marked
        tracking_store.begin_purge(entity)
        tracking_store.begin_purge(entity)  # idempotent
        marked = _listed(tracking_store, "run", doomed, experiment_id)
        assert marked is not None and marked.purging, "a marked run is not listed with purging=True"
        with pytest.raises(InvalidParameterError):
            tracking_store.restore_run(doomed)
        assert tracking_store.get_run(doomed).info.run_id == doomed, "a marked run must stay readable until purge"
        tracking_store.purge(marked)
        with pytest.raises(RunNotFound):
            tracking_store.get_run(doomed)
        assert _listed(tracking_store, "run", doomed, experiment_id) is None
        tracking_store.purge(marked)  # already gone: no-op
        ids = {r.info.run_id for r in tracking_store.search_runs([experiment_id], view_type=ViewType.ALL)}
        assert ids == {kept}
        assert tracking_store.get_run(kept).data.params == {"p": kept}
        assert [m.value for m in tracking_store.get_metric_history(kept, "m")] == [1.0]

    @requires(Capability.PURGE)
    @contract("8", "PURGE: purging an experiment removes it with all its runs; its id is never handed out again")
    def test_purge_experiment(self, tracking_store: TrackingStore) -> None:
        name = unique("purged")
        experiment_id = tracking_store.create_experiment(name)
        run_ids = [tracking_store.create_run(experiment_id).info.run_id for _ in range(2)]
        tracking_store.log_batch(run_ids[0], metrics=[Metric("m", 2.0, 1, 0)])
        tracking_store.delete_run(run_ids[1])
        tracking_store.delete_experiment(experiment_id)
        entity = _listed(tracking_store, "experiment", experiment_id, experiment_id)
        assert entity is not None and entity.name == name
        tracking_store.begin_purge(entity)
        with pytest.raises(InvalidParameterError):
            tracking_store.restore_experiment(experiment_id)
        tracking_store.purge(entity)
        with pytest.raises(ExperimentNotFound):
            tracking_store.get_experiment(experiment_id)
        assert tracking_store.get_experiment_by_name(name) is None
        for run_id in run_ids:
            with pytest.raises(RunNotFound):
                tracking_store.get_run(run_id)
        tracking_store.purge(entity)  # already gone: no-op
        successor = tracking_store.create_experiment(unique("after-purge"))
        again = tracking_store.create_experiment(name)  # the name is free again
        try:
            assert experiment_id not in (successor, again), (
                f"the purged experiment's id {experiment_id} was handed out again"
            )
        finally:
            for eid in (successor, again):
                try:
                    tracking_store.delete_experiment(eid)
                except NotFoundError:
                    pass
