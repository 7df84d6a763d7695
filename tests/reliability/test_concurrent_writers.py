"""Concurrent writers: 8 processes x 4 threads against one experiment lose nothing.

Every acknowledged metric point, param and tag is present exactly once,
every run is readable, every visible artifact is complete and model version
numbers are unique and gapless, on the file backend, SQLite, PostgreSQL and
MariaDB.  Sizes grow with ``STOREKIT_SOAK=1``.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from storekit.integrity import check_store
from storekit.plugins import resolve_registry_store, resolve_tracking_store
from tests.reliability.workload import Workload, read_acks, start_worker, verify

pytestmark = pytest.mark.timeout(600)


def prepare(uri: str, tmp_path: Path) -> tuple[str, str]:
    """Create the shared experiment (artifacts under ``tmp_path``) and registered model."""
    store = resolve_tracking_store(uri)
    registry = resolve_registry_store(uri)
    try:
        experiment_id = store.create_experiment("shared", artifact_location=(tmp_path / "artifacts").as_uri())
        registry.create_registered_model("shared-model")
    finally:
        store.close()
        registry.close()
    return experiment_id, "shared-model"


def test_concurrent_writers_lose_nothing(store_uri: str, backend: str, sizes, totals: Counter, tmp_path: Path) -> None:
    experiment_id, model = prepare(store_uri, tmp_path)
    acks = tmp_path / "acks"
    acks.mkdir()
    workload = Workload(
        store_uri, experiment_id, model, acks, metrics_per_batch=sizes.metrics_per_batch, batches=sizes.batches
    )
    procs = [start_worker(workload, w, sizes.threads) for w in range(sizes.processes)]
    for proc in procs:
        proc.join(timeout=500)
    errors = {
        p.name: (acks / f"w{i}.error").read_text() for i, p in enumerate(procs) if (acks / f"w{i}.error").exists()
    }
    assert not errors, f"workers failed: {errors}"
    assert all(p.exitcode == 0 for p in procs), [p.exitcode for p in procs]

    checked = verify(store_uri, experiment_id, model, acks, sizes.metrics_per_batch)
    writers = sizes.processes * sizes.threads
    assert checked["runs"] == writers
    assert checked["metric points"] == writers * sizes.batches * sizes.metrics_per_batch
    assert checked["model versions"] == sum(1 for a in read_acks(acks) if a["op"] == "version")
    report = check_store(store_uri)
    assert report.ok, report.to_dict()
    print(
        f"\n[{backend}] concurrent writers: {writers} writers, "
        + ", ".join(f"{k}={v}" for k, v in sorted(checked.items()))
        + " checked"
    )
    totals.update({f"concurrent {k}": v for k, v in checked.items()})
