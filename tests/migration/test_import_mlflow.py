"""``storekit import-mlflow``: stores written by MLflow itself, compared with what MLflow's client reads."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from storekit.plugins import resolve_registry_store, resolve_tracking_store
from tests.migration.conftest import run_cli, tree_digest

pytestmark = pytest.mark.slow  # builds its MLflow stores with MLflow itself (cached across sessions)
from tests.migration.snapshots import mlflow_view, storekit_snapshot


def snapshot(uri: str) -> dict[str, Any]:
    store, registry = resolve_tracking_store(uri), resolve_registry_store(uri)
    try:
        return storekit_snapshot(store, registry)
    finally:
        store.close()
        registry.close()


def by_name(snap: dict[str, Any], keep_artifact_uri: bool) -> dict[str, Any]:
    """Experiments keyed by name (a destination may give MLflow's 18-digit ids new ones)."""
    out = {"registered_models": snap["registered_models"], "experiments": {}}
    for exp in snap["experiments"].values():
        runs = {
            rid: (run if keep_artifact_uri else {k: v for k, v in run.items() if k != "artifact_uri"})
            for rid, run in exp["runs"].items()
        }
        out["experiments"][exp["name"]] = dict(exp, runs=runs)
    return out


def import_mlflow(src: str, dst: str, cwd: Path, *extra: str) -> str:
    code, out = run_cli("import-mlflow", src, dst, "--state", str(cwd / "state.jsonl"), *extra, cwd=cwd)
    assert code == 0, out
    assert "verification: OK" in out
    return out


def check_same(mlflow_dump: dict[str, Any], dst: str, sqlite_source: bool, keep: bool) -> dict[str, Any]:
    got = snapshot(dst)
    expected = by_name(mlflow_view(mlflow_dump, sqlite_source), keep)
    assert by_name(got, keep) == expected
    return got


def test_mlruns_into_file_store_keeps_ids(mlflow_stores: dict[str, Any], tmp_path: Path) -> None:
    before = tree_digest(mlflow_stores["mlruns"])
    import_mlflow(str(mlflow_stores["mlruns"]), str(tmp_path / "store"), tmp_path)
    got = check_same(mlflow_stores["mlruns_dump"], str(tmp_path / "store"), sqlite_source=False, keep=False)
    assert set(got["experiments"]) == set(mlflow_stores["mlruns_dump"]["experiments"])  # the same ids
    assert tree_digest(mlflow_stores["mlruns"]) == before  # nothing written into mlruns/
    # the autologged model's files came over into the destination's artifact root
    (model,) = [m for e in got["experiments"].values() for m in e["logged_models"]]
    store = resolve_tracking_store(str(tmp_path / "store"))
    location = store.get_logged_model(model).artifact_location
    assert location.startswith((tmp_path / "store").as_uri())
    assert (Path(location.replace("file://", "")) / "MLmodel").exists()


def test_mlruns_into_sqlite(mlflow_stores: dict[str, Any], tmp_path: Path) -> None:
    out = import_mlflow(str(mlflow_stores["mlruns"]), f"sqlite:///{tmp_path / 'db.sqlite'}", tmp_path)
    assert "cannot keep that id" in " ".join(out.split())  # MLflow's 18-digit experiment ids
    check_same(mlflow_stores["mlruns_dump"], f"sqlite:///{tmp_path / 'db.sqlite'}", sqlite_source=False, keep=False)


def test_mlflow_sqlite_into_sqlite_keeping_artifacts_in_place(mlflow_stores: dict[str, Any], tmp_path: Path) -> None:
    path: Path = mlflow_stores["sqlite_path"]
    before = (tree_digest(path), sorted(p.name for p in path.parent.iterdir()))
    dst = f"sqlite:///{tmp_path / 'db.sqlite'}"
    out = import_mlflow(mlflow_stores["sqlite"], dst, tmp_path, "--artifacts", "keep")
    assert "artifact files" not in out.split("Verification")[1]  # nothing copied, nothing to compare
    got = check_same(mlflow_stores["sqlite_dump"], dst, sqlite_source=True, keep=True)
    assert got["experiments"].keys() == mlflow_stores["sqlite_dump"]["experiments"].keys()
    losses = [
        r["metrics"]["loss"] for e in got["experiments"].values() for r in e["runs"].values() if "loss" in r["metrics"]
    ]
    assert [v for _, _, v in losses[0]] == ["1.0", "0.5", "nan", "inf", "-inf", "0.25"]
    assert (tree_digest(path), sorted(p.name for p in path.parent.iterdir())) == before


@pytest.mark.postgres
def test_mlflow_sqlite_into_postgresql(mlflow_stores: dict[str, Any], tmp_path: Path, postgres_factory: Any) -> None:
    dst = postgres_factory.create()
    import_mlflow(mlflow_stores["sqlite"], dst, tmp_path)
    check_same(mlflow_stores["sqlite_dump"], dst, sqlite_source=True, keep=False)


@pytest.mark.mariadb
def test_mlruns_into_mariadb(mlflow_stores: dict[str, Any], tmp_path: Path, mariadb_factory: Any) -> None:
    dst = mariadb_factory.create()
    import_mlflow(str(mlflow_stores["mlruns"]), dst, tmp_path)
    check_same(mlflow_stores["mlruns_dump"], dst, sqlite_source=False, keep=False)


def test_dry_run_writes_nothing(mlflow_stores: dict[str, Any], tmp_path: Path) -> None:
    code, out = run_cli(
        "import-mlflow", mlflow_stores["sqlite"], f"sqlite:///{tmp_path / 'x.db'}", "--dry-run", "--json", cwd=tmp_path
    )
    assert code == 0, out
    plan = json.loads(out)
    assert {e["name"] for e in plan["experiments"]} == {"Default", "entraînement ✓", "old experiment"}
    assert plan["registered_models"] == 2 and plan["model_versions"] == 2
    assert list(tmp_path.iterdir()) == []


def test_interrupted_import_resumes(mlflow_stores: dict[str, Any], tmp_path: Path) -> None:
    """A state file that says some runs are done: they are skipped, the rest is copied, nothing twice."""
    dst = f"sqlite:///{tmp_path / 'db.sqlite'}"
    import_mlflow(mlflow_stores["sqlite"], dst, tmp_path)
    state = tmp_path / "state.jsonl"
    lines = state.read_text().splitlines()
    runs = [line for line in lines if '"k": "run"' in line]
    kept = [line for line in lines if '"k": "run"' not in line and "done" not in line and "registered" not in line]
    state.write_text("\n".join(kept + runs[:3]) + "\n")  # as if killed after three runs
    code, out = run_cli("import-mlflow", mlflow_stores["sqlite"], dst, "--state", str(state), "--json", cwd=tmp_path)
    report = json.loads(out)
    assert code == 0 and report["verification"]["ok"]
    assert report["transfer"]["skipped_runs"] == 3
    check_same(mlflow_stores["sqlite_dump"], dst, sqlite_source=True, keep=False)


def test_foreign_sources_are_refused(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    code, out = run_cli("import-mlflow", str(tmp_path / "empty"), str(tmp_path / "d"), cwd=tmp_path)
    assert code == 1 and "not an MLflow mlruns/ directory" in out
    code, out = run_cli(
        "migrate", str(tmp_path / "empty"), f"sqlite:///{tmp_path / 'k.db'}", "--no-verify", cwd=tmp_path
    )
    code, out = run_cli("import-mlflow", f"sqlite:///{tmp_path / 'k.db'}", str(tmp_path / "d"), cwd=tmp_path)
    assert code == 1 and "is a storekit database" in out
    code, out = run_cli("migrate", f"sqlite:///{tmp_path / 'k.db'}", str(tmp_path / "fs"), "--no-verify", cwd=tmp_path)
    code, out = run_cli("import-mlflow", str(tmp_path / "fs"), str(tmp_path / "d"), cwd=tmp_path)
    assert code == 1 and "is a storekit file store" in out


def test_import_never_writes_into_mlruns(mlflow_stores: dict[str, Any], tmp_path: Path) -> None:
    before = tree_digest(mlflow_stores["mlruns"])
    code, out = run_cli("import-mlflow", str(mlflow_stores["mlruns"]), str(mlflow_stores["mlruns"] / "x"), cwd=tmp_path)
    assert code == 1 and "is SRC or inside it" in out
    assert tree_digest(mlflow_stores["mlruns"]) == before


@pytest.mark.postgres
def test_mlflow_postgresql_database(tmp_path: Path, postgres_factory: Any) -> None:
    """MLflow writes its own PostgreSQL database; storekit imports it read-only into SQLite."""
    import sqlalchemy as sa

    from storekit.backends.sql.engine import to_sqlalchemy_url
    from tests.migration.conftest import _script

    source = postgres_factory.create().replace("postgresql://", "postgresql+psycopg://", 1)
    _script("tests.migration.mlflow_writer", source, str(tmp_path / "art"), cwd=tmp_path)
    _script("tests.migration.mlflow_dump", source, str(tmp_path / "dump.json"), cwd=tmp_path)
    dump = json.loads((tmp_path / "dump.json").read_text())
    engine = sa.create_engine(to_sqlalchemy_url(source))

    def counts() -> dict[str, int]:
        with engine.connect() as conn:
            return {
                t: conn.execute(sa.text(f'SELECT COUNT(*) FROM "{t}"')).scalar_one()
                for t in sa.inspect(conn).get_table_names()
            }

    before = counts()
    dst = f"sqlite:///{tmp_path / 'db.sqlite'}"
    import_mlflow(source, dst, tmp_path)
    check_same(dump, dst, sqlite_source=True, keep=False)
    assert counts() == before
    engine.dispose()
