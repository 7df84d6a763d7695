"""``storekit gc`` end to end on file, SQLite, PostgreSQL, MariaDB and the memory template.

Real stores, real local artifact repositories, the real command line
(click's runner in this process: a ``memory://`` store lives in one process).
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from storekit.cli import cli
from storekit.client import TrackingClient
from storekit.entities import Metric, Param, ViewType
from storekit.errors import ExperimentNotFound, InvalidParameterError, RunNotFound
from storekit.gc import plan_gc, run_gc
from storekit.ids import now_ms
from storekit.interfaces import UnsupportedOperationError

DAY_MS = 86_400_000


def sk(uri: str, *args: str) -> "tuple[int, str, str]":
    result = CliRunner().invoke(cli, ["--tracking-uri", uri, *args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def _run_with_artifact(client: TrackingClient, experiment_id: str, tmp_path: Path, name: str) -> str:
    run_id = client.create_run(experiment_id, run_name=name).info.run_id
    client.log_batch(run_id, metrics=[Metric("loss", 0.5, 1, 0), Metric("loss", 0.25, 2, 1)], params=[Param("p", name)])
    src = tmp_path / f"{name}.txt"
    src.write_text(name)
    client.log_artifact(run_id, src, "out")
    return run_id


def _files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def test_gc_removes_deleted_run_with_artifacts(gc_uri: str, artifact_root: Path, tmp_path: Path) -> None:
    with TrackingClient(gc_uri) as client:
        eid = client.create_experiment("exp")
        kept = _run_with_artifact(client, eid, tmp_path, "kept")
        doomed = _run_with_artifact(client, eid, tmp_path, "doomed")
        client.delete_run(doomed)
        assert f"{eid}/{doomed}/artifacts/out/doomed.txt" in _files(artifact_root)

        code, out, err = sk(gc_uri, "gc", "--dry-run", "--json")
        assert code == 0, err
        doc = json.loads(out)
        assert doc["dry_run"] is True
        assert [(i["kind"], i["id"], i["status"]) for i in doc["items"]] == [("run", doomed, "would remove")]
        assert doc["items"][0]["artifacts"][0]["action"] == "delete"
        assert client.get_run(doomed).info.run_id == doomed  # dry run changed nothing
        assert f"{eid}/{doomed}/artifacts/out/doomed.txt" in _files(artifact_root)

        code, out, err = sk(gc_uri, "gc")
        assert code == 0, err
        assert "removed" in out and doomed in out
        with pytest.raises(RunNotFound):
            client.get_run(doomed)
        assert not (artifact_root / eid / doomed).exists()
        assert _files(artifact_root) == {f"{eid}/{kept}/artifacts/out/kept.txt"}
        assert client.get_run(kept).data.params == {"p": "kept"}
        assert [m.value for m in client.get_metric_history(kept, "loss")] == [0.5, 0.25]
        assert [r.info.run_id for r in client.search_runs([eid], view_type=ViewType.ALL, output_format="list")] == [
            kept
        ]
        code, out, _ = sk(gc_uri, "gc", "--json")
        assert code == 0 and json.loads(out)["items"] == []  # nothing left


def test_gc_removes_deleted_experiment_and_never_reuses_its_id(
    gc_uri: str, artifact_root: Path, tmp_path: Path
) -> None:
    with TrackingClient(gc_uri) as client:
        keep = client.create_experiment("keep")
        kept = _run_with_artifact(client, keep, tmp_path, "kept")
        eid = client.create_experiment("doomed")
        runs = [_run_with_artifact(client, eid, tmp_path, f"r{i}") for i in range(3)]
        client.delete_run(runs[0])  # deleted on its own too: goes with the experiment
        client.delete_experiment(eid)
        code, out, err = sk(gc_uri, "gc", "--dry-run", "--json")
        assert code == 0, err
        items = json.loads(out)["items"]
        assert [(i["kind"], i["id"], i["runs"]) for i in items] == [("experiment", eid, 3)]
        code, out, err = sk(gc_uri, "gc", "--json")
        assert code == 0, err
        assert json.loads(out)["removed"] == 1
        with pytest.raises(ExperimentNotFound):
            client.get_experiment(eid)
        for run_id in runs:
            with pytest.raises(RunNotFound):
                client.get_run(run_id)
        assert not (artifact_root / eid).exists()
        assert _files(artifact_root) == {f"{keep}/{kept}/artifacts/out/kept.txt"}
        new_id = client.create_experiment("doomed")  # the name is free; the id is not handed out again
        assert new_id != eid and int(new_id) > int(eid)


def test_older_than_and_experiment_ids(gc_uri: str, artifact_root: Path) -> None:
    with TrackingClient(gc_uri) as client:
        e1, e2 = client.create_experiment("one"), client.create_experiment("two")
        r1 = client.create_run(e1).info.run_id
        r2 = client.create_run(e2).info.run_id
        client.delete_run(r1)
        client.delete_run(r2)
        store = client.store
        # deleted just now: not older than 30 days, but it is 31 days from now
        assert plan_gc(store, datetime.timedelta(days=30)).items == []
        later = plan_gc(store, datetime.timedelta(days=30), now=now_ms() + 31 * DAY_MS)
        assert {i.entity.entity_id for i in later.items} == {r1, r2}
        code, out, _ = sk(gc_uri, "gc", "--older-than", "30d", "--json")
        assert code == 0 and json.loads(out)["items"] == []
        client.get_run(r1)
        code, out, err = sk(gc_uri, "gc", "--experiment-ids", e2, "--older-than", "0s", "--json")
        assert code == 0, err
        assert [i["id"] for i in json.loads(out)["items"]] == [r2]
        client.get_run(r1)  # another experiment: untouched
        with pytest.raises(RunNotFound):
            client.get_run(r2)
        code, _, err = sk(gc_uri, "gc", "--older-than", "soon")
        assert code == 1 and "--older-than" in err and "'soon'" in err


def test_restore_clears_deletion_time_and_is_refused_once_purge_began(gc_uri: str, artifact_root: Path) -> None:
    with TrackingClient(gc_uri) as client:
        eid = client.create_experiment("e")
        run_id = client.create_run(eid).info.run_id
        store = client.store
        client.delete_run(run_id)
        (entity,) = store.list_deleted([eid])
        assert entity.deleted_time is not None and abs(entity.deleted_time - now_ms()) < 60_000
        client.restore_run(run_id)
        assert store.list_deleted([eid]) == []
        client.delete_run(run_id)
        (entity,) = store.list_deleted([eid])
        store.begin_purge(entity)
        with pytest.raises(InvalidParameterError, match="being purged"):
            client.restore_run(run_id)
        # an interrupted gc is finished by the next one, whatever --older-than says
        (marked,) = plan_gc(store, datetime.timedelta(days=3650)).items
        assert marked.entity.purging
        assert run_gc(store, plan_gc(store, datetime.timedelta(days=3650))).removed == 1
        with pytest.raises(RunNotFound):
            client.get_run(run_id)


def test_artifacts_outside_the_store_root_are_kept_unless_asked(
    gc_uri: str, artifact_root: Path, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "team-share"
    with TrackingClient(gc_uri) as client:
        eid = client.create_experiment("shared", artifact_location=elsewhere.as_uri())
        r1 = _run_with_artifact(client, eid, tmp_path, "one")
        r2 = _run_with_artifact(client, eid, tmp_path, "two")
        client.delete_run(r1)
        code, out, err = sk(gc_uri, "gc", "--json")
        assert code == 0, err
        (item,) = json.loads(out)["items"]
        assert item["artifacts"] == [{"uri": item["artifacts"][0]["uri"], "action": "keep"}]
        with pytest.raises(RunNotFound):
            client.get_run(r1)
        assert (elsewhere / r1 / "artifacts" / "out" / "one.txt").read_text() == "one"  # kept
        client.delete_run(r2)
        code, out, err = sk(gc_uri, "gc", "--delete-external-artifacts")
        assert code == 0, err
        assert not (elsewhere / r2).exists()
        assert elsewhere.exists() and (elsewhere / r1).exists()


def test_table_output_and_nothing_to_do(gc_uri: str, artifact_root: Path) -> None:
    with TrackingClient(gc_uri) as client:
        eid = client.create_experiment("e")
        code, out, _ = sk(gc_uri, "gc", "--dry-run")
        assert code == 0 and "nothing to remove" in out
        run_id = client.create_run(eid, run_name="old-run").info.run_id
        client.delete_run(run_id)
        code, out, _ = sk(gc_uri, "gc", "--dry-run")
        assert code == 0
        for text in ("would remove", run_id, "old-run", "Deleted", "Artifacts"):
            assert text in out


def test_a_store_without_the_purge_hook_gets_a_clear_error() -> None:
    # the HTTP store (a client of an MLflow tracking server) does not declare PURGE; the check
    # comes before any request, so no server is needed to see the error
    from storekit.plugins import resolve_tracking_store

    store = resolve_tracking_store("http://127.0.0.1:46035")
    with pytest.raises(UnsupportedOperationError, match="Capability.PURGE") as info:
        plan_gc(store)
    assert "list_deleted" in str(info.value) and "HttpTrackingStore" in str(info.value)


def test_purge_removes_datasets_logged_models_and_outputs(gc_uri: str, artifact_root: Path) -> None:
    from storekit.entities import Dataset, DatasetInput
    from storekit.errors import LoggedModelNotFound
    from storekit.interfaces import Capability

    with TrackingClient(gc_uri) as client:
        caps = client.store.capabilities
        if not {Capability.DATASETS, Capability.LOGGED_MODELS} <= caps:
            pytest.skip(f"{type(client.store).__name__} has no datasets or logged models to purge")
        eid = client.create_experiment("full")
        keep = client.create_experiment("other")
        run_id = client.create_run(eid).info.run_id
        other_run = client.create_run(keep).info.run_id
        client.log_inputs(run_id, [DatasetInput(Dataset("d", "abc", "local", "/data"), {"context": "train"})])
        model = client.create_logged_model(eid, name="m", source_run_id=run_id)
        client.log_outputs(run_id, [model.model_id])
        client.log_outputs(other_run, [model.model_id])  # a run elsewhere names the model too
        client.log_batch(run_id, metrics=[Metric("acc", 0.9, 1, 0, model_id=model.model_id)])
        client.delete_experiment(eid)
        code, _, err = sk(gc_uri, "gc")
        assert code == 0, err
        with pytest.raises(ExperimentNotFound):
            client.get_experiment(eid)
        with pytest.raises(LoggedModelNotFound):
            client.get_logged_model(model.model_id)
        assert client.get_run(other_run).info.run_id == other_run
