"""``storekit migrate`` between storekit backends: fidelity, dry run, resume, verification."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from storekit.plugins import resolve_registry_store, resolve_tracking_store
from tests.migration.conftest import REPO, run_cli, tree_digest
from tests.migration.snapshots import storekit_snapshot


def snapshot(uri: str, registry: bool = True) -> dict[str, Any]:
    store = resolve_tracking_store(uri)
    reg = resolve_registry_store(uri) if registry else None
    try:
        return storekit_snapshot(store, reg)
    finally:
        store.close()
        if reg is not None:
            reg.close()


def comparable(snap: dict[str, Any], by_name: bool = False) -> dict[str, Any]:
    """A snapshot without what a copy changes on purpose: artifact URIs and version sources pointing
    into them (and ids, ``by_name``)."""
    out: dict[str, Any] = {
        "experiments": {},
        "registered_models": {
            name: dict(
                rm, versions={n: {k: v for k, v in ver.items() if k != "source"} for n, ver in rm["versions"].items()}
            )
            for name, rm in snap["registered_models"].items()
        },
    }
    for eid, exp in snap["experiments"].items():
        runs = {}
        for rid, run in exp["runs"].items():
            run = {k: v for k, v in run.items() if k != "artifact_uri"}
            if by_name:
                run["tags"] = {k: v for k, v in run["tags"].items() if k != "storekit.parentRunId"}
                run["outputs"] = len(run["outputs"])
                rid = run["run_name"]
            runs[rid] = run
        models = exp["logged_models"]
        if by_name:
            models = sorted({k: v for k, v in m.items() if k != "source_run_id"}.items() for m in models.values())
        out["experiments"][exp["name"] if by_name else eid] = dict(exp, runs=runs, logged_models=models)
    if by_name:
        out["registered_models"] = {
            name: dict(
                rm,
                versions={
                    n: {k: v for k, v in ver.items() if k not in ("run_id", "source")}
                    for n, ver in rm["versions"].items()
                },
            )
            for name, rm in snap["registered_models"].items()
        }
    return out


def migrate(src: str, dst: str, cwd: Path, *extra: str) -> tuple[int, str]:
    return run_cli("migrate", src, dst, "--state", str(cwd / f"state-{abs(hash((src, dst)))}.jsonl"), *extra, cwd=cwd)


def test_file_to_sqlite_to_file_keeps_everything(storekit_file_store: Path, tmp_path: Path) -> None:
    before = tree_digest(storekit_file_store)
    source = snapshot(str(storekit_file_store))
    sqlite_uri = f"sqlite:///{tmp_path / 'copy.db'}"
    code, out = migrate(str(storekit_file_store), sqlite_uri, tmp_path)
    assert code == 0, out
    assert "verification: OK" in out
    assert comparable(snapshot(sqlite_uri)) == comparable(source)
    code, out = migrate(sqlite_uri, str(tmp_path / "back"), tmp_path)
    assert code == 0, out
    back = snapshot(str(tmp_path / "back"))
    assert comparable(back) == comparable(source)
    assert tree_digest(storekit_file_store) == before  # the source is never written
    # artifacts were copied under the destination's root, with the same content
    parent = next(r for e in back["experiments"].values() for r in e["runs"].values() if r["run_name"] == "parent ü")
    assert str(tmp_path) in parent["artifact_uri"]
    assert "notes é.txt" in os.listdir(Path(parent["artifact_uri"].replace("file://", "")) / "docs")
    version = back["registered_models"]["classifier ✓"]["versions"]["1"]
    assert version["source"] == parent["artifact_uri"] + "/docs"  # rewritten into the copy


@pytest.mark.postgres
@pytest.mark.mariadb
def test_chain_through_postgresql_and_mariadb(
    storekit_file_store: Path, tmp_path: Path, postgres_factory: Any, mariadb_factory: Any
) -> None:
    source = comparable(snapshot(str(storekit_file_store)))
    pg, maria = postgres_factory.create(), mariadb_factory.create()
    for src, dst in ((str(storekit_file_store), pg), (pg, maria), (maria, str(tmp_path / "final"))):
        code, out = migrate(src, dst, tmp_path)
        assert code == 0, out
        assert comparable(snapshot(dst)) == source, dst.split("@")[-1]


def test_to_memory_plugin_uses_the_public_api(storekit_file_store: Path, tmp_path: Path) -> None:
    code, out = migrate(str(storekit_file_store), "memory://migrated", tmp_path)
    assert code == 0, out
    assert "new (public API" in out and "verification: OK" in out
    assert "does not declare LOGGED_MODELS" in " ".join(out.split())
    copied = comparable(snapshot("memory://migrated"), by_name=True)
    source = comparable(snapshot(str(storekit_file_store)), by_name=True)
    for exp in source["experiments"].values():  # the memory store has no logged models and datasets
        exp["logged_models"] = []
        for run in exp["runs"].values():
            run["outputs"], run["inputs"] = 0, []
    assert copied == source


def test_dry_run_writes_nothing(storekit_file_store: Path, tmp_path: Path) -> None:
    target = tmp_path / "never.db"
    code, out = run_cli("migrate", str(storekit_file_store), f"sqlite:///{target}", "--dry-run", cwd=tmp_path)
    assert code == 0, out
    assert "dry run" in out and "vision ✓" in out
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []  # no resume state either
    code, out = run_cli("migrate", str(storekit_file_store), f"sqlite:///{target}", "--dry-run", "--json", cwd=tmp_path)
    plan = json.loads(out)
    assert sum(e["runs"] for e in plan["experiments"]) == 5 and plan["model_versions"] == 2


def test_missing_source_is_refused(tmp_path: Path) -> None:
    code, out = run_cli("migrate", str(tmp_path / "nothing"), f"sqlite:///{tmp_path / 'x.db'}", cwd=tmp_path)
    assert code == 1 and "does not exist" in out
    assert not (tmp_path / "nothing").exists()


def test_verification_catches_a_tampered_destination(storekit_file_store: Path, tmp_path: Path) -> None:
    db = tmp_path / "copy.db"
    code, out = migrate(str(storekit_file_store), f"sqlite:///{db}", tmp_path)
    assert code == 0, out
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE metrics SET value = value + 1 WHERE id = (SELECT MIN(id) FROM metrics WHERE kind = 1)")
    code, out = migrate(str(storekit_file_store), f"sqlite:///{db}", tmp_path)
    assert code == 1
    assert "metrics checksum differs" in out and "verification: FAILED" in out
    artifact = next((tmp_path).rglob("notes é.txt"))
    artifact.write_text("changed", encoding="utf-8")
    code, out = migrate(str(storekit_file_store), f"sqlite:///{db}", tmp_path, "--json")
    report = json.loads(out)
    assert code == 1 and not report["verification"]["ok"]
    assert any("notes é.txt" in d and "differs" in d for d in report["verification"]["differences"])


def _many_runs_store(path: Path, runs: int) -> None:
    from storekit import TrackingClient
    from storekit.entities import Metric

    client = TrackingClient(str(path))
    exp = client.create_experiment("many")
    for i in range(runs):
        run = client.create_run(exp, run_name=f"r{i}", start_time=1_700_000_000_000 + i)
        client.log_batch(run.info.run_id, metrics=[Metric("m", float(j), 1_700_000_000_000 + j, j) for j in range(500)])
        client.set_terminated(run.info.run_id)
    client.close()


def test_resume_after_kill_copies_each_run_once(tmp_path: Path) -> None:
    source = tmp_path / "src"
    _many_runs_store(source, 300)
    db, state = tmp_path / "dst.db", tmp_path / "state.jsonl"
    args = [
        sys.executable,
        "-c",
        "import sys; from storekit.cli import main; sys.exit(main())",
        "migrate",
        str(source),
        f"sqlite:///{db}",
        "--state",
        str(state),
        "--no-verify",
    ]
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen(args, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if state.exists() and state.read_text().count('"k": "run"') >= 20:
            break
        time.sleep(0.02)
    assert proc.poll() is None, "the transfer finished before it could be interrupted"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done_before = state.read_text().count('"k": "run"')
    assert 20 <= done_before < 300
    code, out = run_cli("migrate", str(source), f"sqlite:///{db}", "--state", str(state), "--json", cwd=tmp_path)
    report = json.loads(out)
    assert code == 0, out
    assert report["transfer"]["skipped_runs"] >= done_before
    assert report["transfer"]["runs"] + report["transfer"]["skipped_runs"] == 300
    assert report["verification"]["ok"]
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT COUNT(*), COUNT(DISTINCT run_uuid) FROM runs").fetchone() == (300, 300)
        assert conn.execute("SELECT COUNT(*) FROM metrics").fetchone() == (300 * 500,)


def test_state_of_another_transfer_is_refused(storekit_file_store: Path, tmp_path: Path) -> None:
    state = tmp_path / "s.jsonl"
    state.write_text(json.dumps({"k": "header", "source": "elsewhere", "destination": "x"}) + "\n")
    code, out = run_cli(
        "migrate", str(storekit_file_store), f"sqlite:///{tmp_path / 'd.db'}", "--state", str(state), cwd=tmp_path
    )
    assert code == 1 and "belongs to a transfer" in out


def test_memory_plugin_as_source(tmp_path: Path) -> None:
    import math

    from storekit import TrackingClient
    from storekit.entities import Metric

    client = TrackingClient("memory://migrate-source")
    exp = client.create_experiment("from memory ✓", tags={"k": "v"})
    parent = client.create_run(exp, run_name="parent", start_time=1_700_000_000_000)
    client.log_batch(
        parent.info.run_id,
        metrics=[Metric("m", v, 1_700_000_000_000 + i, i) for i, v in enumerate([0.5, math.nan, math.inf, -math.inf])],
    )
    client.log_param(parent.info.run_id, "p", "1")
    child = client.create_run(
        exp, run_name="child", tags={"storekit.parentRunId": parent.info.run_id}, start_time=1_700_000_000_001
    )
    client.set_terminated(child.info.run_id, "KILLED")
    client.delete_run(child.info.run_id)
    dst = f"sqlite:///{tmp_path / 'from-memory.db'}"
    code, out = migrate("memory://migrate-source", dst, tmp_path)
    assert code == 0, out
    assert "verification: OK" in out
    assert comparable(snapshot(dst), by_name=True) == comparable(snapshot("memory://migrate-source"), by_name=True)
    copied = resolve_tracking_store(dst)
    assert copied.get_run(child.info.run_id).data.tags["storekit.parentRunId"] == parent.info.run_id  # ids kept
    copied.close()


def test_destination_inside_the_source_is_refused(storekit_file_store: Path, tmp_path: Path) -> None:
    before = tree_digest(storekit_file_store)
    for dst in (str(storekit_file_store), str(storekit_file_store / "inner")):
        code, out = run_cli("migrate", str(storekit_file_store), dst, cwd=tmp_path)
        assert code == 1 and "is SRC or inside it" in out
    assert tree_digest(storekit_file_store) == before


def test_separate_registries(tmp_path: Path) -> None:
    from storekit import TrackingClient

    src, src_reg = str(tmp_path / "src"), f"sqlite:///{tmp_path / 'src-registry.db'}"
    client = TrackingClient(src, src_reg)
    run = client.create_run(client.create_experiment("e"), run_name="r")
    client.create_registered_model("m", tags={"t": "1"})
    client.create_model_version("m", source=run.info.artifact_uri, run_id=run.info.run_id)
    client.set_registered_model_alias("m", "prod", "1")
    client.close()
    dst, dst_reg = f"sqlite:///{tmp_path / 'dst.db'}", str(tmp_path / "dst-registry")
    code, out = migrate(src, dst, tmp_path, "--registry-uri", src_reg, "--dst-registry-uri", dst_reg)
    assert code == 0, out
    registry = resolve_registry_store(dst_reg)
    model = registry.get_registered_model("m")
    assert model.tags == {"t": "1"} and model.aliases == {"prod": "1"}
    assert registry.get_model_version("m", "1").run_id == run.info.run_id
    registry.close()
