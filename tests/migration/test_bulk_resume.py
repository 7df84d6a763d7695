"""``storekit migrate`` killed (SIGKILL) while it bulk-writes metric points into a server, then resumed.

The transfer is killed at the moment the destination server shows its bulk
statement in flight (PostgreSQL: ``COPY metrics`` in ``pg_stat_activity``;
MariaDB: ``INSERT INTO metrics`` in the process list), after at least one
group of runs has committed.  Run again with the same state file, it must
finish with every run and every point exactly once and a clean verification.
The bulk path (metric rows kept encoded between SQL stores) must also still
validate every point.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from storekit.backends.sql.engine import to_sqlalchemy_url
from tests.migration.conftest import REPO, run_cli

RUNS, POINTS = 300, 1000


def _sqlite_source(path: Path) -> str:
    """A storekit SQLite store: RUNS runs of POINTS points of two keys (NaN and inf among them)."""
    from storekit.backends.sql import SqlTrackingStore
    from storekit.entities import Metric, Param, RunStatus, RunTag

    uri = f"sqlite:///{path}"
    store = SqlTrackingStore(uri)
    exp = store.create_experiment("bulk")
    for i in range(RUNS):
        rid = store.create_run(exp, run_name=f"r{i}", start_time=1_700_000_000_000 + i).info.run_id
        store.log_batch(rid, params=[Param("i", str(i))], tags=[RunTag("t", "x")])
        half = POINTS // 2
        for key in ("loss", "acc"):
            for start in range(0, half, 500):
                points = [Metric(key, 1.0 / (j + 1), 1_700_000_000_000 + j, j) for j in range(start, start + 500)]
                store.log_batch(rid, metrics=points)
        store.log_batch(rid, metrics=[Metric("odd", v, 1, s) for s, v in enumerate((float("nan"), float("inf")))])
        store.update_run_info(rid, status=RunStatus.FINISHED, end_time=1_700_000_100_000 + i)
    store.close()
    return uri


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The SQLite source, built once for both servers (it is only read)."""
    return _sqlite_source(tmp_path_factory.mktemp("bulk-source") / "src.db")


_IN_FLIGHT = {
    "postgresql": (
        "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = :db AND state = 'active' AND query LIKE 'COPY metrics%'"
    ),
    "mysql": (
        "SELECT COUNT(*) FROM information_schema.processlist WHERE db = :db AND command = 'Query' "
        "AND info LIKE 'INSERT INTO metrics%'"
    ),
}


@pytest.mark.parametrize(
    "server", [pytest.param("postgres", marks=pytest.mark.postgres), pytest.param("mariadb", marks=pytest.mark.mariadb)]
)
def test_sigkill_during_bulk_write_then_resume_copies_everything_once(
    server: str, source: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    factory = request.getfixturevalue(f"{server}_factory")
    src = source
    dst = factory.create()
    url = to_sqlalchemy_url(dst)
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    db_name = url.database
    state = tmp_path / "state.jsonl"
    args = [sys.executable, "-c", "import sys; from storekit.cli import main; sys.exit(main())"]
    args += ["migrate", src, dst, "--state", str(state), "--no-verify"]
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen(args, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    killed_in_flight = False
    try:
        with engine.connect() as conn:
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline and proc.poll() is None:
                done = state.read_text().count('"k": "run"') if state.exists() else 0
                if done >= 100 and conn.execute(sa.text(_IN_FLIGHT[url.get_dialect().name]), {"db": db_name}).scalar():
                    proc.send_signal(signal.SIGKILL)
                    killed_in_flight = True
                    break
    finally:
        if proc.poll() is None and not killed_in_flight:
            proc.kill()
        proc.wait()
    assert killed_in_flight, f"no bulk write was seen in flight before the transfer ended ({proc.returncode})"
    done_before = state.read_text().count('"k": "run"')
    assert 100 <= done_before < RUNS

    code, out = run_cli("migrate", src, dst, "--state", str(state), "--json", cwd=tmp_path)
    report: dict[str, Any] = json.loads(out)
    assert code == 0, out
    assert report["transfer"]["skipped_runs"] == done_before
    assert report["transfer"]["runs"] == RUNS - done_before
    assert report["verification"]["ok"], report["verification"]
    with engine.connect() as conn:
        counts = conn.execute(sa.text("SELECT COUNT(*), COUNT(DISTINCT run_uuid) FROM runs")).one()
        assert tuple(counts) == (RUNS, RUNS)
        assert conn.execute(sa.text("SELECT COUNT(*) FROM metrics")).scalar() == RUNS * (POINTS + 2)
        m = sa.table("metrics", sa.column("run_row"), sa.column("key"), sa.column("step"))
        repeated = (
            sa.select(m.c.run_row).group_by(m.c.run_row, m.c.key, m.c.step).having(sa.func.count() > 1).subquery()
        )
        dupes = conn.execute(sa.select(sa.func.count()).select_from(repeated)).scalar()
        assert dupes == 0
        assert conn.execute(sa.text("SELECT COUNT(*) FROM latest_metrics")).scalar() == RUNS * 3
        assert conn.execute(sa.text("SELECT COUNT(*) FROM params")).scalar() == RUNS
    engine.dispose()


def test_bulk_path_still_validates_every_point(tmp_path: Path) -> None:
    """Rows that travel encoded are checked like ``log_batch``: a bad key in the source stops the copy
    with a typed error naming the key, and nothing of the run's group is committed."""
    import sqlite3

    from storekit.backends.sql import SqlTrackingStore
    from storekit.entities import Metric

    src_db, dst_db = tmp_path / "src.db", tmp_path / "dst.db"
    store = SqlTrackingStore(f"sqlite:///{src_db}")
    exp = store.create_experiment("bad")
    rid = store.create_run(exp, run_name="r", start_time=1).info.run_id
    store.log_batch(rid, metrics=[Metric("loss", float(j), 1, j) for j in range(50)])
    store.close()
    with sqlite3.connect(src_db) as conn:  # what no storekit write path would let in
        conn.execute("UPDATE metrics SET key = 'loss!?' WHERE step = 7")
    code, out = run_cli("migrate", f"sqlite:///{src_db}", f"sqlite:///{dst_db}", "--no-verify", cwd=tmp_path)
    assert code == 1, out
    assert "loss!?" in out and "key" in out
    with sqlite3.connect(dst_db) as conn:
        assert conn.execute("SELECT COUNT(*) FROM runs").fetchone() == (0,)
        assert conn.execute("SELECT COUNT(*) FROM metrics").fetchone() == (0,)
