"""``storekit migrate`` into an empty PostgreSQL store defers the metric indexes and builds them after the load.

(MariaDB keeps them: deferring did not pay there; the test checks that too.)

The drop and the build are recorded in the resume state; a destination that
already holds points keeps its indexes; a transfer killed (SIGKILL) while it
builds the index leaves it missing — ``storekit check`` says so — and the
next attempt builds it before it finishes, after which the check is clean.
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

RUNS, POINTS = 40, 500
_INDEXES = {"ix_metrics_history_covering", "ix_latest_metrics_search"}


def _source(path: Path) -> str:
    from storekit.backends.sql import SqlTrackingStore
    from storekit.entities import Metric, RunStatus

    uri = f"sqlite:///{path}"
    store = SqlTrackingStore(uri)
    exp = store.create_experiment("deferred")
    for i in range(RUNS):
        rid = store.create_run(exp, run_name=f"r{i}", start_time=1_700_000_000_000 + i).info.run_id
        store.log_batch(rid, metrics=[Metric("loss", 1.0 / (j + 1), 1_700_000_000_000 + j, j) for j in range(POINTS)])
        store.update_run_info(rid, status=RunStatus.FINISHED, end_time=1_700_000_100_000 + i)
    store.close()
    return uri


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> str:
    return _source(tmp_path_factory.mktemp("deferred-source") / "src.db")


def _indexes(engine: sa.Engine) -> set[str]:
    with engine.connect() as conn:
        inspector = sa.inspect(conn)
        return {str(i["name"]) for t in ("metrics", "latest_metrics") for i in inspector.get_indexes(t)}


def _state(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _check(uri: str, cwd: Path) -> tuple[int, str]:
    return run_cli("check", uri, cwd=cwd)


SERVERS = [pytest.param("postgres", marks=pytest.mark.postgres), pytest.param("mariadb", marks=pytest.mark.mariadb)]


@pytest.mark.parametrize("server", SERVERS)
def test_empty_destination_defers_then_builds_the_indexes(
    server: str, source: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    dst = request.getfixturevalue(f"{server}_factory").create()
    engine = sa.create_engine(to_sqlalchemy_url(dst))
    state = tmp_path / "state.jsonl"
    code, out = run_cli("migrate", source, dst, "--state", str(state), "--json", cwd=tmp_path)
    report = json.loads(out)
    assert code == 0 and report["verification"]["ok"], out
    lines = _state(state)
    expected = _INDEXES if server == "postgres" else set()
    assert {e["src"] for e in lines if e["k"] == "index_deferred"} == expected
    assert {e["src"] for e in lines if e["k"] == "index_built"} == expected
    if expected:  # deferred before the first run was written, built after the last one
        kinds = [e["k"] for e in lines]
        assert kinds.index("index_deferred") < kinds.index("run")
        assert max(i for i, k in enumerate(kinds) if k == "run") < kinds.index("index_built")
        assert any("built index" in note for note in report["transfer"]["notes"])
    assert _INDEXES <= _indexes(engine)
    code, out = _check(dst, tmp_path)
    assert code == 0 and "missing" not in out, out

    # a second transfer into the now non-empty store keeps the indexes (nothing deferred)
    other = _source(tmp_path / "other.db")
    with sa.create_engine(other).begin() as conn:  # new run ids; another experiment name
        conn.exec_driver_sql("UPDATE experiments SET name = 'deferred 2'")
    state2 = tmp_path / "state2.jsonl"
    code, out = run_cli("migrate", other, dst, "--state", str(state2), "--json", "--no-verify", cwd=tmp_path)
    assert code == 0, out
    assert not [e for e in _state(state2) if e["k"].startswith("index_")]
    assert _INDEXES <= _indexes(engine)
    engine.dispose()


@pytest.mark.postgres
def test_sigkill_during_the_index_build_then_resume_builds_it(
    source: str, tmp_path: Path, postgres_factory: Any
) -> None:
    dst = postgres_factory.create()
    url = to_sqlalchemy_url(dst)
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    state = tmp_path / "state.jsonl"
    args = [sys.executable, "-c", "import sys; from storekit.cli import main; sys.exit(main())"]
    args += ["migrate", source, dst, "--state", str(state), "--no-verify"]
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen(args, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    blocker = sa.create_engine(url).connect()
    holding = killed = False
    try:
        deadline = time.monotonic() + 300
        with engine.connect() as conn:
            while time.monotonic() < deadline and proc.poll() is None:
                text = state.read_text() if state.exists() else ""
                if not holding and '"k": "index_deferred"' in text:
                    # ROW EXCLUSIVE lets COPY through but holds CREATE INDEX (SHARE) until we let go
                    blocker.exec_driver_sql("LOCK TABLE metrics IN ROW EXCLUSIVE MODE")
                    holding = True
                waiting = conn.execute(
                    sa.text(
                        "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = :db AND state = 'active' "
                        "AND query LIKE 'CREATE INDEX%'"
                    ),
                    {"db": url.database},
                ).scalar()
                if holding and waiting:
                    proc.send_signal(signal.SIGKILL)
                    killed = True
                    break
                time.sleep(0.05)
    finally:
        if proc.poll() is None and not killed:
            proc.kill()
        proc.wait()
        blocker.rollback()
        blocker.close()
    assert killed, f"the index build was not seen before the transfer ended ({proc.returncode})"
    lines = _state(state)
    assert sum(e["k"] == "run" for e in lines) == RUNS  # every run was in before the build
    assert not [e for e in lines if e["k"] == "index_built"]
    time.sleep(0.5)  # the server notices the dead client and rolls the build back
    assert "ix_metrics_history_covering" not in _indexes(engine)
    code, out = _check(dst, tmp_path)
    assert "ix_metrics_history_covering is missing" in " ".join(out.split()), out

    code, out = run_cli("migrate", source, dst, "--state", str(state), "--json", cwd=tmp_path)
    report = json.loads(out)
    assert code == 0 and report["verification"]["ok"], out
    assert report["transfer"]["runs"] == 0  # every run was done: only the index is built
    assert {e["src"] for e in _state(state) if e["k"] == "index_built"} >= {"ix_metrics_history_covering"}
    assert _INDEXES <= _indexes(engine)
    code, out = _check(dst, tmp_path)
    assert code == 0 and "missing" not in out, out
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT COUNT(*) FROM metrics")).scalar() == RUNS * POINTS
    engine.dispose()
