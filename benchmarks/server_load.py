"""`storekit server` vs `mlflow server` under concurrent load, side by side on one PostgreSQL server.

    .venv/bin/python -m benchmarks.server_load                       # defaults below
    .venv/bin/python -m benchmarks.server_load --clients 16 --seconds 20 --rounds 3 --workers 2 --json out.json

Each server gets a database of its own on the same PostgreSQL server
(``--postgres-uri``, default the test server) and the same number of uvicorn
workers.  ``--clients`` threads then drive one server at a time for
``--seconds``: each client owns one run and loops over ``runs/log-batch``
(10 metrics, one new step each call) and, every ``--search-every``-th call,
``runs/search`` (a metric filter, ordered, 50 results).  Both servers get the
very same REST requests from the same client code.  Rounds alternate which
server goes first; the table reports medians over rounds of requests/s and
p50/p99 latency (ms).  Afterwards every run's history is read back from each
server and every acknowledged write must be present exactly once.

The load average is printed next to the figures: the machine is shared.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import make_url

__all__ = ["main", "parse_args"]

API = "/api/2.0/mlflow"
KEYS = [f"m{i}" for i in range(10)]


@dataclass
class Server:
    """One server process (and its workers) started by the benchmark."""

    name: str
    url: str
    process: "subprocess.Popen[bytes]"
    log: Path

    def stop(self) -> None:
        """SIGTERM to the process group, SIGKILL after 20 s."""
        if self.process.poll() is not None:
            return
        for sig in (signal.SIGTERM, signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(self.process.pid, sig)
            except ProcessLookupError:
                return
            try:
                self.process.wait(timeout=10)
                return
            except subprocess.TimeoutExpired:
                continue


def _wait(server: Server, timeout: float = 300) -> Server:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"{server.name} exited:\n{server.log.read_text(errors='replace')[-3000:]}")
        try:
            if httpx.get(f"{server.url}/health", timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    server.stop()
    raise RuntimeError(f"{server.name} did not answer within {timeout:.0f} s")


def _start(name: str, cmd: list[str], url: str, workdir: Path, env: dict[str, str]) -> Server:
    log = workdir / f"{name}.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=workdir, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    return _wait(Server(name, url, proc, log))


def start_storekit(db_uri: str, port: int, workers: int, workdir: Path) -> Server:
    """``storekit server`` on ``db_uri``."""
    exe = str(Path(sys.executable).parent / "storekit")
    cmd = [exe, "server", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
    cmd += ["--backend-store-uri", db_uri, "--artifacts-destination", str(workdir / "sk-artifacts")]
    return _start("storekit server", cmd, f"http://127.0.0.1:{port}", workdir, dict(os.environ))


def start_mlflow(db_uri: str, port: int, workers: int, workdir: Path) -> Server:
    """``mlflow server`` on ``db_uri`` (MLflow's own SQL store, psycopg 3 driver)."""
    url = make_url(db_uri).set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    cmd = [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port)]
    cmd += ["--workers", str(workers), "--backend-store-uri", url]
    cmd += ["--artifacts-destination", str(workdir / "mlflow-artifacts"), "--serve-artifacts"]
    env = dict(os.environ, MLFLOW_SKIP_PIP_REQUIREMENTS_CHECK="true", MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false")
    return _start("mlflow server", cmd, f"http://127.0.0.1:{port}", workdir, env)


@dataclass
class RoundResult:
    """What one round against one server measured."""

    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    seconds: float = 0.0
    #: run id -> steps whose log_batch was acknowledged (200).
    acknowledged: dict[str, list[int]] = field(default_factory=dict)

    @property
    def rps(self) -> float:
        """Successful requests per second."""
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def quantile(self, q: float) -> float:
        """Latency quantile in ms."""
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return 1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run_round(url: str, exp_id: str, clients: int, seconds: float, search_every: int) -> RoundResult:
    """``clients`` threads, each with its own run, for ``seconds``."""
    result = RoundResult()
    lock = threading.Lock()
    http = httpx.Client(
        timeout=httpx.Timeout(60, connect=10),
        limits=httpx.Limits(max_connections=clients, max_keepalive_connections=clients),
    )
    runs = []
    for _ in range(clients):
        created = http.post(f"{url}{API}/runs/create", json={"experiment_id": exp_id, "start_time": 1})
        created.raise_for_status()
        runs.append(created.json()["run"]["info"]["run_id"])
    start_gate = threading.Barrier(clients + 1)
    stop_at = [0.0]

    def client(run_id: str) -> None:
        latencies: list[float] = []
        acked: list[int] = []
        errors = 0
        step = 0
        start_gate.wait()
        while time.monotonic() < stop_at[0]:
            step += 1
            if step % search_every == 0:
                body: dict[str, Any] = {
                    "experiment_ids": [exp_id],
                    "filter": "metrics.m0 > 0.5",
                    "order_by": ["metrics.m1 DESC"],
                    "max_results": 50,
                }
                path = "runs/search"
            else:
                metrics = [
                    {"key": k, "value": ((step * 7919 + i) % 1000) / 1000, "timestamp": 1000 + step, "step": step}
                    for i, k in enumerate(KEYS)
                ]
                body, path = {"run_id": run_id, "metrics": metrics}, "runs/log-batch"
            t0 = time.perf_counter()
            try:
                response = http.post(f"{url}{API}/{path}", json=body)
                ok = response.status_code == 200
            except httpx.HTTPError:
                ok = False
            elapsed = time.perf_counter() - t0
            if ok:
                latencies.append(elapsed)
                if path == "runs/log-batch":
                    acked.append(step)
            else:
                errors += 1
        with lock:
            result.latencies.extend(latencies)
            result.errors += errors
            result.acknowledged[run_id] = acked

    threads = [threading.Thread(target=client, args=(r,)) for r in runs]
    for t in threads:
        t.start()
    stop_at[0] = time.monotonic() + seconds
    t0 = time.monotonic()
    start_gate.wait()
    for t in threads:
        t.join()
    result.seconds = time.monotonic() - t0
    http.close()
    return result


def verify(url: str, acknowledged: dict[str, list[int]]) -> tuple[int, int]:
    """``(acknowledged writes checked, writes missing or duplicated)`` for metric ``m0`` of every run."""
    bad = 0
    checked = 0
    with httpx.Client(timeout=120) as http:
        for run_id, steps in acknowledged.items():
            got: list[int] = []
            token = None
            while True:
                params: dict[str, Any] = {"run_id": run_id, "metric_key": "m0", "max_results": 25000}
                if token:
                    params["page_token"] = token
                data = http.get(f"{url}{API}/metrics/get-history", params=params).json()
                got.extend(int(m.get("step", 0)) for m in data.get("metrics") or ())
                token = data.get("next_page_token")
                if not token:
                    break
            counts: dict[int, int] = {}
            for s in got:
                counts[s] = counts.get(s, 0) + 1
            checked += len(steps)
            bad += sum(1 for s in steps if counts.get(s) != 1)
    return checked, bad


def parse_args(argv: Optional[list[str]] = None) -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument(
        "--postgres-uri",
        default=os.environ.get("STOREKIT_TEST_POSTGRES_URI", "postgresql://postgres@127.0.0.1:5432/postgres"),
    )
    p.add_argument("--clients", type=int, default=16)
    p.add_argument("--seconds", type=float, default=15.0)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--search-every", type=int, default=5, help="every n-th call of a client is a search")
    p.add_argument("--ports", default="46017,46018", help="storekit,mlflow ports")
    p.add_argument("--only", choices=["storekit", "mlflow"], default=None, help="drive one server only")
    p.add_argument("--json", default=None, help="write the figures to this file")
    return p.parse_args(argv)


def main(argv: Optional[list[str]] = None) -> int:
    """Run the benchmark; exit code 1 when an acknowledged write is missing or duplicated."""
    args = parse_args(argv)
    base = make_url(args.postgres_uri)
    admin = sa.create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    suffix = uuid.uuid4().hex[:8]
    names = {"storekit": f"sk_server_bench_{suffix}", "mlflow": f"sk_server_mlflow_{suffix}"}
    workdir = Path(tempfile.mkdtemp(prefix="server-load-"))
    servers: dict[str, Server] = {}
    ports = [int(p) for p in args.ports.split(",")]
    try:
        with admin.connect() as conn:
            for name in names.values():
                conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        kinds = [args.only] if args.only else ["storekit", "mlflow"]
        starters = {"storekit": (start_storekit, ports[0]), "mlflow": (start_mlflow, ports[1])}
        for kind in kinds:
            starter, port = starters[kind]
            db = base.set(database=names[kind]).render_as_string(hide_password=False)
            servers[kind] = starter(db, port, args.workers, workdir)
        experiments = {}
        for kind, server in servers.items():
            created = httpx.post(f"{server.url}{API}/experiments/create", json={"name": f"load-{suffix}"}, timeout=60)
            created.raise_for_status()
            experiments[kind] = created.json()["experiment_id"]
        results: dict[str, list[RoundResult]] = {k: [] for k in servers}
        loads: list[float] = []
        for round_no in range(args.rounds):
            order = kinds if round_no % 2 == 0 else list(reversed(kinds))
            for kind in order:
                res = run_round(servers[kind].url, experiments[kind], args.clients, args.seconds, args.search_every)
                results[kind].append(res)
                loads.append(os.getloadavg()[0])
                print(
                    f"round {round_no + 1} {kind:8s}: {res.rps:8.1f} req/s  p50 {res.quantile(0.5):7.1f} ms  "
                    f"p99 {res.quantile(0.99):7.1f} ms  errors {res.errors}  (load {loads[-1]:.1f})",
                    flush=True,
                )
        figures: dict[str, Any] = {}
        for kind, rounds in results.items():
            acked: dict[str, list[int]] = {}
            for r in rounds:
                acked.update(r.acknowledged)
            checked, bad = verify(servers[kind].url, acked)
            figures[kind] = {
                "rps": statistics.median(r.rps for r in rounds),
                "p50_ms": statistics.median(r.quantile(0.5) for r in rounds),
                "p99_ms": statistics.median(r.quantile(0.99) for r in rounds),
                "errors": sum(r.errors for r in rounds),
                "writes_checked": checked,
                "writes_missing_or_duplicated": bad,
            }
        print(
            f"\n{args.clients} clients, {args.seconds:.0f} s x {args.rounds} rounds, {args.workers} workers each, "
            f"load average during the run {min(loads):.1f}-{max(loads):.1f} (1 min)"
        )
        print(
            f"{'server':10s} {'req/s':>9s} {'p50 ms':>8s} {'p99 ms':>8s} {'errors':>7s} {'acked writes':>13s} {'bad':>4s}"
        )
        for kind, f in figures.items():
            print(
                f"{kind:10s} {f['rps']:9.1f} {f['p50_ms']:8.1f} {f['p99_ms']:8.1f} {f['errors']:7d} "
                f"{f['writes_checked']:13d} {f['writes_missing_or_duplicated']:4d}"
            )
        if "storekit" in figures and "mlflow" in figures and figures["mlflow"]["rps"]:
            sk, ml = figures["storekit"], figures["mlflow"]
            print(f"storekit / mlflow: {sk['rps'] / ml['rps']:.1f}x requests/s, p99 {sk['p99_ms'] / ml['p99_ms']:.2f}x")
        if args.json:
            Path(args.json).write_text(json.dumps({"args": vars(args), "load": loads, "figures": figures}, indent=2))
        return 1 if any(f["writes_missing_or_duplicated"] for f in figures.values()) else 0
    finally:
        for server in servers.values():
            server.stop()
        with admin.connect() as conn:
            for name in names.values():
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
