"""Service faults: the database server goes away in the middle of a workload.

PostgreSQL and MariaDB are stopped while a writer thread logs batches and
started again a few seconds later (the servers are always brought back up,
``finally``, because other tests need them).  Calls in flight raise
:class:`BackendUnavailableError` after the store's bounded retries (never a
driver exception), nothing half-written remains (every batch present is
whole, every acknowledged one is there exactly once), and the workload
resumes by itself when the server is back.

Artifact-server faults are covered in ``tests/artifacts``: S3 (moto) and
Azure (Azurite) going away mid-upload through a stoppable proxy
(``remote_behaviour.py::test_server_gone_mid_upload``) and sshd stopped
mid-upload (``test_sftp.py::test_sshd_stopped_mid_upload``).
"""

from __future__ import annotations

import subprocess
import threading
import time
from collections import Counter
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest

from storekit.entities import Metric, Param
from storekit.errors import BackendUnavailableError
from storekit.plugins import resolve_tracking_store

pytestmark = pytest.mark.timeout(300)

DOWNTIME = 4.0
METRICS = 5


def _ok(cmd: list[str]) -> bool:
    return subprocess.run(cmd, capture_output=True, timeout=30).returncode == 0


def _wait(check: list[str], limit: float = 90.0) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if _ok(check):
            return
        time.sleep(0.25)
    raise AssertionError(f"server did not come back: {' '.join(check)}")


@contextmanager
def server_down(backend: str) -> Iterator[None]:
    """Stop the database server; it is started again (and awaited) however the block ends."""
    if backend == "postgresql":
        version = subprocess.run(["ls", "/etc/postgresql"], capture_output=True, text=True).stdout.split()[-1]
        ctl = ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main"]
        ready = ["pg_isready", "-q", "-h", "127.0.0.1", "-p", "5432"]
        stop, start = ctl + ["stop", "-m", "fast"], ctl + ["start"]
    else:
        ready = ["mariadb-admin", "--protocol=TCP", "-h127.0.0.1", "-uroot", "ping"]
        stop = ["mariadb-admin", "--protocol=TCP", "-h127.0.0.1", "-uroot", "shutdown"]
        start = ["start-stop-daemon", "--start", "--oknodo", "--background", "--exec", "/usr/sbin/mariadbd"]
    try:
        subprocess.run(stop, capture_output=True, timeout=120)
        yield
    finally:
        subprocess.run(start, capture_output=True, timeout=120)
        _wait(ready)


class Writer(threading.Thread):
    """Logs batch after batch (unique step each) until stopped; records acks and errors."""

    def __init__(self, store, run_id: str) -> None:
        super().__init__(daemon=True)
        self.store, self.run_id = store, run_id
        self.acked: list[int] = []
        self.errors: list[BaseException] = []
        self.stop = threading.Event()

    def run(self) -> None:
        b = 0
        while not self.stop.is_set():
            try:
                self.store.log_batch(
                    self.run_id, [Metric(f"m{k}", float(b), b, b) for k in range(METRICS)], [Param(f"p{b}", str(b))]
                )
                self.acked.append(b)
            except Exception as exc:
                self.errors.append(exc)
            b += 1
            time.sleep(0.01)


def _wait_for(predicate, limit: float = 90.0) -> None:
    deadline = time.monotonic() + limit
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@pytest.mark.parametrize("backend", ["postgresql", "mariadb"])
def test_database_restart_mid_workload(store_uri: str, backend: str, totals: Counter, tmp_path: Path) -> None:
    store = resolve_tracking_store(store_uri, default_artifact_root=tmp_path.as_uri())
    run_id = store.create_run(store.create_experiment("faults")).info.run_id
    writer = Writer(store, run_id)
    writer.start()
    try:
        _wait_for(lambda: len(writer.acked) >= 5)
        with server_down(backend):
            time.sleep(DOWNTIME)
            during = len(writer.acked)
        _wait_for(lambda: len(writer.acked) >= during + 5)
    finally:
        writer.stop.set()
        writer.join(timeout=120)
    wrong = [e for e in writer.errors if not isinstance(e, BackendUnavailableError)]
    assert not wrong, f"server restart raised {[f'{type(e).__name__}: {e}' for e in wrong[:3]]}"
    assert writer.errors, "no call failed while the server was down: the fault was not observed"

    run = store.get_run(run_id)
    history = {f"m{k}": Counter(m.step for m in store.get_metric_history(run_id, f"m{k}")) for k in range(METRICS)}
    present = set().union(*history.values())
    assert set(writer.acked) <= present, f"acknowledged batches lost: {sorted(set(writer.acked) - present)}"
    for b in present:
        assert all(h[b] == 1 for h in history.values()), f"batch {b} is not whole or stored twice"
        assert run.data.params[f"p{b}"] == str(b)
    store.close()
    print(
        f"\n[{backend}] server stopped for {DOWNTIME}s mid-workload: {len(writer.errors)} calls raised "
        f"BackendUnavailableError, {len(writer.acked)} batches acknowledged and verified"
    )
    totals.update({"database faults injected": 1, "batches verified across faults": len(writer.acked)})
