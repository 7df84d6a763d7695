"""W4 scale: W1-style ingest and W2's searches at growing numbers of runs (10 keys x 10 steps each).

``--w4-million`` adds the 1,000,000-run size, in the leaner shape the target
names (10 params, no tags, 1 metric x 10 steps per run).
"""

from __future__ import annotations

import time

from ..common import Figure
from ..context import BenchContext
from .w1_ingest import ingest
from .w2_search import search_figures

__all__ = ["run", "MILLION_SHAPE"]

#: (runs, params, tags, metric keys, steps) of the opt-in 1,000,000-run size
MILLION_SHAPE = (1_000_000, 10, 0, 1, 10)


def run(ctx: BenchContext) -> list[Figure]:
    """For each size of ``--w4-sizes``: a fresh experiment, ingest points/s, then the W2 figures."""
    a = ctx.args
    store = ctx.open_store()
    figs = []
    shapes = [(size, a.w4_params, a.w4_tags, a.w4_keys, a.w4_steps) for size in a.w4_sizes]
    if getattr(a, "w4_million", False):
        shapes.append(MILLION_SHAPE)
    for size, params, tags, keys, steps in shapes:
        exp_id = store.create_experiment(f"w4-{size}-{time.time_ns()}")
        took, _ = ingest(store, exp_id, size, params, tags, keys, steps, a.batch_size, seed=size)
        points = size * keys * steps
        label = f" @{size:,} runs"
        figs.append(
            Figure(
                "W4",
                f"ingest points/s{label}",
                points / took,
                "points/s",
                higher_is_better=True,
                note=f"{took:.1f} s for {points:,} points",
            )
        )
        figs.append(Figure("W4", f"ingest runs/s{label}", size / took, "runs/s", higher_is_better=True))
        figs += search_figures(store, exp_id, size, a.search_calls, 1, "W4", label)
    return figs
