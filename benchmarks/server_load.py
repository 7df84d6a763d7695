"""`storekit server` vs `mlflow server` under concurrent load, side by side on one PostgreSQL server.

    .venv/bin/python -m benchmarks.server_load                       # defaults below
    .venv/bin/python -m benchmarks.server_load --clients 16 --seconds 20 --rounds 3 --workers 2 --json out.json

Each server gets a database of its own on the same PostgreSQL server
(``--postgres-uri``, default the test server) and the same number of uvicorn
workers.  ``--clients`` client processes (one keep-alive connection each, the
stdlib's cheap ``http.client``: the clients share the cores with the servers,
so a heavy client would cap the faster server) then drive one server at a time for
``--seconds``: each client owns one run and loops over ``runs/log-batch``
(10 metrics, one new step each call) and, every ``--search-every``-th call,
``runs/search`` (a metric filter, ordered, 50 results).  Both servers get the
very same REST requests from the same client code.  Rounds alternate which
server goes first; the table reports medians over rounds of requests/s and
p50/p99 latency (ms), and the CPU time (user + system) per request of the
server's processes and of the client processes.  Afterwards every run's history
is read back from each server and every acknowledged write must be present exactly once.

The load average is printed next to the figures: the machine is shared.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional
from urllib.parse import urlsplit

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
    #: CPU seconds (user + system) the server's processes and the client processes spent in the round.
    server_cpu: float = 0.0
    client_cpu: float = 0.0

    @property
    def requests(self) -> int:
        """Requests answered (successes and errors)."""
        return len(self.latencies) + self.errors

    def cpu_ms(self, seconds: float) -> float:
        """CPU milliseconds per request answered."""
        return 1000 * seconds / self.requests if self.requests else float("nan")

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


def _client(url: str, exp_id: str, run_id: str, seconds: float, search_every: int, gate: Any, out: Any) -> None:
    """One client process: a keep-alive connection, ``runs/log-batch`` and every n-th call ``runs/search``.

    The stdlib's ``http.client`` costs a fraction of httpx's CPU per request, so
    the clients (on the same cores as the servers) do not cap the faster server.
    """
    parsed = urlsplit(url)
    host, port = parsed.hostname or "127.0.0.1", parsed.port or 80
    conn = http.client.HTTPConnection(host, port, timeout=60)
    headers = {"Content-Type": "application/json"}
    latencies: list[float] = []
    acked: list[int] = []
    errors = 0
    step = 0
    search = json.dumps(
        {"experiment_ids": [exp_id], "filter": "metrics.m0 > 0.5", "order_by": ["metrics.m1 DESC"], "max_results": 50}
    ).encode()
    gate.wait()
    stop_at = time.monotonic() + seconds
    while time.monotonic() < stop_at:
        step += 1
        if step % search_every == 0:
            body, path = search, f"{API}/runs/search"
        else:
            metrics = [
                {"key": k, "value": ((step * 7919 + i) % 1000) / 1000, "timestamp": 1000 + step, "step": step}
                for i, k in enumerate(KEYS)
            ]
            body, path = json.dumps({"run_id": run_id, "metrics": metrics}).encode(), f"{API}/runs/log-batch"
        t0 = time.perf_counter()
        try:
            conn.request("POST", path, body, headers)
            response = conn.getresponse()
            response.read()
            ok = response.status == 200
        except (OSError, http.client.HTTPException):
            ok = False
            conn.close()  # reconnects on the next request
        elapsed = time.perf_counter() - t0
        if ok:
            latencies.append(elapsed)
            if path.endswith("log-batch"):
                acked.append(step)
        else:
            errors += 1
    conn.close()
    out.put((run_id, latencies, acked, errors))


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process and its descendants (the server and its workers)."""
    import psutil

    total = 0.0
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0.0
    for proc in procs:
        try:
            times = proc.cpu_times()
            total += times.user + times.system
        except psutil.Error:
            pass
    return total


def run_round(
    url: str, exp_id: str, clients: int, seconds: float, search_every: int, server_pid: Optional[int] = None
) -> RoundResult:
    """``clients`` client processes, each with its own run, for ``seconds``."""
    result = RoundResult()
    with httpx.Client(timeout=httpx.Timeout(60, connect=10)) as http_setup:
        runs = []
        for _ in range(clients):
            created = http_setup.post(f"{url}{API}/runs/create", json={"experiment_id": exp_id, "start_time": 1})
            created.raise_for_status()
            runs.append(created.json()["run"]["info"]["run_id"])
    mp = multiprocessing.get_context("fork")
    gate = mp.Barrier(clients + 1)
    out = mp.Queue()
    procs = [
        mp.Process(target=_client, args=(url, exp_id, r, seconds, search_every, gate, out), daemon=True) for r in runs
    ]
    for proc in procs:
        proc.start()
    server_cpu = _cpu_seconds(server_pid) if server_pid else 0.0
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    gate.wait()
    for _ in procs:
        run_id, latencies, acked, errors = out.get(timeout=seconds + 300)
        result.latencies.extend(latencies)
        result.errors += errors
        result.acknowledged[run_id] = acked
    result.seconds = time.monotonic() - t0
    if server_pid:
        result.server_cpu = _cpu_seconds(server_pid) - server_cpu
    for proc in procs:
        proc.join()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    result.client_cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
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
                server = servers[kind]
                res = run_round(
                    server.url, experiments[kind], args.clients, args.seconds, args.search_every, server.process.pid
                )
                results[kind].append(res)
                loads.append(os.getloadavg()[0])
                print(
                    f"round {round_no + 1} {kind:8s}: {res.rps:8.1f} req/s  p50 {res.quantile(0.5):7.1f} ms  "
                    f"p99 {res.quantile(0.99):7.1f} ms  errors {res.errors}  "
                    f"CPU/request: server {res.cpu_ms(res.server_cpu):5.2f} ms, clients {res.cpu_ms(res.client_cpu):5.2f} ms"
                    f"  (load {loads[-1]:.1f})",
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
                "server_cpu_ms_per_request": statistics.median(r.cpu_ms(r.server_cpu) for r in rounds),
                "client_cpu_ms_per_request": statistics.median(r.cpu_ms(r.client_cpu) for r in rounds),
                "writes_checked": checked,
                "writes_missing_or_duplicated": bad,
            }
        print(
            f"\n{args.clients} clients, {args.seconds:.0f} s x {args.rounds} rounds, {args.workers} workers each, "
            f"load average during the run {min(loads):.1f}-{max(loads):.1f} (1 min)"
        )
        print(
            f"{'server':10s} {'req/s':>9s} {'p50 ms':>8s} {'p99 ms':>8s} {'errors':>7s} {'acked writes':>13s} {'bad':>4s}"
            f" {'server CPU ms/req':>18s} {'client CPU ms/req':>18s}"
        )
        for kind, f in figures.items():
            print(
                f"{kind:10s} {f['rps']:9.1f} {f['p50_ms']:8.1f} {f['p99_ms']:8.1f} {f['errors']:7d} "
                f"{f['writes_checked']:13d} {f['writes_missing_or_duplicated']:4d}"
                f" {f['server_cpu_ms_per_request']:18.2f} {f['client_cpu_ms_per_request']:18.2f}"
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
