"""W3 point reads on W1's data: ``get_run`` and a 100-point ``get_metric_history``."""

from __future__ import annotations

import random

from ..common import Figure, median, p95, time_calls
from ..context import BenchContext
from .w1_ingest import ensure_seeded

__all__ = ["run"]


def run(ctx: BenchContext) -> list[Figure]:
    """Median and p95 latency of ``--read-calls`` calls of each, on random runs."""
    seeded = ensure_seeded(ctx)
    store = ctx.open_store()
    rng = random.Random(3)
    picks = iter([rng.choice(seeded.run_ids) for _ in range(2 * ctx.args.read_calls)])
    ms = 1e3
    run_samples, run = time_calls(lambda: store.get_run(next(picks)), ctx.args.read_calls)
    hist_samples, history = time_calls(lambda: store.get_metric_history(next(picks), "m0"), ctx.args.read_calls)
    return [
        Figure(
            "W3",
            "get_run (median)",
            median(run_samples) * ms,
            "ms",
            target=2.0,
            note=f"{len(run.data.params)} params, {len(run.data.metrics)} metrics",
        ),
        Figure("W3", "get_run (p95)", p95(run_samples) * ms, "ms"),
        Figure(
            "W3",
            f"get_metric_history {seeded.steps} points (median)",
            median(hist_samples) * ms,
            "ms",
            target=2.0 if seeded.steps <= 100 else None,
            note=f"{len(history)} points returned",
        ),
        Figure("W3", f"get_metric_history {seeded.steps} points (p95)", p95(hist_samples) * ms, "ms"),
    ]
