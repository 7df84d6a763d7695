"""Fixtures of the migration tests: stores written by MLflow itself and by storekit, built once.

The MLflow stores (an ``mlruns/`` tree and an SQLite database, each with a
JSON dump of what MLflow's own client reads from it) are built by MLflow in
subprocesses and cached across sessions in pytest's cache directory, keyed
by the writer's source and MLflow's version; a missing MLflow fails the
tests.  PostgreSQL and MariaDB databases come from :mod:`tests.databases`.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

import pytest
from click.testing import CliRunner

from storekit import TrackingClient
from storekit.entities import Dataset, DatasetInput, Metric
from tests.databases import DatabaseFactory, server_uri

REPO = Path(__file__).resolve().parents[2]


def _mlflow_version() -> str:
    from importlib.metadata import version

    return version("mlflow")  # a PackageNotFoundError fails the tests: MLflow is needed to write the fixtures


def _script(module: str, *args: str, cwd: Path) -> None:
    env = dict(
        os.environ,
        PYTHONPATH=str(REPO),
        MLFLOW_ALLOW_FILE_STORE="true",
        MLFLOW_SKIP_PIP_REQUIREMENTS_CHECK="true",
        GIT_PYTHON_REFRESH="quiet",
    )
    proc = subprocess.run(
        [sys.executable, "-m", module, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{module} failed:\n{proc.stderr[-4000:]}")


@pytest.fixture(scope="session")
def mlflow_stores(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """``{"mlruns": path, "sqlite": uri, "mlruns_dump": ..., "sqlite_dump": ...}`` written by MLflow."""
    writer = (REPO / "tests/migration/mlflow_writer.py").read_bytes() + (
        REPO / "tests/migration/mlflow_dump.py"
    ).read_bytes()
    key = hashlib.sha256(writer + _mlflow_version().encode()).hexdigest()[:16]
    cache = getattr(request.config, "cache", None)  # None under -p no:cacheprovider (scripts/test.sh, CI)
    if cache is not None:
        base = Path(cache.mkdir(f"storekit-mlflow-stores-{key}"))
    else:
        base = tmp_path_factory.mktemp(f"mlflow-stores-{key}")
    done = base / "done.json"
    if not done.exists():
        for child in base.iterdir():
            shutil.rmtree(child) if child.is_dir() else child.unlink()
        (base / "files").mkdir()
        (base / "db").mkdir()
        _script(
            "tests.migration.mlflow_writer",
            (base / "files/mlruns").as_uri(),
            str(base / "files/art"),
            cwd=base / "files",
        )
        sqlite_uri = f"sqlite:///{base / 'db/mlflow.db'}"
        _script("tests.migration.mlflow_writer", sqlite_uri, str(base / "db/art"), cwd=base / "db")
        _script(
            "tests.migration.mlflow_dump",
            (base / "files/mlruns").as_uri(),
            str(base / "mlruns_dump.json"),
            cwd=base / "files",
        )
        _script("tests.migration.mlflow_dump", sqlite_uri, str(base / "sqlite_dump.json"), cwd=base / "db")
        done.write_text("{}")
    return {
        "mlruns": base / "files/mlruns",
        "sqlite": f"sqlite:///{base / 'db/mlflow.db'}",
        "sqlite_path": base / "db/mlflow.db",
        "mlruns_dump": json.loads((base / "mlruns_dump.json").read_text()),
        "sqlite_dump": json.loads((base / "sqlite_dump.json").read_text()),
    }


def write_storekit_store(uri: str, artifact_dir: Path) -> None:
    """A storekit store with everything migrate must carry over."""
    artifact_dir.mkdir(parents=True, exist_ok=True)
    client = TrackingClient(uri)
    try:
        exp = client.create_experiment("vision ✓", tags={"équipe": "a"})
        parent = client.create_run(exp, run_name="parent ü", start_time=1_700_000_000_000)
        pid = parent.info.run_id
        client.log_param(pid, "lr", "0.01")
        client.set_tag(pid, "emoji", "🚀")
        values = [1.0, math.nan, math.inf, -math.inf, 0.5]
        client.log_batch(pid, metrics=[Metric("loss", v, 1_700_000_000_000 + i, i) for i, v in enumerate(values)])
        client.log_batch(pid, metrics=[Metric("acc", i / 2500, 1_700_000_000_000 + i, i) for i in range(1000)])
        client.log_batch(pid, metrics=[Metric("acc", i / 1000, 1_700_000_001_000 + i, i) for i in range(1000)])
        client.log_inputs(pid, [DatasetInput(Dataset("train", "abc123", "local", "data.csv"), {"context": "training"})])
        model = client.create_logged_model(exp, name="clf", source_run_id=pid, params={"C": "1"})
        client.finalize_logged_model(model.model_id, "READY")
        client.log_outputs(pid, [model.model_id])
        (artifact_dir / "notes é.txt").write_text("résumé\n" * 100, encoding="utf-8")
        client.log_artifact(pid, artifact_dir / "notes é.txt", "docs")
        client.set_terminated(pid, "FINISHED", end_time=1_700_000_100_000)
        for i in range(3):
            child = client.create_run(
                exp, run_name=f"child {i}", tags={"storekit.parentRunId": pid}, start_time=1_700_000_000_100 + i
            )
            client.log_metric(child.info.run_id, "fold", float(i), step=0)
            client.set_terminated(child.info.run_id, "FAILED" if i == 2 else "FINISHED")
        client.delete_run(child.info.run_id)
        gone = client.create_experiment("old")
        old = client.create_run(gone, run_name="old run")
        client.log_param(old.info.run_id, "p", "1")
        client.delete_experiment(gone)
        client.create_registered_model("classifier ✓", tags={"team": "v"}, description="d")
        v1 = client.create_model_version("classifier ✓", source=parent.info.artifact_uri + "/docs", run_id=pid)
        client.create_model_version("classifier ✓", source=f"models:/{model.model_id}", model_id=model.model_id)
        v3 = client.create_model_version("classifier ✓", source="s3://bucket/x")
        client.delete_model_version("classifier ✓", v3.version)
        client.transition_model_version_stage("classifier ✓", v1.version, "Production")
        client.set_registered_model_alias("classifier ✓", "champion", "2")
        client.set_model_version_tag("classifier ✓", "2", "ok", "yes")
    finally:
        client.close()


@pytest.fixture(scope="session")
def storekit_file_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A storekit file store (with artifacts inside it) written once per session; read-only for tests."""
    base = tmp_path_factory.mktemp("storekit-source")
    write_storekit_store(str(base / "store"), base / "tmp")
    return base / "store"


@pytest.fixture(scope="session")
def postgres_factory() -> Iterator[DatabaseFactory]:
    """Fresh PostgreSQL databases (dropped at the end)."""
    factory = DatabaseFactory("postgresql", server_uri("postgresql"))
    yield factory
    factory.drop_all()


@pytest.fixture(scope="session")
def mariadb_factory() -> Iterator[DatabaseFactory]:
    """Fresh MariaDB databases (dropped at the end)."""
    factory = DatabaseFactory("mariadb", server_uri("mariadb"))
    yield factory
    factory.drop_all()


def run_cli(*args: str, cwd: Path) -> tuple[int, str]:
    """Run ``storekit ARGS`` in-process from ``cwd``; return the exit code and the output."""
    from storekit.cli import cli

    old = os.getcwd()
    os.chdir(cwd)
    try:
        result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    finally:
        os.chdir(old)
    return result.exit_code, result.output


def tree_digest(path: Path) -> str:
    """sha256 over every file's relative path, size and content under ``path`` (or of one file)."""
    h = hashlib.sha256()
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    for p in files:
        h.update(str(p.relative_to(path.parent if path.is_file() else path)).encode())
        h.update(p.read_bytes())
    return h.hexdigest()
