"""Bulk metric-history read at plotting size: N runs x K keys x S steps into one DataFrame.

``python -m benchmarks.history_bulk [--runs 1000 --keys 10 --steps 1000] [--backend sqlite|file]
[--store URI] [--json out.json]``

Fills a fresh store (or reuses ``--store`` if it already holds the data, see
``--reuse``) through ``log_batch`` -- or, with ``--fill sqlite3`` on SQLite,
by bulk-inserting the metric rows with ``sqlite3.executemany`` in storekit's
own encoding (the full 10 M points in minutes instead of half an hour of
``log_batch`` calls; the read being measured is the same) -- then times
``TrackingClient.get_metric_histories(all runs, all keys, output_format=...)``
(best of ``--repeats``) for ``pandas`` and ``arrow``, and for comparison the
naive loop of one ``get_metric_history`` call per (run, key) on a sample of runs,
extrapolated to all runs.  Prints one table of figures (seconds, points/s).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from typing import Any, Optional

from benchmarks.common import Figure, print_table, write_json

__all__ = ["main", "populate", "measure"]


def populate(client: Any, runs: int, keys: int, steps: int) -> tuple[str, list[str]]:
    """A fresh experiment with ``runs`` runs, each ``keys`` metric keys of ``steps`` points."""
    from storekit.entities import Metric

    eid = client.create_experiment(f"history-bulk-{runs}x{keys}x{steps}")
    names = [f"metric_{k}" for k in range(keys)]
    rng = random.Random(0)
    run_ids = []
    per_batch = max(1, 1000 // keys) * keys  # whole steps per batch, <= 1,000 points
    for r in range(runs):
        rid = client.create_run(eid).info.run_id
        points = [Metric(name, rng.random(), 1_700_000_000_000 + s, s) for s in range(steps) for name in names]
        for start in range(0, len(points), per_batch):
            client.log_batch(rid, metrics=points[start : start + per_batch])
        run_ids.append(rid)
        if (r + 1) % max(1, runs // 10) == 0:
            print(f"  populated {r + 1}/{runs} runs", file=sys.stderr, flush=True)
    return eid, run_ids


def populate_sqlite3(client: Any, path: str, runs: int, keys: int, steps: int) -> tuple[str, list[str]]:
    """Like :func:`populate`, but the metric rows go straight into the SQLite tables (one transaction per run).

    Runs are created through storekit; each run's points and latest values are
    inserted with ``executemany`` exactly as ``log_batch`` stores finite values
    (``kind`` 1), so ``get_metric_histories`` reads the same rows either way.
    """
    import sqlite3

    from storekit.backends.sql.metrics import KIND_FINITE

    eid = client.create_experiment(f"history-bulk-{runs}x{keys}x{steps}")
    names = [f"metric_{k}" for k in range(keys)]
    run_ids = [client.create_run(eid).info.run_id for _ in range(runs)]
    rng = random.Random(0)
    conn = sqlite3.connect(path)
    try:
        row_of = dict(conn.execute("SELECT run_uuid, row_id FROM runs").fetchall())
        for r, rid in enumerate(run_ids):
            row = row_of[rid]
            points = [
                (row, name, rng.random(), KIND_FINITE, 1_700_000_000_000 + st, st)
                for st in range(steps)
                for name in names
            ]
            with conn:
                conn.executemany(
                    "INSERT INTO metrics (run_row, key, value, kind, timestamp, step) VALUES (?, ?, ?, ?, ?, ?)", points
                )
                conn.executemany(
                    "INSERT INTO latest_metrics (run_row, key, value, kind, timestamp, step) VALUES (?, ?, ?, ?, ?, ?)",
                    points[-keys:],
                )
            if (r + 1) % max(1, runs // 10) == 0:
                print(f"  populated {r + 1}/{runs} runs", file=sys.stderr, flush=True)
    finally:
        conn.close()
    return eid, run_ids


def _best(fn: Any, repeats: int) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


def measure(client: Any, run_ids: list[str], keys: list[str], repeats: int, sample: int) -> list[Figure]:
    """The figures: bulk read into pandas / arrow, and the per-(run, key) loop extrapolated."""
    figures = []
    expected = None
    for fmt in ("pandas", "arrow"):
        seconds, table = _best(lambda: client.get_metric_histories(run_ids, keys, output_format=fmt), repeats)
        points = len(table) if fmt == "pandas" else table.num_rows
        expected = expected or points
        assert points == expected, (fmt, points, expected)
        figures.append(
            Figure(
                "history_bulk",
                f"get_metric_histories -> {fmt}",
                seconds,
                "s",
                note=f"{points:,} points, {points / seconds:,.0f} points/s",
            )
        )
    few = run_ids[:sample]
    t0 = time.perf_counter()
    for rid in few:
        for key in keys:
            client.get_metric_history(rid, key)
    loop = (time.perf_counter() - t0) * len(run_ids) / max(1, len(few))
    figures.append(
        Figure(
            "history_bulk",
            "get_metric_history loop (extrapolated)",
            loop,
            "s",
            note=f"{len(few)} of {len(run_ids)} runs timed, x{len(keys)} keys",
        )
    )
    return figures


def _sqlite_floor(path: str, repeats: int) -> list[Figure]:
    """The floors: sqlite3 alone fetching every metric row (no storekit, no conversion).

    Unordered (a plain table scan), and in the order the bulk read must give
    (``ORDER BY run_row, key, step, timestamp, id``: the history index, then a
    table lookup per row for the value).
    """
    import sqlite3

    cols = "run_row, key, step, timestamp, value, kind"
    conn = sqlite3.connect(path)
    figures = []
    try:
        for label, sql in (
            ("floor: raw sqlite3 fetchall", f"SELECT {cols} FROM metrics"),
            (
                "floor: raw sqlite3 fetchall, ordered",
                f"SELECT {cols} FROM metrics ORDER BY run_row, key, step, timestamp, id",
            ),
        ):
            seconds, rows = _best(lambda: conn.execute(sql).fetchall(), repeats)
            figures.append(Figure("history_bulk", label, seconds, "s", note=f"{len(rows):,} rows"))
            del rows
    finally:
        conn.close()
    return figures


def main(argv: Optional[list[str]] = None) -> int:
    """Run the benchmark; returns the exit code."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--keys", type=int, default=10)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--backend", choices=("sqlite", "file"), default="sqlite")
    parser.add_argument("--store", help="store URI (default: a fresh one in a temporary directory)")
    parser.add_argument("--reuse", action="store_true", help="read the experiment already in --store")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sample", type=int, default=20, help="runs timed for the per-key loop")
    parser.add_argument("--json", help="write the figures to this file")
    parser.add_argument(
        "--fill",
        choices=("log_batch", "sqlite3"),
        default="log_batch",
        help="how a fresh SQLite store is filled (sqlite3: bulk inserts in storekit's encoding)",
    )
    args = parser.parse_args(argv)

    from storekit.client import TrackingClient

    tmp = tempfile.mkdtemp(prefix="storekit-history-bulk-")
    uri = args.store or (f"sqlite:///{tmp}/bench.db" if args.backend == "sqlite" else os.path.join(tmp, "store"))
    with TrackingClient(uri) as client:
        name = f"history-bulk-{args.runs}x{args.keys}x{args.steps}"
        existing = client.get_experiment_by_name(name) if args.reuse else None
        t0 = time.perf_counter()
        if existing is not None:
            eid = existing.experiment_id
            run_ids = [r.info.run_id for r in client.search_runs(eid, max_results=50_000)]
        elif args.fill == "sqlite3" and uri.startswith("sqlite:///"):
            eid, run_ids = populate_sqlite3(client, uri[len("sqlite:///") :], args.runs, args.keys, args.steps)
        else:
            eid, run_ids = populate(client, args.runs, args.keys, args.steps)
        fill = time.perf_counter() - t0
        keys = [f"metric_{k}" for k in range(args.keys)]
        figures = [
            Figure(
                "history_bulk",
                f"populate ({args.fill})",
                fill,
                "s",
                note=f"{args.runs * args.keys * args.steps:,} points" if existing is None else "reused",
            )
        ]
        figures += measure(client, run_ids, keys, args.repeats, args.sample)
        if uri.startswith("sqlite:///"):
            figures += _sqlite_floor(uri[len("sqlite:///") :], args.repeats)
    title = f"bulk history read, {args.runs} runs x {args.keys} keys x {args.steps} steps ({args.backend})"
    print_table(figures, title, {})
    if args.json:
        write_json(args.json, {"title": title, "figures": [f.__dict__ for f in figures]})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
