"""CPU cost of system-metrics sampling, as a share of one core at a sampling interval.

``python -m benchmarks.system_metrics_overhead [--seconds 20] [--fast-interval 0.1] [--interval 10]
[--backend sqlite|file] [--json out.json]``

Runs a :class:`~storekit.system_metrics.SystemMetricsMonitor` on a real run
at ``--fast-interval`` for ``--seconds`` while the main thread sleeps, and
reads the process's CPU time: CPU seconds per logged sample (sampling psutil
+ queueing + the asynchronous logger storing the points).  The overhead at
``--interval`` (default 10 s, the default interval) is that cost divided by
the interval, in % of one core (target < 1 %).  ``--direct`` also measures a
run at ``--interval`` itself for ``--seconds`` (slow, but no extrapolation).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from typing import Optional

from benchmarks.common import Figure, print_table, write_json

__all__ = ["main", "cpu_per_sample"]


def cpu_per_sample(uri: str, interval: float, seconds: float) -> tuple[float, int, float]:
    """``(CPU seconds per sample, samples, idle CPU seconds baseline)`` of a monitor at ``interval``."""
    from storekit.client import TrackingClient
    from storekit.system_metrics import SystemMetricsMonitor

    with TrackingClient(uri) as client:
        run_id = client.create_run(client.create_experiment(f"overhead-{interval}-{time.time()}")).info.run_id
        client.async_logger()  # started outside the measured window
        c0 = time.process_time()
        time.sleep(seconds)
        idle = time.process_time() - c0
        monitor = SystemMetricsMonitor(client, run_id, interval=interval)
        c0 = time.process_time()
        monitor.start()
        time.sleep(seconds)
        monitor.stop()
        client.flush()
        used = time.process_time() - c0 - idle
        samples = len(client.get_metric_history(run_id, "system/cpu_utilization_percentage"))
    return max(used, 0.0) / max(samples, 1), samples, idle


def main(argv: Optional[list[str]] = None) -> int:
    """Run the benchmark; returns the exit code."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--fast-interval", type=float, default=0.1)
    parser.add_argument("--interval", type=float, default=10.0)
    parser.add_argument("--backend", choices=("sqlite", "file"), default="sqlite")
    parser.add_argument("--direct", action="store_true", help="also run at --interval for --seconds")
    parser.add_argument("--json", help="write the figures to this file")
    args = parser.parse_args(argv)
    tmp = tempfile.mkdtemp(prefix="storekit-sysmetrics-")
    uri = f"sqlite:///{tmp}/bench.db" if args.backend == "sqlite" else os.path.join(tmp, "store")
    per_sample, samples, idle = cpu_per_sample(uri, args.fast_interval, args.seconds)
    share = per_sample / args.interval * 100
    figures = [
        Figure(
            "system_metrics",
            "CPU per sample (sample + log)",
            per_sample * 1000,
            "ms",
            note=f"{samples} samples at {args.fast_interval}s, idle baseline {idle * 1000:.1f} ms subtracted",
        ),
        Figure(
            "system_metrics",
            f"overhead at {args.interval:g}s interval",
            share,
            "% of one core",
            target=1.0,
            note="CPU per sample / interval",
        ),
    ]
    if args.direct:
        direct, n, _ = cpu_per_sample(uri, args.interval, args.seconds)
        figures.append(
            Figure(
                "system_metrics",
                f"measured at {args.interval:g}s for {args.seconds:g}s",
                direct * n / args.seconds * 100,
                "% of one core",
                target=1.0,
                note=f"{n} samples",
            )
        )
    title = f"system metrics overhead ({args.backend})"
    print_table(figures, title, {})
    if args.json:
        write_json(args.json, {"title": title, "figures": [f.__dict__ for f in figures]})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
