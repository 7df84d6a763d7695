"""Entities deleted before deletion times were recorded: NULL after the upgrade, and gc treats them as old enough."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from storekit.backends.file.run_index import ExperimentIndex
from storekit.backends.sql import SqlTrackingStore
from storekit.backends.sql.engine import Database
from storekit.backends.sql.migrate import current_revision, upgrade
from storekit.backends.sql.schema import HEAD_REVISION
from storekit.cli import cli
from storekit.client import TrackingClient
from storekit.errors import ExperimentNotFound, RunNotFound
from storekit.gc import plan_gc, run_gc

from .conftest import make_uri

_OLD = "0006"


@pytest.mark.parametrize("backend", ["sqlite", "postgresql", "mariadb"])
def test_sql_rows_deleted_before_0007_have_no_time_and_are_purged(
    backend: str, tmp_path: Path, artifact_root: Path, request: pytest.FixtureRequest
) -> None:
    uri = make_uri(backend, tmp_path, request)
    db = Database(uri)
    upgrade(db, target=_OLD)
    run_id = "ab" * 16
    with db.engine.begin() as conn:  # what storekit before 0007 wrote for a deleted run and experiment
        for eid, stage in ((1, "active"), (2, "deleted")):
            conn.execute(
                sa.text(
                    "INSERT INTO experiments (experiment_id, name, artifact_location, lifecycle_stage,"
                    " creation_time, last_update_time) VALUES (:e, :n, :a, :s, 1, 1)"
                ),
                {"e": eid, "n": f"e{eid}", "a": (artifact_root / str(eid)).as_uri(), "s": stage},
            )
        conn.execute(
            sa.text(
                "INSERT INTO runs (run_uuid, experiment_id, status, start_time, lifecycle_stage, artifact_uri)"
                " VALUES (:r, 1, 'FINISHED', 1, 'deleted', :a)"
            ),
            {"r": run_id, "a": (artifact_root / "1" / run_id / "artifacts").as_uri()},
        )
    result = CliRunner().invoke(cli, ["db", "upgrade", uri])
    assert result.exit_code == 0, result.output
    assert current_revision(db) == HEAD_REVISION
    db.dispose()
    store = SqlTrackingStore(uri, default_artifact_root=artifact_root.as_uri(), create=False)
    try:
        listed = {(e.kind, e.entity_id): e.deleted_time for e in store.list_deleted()}
        assert listed == {("run", run_id): None, ("experiment", "2"): None}
        # deleted at an unknown time before the upgrade: old enough for any --older-than
        plan = plan_gc(store, datetime.timedelta(days=36500))
        assert {i.entity.entity_id for i in plan.items} == {run_id, "2"}
        assert run_gc(store, plan).removed == 2
        with pytest.raises(RunNotFound):
            store.get_run(run_id)
        with pytest.raises(ExperimentNotFound):
            store.get_experiment("2")
    finally:
        store.close()


def test_file_runs_deleted_before_deletion_times_are_purged(tmp_path: Path, artifact_root: Path) -> None:
    uri = str(tmp_path / "store")
    with TrackingClient(uri) as client:
        eid = client.create_experiment("e")
        run_id = client.create_run(eid).info.run_id
    index = ExperimentIndex(tmp_path / "store" / eid)
    with index.writing():  # the line storekit wrote for delete_run before it recorded times
        index.commit({"op": "info", "id": run_id, "set": {"lifecycle_stage": "deleted"}})
    index.close()
    with TrackingClient(uri) as client:
        (entity,) = client.store.list_deleted()
        assert (entity.entity_id, entity.deleted_time) == (run_id, None)
        plan = plan_gc(client.store, datetime.timedelta(days=36500))
        assert [i.entity.entity_id for i in plan.items] == [run_id]
        run_gc(client.store, plan)
        with pytest.raises(RunNotFound):
            client.get_run(run_id)


@pytest.mark.parametrize(("src_kind", "dst_kind"), [("file", "sqlite"), ("sqlite", "file")])
def test_migrated_deleted_entities_count_their_age_from_the_import(
    src_kind: str, dst_kind: str, tmp_path: Path, artifact_root: Path
) -> None:
    from storekit.ids import now_ms

    src = str(tmp_path / "src") if src_kind == "file" else f"sqlite:///{tmp_path / 'src.db'}"
    dst = str(tmp_path / "dst") if dst_kind == "file" else f"sqlite:///{tmp_path / 'dst.db'}"
    with TrackingClient(src) as client:
        eid = client.create_experiment("e")
        run_id = client.create_run(eid).info.run_id
        client.delete_run(run_id)
        gone = client.create_experiment("gone")
        client.delete_experiment(gone)
    before = now_ms()
    result = CliRunner().invoke(cli, ["migrate", src, dst])
    assert result.exit_code == 0, result.output
    with TrackingClient(dst) as client:
        listed = {(e.kind, e.entity_id): e.deleted_time for e in client.store.list_deleted()}
        assert set(listed) == {("run", run_id), ("experiment", gone)}
        assert all(t is not None and t >= before - 1000 for t in listed.values()), listed
        assert plan_gc(client.store, datetime.timedelta(days=1)).items == []  # not purged at once
