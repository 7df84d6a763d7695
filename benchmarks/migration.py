"""Benchmarks of ``storekit migrate`` and ``storekit import-mlflow`` (see docs/migration.md).

``.venv/bin/python -m benchmarks.migration [--runs 1000] [--points 1000] [--json out.json]``

* **M1** — ``storekit migrate`` of a storekit SQLite store with RUNS runs x
  POINTS metric points (one key) into a fresh PostgreSQL database; target:
  1,000,000 points copied in under 10 s.  **M1-mariadb**: the same into MariaDB.  Verification (which re-reads both
  sides) is timed separately.
* **M2** — an MLflow ``mlruns/`` tree of RUNS runs x POINTS points into
  SQLite: ``storekit import-mlflow`` and MLflow's own ``mlflow
  migrate-filestore`` on the same tree, side by side; target: storekit at
  least 10x faster.  The runs, params and tags are created by MLflow's client;
  the metric files are written in exactly the format MLflow's file store
  writes (``timestamp value step`` lines) because logging 1,000,000 points
  through MLflow's file store takes about 9 minutes on these machines.
* Peak resident memory of every transfer process (target: under 300 MiB).

Every command runs in its own process, timed from start to exit (wall
clock), so both tools pay their interpreter start-up and imports.
MLflow (``pip install mlflow==3.17.2``) is needed for M2; the PostgreSQL
server comes from ``STOREKIT_TEST_POSTGRES_URI`` or ``scripts/services/databases.sh``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any, Optional

ROOT = Path(__file__).resolve().parent.parent
_STOREKIT = [sys.executable, "-c", "import sys; from storekit.cli import main; sys.exit(main())"]


#: CPU seconds (user + system) of the last command :func:`run_measured` ran: on a loaded machine
#: the wall clock mostly measures waiting for a core, this does not.
LAST_CPU = [0.0]


def run_measured(cmd: list[str], cwd: Path, env: Optional[dict[str, str]] = None) -> tuple[float, float, str]:
    """Run ``cmd``; return wall seconds, the child's peak resident MiB (``wait4``) and its stdout."""
    out_file = tempfile.TemporaryFile(mode="w+")
    err_file = tempfile.TemporaryFile(mode="w+")
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env or dict(os.environ), stdout=out_file, stderr=err_file, text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    LAST_CPU[0] = usage.ru_utime + usage.ru_stime
    proc.returncode = os.waitstatus_to_exitcode(status)
    out_file.seek(0)
    err_file.seek(0)
    out, err = out_file.read(), err_file.read()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[-6:])} failed ({proc.returncode}):\n{out[-2000:]}\n{err[-3000:]}")
    return seconds, usage.ru_maxrss / 1024, out


def build_storekit_sqlite(path: Path, runs: int, points: int) -> None:
    """A storekit SQLite store: one experiment, ``runs`` FINISHED runs, ``points`` points of one key each."""
    from storekit.backends.sql import SqlTrackingStore
    from storekit.entities import Metric, Param, RunStatus, RunTag

    store = SqlTrackingStore(f"sqlite:///{path}")
    exp = store.create_experiment("bench")
    for i in range(runs):
        run = store.create_run(exp, run_name=f"run-{i}", start_time=1_700_000_000_000 + i)
        rid = run.info.run_id
        store.log_batch(rid, params=[Param("lr", "0.01"), Param("i", str(i))], tags=[RunTag("t", "x")])
        for start in range(0, points, 1000):
            store.log_batch(
                rid,
                metrics=[
                    Metric("loss", 1.0 / (j + 1), 1_700_000_000_000 + j, j)
                    for j in range(start, min(points, start + 1000))
                ],
            )
        store.update_run_info(rid, status=RunStatus.FINISHED, end_time=1_700_000_100_000 + i)
    store.close()


