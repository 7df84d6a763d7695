"""W1 ingest: runs with params, tags and metric histories through ``log_batch``; plus per-call ``log_metric``.

Floor: the same number of rows written with plain ``sqlite3`` ``executemany``
into one table in one transaction, on the same disk, in the same run.
"""

from __future__ import annotations

import random
import sqlite3
import time
from pathlib import Path
from typing import Iterator

from storekit.entities import Metric, Param, RunStatus, RunTag
from storekit.validation import MAX_PARAMS_PER_BATCH, MAX_TAGS_PER_BATCH

from ..common import Figure, Timer, median, p95
from ..context import BenchContext, Seeded

__all__ = ["run", "ingest", "ensure_seeded", "run_payload", "executemany_floor", "per_call_latencies", "P0_VALUES"]

#: ``params.p0`` cycles through this many values (``v0``..``v9``), so ``params.p0 = 'v3'`` matches 10 %.
P0_VALUES = 10
BASE_TS = 1_700_000_000_000


def run_payload(
    rng: random.Random, index: int, params: int, tags: int, keys: int, steps: int
) -> tuple[list[Param], list[RunTag], list[Metric]]:
    """Params, tags and metric points of run ``index``; metric values are uniform in [0, 1)."""
    ps = [Param("p0", f"v{index % P0_VALUES}")] + [Param(f"p{j}", f"value-{index}-{j}") for j in range(1, params)]
    ts = [RunTag(f"t{j}", f"tag-{index % 7}-{j}") for j in range(tags)]
    ms = [Metric(f"m{k}", rng.random(), BASE_TS + step, step) for step in range(steps) for k in range(keys)]
    return ps[:params], ts, ms


