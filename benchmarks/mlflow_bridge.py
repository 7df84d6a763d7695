"""MLflow on storekit vs MLflow on its own SQLite store, side by side, through MLflow's own code.

    .venv/bin/python -m benchmarks.mlflow_bridge                 # 1,000 runs, direct and server
    .venv/bin/python -m benchmarks.mlflow_bridge --mode direct --runs 200 --json out.json

Two stores, fresh, in one temporary directory and one process run:

* ``storekit:sqlite:///<tmp>/storekit.db`` (the storekit-mlflow bridge);
* ``sqlite:///<tmp>/mlflow.db`` (MLflow's own ``SqlAlchemyStore``).

Two ways to reach them, both MLflow's code end to end:

* ``direct``: ``MlflowClient(tracking_uri=<store URI>)`` and ``mlflow.search_runs``
  in this process (MLflow's client and tracking-service layers on the store);
* ``server``: a real ``mlflow server --backend-store-uri <store URI>`` (one
  uvicorn worker) and the same client calls over HTTP.

Workloads on each store (the same calls, the same data):

* sweep: ``--runs`` runs, each ``create_run``, one ``log_batch`` of ``--params``
  params, ``--tags`` tags and ``--metric-keys`` x ``--steps`` metric points,
  ``set_terminated`` (the whole sweep timed; the ``log_batch`` calls also alone);
* search: ``mlflow.search_runs(experiment_ids=[...])`` returning every run as a
  pandas DataFrame (median of ``--search-calls``), and the same with the filter
  ``metrics.m0 > 0.5 and params.p0 = 'v3'`` ordered by ``metrics.m1 DESC``;
* paging: ``MlflowClient.search_runs`` ``--page-size`` runs at a time with page
  tokens until the last page (median of ``--search-calls`` full passes).

The "floor" column of the table is MLflow's own SQLite store measured in the
same run; "ratio" is storekit's time over MLflow's, and the target is a ratio
of at most 1/3 (storekit at least 3x faster).  ``speed-up`` lines repeat that
as MLflow's time over storekit's.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Sequence

if __package__ in (None, ""):  # run as a script: make ``benchmarks`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    __package__ = "benchmarks"

from benchmarks.common import Figure, Timer, median, print_table, write_json

__all__ = ["main", "parse_args", "Sizes", "measure_store", "MlflowServer"]

#: The target: storekit's time at most this fraction of MLflow's own SQLite store's.
TARGET_RATIO = 1 / 3


@dataclass(frozen=True)
class Sizes:
    """How much each store gets."""

    runs: int = 1000
    params: int = 10
    tags: int = 5
    metric_keys: int = 10
    steps: int = 10
    page_size: int = 100
    search_calls: int = 5


@dataclass(frozen=True)
class StoreTimes:
    """Seconds measured on one store."""

    sweep: float
    log_batch: float
    search_all: float
    search_filtered: float
    paging: float
    runs_found: int
    filtered_found: int


def _quiet_mlflow() -> None:
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("DO_NOT_TRACK", "true")
    os.environ.setdefault("MLFLOW_SKIP_PIP_REQUIREMENTS_CHECK", "true")
    os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")
    import logging

    logging.getLogger("mlflow").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)


def _sweep(client: Any, experiment_id: str, sizes: Sizes, seed: int) -> tuple[float, float]:
    """Log the sweep; (seconds of the whole sweep, seconds inside ``log_batch``)."""
    from mlflow.entities import Metric, Param, RunTag

    rng = random.Random(seed)
    batch_timer = Timer()
    base_ts = 1_700_000_000_000
    with Timer() as total:
        for i in range(sizes.runs):
            run_id = client.create_run(experiment_id, run_name=f"sweep-{i:05d}").info.run_id
            params = [Param(f"p{k}", f"v{(i + k) % 10}") for k in range(sizes.params)]
            tags = [RunTag(f"t{k}", f"tag-{i % 7}") for k in range(sizes.tags)]
            metrics = [
                Metric(f"m{k}", rng.random(), base_ts + step, step)
                for k in range(sizes.metric_keys)
                for step in range(sizes.steps)
            ]
            with batch_timer:
                client.log_batch(run_id, metrics=metrics, params=params, tags=tags)
            client.set_terminated(run_id)
    return total.seconds, batch_timer.seconds


def _page_through(client: Any, experiment_id: str, page_size: int) -> int:
    seen = 0
    token: Optional[str] = None
    while True:
        page = client.search_runs([experiment_id], max_results=page_size, page_token=token)
        seen += len(page)
        token = page.token
        if not token:
            return seen


def measure_store(tracking_uri: str, sizes: Sizes, seed: int = 7) -> StoreTimes:
    """Run the sweep, the searches and the paging against ``tracking_uri`` (a store URI or a server URL)."""
    import mlflow
    from mlflow import MlflowClient

    mlflow.set_tracking_uri(tracking_uri)
    client = MlflowClient(tracking_uri=tracking_uri)
    experiment_id = client.create_experiment(f"bench-{int(time.time() * 1000)}")
    sweep_s, batch_s = _sweep(client, experiment_id, sizes, seed)

    search_samples, filtered_samples, paging_samples = [], [], []
    found = filtered = 0
    for _ in range(sizes.search_calls):
        with Timer() as t:
            frame = mlflow.search_runs(experiment_ids=[experiment_id], max_results=max(sizes.runs, 1))
        search_samples.append(t.seconds)
        found = len(frame)
        with Timer() as t:
            frame = mlflow.search_runs(
                experiment_ids=[experiment_id],
                filter_string="metrics.m0 > 0.5 and params.p0 = 'v3'",
                order_by=["metrics.m1 DESC"],
            )
        filtered_samples.append(t.seconds)
        filtered = len(frame)
        with Timer() as t:
            paged = _page_through(client, experiment_id, sizes.page_size)
        paging_samples.append(t.seconds)
        if paged != sizes.runs or found != sizes.runs:
            raise RuntimeError(f"{tracking_uri}: expected {sizes.runs} runs, search gave {found}, paging {paged}")
    mlflow.set_tracking_uri(None)
    return StoreTimes(
        sweep_s, batch_s, median(search_samples), median(filtered_samples), median(paging_samples), found, filtered
    )


def _free_port(base: int) -> int:
    for port in [0] if base == 0 else range(base, base + 100):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return int(sock.getsockname()[1])
    raise RuntimeError(f"no free port in {base}..{base + 99}")


class MlflowServer:
    """``mlflow server`` (one worker) on ``store_uri``, in its own process group; a context manager."""

    def __init__(
        self, store_uri: str, artifact_root: Path, port_base: int, log_path: Path, start_timeout: float = 300.0
    ) -> None:
        self.port = _free_port(port_base)
        self.url = f"http://127.0.0.1:{self.port}"
        self._log = open(log_path, "wb")
        env = dict(os.environ, MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false")
        self._process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "mlflow",
                "server",
                "--backend-store-uri",
                store_uri,
                "--registry-store-uri",
                store_uri,
                "--default-artifact-root",
                artifact_root.as_uri(),
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--workers",
                "1",
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
        self._log_path = log_path
        self._wait(start_timeout)

    def _wait(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"mlflow server exited:\n{self._log_path.read_text(errors='replace')[-3000:]}")
            try:
                with urllib.request.urlopen(self.url + "/health", timeout=5) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.5)
        self.close()
        raise RuntimeError(f"mlflow server did not answer within {timeout:.0f} s")

    def close(self) -> None:
        """SIGTERM the group (twice: MLflow's parent may ignore the first), then SIGKILL."""
        for sig in (signal.SIGTERM, signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(self._process.pid, sig)
            except ProcessLookupError:
                break
            try:
                self._process.wait(timeout=15)
                os.killpg(self._process.pid, 0)
            except subprocess.TimeoutExpired:
                continue
            except ProcessLookupError:
                break
            time.sleep(1)
        self._log.close()

    def __enter__(self) -> "MlflowServer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _store_uris(tmp: Path) -> dict[str, str]:
    return {
        "storekit:sqlite": f"storekit:sqlite:///{tmp / 'storekit.db'}",
        "mlflow:sqlite": f"sqlite:///{tmp / 'mlflow.db'}",
    }


def _run_mode(mode: str, sizes: Sizes, port_base: int) -> dict[str, StoreTimes]:
    results: dict[str, StoreTimes] = {}
    with tempfile.TemporaryDirectory(prefix=f"mlflow-bench-{mode}-") as tmp_text:
        tmp = Path(tmp_text)
        os.environ["STOREKIT_ARTIFACT_URI"] = (tmp / "storekit-artifacts").as_uri()
        for store, uri in _store_uris(tmp).items():
            print(f"[{mode}] {store}: {sizes.runs} runs ...", flush=True)
            if mode == "direct":
                results[store] = measure_store(uri, sizes)
            else:
                artifacts = tmp / f"artifacts-{store.replace(':', '-')}"
                with MlflowServer(uri, artifacts, port_base, tmp / f"server-{store.replace(':', '-')}.log") as server:
                    results[store] = measure_store(server.url, sizes)
    return results


def _figures(mode: str, results: dict[str, StoreTimes], sizes: Sizes) -> list[Figure]:
    sk, ml = results["storekit:sqlite"], results["mlflow:sqlite"]
    workload = f"MLflow {mode}"
    rows = [
        (f"sweep of {sizes.runs} runs (create_run + log_batch + set_terminated)", sk.sweep, ml.sweep),
        ("  of which log_batch", sk.log_batch, ml.log_batch),
        (f"mlflow.search_runs, all {sizes.runs} runs (median)", sk.search_all, ml.search_all),
        (f"mlflow.search_runs, filtered ({sk.filtered_found} runs, median)", sk.search_filtered, ml.search_filtered),
        (f"paging {sizes.runs} runs by {sizes.page_size} (median)", sk.paging, ml.paging),
    ]
    figures = []
    for name, storekit_s, mlflow_s in rows:
        figures.append(
            Figure(
                workload=workload,
                name=name,
                value=storekit_s,
                unit="s",
                floor=mlflow_s,
                ratio_target=TARGET_RATIO,
                note="floor: MLflow's own SQLite store, same run; ratio: storekit / MLflow",
                extra={"speedup": mlflow_s / storekit_s if storekit_s else None, "mlflow_s": mlflow_s},
            )
        )
    return figures


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    d = Sizes()
    parser.add_argument("--mode", default="direct,server", help="direct, server or both (comma-separated)")
    parser.add_argument("--runs", type=int, default=d.runs)
    parser.add_argument("--params", type=int, default=d.params)
    parser.add_argument("--tags", type=int, default=d.tags)
    parser.add_argument("--metric-keys", type=int, default=d.metric_keys)
    parser.add_argument("--steps", type=int, default=d.steps)
    parser.add_argument("--page-size", type=int, default=d.page_size)
    parser.add_argument("--search-calls", type=int, default=d.search_calls)
    parser.add_argument("--port-base", type=int, default=0, help="first port to try for servers (0: any free port)")
    parser.add_argument("--json", default=None, help="also write the figures to this JSON file")
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the comparison; exit 0 (targets are reported, not enforced)."""
    args = parse_args(argv)
    _quiet_mlflow()
    import mlflow

    sizes = Sizes(args.runs, args.params, args.tags, args.metric_keys, args.steps, args.page_size, args.search_calls)
    modes = [m.strip() for m in args.mode.split(",") if m.strip()]
    unknown = set(modes) - {"direct", "server"}
    if unknown:
        raise SystemExit(f"--mode: unknown {sorted(unknown)}; use direct and/or server")
    figures: list[Figure] = []
    for mode in modes:
        figures += _figures(mode, _run_mode(mode, sizes, args.port_base), sizes)
    title = (
        f"MLflow {mlflow.__version__}: storekit:sqlite vs MLflow's own SQLite store "
        f"({sizes.runs} runs x {sizes.metric_keys * sizes.steps} points, {sizes.params} params, {sizes.tags} tags)"
    )
    print_table(figures, title, {})
    for fig in figures:
        speedup = fig.extra.get("speedup")
        print(f"speed-up  {fig.workload:14s} {fig.name.strip():62s} {speedup:6.1f}x" if speedup else "")
    if args.json:
        write_json(
            args.json,
            {
                "title": title,
                "machine": {
                    "python": sys.version.split()[0],
                    "platform": platform.platform(),
                    "cpus": os.cpu_count(),
                    "load_average": os.getloadavg(),
                },
                "sizes": vars(sizes),
                "figures": [f.to_dict() for f in figures],
            },
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
