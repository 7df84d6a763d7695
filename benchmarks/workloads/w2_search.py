"""W2 search on W1's data: filtered (AND, OR), unfiltered 1,000 runs, and paging 100 at a time."""

from __future__ import annotations

from typing import Optional

from ..common import Figure, Timer, median, p95, time_calls
from ..context import BenchContext
from .w1_ingest import ensure_seeded

__all__ = ["run", "search_figures", "FILTER_AND", "FILTER_OR", "ORDER_BY"]

FILTER_AND = "metrics.m0 > 0.5 and params.p0 = 'v3'"
FILTER_OR = "metrics.m0 > 0.5 or params.p0 = 'v3'"
ORDER_BY = ["metrics.m1 DESC"]

#: Filtered search targets (ms) by number of runs (SQL backends).
FILTERED_TARGETS_MS = {1_000: 20.0, 10_000: 50.0, 100_000: 150.0}


def _filtered_target(runs: int) -> Optional[float]:
    for size in sorted(FILTERED_TARGETS_MS):
        if runs <= size:
            return FILTERED_TARGETS_MS[size]
    return None


def page_through(store, experiment_id: str, page_size: int = 100) -> int:
    """Page through every run of the experiment; return how many were seen."""
    seen, token = 0, None
    while True:
        page = store.search_runs([experiment_id], max_results=page_size, page_token=token)
        seen += len(page)
        token = page.token
        if not token:
            return seen


def search_figures(
    store, experiment_id: str, runs: int, calls: int, repeat: int, workload: str, suffix: str = ""
) -> list[Figure]:
    """Median/p95 latency of the filtered, OR and unfiltered searches, and the total paging time."""
    ms = 1e3
    figs = []
    for label, flt, target in (("filtered AND", FILTER_AND, _filtered_target(runs)), ("filtered OR", FILTER_OR, None)):
        samples, result = time_calls(
            lambda f=flt: store.search_runs([experiment_id], filter_string=f, order_by=ORDER_BY, max_results=100), calls
        )
        figs.append(
            Figure(
                workload,
                f"search {label}{suffix} (median)",
                median(samples) * ms,
                "ms",
                target=target,
                note=f"{len(result)} runs returned",
            )
        )
        figs.append(Figure(workload, f"search {label}{suffix} (p95)", p95(samples) * ms, "ms"))
    samples, result = time_calls(lambda: store.search_runs([experiment_id], max_results=1000), calls)
    figs.append(
        Figure(
            workload,
            f"search unfiltered 1,000{suffix} (median)",
            median(samples) * ms,
            "ms",
            target=100.0 if runs >= 1000 else None,
            note=f"{len(result)} full runs returned",
        )
    )
    figs.append(Figure(workload, f"search unfiltered 1,000{suffix} (p95)", p95(samples) * ms, "ms"))
    totals, seen = [], 0
    for _ in range(repeat):
        with Timer() as t:
            seen = page_through(store, experiment_id)
        totals.append(t.seconds)
    paging_target = {1_000: 0.2, 10_000: 2.0}.get(runs)
    figs.append(
        Figure(
            workload,
            f"page through all runs, 100/page{suffix}",
            median(totals),
            "s",
            target=paging_target,
            note=f"{seen} of {runs} runs seen",
            extra={"runs_seen": seen},
        )
    )
    return figs


def run(ctx: BenchContext) -> list[Figure]:
    """W2 on the data W1 wrote (or seeded at W1's sizes)."""
    seeded = ensure_seeded(ctx)
    return search_figures(
        ctx.open_store(), seeded.experiment_id, len(seeded.run_ids), ctx.args.search_calls, ctx.args.repeat, "W2"
    )