def _batches(
    params: list[Param], tags: list[RunTag], metrics: list[Metric], batch: int
) -> Iterator[tuple[list[Metric], list[Param], list[RunTag]]]:
    count = max(
        1, -(-len(metrics) // batch), -(-len(params) // MAX_PARAMS_PER_BATCH), -(-len(tags) // MAX_TAGS_PER_BATCH)
    )
    for i in range(count):
        yield (
            metrics[i * batch : (i + 1) * batch],
            params[i * MAX_PARAMS_PER_BATCH : (i + 1) * MAX_PARAMS_PER_BATCH],
            tags[i * MAX_TAGS_PER_BATCH : (i + 1) * MAX_TAGS_PER_BATCH],
        )


def ingest(
    store, experiment_id: str, runs: int, params: int, tags: int, keys: int, steps: int, batch: int, seed: int = 0
) -> tuple[float, list[str]]:
    """Create ``runs`` runs, log their data with ``log_batch`` and finish them.

    Returns the seconds spent in store calls (building the entities is not
    timed) and the run ids.
    """
    rng = random.Random(seed)
    timer = Timer()
    run_ids = []
    for index in range(runs):
        ps, ts, ms = run_payload(rng, index, params, tags, keys, steps)
        with timer:
            run_id = store.create_run(experiment_id, start_time=BASE_TS + index).info.run_id
            for m, p, t in _batches(ps, ts, ms, batch):
                store.log_batch(run_id, metrics=m, params=p, tags=t)
            store.update_run_info(run_id, status=RunStatus.FINISHED, end_time=BASE_TS + index + 1000)
        run_ids.append(run_id)
    return timer.seconds, run_ids


def executemany_floor(rows: int, directory: Path) -> float:
    """Seconds to write ``rows`` metric rows with ``executemany`` into one SQLite table, one transaction."""
    path = directory / "floor.db"
    rng = random.Random(1)
    start = time.perf_counter()
    conn = sqlite3.connect(path)
    try:
        conn.execute("CREATE TABLE metrics (run_id TEXT, key TEXT, value REAL, timestamp INTEGER, step INTEGER)")
        with conn:
            conn.executemany(
                "INSERT INTO metrics VALUES (?, ?, ?, ?, ?)",
                ((f"{i // 1000:032x}", f"m{i % 10}", rng.random(), BASE_TS + i % 100, i % 100) for i in range(rows)),
            )
    finally:
        conn.close()
    seconds = time.perf_counter() - start
    path.unlink()
    return seconds


def per_call_latencies(
    client, experiment_id: str, runs: int, keys: int, steps: int, synchronous: bool
) -> tuple[list[float], float]:
    """One ``TrackingClient.log_metric`` per point; each call's seconds and the total including the final flush."""
    run_ids = [client.create_run(experiment_id).info.run_id for _ in range(runs)]
    samples: list[float] = []
    clock = time.perf_counter
    start = clock()
    for run_id in run_ids:
        for step in range(steps):
            for k in range(keys):
                t0 = clock()
                client.log_metric(run_id, f"m{k}", 0.5, timestamp=BASE_TS + step, step=step, synchronous=synchronous)
                samples.append(clock() - t0)
    client.flush()
    total = clock() - start
    for run_id in run_ids:
        client.set_terminated(run_id)
    return samples, total


def run(ctx: BenchContext) -> list[Figure]:
    """Measure W1 (``--repeat`` times, medians) and seed W2/W3 with the last repetition's data."""
    a = ctx.args
    store = ctx.open_store()
    points = a.runs * a.metric_keys * a.steps
    seconds, floors = [], []
    for rep in range(a.repeat):
        exp_id = store.create_experiment(f"w1-{time.time_ns()}-{rep}")
        took, run_ids = ingest(store, exp_id, a.runs, a.params, a.tags, a.metric_keys, a.steps, a.batch_size)
        seconds.append(took)
        floors.append(executemany_floor(points, ctx.scratch("w1-floor")))
        ctx.seeded = Seeded(exp_id, run_ids, a.metric_keys, a.steps)
        ctx.seeded_by_w1 = True
    took, floor = median(seconds), median(floors)
    figs = [
        Figure("W1", "log_batch ingest", took, "s", note=f"{a.runs} runs, {points:,} points"),
        Figure("W1", "runs/s", a.runs / took, "runs/s", higher_is_better=True),
        Figure(
            "W1",
            "points/s",
            points / took,
            "points/s",
            target=200_000,
            higher_is_better=True,
            floor=points / floor,
            ratio_target=0.25,
            note="floor: sqlite3 executemany of the same rows, one transaction",
        ),
    ]
    from storekit.client import TrackingClient

    client = TrackingClient(ctx.tracking_uri)
    try:
        exp_id = client.create_experiment(f"w1-per-call-{time.time_ns()}")
        sync, _ = per_call_latencies(client, exp_id, a.per_call_runs, a.per_call_keys, a.per_call_steps, True)
        queued, total = per_call_latencies(client, exp_id, a.per_call_runs, a.per_call_keys, a.per_call_steps, False)
    finally:
        client.close()
    us = 1e6
    figs += [
        Figure("W1", "log_metric per call (median)", median(sync) * us, "µs", target=500),
        Figure("W1", "log_metric per call (p95)", p95(sync) * us, "µs"),
        Figure("W1", "log_metric per call (mean)", sum(sync) / len(sync) * us, "µs"),
        Figure("W1", "async log_metric per call (median)", median(queued) * us, "µs", target=50),
        Figure("W1", "async log_metric per call (p95)", p95(queued) * us, "µs"),
        Figure(
            "W1",
            "async per point incl. flush (mean)",
            total / len(queued) * us,
            "µs",
            target=50,
            note="calls plus the final flush, divided by the points",
        ),
    ]
    return figs


def ensure_seeded(ctx: BenchContext) -> Seeded:
    """W1's data for W2/W3: the data W1 wrote in this run, else a fresh ingest at W1's sizes (not timed)."""
    if ctx.seeded is None:
        a = ctx.args
        store = ctx.open_store()
        exp_id = store.create_experiment(f"w1-seed-{time.time_ns()}")
        _, run_ids = ingest(store, exp_id, a.runs, a.params, a.tags, a.metric_keys, a.steps, a.batch_size)
        ctx.seeded = Seeded(exp_id, run_ids, a.metric_keys, a.steps)
        ctx.notes.append("W2/W3 ran on data seeded at W1's sizes (W1 itself was not selected)")
    return ctx.seeded