_MLRUNS_SCRIPT = r"""
import os, sys
os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
from mlflow import MlflowClient
root, runs, points = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
client = MlflowClient("file://" + root)
exp = client.create_experiment("bench")
for i in range(runs):
    run = client.create_run(exp, run_name=f"run-{i}", start_time=1_700_000_000_000 + i)
    client.log_param(run.info.run_id, "lr", "0.01")
    client.set_tag(run.info.run_id, "t", "x")
    client.log_metric(run.info.run_id, "loss", 1.0, timestamp=1_700_000_000_000, step=0)
    client.set_terminated(run.info.run_id)
    path = os.path.join(root, exp, run.info.run_id, "metrics", "loss")
    with open(path, "w") as fh:  # the rest of the history, in MLflow's own line format
        fh.write("".join(f"{1_700_000_000_000 + j} {1.0 / (j + 1)} {j}\n" for j in range(points)))
"""


def build_mlruns(root: Path, runs: int, points: int) -> None:
    """An MLflow ``mlruns/`` tree under ``root`` (see the module docstring)."""
    env = dict(os.environ, MLFLOW_ALLOW_FILE_STORE="true")
    proc = subprocess.run(
        [sys.executable, "-c", _MLRUNS_SCRIPT, str(root / "mlruns"), str(runs), str(points)],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"building the mlruns tree failed:\n{proc.stderr[-3000:]}")


def server_database(backend: str = "postgresql") -> tuple[str, Any]:
    """A fresh database on the PostgreSQL (or MariaDB: ``mysql``) test server: its URI and a function
    that drops it."""
    import sqlalchemy as sa
    from sqlalchemy.engine import make_url

    from storekit.backends.sql.engine import to_sqlalchemy_url

    var = "STOREKIT_TEST_POSTGRES_URI" if backend == "postgresql" else "STOREKIT_TEST_MYSQL_URI"
    base = os.environ.get(var)
    if not base:
        proc = subprocess.run([str(ROOT / "scripts/services/databases.sh"), "start"], capture_output=True, text=True)
        settings = dict(line.split("=", 1) for line in proc.stdout.splitlines() if "=" in line)
        default = (
            "postgresql://postgres@127.0.0.1:5432/test"
            if backend == "postgresql"
            else "mysql://root@127.0.0.1:3306/test"
        )
        base = settings.get(var, default)
    name = f"storekit_bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(to_sqlalchemy_url(base), isolation_level="AUTOCOMMIT")
    quote = '"' if backend == "postgresql" else "`"
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {quote}{name}{quote}")

    def drop() -> None:
        force = " WITH (FORCE)" if backend == "postgresql" else ""
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {quote}{name}{quote}{force}")
        admin.dispose()

    return str(make_url(base).set(database=name).render_as_string(hide_password=False)), drop


def m1(work: Path, runs: int, points: int, backend: str = "postgresql") -> dict[str, Any]:
    """SQLite -> PostgreSQL (or MariaDB, ``backend="mysql"``) with ``storekit migrate``."""
    src = work / "m1-source.db"
    if not src.exists():
        build_storekit_sqlite(src, runs, points)
    dst, drop = server_database(backend)
    try:
        state = str(work / f"m1-{uuid.uuid4().hex[:6]}.jsonl")
        seconds, rss, out = run_measured(
            [*_STOREKIT, "migrate", f"sqlite:///{src}", dst, "--json", "--no-verify", "--state", state], work
        )
        cpu = LAST_CPU[0]
        copied = json.loads(out)["transfer"]
        copy = copied["seconds"]
        verify_s, verify_rss, vout = run_measured(
            [*_STOREKIT, "migrate", f"sqlite:///{src}", dst, "--json", "--state", state], work
        )
        verify_cpu = LAST_CPU[0]
        verified = json.loads(vout)["verification"]["ok"]
        return {
            "workload": f"M1 SQLite -> {'PostgreSQL' if backend == 'postgresql' else 'MariaDB'}",
            "runs": runs,
            "points": copied["metric_points"],
            "copy_seconds_in_process": round(copy, 2),
            "points_per_second": int(copied["metric_points"] / copy),
            "process_seconds": round(seconds, 2),
            "process_cpu_seconds": round(cpu, 2),
            "peak_rss_mib": round(max(rss, verify_rss), 1),
            "index_build_seconds": round(copied.get("index_seconds", 0.0), 2),
            "resume_and_verify_seconds": round(verify_s, 2),
            "resume_and_verify_cpu_seconds": round(verify_cpu, 2),
            "verified": verified,
            "load_average": round(os.getloadavg()[0], 1),
            "target": "copy < 10 s, memory < 300 MiB",
            "met": copy < 10 and max(rss, verify_rss) < 300 and verified,
        }
    finally:
        drop()


