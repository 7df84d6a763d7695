"""Run storekit's benchmark workloads and print (and optionally save) the figures.

    python -m benchmarks.run --workload all --json benchmarks/results.json
    python benchmarks/run.py --workload W1,W2 --runs 100 --tracking-uri ./fstore

Without ``--tracking-uri`` the target is a fresh embedded SQLite store in a
temporary directory; without ``--artifact-uri`` artifacts go to a fresh
local directory there.  See ``benchmarks/README.md`` for the workloads,
targets and floors.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Optional, Sequence

if __package__ in (None, ""):  # run as a script: make ``benchmarks`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    __package__ = "benchmarks"

from benchmarks.common import Figure, peak_rss_mib, print_table, reset_peak_rss, write_json
from benchmarks.context import BenchContext

__all__ = ["main", "parse_args", "WORKLOADS"]


def _load(name: str) -> Callable[[BenchContext], list[Figure]]:
    import importlib

    return importlib.import_module(f"benchmarks.workloads.{name}").run  # type: ignore[no-any-return]


#: Workload id -> module under ``benchmarks.workloads``; ``all`` runs them in this order.
WORKLOADS = {
    "startup": "startup",
    "W1": "w1_ingest",
    "W2": "w2_search",
    "W3": "w3_reads",
    "W4": "w4_scale",
    "W5": "w5_artifacts",
}


def _ints(text: str) -> list[int]:
    return [int(x.replace("_", "")) for x in text.split(",") if x.strip()]


def _workloads(text: str) -> list[str]:
    if text.strip().lower() == "all":
        return list(WORKLOADS)
    by_lower = {k.lower(): k for k in WORKLOADS}
    chosen = []
    for part in text.split(","):
        key = by_lower.get(part.strip().lower())
        if key is None:
            raise argparse.ArgumentTypeError(f"unknown workload {part!r}; choose from {', '.join(WORKLOADS)} or all")
        chosen.append(key)
    return chosen


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """The command line: workloads, URIs, sizes, repetitions and the JSON output."""
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.run", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--workload",
        type=_workloads,
        default=list(WORKLOADS),
        help="comma-separated: startup,W1,W2,W3,W4,W5 or all (default all)",
    )
    p.add_argument("--tracking-uri", help="store to measure (default: fresh SQLite store in a temp dir)")
    p.add_argument("--artifact-uri", help="artifact root for W5 and the store (default: temp dir)")
    p.add_argument("--repeat", type=int, default=1, help="repetitions of W1/W5/paging/floors; medians reported")
    p.add_argument("--json", dest="json_path", help="write the figures to this JSON file")
    p.add_argument("--keep", action="store_true", help="keep the temporary directory")
    g = p.add_argument_group("W1 (and the data W2/W3 read)")
    g.add_argument("--runs", type=int, default=1000)
    g.add_argument("--params", type=int, default=20)
    g.add_argument("--tags", type=int, default=10)
    g.add_argument("--metric-keys", type=int, default=10)
    g.add_argument("--steps", type=int, default=100)
    g.add_argument("--batch-size", type=int, default=1000, help="metrics per log_batch (<= 1000)")
    g.add_argument("--per-call-runs", type=int, default=100, help="runs of the one-call-per-point part")
    g.add_argument("--per-call-keys", type=int, default=10)
    g.add_argument("--per-call-steps", type=int, default=10)
    g = p.add_argument_group("W2 / W3")
    g.add_argument("--search-calls", type=int, default=20, help="calls per search figure (median, p95)")
    g.add_argument("--read-calls", type=int, default=200, help="calls per point-read figure (median, p95)")
    g = p.add_argument_group("W4")
    g.add_argument("--w4-sizes", type=_ints, default=[10_000, 100_000], help="run counts, e.g. 10000,100000")
    g.add_argument("--w4-params", type=int, default=20)
    g.add_argument("--w4-tags", type=int, default=10)
    g.add_argument("--w4-keys", type=int, default=10)
    g.add_argument("--w4-steps", type=int, default=10)
    g.add_argument(
        "--w4-million",
        action="store_true",
        help="also run W4 at 1,000,000 runs of 10 params and 1 metric x 10 steps each (opt-in: slow)",
    )
    g = p.add_argument_group("W5")
    g.add_argument("--w5-files", type=int, default=1000, help="number of small files")
    g.add_argument("--w5-file-kib", type=int, default=4, help="size of each small file (KiB)")
    g.add_argument("--w5-big-mib", type=int, default=256, help="size of the one large file (MiB, 0 for none)")
    args = p.parse_args(argv)
    if not 1 <= args.batch_size <= 1000:
        p.error(f"--batch-size: {args.batch_size} is outside 1..1000 (the contract's batch limit)")
    if args.repeat < 1:
        p.error("--repeat must be at least 1")
    return args


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the selected workloads; print the table; write JSON if asked."""
    args = parse_args(argv)
    from storekit.uri import path_to_file_uri, redact_uri

    workdir = Path(tempfile.mkdtemp(prefix="storekit-bench-"))
    tracking_uri = args.tracking_uri or f"sqlite:///{workdir}/storekit.db"
    artifact_uri = args.artifact_uri or path_to_file_uri(workdir / "artifacts")
    ctx = BenchContext(args, tracking_uri, artifact_uri, workdir)
    figures: list[Figure] = []
    peak: dict[str, float] = {}
    seconds: dict[str, float] = {}
    try:
        for name in args.workload:
            reset_peak_rss()
            start = time.perf_counter()
            print(f"running {name} ...", file=sys.stderr, flush=True)
            figures += _load(WORKLOADS[name])(ctx)
            seconds[name] = time.perf_counter() - start
            peak[name] = peak_rss_mib()
    finally:
        ctx.close()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    for name, rss in peak.items():
        if name != "startup":
            figures.append(Figure(name, "peak resident memory (process)", rss, "MiB", target=300.0))
    title = f"storekit benchmarks: {redact_uri(tracking_uri)} (artifacts {redact_uri(artifact_uri)})"
    print_table(figures, title, {})
    for note in ctx.notes:
        print(f"note: {note}")
    if args.json_path:
        import storekit

        write_json(
            args.json_path,
            {
                "meta": {
                    "tracking_uri": redact_uri(tracking_uri) if args.tracking_uri else "sqlite (temporary)",
                    "artifact_uri": redact_uri(artifact_uri) if args.artifact_uri else "file (temporary)",
                    "storekit": storekit.__version__,
                    "python": platform.python_version(),
                    "machine": platform.machine(),
                    "cpus": os.cpu_count(),
                    "workloads": args.workload,
                    "sizes": {
                        k: v
                        for k, v in vars(args).items()
                        if k not in ("workload", "json_path", "tracking_uri", "artifact_uri")
                    },
                    "seconds": seconds,
                },
                "figures": [f.to_dict() for f in figures],
                "notes": ctx.notes,
            },
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
