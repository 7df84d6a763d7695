"""Capabilities whose promise reaches beyond one store object: DURABLE, REGISTRY, IMPORT (contract section 8)."""

from __future__ import annotations

import math
import uuid
from typing import Any, Optional

import pytest

from storekit.entities import Experiment, LifecycleStage, Metric, Param, RunInfo, RunStatus, RunTag
from storekit.interfaces import Capability, RegistryStore, TrackingStore

from ..helpers import unique
from ..marks import contract, requires
from ..workers import run_workers

__all__ = ["CapabilityChecks"]


class CapabilityChecks:
    """Checks of DURABLE, REGISTRY and IMPORT."""

    @requires(Capability.DURABLE)
    @contract("8", "DURABLE: data written and acknowledged is read back unchanged by a new process after close")
    def test_durable_across_processes(self, tracking_store: TrackingStore, tracking_uri: Optional[str]) -> None:
        if not tracking_uri:
            pytest.fail(
                "the store declares DURABLE, but the suite subclass gives no tracking_uri fixture, "
                "so no other process can open it to check"
            )
        writer = type(tracking_store)(tracking_uri)  # type: ignore[call-arg]  # a second instance, closed first
        name = unique("durable")
        try:
            experiment_id = writer.create_experiment(name, tags={"e": "1"})
            run = writer.create_run(experiment_id, start_time=1_700_000_000_000, run_name="kept", tags={"t": "1"})
            run_id = run.info.run_id
            writer.log_batch(
                run_id,
                metrics=[Metric("m", v, 1_700_000_000_000 + i, i) for i, v in enumerate((0.5, math.inf, math.nan))],
                params=[Param("p", "v")],
                tags=[RunTag("t2", "2")],
            )
            writer.update_run_info(run_id, status=RunStatus.FINISHED, end_time=1_700_000_000_999)
        finally:
            writer.close()
        (got,) = run_workers("tracking-read", tracking_uri, 1, {"run_id": run_id, "metric": "m", "tags": ["t", "t2"]})
        try:
            assert got == {
                "experiment": [name, {"e": "1"}],
                "info": ["kept", "FINISHED", 1_700_000_000_000, 1_700_000_000_999],
                "metrics": {"m": "nan"},
                "params": {"p": "v"},
                "tags": {"t": "1", "t2": "2"},
                "history": [
                    [0, 1_700_000_000_000, "0.5"],
                    [1, 1_700_000_000_001, "inf"],
                    [2, 1_700_000_000_002, "nan"],
                ],
            }, f"a new process read back something else: {got}"
        finally:
            tracking_store.delete_experiment(experiment_id)

    @requires(Capability.REGISTRY)
    @contract("8", "REGISTRY: the tracking store's URI also serves a registry store")
    def test_registry_from_tracking_uri(self, tracking_uri: Optional[str]) -> None:
        if not tracking_uri:
            pytest.skip("the suite subclass gives no tracking_uri fixture, so the registry cannot be resolved from it")
        from storekit.plugins import resolve_registry_store

        registry = resolve_registry_store(tracking_uri)
        try:
            assert isinstance(registry, RegistryStore)
            name = unique("reg")
            registry.create_registered_model(name)
            assert registry.get_registered_model(name).name == name
            registry.delete_registered_model(name)
        finally:
            registry.close()

    @requires(Capability.IMPORT)
    @contract("8", "IMPORT: import_experiment and import_run write whole records with their own ids; again replaces")
    def test_import_keeps_ids(self, tracking_store: TrackingStore, experiment_id: str) -> None:
        store: Any = tracking_store  # the import hook is not part of the abstract interface
        location = store.get_experiment(experiment_id).artifact_location
        name = unique("imported")
        given = Experiment(
            experiment_id,
            name,
            location,
            LifecycleStage.ACTIVE,
            {"origin": "import"},
            1_600_000_000_000,
            1_600_000_000_500,
        )
        store.import_experiment(given, artifact_location=location)  # replaces the experiment with that id
        got = store.get_experiment(experiment_id)
        assert (got.experiment_id, got.name, got.tags, got.creation_time) == (
            experiment_id,
            name,
            {"origin": "import"},
            1_600_000_000_000,
        )
        run_id = uuid.uuid4().hex
        info = RunInfo(
            run_id,
            experiment_id,
            "imported",
            "importer",
            RunStatus.FINISHED,
            1_600_000_000_000,
            1_600_000_000_900,
            LifecycleStage.ACTIVE,
            f"{location}/{run_id}/artifacts",
        )
        points = [Metric("m", v, 1_600_000_000_000 + i, i) for i, v in enumerate((0.5, math.inf, 0.25))]
        for _ in range(2):  # importing the same run again replaces it: nothing is duplicated
            store.import_run(info, {"p": "1"}, {"t": "x"}, lambda: [points])
        run = store.get_run(run_id)
        assert (run.info.run_id, run.info.experiment_id, run.info.run_name, run.info.user_id) == (
            run_id,
            experiment_id,
            "imported",
            "importer",
        )
        assert (run.info.status, run.info.start_time, run.info.end_time) == (
            RunStatus.FINISHED,
            1_600_000_000_000,
            1_600_000_000_900,
        )
        assert (run.data.params, run.data.tags, run.data.metrics) == ({"p": "1"}, {"t": "x"}, {"m": 0.25})
        history = [(m.step, m.timestamp, m.value) for m in store.get_metric_history(run_id, "m")]
        assert history == [(p.step, p.timestamp, p.value) for p in points], history
        assert [r.info.run_id for r in store.search_runs([experiment_id])] == [run_id]
