"""Start-up: ``import storekit`` and resolving + opening a SQLite store, each in a fresh interpreter."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from ..common import Figure, median
from ..context import BenchContext

__all__ = ["run"]

_PROBE = textwrap.dedent(
    """
    import json, sys, time
    t0 = time.perf_counter()
    def rss():
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    base = rss()
    if sys.argv[1] == "baseline":
        print(json.dumps({"rss": base})); raise SystemExit
    import storekit
    t1 = time.perf_counter()
    r1 = rss()
    store = storekit.resolve_tracking_store(sys.argv[2], default_artifact_root=sys.argv[3])
    store.search_experiments(max_results=1)
    t2 = time.perf_counter()
    print(json.dumps({"rss": base, "import_s": t1 - t0, "import_rss": r1, "open_s": t2 - t1, "open_rss": rss()}))
    store.close()
    """
)


def _probe(*args: str) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", _PROBE, *args], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(ctx: BenchContext) -> list[Figure]:
    """Median over ``max(3, --repeat)`` fresh interpreters (the first one warms the disk cache and is dropped)."""
    uri = f"sqlite:///{ctx.scratch('startup')}/startup.db"
    art = (ctx.workdir / "startup-artifacts").as_uri()
    baseline = _probe("baseline")
    _probe("store", uri, art)  # warm-up: creates the schema, fills the page cache
    runs = [_probe("store", uri, art) for _ in range(max(3, ctx.args.repeat))]
    pick = lambda key: median([r[key] for r in runs])  # noqa: E731
    return [
        Figure("start-up", "import storekit", pick("import_s") * 1e3, "ms", target=200.0),
        Figure(
            "start-up",
            "resident after import",
            pick("import_rss"),
            "MiB",
            target=60.0,
            note=f"bare interpreter: {baseline['rss']:.0f} MiB",
        ),
        Figure(
            "start-up",
            "resolve + open SQLite store",
            pick("open_s") * 1e3,
            "ms",
            target=50.0,
            note="resolve_tracking_store + first query, existing database",
        ),
        Figure("start-up", "resident after opening", pick("open_rss"), "MiB"),
    ]
