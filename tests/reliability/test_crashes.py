"""Crashes: a writer killed with SIGKILL at random moments loses nothing acknowledged.

The worker creates runs, logs batches, uploads artifacts and registers model
versions in a loop, acknowledging each call in an fsynced side file after it
returns; it is killed at a random moment, again and again (20 times per
backend in CI, 100 with ``STOREKIT_SOAK=1``).  Afterwards the store opens,
every acknowledged write is there, every batch present is whole, no partial
artifact is visible, no StoreCorruptionError is raised, and ``storekit check``
finds no error (and, on the file backend, ``--repair`` leaves a clean store).
"""

from __future__ import annotations

import os
import random
import signal
import time
import zlib
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

from storekit.cli import cli
from storekit.integrity import ERROR, check_store
from tests.reliability.test_concurrent_writers import prepare
from tests.reliability.workload import Workload, start_worker, verify

pytestmark = pytest.mark.timeout(900)

METRICS = 10


def _wait_started(proc, ack_file: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ack_file.exists() and ack_file.stat().st_size:
            return
        if not proc.is_alive():
            return
        time.sleep(0.005)
    raise AssertionError(f"worker did not start within {timeout} s")


def kill_repeatedly(workload: Workload, kills: int, seed: int) -> int:
    """Start a worker and SIGKILL it at a random moment, ``kills`` times; returns the kills."""
    rng = random.Random(seed)
    done = 0
    for n in range(kills):
        proc = start_worker(workload, n, 1)
        _wait_started(proc, workload.ack_dir / f"w{n}-t0.jsonl")
        time.sleep(rng.uniform(0.0, 0.3))
        if proc.is_alive():
            os.kill(proc.pid, signal.SIGKILL)
        proc.join(timeout=60)
        error = workload.ack_dir / f"w{n}.error"
        assert not error.exists(), f"worker {n} failed before it was killed: {error.read_text()}"
        assert proc.exitcode == -signal.SIGKILL, f"worker {n} exited with {proc.exitcode}"
        done += 1
    return done


def test_sigkill_at_random_moments_loses_nothing(
    store_uri: str, backend: str, sizes, totals: Counter, tmp_path: Path
) -> None:
    experiment_id, model = prepare(store_uri, tmp_path)
    acks = tmp_path / "acks"
    acks.mkdir()
    workload = Workload(
        store_uri,
        experiment_id,
        model,
        acks,
        metrics_per_batch=METRICS,
        batches=None,
        artifact_every=2,
        version_every=2,
        runs_every=3,
    )
    kills = kill_repeatedly(workload, sizes.kills, seed=zlib.crc32(backend.encode()))

    checked = verify(store_uri, experiment_id, model, acks, METRICS)
    assert checked["runs"] >= kills
    report = check_store(store_uri)
    assert report.ok, report.to_dict()
    if backend == "file":
        repaired = check_store(store_uri, repair=True)
        assert repaired.ok, repaired.to_dict()
        after = check_store(store_uri)
        assert after.findings == [], after.to_dict()
        assert verify(store_uri, experiment_id, model, acks, METRICS) == checked
    print(
        f"\n[{backend}] crashes: {kills} SIGKILLs survived, "
        + ", ".join(f"{k}={v}" for k, v in sorted(checked.items()))
        + " checked; "
        f"check findings: {[f.message for f in report.findings]}"
    )
    totals.update({"kills survived": kills, **{f"after kills {k}": v for k, v in checked.items()}})


def test_check_command_reports_and_repairs_crash_leftovers(tmp_path: Path) -> None:
    """`storekit check` on a file store with what a crash leaves: warnings, exit 0; --repair cleans."""
    from storekit.backends.file import FileTrackingStore
    from storekit.entities import Metric

    root = tmp_path / "store"
    store = FileTrackingStore(root)
    run = store.create_run(store.create_experiment("e"))
    store.log_batch(run.info.run_id, [Metric("m", 1.0, 1, 0)])
    store.close()
    exp = root / "1"
    with open(exp / "runs.jsonl", "ab") as fh:
        fh.write(b'{"op":"data","id":"')  # torn line
    with open(exp / run.info.run_id / "metrics.jsonl", "ab") as fh:
        fh.write(b'{"key":"m","value":2.0,"timestamp":2,"step":1}\n')  # uncommitted batch
    (exp / ("f" * 32)).mkdir()  # create_run killed before its commit
    (exp / ".meta.json.0123456789ab.tmp").write_text("{")

    runner = CliRunner()
    result = runner.invoke(cli, ["check", str(root)])
    assert result.exit_code == 0, result.output
    for text in ("torn last line", "uncommitted bytes", "run directory without an entry", "temporary file"):
        assert text in result.output
    result = runner.invoke(cli, ["check", str(root), "--repair", "--json"])
    assert result.exit_code == 0 and '"repaired": true' in result.output
    assert check_store(root).findings == []
    assert FileTrackingStore(root).get_metric_history(run.info.run_id, "m")[0].value == 1.0


def test_check_command_fails_on_corruption(tmp_path: Path) -> None:
    """A committed line that does not parse, or a history shorter than committed, is an error: exit 1."""
    from storekit.backends.file import FileTrackingStore
    from storekit.entities import Metric

    root = tmp_path / "store"
    store = FileTrackingStore(root)
    run = store.create_run(store.create_experiment("e"))
    store.log_batch(run.info.run_id, [Metric("m", 1.0, 1, 0)])
    store.close()
    history = root / "1" / run.info.run_id / "metrics.jsonl"
    history.write_bytes(history.read_bytes()[:5])
    result = CliRunner().invoke(cli, ["check", str(root), "--repair"])
    assert result.exit_code == 1, result.output
    assert "FAILED" in result.output and "committed" in result.output
    assert any(f.severity == ERROR for f in check_store(root).findings)


def test_check_json_on_a_corrupt_store_exits_1(tmp_path: Path) -> None:
    """`storekit check --json` reports a corrupt store as JSON *and* exits 1 (with and without --repair)."""
    import json

    from storekit.backends.file import FileTrackingStore
    from storekit.entities import Metric

    root = tmp_path / "store"
    store = FileTrackingStore(root)
    run = store.create_run(store.create_experiment("e"))
    store.log_batch(run.info.run_id, [Metric("m", 1.0, 1, 0), Metric("m", 2.0, 2, 1)])
    store.close()
    history = root / "1" / run.info.run_id / "metrics.jsonl"
    history.write_bytes(history.read_bytes()[:5] + b"\n" + history.read_bytes()[5:])  # a committed line broken
    for extra in ([], ["--repair"]):
        result = CliRunner().invoke(cli, ["check", str(root), "--json", *extra])
        assert result.exit_code == 1, result.output
        report = json.loads(result.output)
        assert report["ok"] is False
        assert any(f["severity"] == ERROR for f in report["findings"]), report


@pytest.mark.parametrize("backend", ["sqlite", "postgresql", "mariadb"])
def test_check_command_on_sql_finds_inconsistencies(store_uri: str, backend: str) -> None:
    """Latest metrics that disagree with history and a stale version counter are reported (exit 1)."""
    import sqlalchemy as sa

    from storekit.backends.sql.engine import Database
    from storekit.entities import Metric
    from storekit.plugins import resolve_registry_store, resolve_tracking_store

    store, registry = resolve_tracking_store(store_uri), resolve_registry_store(store_uri)
    run = store.create_run(store.create_experiment("e"))
    store.log_batch(run.info.run_id, [Metric("m", 1.0, 1, 0), Metric("m", 2.0, 1, 1)])
    registry.create_registered_model("rm")
    registry.create_model_version("rm", "s3://b/x")
    store.close()
    registry.close()
    runner = CliRunner()
    ok = runner.invoke(cli, ["check", store_uri, "--json"])
    assert ok.exit_code == 0, ok.output
    assert '"metric points": 2' in ok.output
    db = Database(store_uri)
    with db.engine.begin() as conn:
        conn.execute(sa.text("UPDATE latest_metrics SET value = 5"))
        conn.execute(sa.text("UPDATE registered_models SET next_version = 1"))
    db.dispose()
    bad = runner.invoke(cli, ["check", store_uri])
    assert bad.exit_code == 1, bad.output
    assert "not a logged point" in bad.output and "version counter" in bad.output


def test_check_repairs_an_interrupted_model_rename(tmp_path: Path) -> None:
    """A model directory whose document already names the new model (a rename interrupted
    between writing the document and moving the directory): warned, moved by --repair; when
    the new name's directory exists too it is an error that --repair leaves alone (exit 1)."""
    import json

    from storekit.backends.file import FileRegistryStore

    root = tmp_path / "store"
    registry = FileRegistryStore(root)
    registry.create_registered_model("old")
    registry.create_model_version("old", "s3://b/x")
    registry.create_registered_model("taken")
    registry.close()
    models = root / "models"
    (old_dir,) = [d for d in models.iterdir() if d.is_dir() and not d.name.startswith(".") and "old" in d.name]
    doc = json.loads((old_dir / "model.json").read_text())
    doc["name"] = "new"
    (old_dir / "model.json").write_text(json.dumps(doc))

    runner = CliRunner()
    seen = runner.invoke(cli, ["check", str(root)])
    assert seen.exit_code == 0, seen.output
    assert "interrupted rename" in seen.output
    repaired = runner.invoke(cli, ["check", str(root), "--repair", "--json"])
    assert repaired.exit_code == 0, repaired.output
    assert json.loads(repaired.output)["findings"][0]["repaired"] is True
    assert check_store(root).findings == []
    reopened = FileRegistryStore(root)
    assert reopened.get_registered_model("new").name == "new"
    assert reopened.get_model_version("new", "1").source == "s3://b/x"
    reopened.close()

    (taken_dir,) = [d for d in models.iterdir() if d.is_dir() and "taken" in d.name]
    clash = json.loads((taken_dir / "model.json").read_text())
    clash["name"] = "new"  # its rename target is occupied
    (taken_dir / "model.json").write_text(json.dumps(clash))
    refused = runner.invoke(cli, ["check", str(root), "--repair", "--json"])
    assert refused.exit_code == 1, refused.output
    (finding,) = json.loads(refused.output)["findings"]
    assert finding["severity"] == ERROR and finding["repaired"] is False
    assert taken_dir.is_dir()  # nothing moved onto the existing model
