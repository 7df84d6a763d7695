"""Schema creation, revision checks and Alembic upgrades on every database."""

from __future__ import annotations

import multiprocessing

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from click.testing import CliRunner

from storekit.backends.sql import SqlTrackingStore, schema
from storekit.backends.sql.engine import Database
from storekit.backends.sql.migrate import MIGRATIONS_DIR, current_revision, upgrade
from storekit.cli import cli
from storekit.entities import Metric
from storekit.errors import SchemaOutOfDateError


def test_head_revision_matches_migrations():
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    script = ScriptDirectory.from_config(cfg)
    assert script.get_current_head() == schema.HEAD_REVISION
    assert script.get_base() == schema.BASE_REVISION


def _diff(db: Database) -> list:
    with db.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": False})
        diffs = compare_metadata(ctx, schema.metadata)
    return [
        d for d in diffs if not (isinstance(d, tuple) and d[0] == "remove_table" and d[1].name == schema.VERSION_TABLE)
    ]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql", "mariadb"])
def test_upgrade_from_first_revision_to_head(backend, new_database_uri, tmp_path):
    uri = new_database_uri(backend)
    db = Database(uri)
    assert upgrade(db, target=schema.BASE_REVISION) == (None, schema.BASE_REVISION)
    with pytest.raises(SchemaOutOfDateError, match="storekit db upgrade"):
        SqlTrackingStore(uri)
    result = CliRunner().invoke(cli, ["db", "upgrade", uri])
    assert result.exit_code == 0, result.output
    assert f"{schema.BASE_REVISION} -> {schema.HEAD_REVISION}" in result.output
    assert current_revision(db) == schema.HEAD_REVISION
    assert _diff(db) == []  # migrated schema == schema.py
    store = SqlTrackingStore(uri, default_artifact_root=tmp_path.as_uri())
    run = store.create_run(store.create_experiment("e"))
    store.log_metric(run.info.run_id, Metric("m", 1.0, 0, 0))
    store.close()
    db.dispose()


@pytest.mark.parametrize("backend", ["postgresql", "mariadb"])
def test_created_schema_matches_schema_module(backend, new_database_uri):
    uri = new_database_uri(backend)
    SqlTrackingStore(uri).close()
    db = Database(uri)
    assert current_revision(db) == schema.HEAD_REVISION
    assert _diff(db) == []
    db.dispose()


def _open_and_log(uri: str, root: str, queue: "multiprocessing.Queue") -> None:
    try:
        store = SqlTrackingStore(uri, default_artifact_root=root)
        exp = store.get_experiment_by_name("shared")
        queue.put(("ok", exp.experiment_id if exp else None))
    except Exception as exc:  # pragma: no cover - reported to the parent
        queue.put(("error", repr(exc)))


@pytest.mark.parametrize("backend", ["sqlite", "postgresql", "mariadb"])
def test_parallel_processes_create_fresh_database_without_racing(backend, new_database_uri, tmp_path):
    uri = new_database_uri(backend)
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_open_and_log, args=(uri, tmp_path.as_uri(), queue)) for _ in range(4)]
    for p in procs:
        p.start()
    results = [queue.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(60)
    assert all(kind == "ok" for kind, _ in results), results
    db = Database(uri)
    assert current_revision(db) == schema.HEAD_REVISION
    with db.engine.connect() as conn:
        count = conn.execute(sa.select(sa.func.count()).select_from(sa.table(schema.VERSION_TABLE))).scalar()
    assert count == 1
    db.dispose()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql", "mariadb"])
def test_upgrade_to_0004_keeps_metric_history(backend, new_database_uri, tmp_path):
    uri = new_database_uri(backend)
    db = Database(uri)
    upgrade(db, target="0003")
    with db.engine.begin() as conn:
        exp_id = conn.execute(
            sa.insert(schema.experiments).values(
                name="e", artifact_location="file:///a", lifecycle_stage="active", creation_time=1, last_update_time=1
            )
        ).inserted_primary_key[0]
        row_id = conn.execute(
            sa.insert(schema.runs).values(
                run_uuid="a" * 32,
                experiment_id=exp_id,
                status="RUNNING",
                start_time=1,
                lifecycle_stage="active",
                artifact_uri="file:///a/r",
            )
        ).inserted_primary_key[0]
        conn.execute(
            sa.insert(schema.metrics),
            [
                dict(run_row=row_id, key="m", value=float(i), kind=1, timestamp=10, step=i % 2, model_id=None)
                for i in range(4)
            ],
        )
    assert upgrade(db) == ("0003", schema.HEAD_REVISION)
    assert _diff(db) == []
    store = SqlTrackingStore(uri, default_artifact_root=tmp_path.as_uri())
    assert [m.value for m in store.get_metric_history("a" * 32, "m")] == [0.0, 2.0, 1.0, 3.0]
    store.log_metric("a" * 32, Metric("m", 9.0, 11, 5))
    assert [m.step for m in store.get_metric_history("a" * 32, "m")] == [0, 0, 1, 1, 5]
    store.close()
    db.dispose()
