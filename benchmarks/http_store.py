"""W1-W3 through HTTP: storekit's http store and MLflow's own client, side by side, on one ``mlflow server``.

    .venv/bin/python -m benchmarks.http_store                    # starts an mlflow server (SQLite) itself
    .venv/bin/python -m benchmarks.http_store --url http://127.0.0.1:5000 --runs 200 --json out.json

Both clients talk to the same server, each in an experiment of its own, doing
the same work: W1 ``log_batch`` ingest (``--runs`` runs x 20 params, 10 tags,
10 keys x ``--steps`` steps) and one ``log_metric`` call per point
(synchronous, and with each client's asynchronous logger); W2 searches (the
AND filter, the OR filter - evaluated on the client by storekit, refused by
MLflow's server -, an unfiltered ``max_results=1000`` and paging 100 at a
time); W3 ``get_run`` and ``get_metric_history``.  Sizes are smaller than the
embedded benchmarks' defaults: every call here is an HTTP round trip to a
server doing its own SQL.  The ratio column is storekit / MLflow for times
(below 1 is faster).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

if __package__ in (None, ""):  # run as a script
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    __package__ = "benchmarks"

from benchmarks.common import Figure, Timer, median, p95, print_table, time_calls, write_json

__all__ = ["main", "parse_args"]

BASE_TS = 1_700_000_000_000
AND_FILTER = "metrics.m0 > 0.5 and params.p0 = 'v3'"
OR_FILTER = "metrics.m0 > 0.5 or params.p0 = 'v3'"


class _Client:
    """The calls the workloads make, for one client library."""

    name = ""

    def create_experiment(self, name: str) -> str: ...
    def create_run(self, exp_id: str, start: int) -> str: ...
    def log_batch(
        self,
        run_id: str,
        params: list[tuple[str, str]],
        tags: list[tuple[str, str]],
        metrics: list[tuple[str, float, int, int]],
    ) -> None: ...
    def finish(self, run_id: str, end: int) -> None: ...
    def log_metric(self, run_id: str, key: str, value: float, ts: int, step: int, synchronous: bool) -> None: ...
    def flush(self) -> None: ...
    def search(
        self,
        exp_id: str,
        filter_string: Optional[str],
        order_by: Optional[list[str]],
        max_results: int,
        token: Optional[str] = None,
    ) -> tuple[int, Optional[str]]: ...
    def get_run(self, run_id: str) -> Any: ...
    def history(self, run_id: str, key: str) -> int: ...


class _Storekit(_Client):
    name = "storekit-http"

    def __init__(self, url: str) -> None:
        from storekit.client import TrackingClient
        from storekit.plugins import resolve_tracking_store

        self.store = resolve_tracking_store(url)
        self.client = TrackingClient(tracking_uri=url)

    def create_experiment(self, name: str) -> str:
        return self.store.create_experiment(name)

    def create_run(self, exp_id: str, start: int) -> str:
        return self.store.create_run(exp_id, start_time=start).info.run_id

    def log_batch(self, run_id, params, tags, metrics) -> None:
        from storekit.entities import Metric, Param, RunTag

        self.store.log_batch(
            run_id,
            metrics=[Metric(k, v, t, s) for k, v, t, s in metrics],
            params=[Param(k, v) for k, v in params],
            tags=[RunTag(k, v) for k, v in tags],
        )

    def finish(self, run_id: str, end: int) -> None:
        from storekit.entities import RunStatus

        self.store.update_run_info(run_id, status=RunStatus.FINISHED, end_time=end)

    def log_metric(self, run_id, key, value, ts, step, synchronous) -> None:
        self.client.log_metric(run_id, key, value, timestamp=ts, step=step, synchronous=synchronous)

    def flush(self) -> None:
        self.client.flush()

    def search(self, exp_id, filter_string, order_by, max_results, token=None):
        page = self.store.search_runs(
            [exp_id], filter_string, max_results=max_results, order_by=order_by, page_token=token
        )
        return len(page), page.token

    def get_run(self, run_id: str) -> Any:
        return self.store.get_run(run_id)

    def history(self, run_id: str, key: str) -> int:
        return len(self.store.get_metric_history(run_id, key))


class _Mlflow(_Client):
    name = "mlflow client"

    def __init__(self, url: str) -> None:
        from mlflow.tracking import MlflowClient

        self.client = MlflowClient(tracking_uri=url)

    def create_experiment(self, name: str) -> str:
        return self.client.create_experiment(name)

    def create_run(self, exp_id: str, start: int) -> str:
        return self.client.create_run(exp_id, start_time=start).info.run_id

    def log_batch(self, run_id, params, tags, metrics) -> None:
        from mlflow.entities import Metric, Param, RunTag

        self.client.log_batch(
            run_id,
            metrics=[Metric(k, v, t, s) for k, v, t, s in metrics],
            params=[Param(k, v) for k, v in params],
            tags=[RunTag(k, v) for k, v in tags],
        )

    def finish(self, run_id: str, end: int) -> None:
        self.client.set_terminated(run_id, "FINISHED", end_time=end)

    def log_metric(self, run_id, key, value, ts, step, synchronous) -> None:
        self.client.log_metric(run_id, key, value, timestamp=ts, step=step, synchronous=synchronous)

    def flush(self) -> None:
        # the client's own store (mlflow.flush_async_logging() flushes the fluent API's store, not this one)
        self.client._tracking_client.store.flush_async_logging()

    def search(self, exp_id, filter_string, order_by, max_results, token=None):
        page = self.client.search_runs(
            [exp_id], filter_string or "", max_results=max_results, order_by=order_by, page_token=token
        )
        return len(page), page.token

    def get_run(self, run_id: str) -> Any:
        return self.client.get_run(run_id)

    def history(self, run_id: str, key: str) -> int:
        return len(self.client.get_metric_history(run_id, key))


def _payload(rng: random.Random, index: int, steps: int) -> tuple[list, list, list]:
    params = [("p0", f"v{index % 10}")] + [(f"p{j}", f"value-{index}-{j}") for j in range(1, 20)]
    tags = [(f"t{j}", f"tag-{index % 7}-{j}") for j in range(10)]
    metrics = [(f"m{k}", rng.random(), BASE_TS + step, step) for step in range(steps) for k in range(10)]
    return params, tags, metrics


def _ingest(clients: Sequence[_Client], args: argparse.Namespace) -> list[tuple[str, list[str], float]]:
    """W1 ingest for every client, interleaved run by run so that both see the same machine load.

    Returns ``(experiment id, run ids, seconds in store calls)`` per client.
    """
    exps = [c.create_experiment(f"bench-{c.name}-{time.time_ns()}") for c in clients]
    timers = [Timer() for _ in clients]
    run_ids: list[list[str]] = [[] for _ in clients]
    rng = random.Random(0)
    for index in range(args.runs):
        params, tags, metrics = _payload(rng, index, args.steps)
        for i, client in enumerate(clients):
            with timers[i]:
                run_id = client.create_run(exps[i], BASE_TS + index)
                for start in range(0, len(metrics), 1000):
                    first = start == 0
                    client.log_batch(
                        run_id, params if first else [], tags if first else [], metrics[start : start + 1000]
                    )
                client.finish(run_id, BASE_TS + index + 1000)
            run_ids[i].append(run_id)
    return [(exps[i], run_ids[i], timers[i].seconds) for i in range(len(clients))]


def _workloads(client: _Client, exp_id: str, run_ids: list[str], args: argparse.Namespace) -> dict[str, Any]:
    """Every figure of one client after the ingest, as ``{name: seconds or list of seconds}``."""
    out: dict[str, Any] = {}
    rng = random.Random(1)
    per_call_exp = client.create_experiment(f"bench-calls-{client.name}-{time.time_ns()}")
    for synchronous in (True, False):
        runs = [client.create_run(per_call_exp, BASE_TS) for _ in range(args.per_call_runs)]
        samples = []
        start_all = time.perf_counter()
        for run_id in runs:
            for step in range(10):
                for k in range(10):
                    t0 = time.perf_counter()
                    client.log_metric(run_id, f"m{k}", 0.5, BASE_TS + step, step, synchronous)
                    samples.append(time.perf_counter() - t0)
        client.flush()
        total = time.perf_counter() - start_all
        out["sync calls" if synchronous else "async calls"] = samples
        if not synchronous:
            out["async total"] = total / len(samples)
    calls = args.search_calls
    out["W2 AND"], _ = time_calls(lambda: client.search(exp_id, AND_FILTER, ["metrics.m1 DESC"], 100), calls)
    try:
        out["W2 OR"], _ = time_calls(lambda: client.search(exp_id, OR_FILTER, ["metrics.m1 DESC"], 100), calls)
    except Exception as exc:  # MLflow's server has no OR
        out["W2 OR"] = f"unsupported ({type(exc).__name__})"
    out["W2 unfiltered 1000"], _ = time_calls(lambda: client.search(exp_id, None, None, 1000), max(3, calls // 4))

    def page_all() -> int:
        seen, token = 0, None
        while True:
            n, token = client.search(exp_id, None, None, 100, token)
            seen += n
            if not token:
                return seen

    out["W2 paging"], _ = time_calls(page_all, 3)
    picks = iter([rng.choice(run_ids) for _ in range(2 * args.read_calls)])
    out["W3 get_run"], _ = time_calls(lambda: client.get_run(next(picks)), args.read_calls)
    out["W3 history"], _ = time_calls(lambda: client.history(next(picks), "m0"), args.read_calls)
    return out


def _figures(sk: dict[str, Any], ml: dict[str, Any], args: argparse.Namespace) -> list[Figure]:
    points = args.runs * 10 * args.steps
    figs: list[Figure] = []

    def fig(
        name: str,
        key: str,
        unit: str,
        scale: float,
        stat: Callable[[Any], float],
        target: Optional[float] = None,
        note: str = "",
    ) -> None:
        mine = stat(sk[key]) * scale
        theirs = ml.get(key)
        floor = stat(theirs) * scale if not isinstance(theirs, (str, type(None))) else None
        extra_note = note if floor is not None else (f"{note}; MLflow: {theirs}" if theirs else note)
        figs.append(
            Figure(
                "HTTP",
                name,
                mine,
                unit,
                target=target,
                floor=floor,
                ratio_target=1.0,
                note=extra_note.strip("; "),
                extra={"mlflow": floor},
            )
        )

    fig("W1 log_batch ingest", "W1 ingest", "s", 1, float, note=f"{args.runs} runs, {points:,} points")
    figs.append(
        Figure(
            "HTTP",
            "W1 points/s",
            points / sk["W1 ingest"],
            "points/s",
            higher_is_better=True,
            floor=points / ml["W1 ingest"],
            ratio_target=1.0,
            extra={"mlflow": points / ml["W1 ingest"]},
        )
    )
    fig("W1 log_metric sync (median)", "sync calls", "µs", 1e6, median)
    fig("W1 log_metric async (median)", "async calls", "µs", 1e6, median, target=50)
    fig("W1 log_metric async (p95)", "async calls", "µs", 1e6, p95)
    fig("W1 async per point incl. flush", "async total", "µs", 1e6, float)
    fig("W2 AND filter (median)", "W2 AND", "ms", 1e3, median)
    fig("W2 AND filter (p95)", "W2 AND", "ms", 1e3, p95)
    fig("W2 OR filter (median)", "W2 OR", "ms", 1e3, median, note="storekit: evaluated on the client")
    fig("W2 unfiltered 1000 (median)", "W2 unfiltered 1000", "ms", 1e3, median)
    fig("W2 paging 100 at a time (median)", "W2 paging", "s", 1, median, note=f"{args.runs} runs")
    fig("W3 get_run (median)", "W3 get_run", "ms", 1e3, median)
    fig(f"W3 get_metric_history {args.steps} points (median)", "W3 history", "ms", 1e3, median)
    return figs


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--url", help="an already running tracking server (default: start mlflow server on SQLite)")
    p.add_argument("--runs", type=int, default=100)
    p.add_argument("--steps", type=int, default=100)
    p.add_argument("--per-call-runs", type=int, default=10, help="runs x 10 keys x 10 steps log_metric calls")
    p.add_argument("--search-calls", type=int, default=20)
    p.add_argument("--read-calls", type=int, default=200)
    p.add_argument("--json", help="write the figures to this file")
    return p.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the comparison and print the table."""
    args = parse_args(argv)
    os.environ.setdefault("MLFLOW_SKIP_PIP_REQUIREMENTS_CHECK", "true")
    server = None
    with tempfile.TemporaryDirectory(prefix="storekit-http-bench-") as tmp:
        url = args.url
        if not url:
            from tests.mlflow_server.processes import MlflowServer

            server = MlflowServer.start(Path(tmp) / "server")
            url = server.url
        try:
            clients: list[_Client] = [_Storekit(url), _Mlflow(url)]
            ingested = _ingest(clients, args)
            sk, ml = (
                _workloads(c, exp, ids, args) | {"W1 ingest": took} for c, (exp, ids, took) in zip(clients, ingested)
            )
        finally:
            if server is not None:
                server.stop()
    figs = _figures(sk, ml, args)
    print_table(
        figs,
        f"storekit-http vs MLflow's client on mlflow server ({'given URL' if args.url else 'SQLite'}); "
        "floor = MLflow's figure, ratio = storekit / MLflow",
        {},
    )
    if args.json:
        write_json(args.json, {"figures": [f.to_dict() for f in figs]})
    return 0


if __name__ == "__main__":
    sys.exit(main())
