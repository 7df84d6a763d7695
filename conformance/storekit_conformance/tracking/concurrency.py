"""Writers in several threads or processes lose nothing (contract section 3)."""

from __future__ import annotations

import json
import threading
from typing import Callable, Optional

import pytest

from storekit.entities import Metric, Param, RunTag
from storekit.interfaces import Capability, TrackingStore

from ..marks import contract, requires
from ..workers import run_workers

__all__ = ["ConcurrencyChecks"]

THREADS = 4
PROCESSES = 3
POINTS = 25


def _run_threads(target: Callable[[int], object], count: int) -> None:
    errors: list[BaseException] = []
    barrier = threading.Barrier(count)

    def wrapped(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            target(index)
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=wrapped, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    if errors:
        raise errors[0]


class ConcurrencyChecks:
    """Checks of concurrent writers."""

    @requires(Capability.CONCURRENT_WRITERS)
    @contract("3-concurrency", "writers in several threads against one store lose nothing (one shared run)")
    def test_threads_log_to_one_run(self, tracking_store: TrackingStore, experiment_id: str) -> None:
        run_id = tracking_store.create_run(experiment_id).info.run_id

        def work(index: int) -> None:
            for step in range(POINTS):
                tracking_store.log_batch(
                    run_id,
                    metrics=[
                        Metric("shared", float(index), 1000 + step, step),
                        Metric(f"own{index}", float(step), 1, step),
                    ],
                    params=[Param(f"p{index}-{step}", str(step))],
                    tags=[RunTag(f"t{index}", str(step))],
                )

        _run_threads(work, THREADS)
        data = tracking_store.get_run(run_id).data
        assert len(tracking_store.get_metric_history(run_id, "shared")) == THREADS * POINTS
        for index in range(THREADS):
            assert len(tracking_store.get_metric_history(run_id, f"own{index}")) == POINTS
            assert data.tags[f"t{index}"] == str(POINTS - 1)
        assert len(data.params) == THREADS * POINTS
        assert data.metrics["shared"] == float(THREADS - 1)  # tie on (step, timestamp): greatest value

    @requires(Capability.CONCURRENT_WRITERS)
    @contract("3-concurrency", "writers in several threads creating runs and experiments lose nothing")
    def test_threads_create_runs(self, tracking_store: TrackingStore, experiment_id: str) -> None:
        made: list[str] = []
        lock = threading.Lock()

        def work(index: int) -> None:
            for i in range(5):
                run = tracking_store.create_run(experiment_id, run_name=f"w{index}-{i}")
                tracking_store.log_param(run.info.run_id, Param("writer", str(index)))
                with lock:
                    made.append(run.info.run_id)

        _run_threads(work, THREADS)
        found = tracking_store.search_runs([experiment_id])
        assert sorted(r.info.run_id for r in found) == sorted(made)
        assert len(set(made)) == THREADS * 5
        assert all(r.data.params.get("writer") is not None for r in found)

    @requires(Capability.MULTIPROCESS_WRITERS)
    @contract("3-concurrency", "writers in several processes (resolving the same URI) lose nothing")
    def test_processes_log_to_one_run(
        self, tracking_store: TrackingStore, experiment_id: str, tracking_uri: Optional[str]
    ) -> None:
        if not tracking_uri:
            pytest.skip("the suite subclass gives no tracking_uri fixture, so other processes cannot open the store")
        run_id = tracking_store.create_run(experiment_id).info.run_id
        results = run_workers(
            "tracking", tracking_uri, PROCESSES, {"run_id": run_id, "experiment_id": experiment_id, "points": POINTS}
        )
        created = [rid for r in results for rid in r["created"]]
        assert len(tracking_store.get_metric_history(run_id, "shared")) == PROCESSES * POINTS
        data = tracking_store.get_run(run_id).data
        assert len([k for k in data.params if k.startswith("proc")]) == PROCESSES * POINTS
        found = {r.info.run_id for r in tracking_store.search_runs([experiment_id])}
        assert set(created) <= found and len(set(created)) == len(created) == PROCESSES * 3, json.dumps(results)[:500]