def m2(work: Path, runs: int, points: int) -> dict[str, Any]:
    """mlruns -> SQLite: storekit import-mlflow vs mlflow migrate-filestore on the same tree."""
    tree = work / "m2"
    if not (tree / "mlruns").exists():
        tree.mkdir(exist_ok=True)
        build_mlruns(tree, runs, points)
    ours_db, theirs_db = work / f"m2-storekit-{uuid.uuid4().hex[:6]}.db", work / f"m2-mlflow-{uuid.uuid4().hex[:6]}.db"
    ours, ours_rss, out = run_measured(
        [
            *_STOREKIT,
            "import-mlflow",
            str(tree / "mlruns"),
            f"sqlite:///{ours_db}",
            "--json",
            "--no-verify",
            "--state",
            str(work / f"{ours_db.name}.jsonl"),
        ],
        work,
    )
    ours_cpu = LAST_CPU[0]
    copied = json.loads(out)["transfer"]
    verify_s, _, vout = run_measured(
        [
            *_STOREKIT,
            "import-mlflow",
            str(tree / "mlruns"),
            f"sqlite:///{ours_db}",
            "--json",
            "--state",
            str(work / f"{ours_db.name}.jsonl"),
        ],
        work,
    )
    verified = json.loads(vout)["verification"]["ok"]
    mlflow_bin = str(Path(sys.executable).with_name("mlflow"))
    env = dict(os.environ, MLFLOW_ALLOW_FILE_STORE="true")
    theirs, theirs_rss, _ = run_measured(
        [mlflow_bin, "migrate-filestore", "--source", str(tree), "--target", f"sqlite:///{theirs_db}", "--no-progress"],
        work,
        env,
    )
    theirs_cpu = LAST_CPU[0]
    return {
        "workload": "M2 mlruns -> SQLite",
        "runs": runs,
        "points": copied["metric_points"],
        "storekit_seconds": round(ours, 2),
        "storekit_cpu_seconds": round(ours_cpu, 2),
        "storekit_peak_rss_mib": round(ours_rss, 1),
        "storekit_copy_seconds_in_process": round(copied["seconds"], 2),
        "storekit_resume_and_verify_seconds": round(verify_s, 2),
        "verified": verified,
        "mlflow_migrate_filestore_seconds": round(theirs, 2),
        "mlflow_cpu_seconds": round(theirs_cpu, 2),
        "mlflow_peak_rss_mib": round(theirs_rss, 1),
        "load_average": round(os.getloadavg()[0], 1),
        "speedup": round(theirs / ours, 1),
        "target": ">= 10x faster than mlflow migrate-filestore",
        "met": theirs / ours >= 10 and ours_rss < 300 and verified,
    }


def main(argv: Optional[list[str]] = None) -> int:
    """Run M1 and M2, print a table, optionally write JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--points", type=int, default=1000)
    parser.add_argument("--workload", default="M1,M1-mariadb,M2", help="comma-separated: M1, M1-mariadb, M2")
    parser.add_argument("--workdir", default=None, help="keep (and reuse) the generated sources here")
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    work = Path(args.workdir or tempfile.mkdtemp(prefix="storekit-bench-migration-")).absolute()
    work.mkdir(parents=True, exist_ok=True)
    results = []
    try:
        wanted = {w.strip().upper() for w in args.workload.split(",")}
        if "M1" in wanted:
            results.append(m1(work, args.runs, args.points))
        if "M1-MARIADB" in wanted:
            results.append(m1(work, args.runs, args.points, "mysql"))
        if "M2" in wanted:
            results.append(m2(work, args.runs, args.points))
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)
    from rich.console import Console
    from rich.table import Table

    table = Table(title="storekit migration benchmarks")
    table.add_column("workload")
    table.add_column("figures")
    for r in results:
        table.add_row(r["workload"], "\n".join(f"{k}: {v}" for k, v in r.items() if k != "workload"))
    Console(width=140).print(table)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0 if all(r["met"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
