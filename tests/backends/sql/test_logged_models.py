"""Logged models (contract section 3b) on SQLite, PostgreSQL and MariaDB.

The search tests also run the same queries on the file backend: both
backends must give the same answers.
"""

from __future__ import annotations

import math
import re

import pytest

from storekit.backends.file import FileTrackingStore
from storekit.backends.sql import SqlRegistryStore
from storekit.entities import LifecycleStage, LoggedModelStatus, Metric, Param
from storekit.errors import (
    ExperimentNotFound,
    InvalidParameterError,
    LoggedModelNotFound,
    NotFoundError,
    RunNotFound,
)
from storekit.interfaces import Capability


@pytest.fixture
def exp(store, uniq):
    return store.create_experiment(uniq("exp"))


@pytest.fixture
def run(store, exp):
    return store.create_run(exp, run_name="r")


def test_declares_capability(store):
    assert Capability.LOGGED_MODELS in store.capabilities


def test_create_and_get(store, exp, run):
    model = store.create_logged_model(
        exp, name="clf", source_run_id=run.info.run_id, tags={"t": "1"}, params={"lr": "0.1"}, model_type="sklearn"
    )
    assert re.fullmatch(r"m-[0-9a-f]{32}", model.model_id)
    assert model.status is LoggedModelStatus.PENDING and model.lifecycle_stage is LifecycleStage.ACTIVE
    location = store.get_experiment(exp).artifact_location
    assert model.artifact_location == f"{location}/models/{model.model_id}/artifacts"
    assert model.creation_timestamp == model.last_updated_timestamp > 0
    got = store.get_logged_model(model.model_id)
    assert got == model
    assert (got.experiment_id, got.source_run_id, got.tags, got.params, got.metrics) == (
        exp,
        run.info.run_id,
        {"t": "1"},
        {"lr": "0.1"},
        (),
    )
    unnamed = store.create_logged_model(exp)
    assert unnamed.name == f"model-{unnamed.model_id[2:10]}" and unnamed.model_type is None


def test_create_and_get_errors(store, exp, uniq):
    with pytest.raises(LoggedModelNotFound):
        store.get_logged_model("m-" + "0" * 32)
    with pytest.raises(InvalidParameterError, match="model_id"):
        store.get_logged_model("not a model'; --")
    with pytest.raises(ExperimentNotFound):
        store.create_logged_model("999999999")
    with pytest.raises(RunNotFound):
        store.create_logged_model(exp, source_run_id="0" * 32)
    with pytest.raises(InvalidParameterError, match="name.*500"):
        store.create_logged_model(exp, name="x" * 501)
    with pytest.raises(InvalidParameterError, match="tag.*8000|8,000"):
        store.create_logged_model(exp, tags={"k": "v" * 8001})
    gone = store.create_experiment(uniq("gone"))
    store.delete_experiment(gone)
    with pytest.raises(InvalidParameterError, match="deleted"):
        store.create_logged_model(gone)
    assert store.search_logged_models([exp]) == []  # nothing half-created


def test_finalize_tags_and_soft_delete(store, exp):
    model = store.create_logged_model(exp, name="m", tags={"keep": "1"})
    ready = store.finalize_logged_model(model.model_id, LoggedModelStatus.READY)
    assert ready.status is LoggedModelStatus.READY
    assert ready.last_updated_timestamp >= model.last_updated_timestamp
    assert store.finalize_logged_model(model.model_id, "failed").status is LoggedModelStatus.FAILED
    with pytest.raises(InvalidParameterError, match="status"):
        store.finalize_logged_model(model.model_id, "DONE")
    store.set_logged_model_tags(model.model_id, {"a": "1", "b": "2"})
    store.set_logged_model_tags(model.model_id, {"a": "3"})
    store.delete_logged_model_tag(model.model_id, "b")
    assert store.get_logged_model(model.model_id).tags == {"keep": "1", "a": "3"}
    with pytest.raises(NotFoundError, match="'b'"):
        store.delete_logged_model_tag(model.model_id, "b")
    with pytest.raises(LoggedModelNotFound):
        store.set_logged_model_tags("m-" + "1" * 32, {"a": "1"})
    with pytest.raises(InvalidParameterError, match="8000|8,000"):
        store.set_logged_model_tags(model.model_id, {"a": "v" * 8001})
    assert store.get_logged_model(model.model_id).tags["a"] == "3"
    store.delete_logged_model(model.model_id)
    store.delete_logged_model(model.model_id)  # idempotent
    assert store.search_logged_models([exp]) == []
    got = store.get_logged_model(model.model_id)
    assert got.lifecycle_stage is LifecycleStage.DELETED and got.status is LoggedModelStatus.FAILED


def test_metrics_naming_a_model(store, exp, run):
    model = store.create_logged_model(exp, name="m")
    other = store.create_logged_model(exp, name="o")
    rid = run.info.run_id
    store.log_batch(
        rid,
        metrics=[
            Metric("acc", 0.5, 10, 1, model_id=model.model_id),
            Metric("acc", 0.9, 5, 2, model_id=model.model_id),  # latest: greatest step
            Metric("acc", 0.1, 99, 0, model_id=model.model_id),
            Metric("loss", math.nan, 1, 0, model_id=model.model_id),
            Metric("acc", 0.3, 1, 0, model_id=other.model_id),
            Metric("plain", 1.0, 1, 0),
        ],
    )
    store.log_metric(rid, Metric("acc", 0.2, 1, 1, model_id=model.model_id))  # older: ignored
    got = store.get_logged_model(model.model_id)
    assert [(m.key, m.step, m.model_id) for m in got.metrics] == [
        ("acc", 2, model.model_id),
        ("loss", 0, model.model_id),
    ]
    assert got.metrics[0].value == 0.9 and math.isnan(got.metrics[1].value)
    assert [m.value for m in store.get_logged_model(other.model_id).metrics] == [0.3]
    history = store.get_metric_history(rid, "acc")
    assert [(m.step, m.timestamp, m.model_id) for m in history] == [
        (0, 1, other.model_id),
        (0, 99, model.model_id),
        (1, 1, model.model_id),
        (1, 10, model.model_id),
        (2, 5, model.model_id),
    ]
    assert store.get_metric_history(rid, "plain")[0].model_id is None


def test_metric_naming_missing_model_rolls_back_batch(store, run):
    rid = run.info.run_id
    with pytest.raises(LoggedModelNotFound):
        store.log_batch(
            rid,
            metrics=[Metric("acc", 1.0, 1, 0), Metric("b", 1.0, 1, 0, model_id="m-" + "2" * 32)],
            params=[Param("p", "1")],
        )
    data = store.get_run(rid).data
    assert data.metrics == {} and data.params == {}
    assert store.get_metric_history(rid, "acc") == []


def test_log_outputs(store, exp, run):
    a, b = (store.create_logged_model(exp, name=n) for n in ("a", "b"))
    rid = run.info.run_id
    store.log_outputs(rid, [b.model_id, a.model_id, b.model_id])
    store.log_outputs(rid, [a.model_id])  # already recorded: no-op
    assert store.get_run(rid).outputs.model_ids == (b.model_id, a.model_id)
    (found,) = store.search_runs([exp])
    assert found.outputs.model_ids == (b.model_id, a.model_id)
    with pytest.raises(LoggedModelNotFound):
        store.log_outputs(rid, [store.create_logged_model(exp).model_id, "m-" + "3" * 32])
    assert store.get_run(rid).outputs.model_ids == (b.model_id, a.model_id)
    other = store.create_run(exp)
    assert store.get_run(other.info.run_id).outputs.model_ids == ()
    store.delete_run(other.info.run_id)
    with pytest.raises(InvalidParameterError, match="deleted"):
        store.log_outputs(other.info.run_id, [a.model_id])


def _populate(st, exp):
    """The same models in any store; returns name -> model_id."""
    ids = {}
    specs = [
        ("alpha", "sk", {"team": "A"}, {"lr": "0.1"}, 0.9),
        ("Beta", "sk", {"team": "a"}, {"lr": "0.2"}, math.nan),
        ("gamma", "torch", {}, {"lr": "0.1"}, 0.5),
        ("delta", None, {"team": "B"}, {}, None),
        ("eps_1", "torch", {"team": "A"}, {"lr": "0.3"}, -math.inf),
    ]
    run = st.create_run(exp)
    for name, mtype, tags, params, acc in specs:
        m = st.create_logged_model(exp, name=name, model_type=mtype, tags=tags, params=params)
        ids[name] = m.model_id
        if acc is not None:
            st.log_metric(run.info.run_id, Metric("acc", acc, 1, 0, model_id=m.model_id))
    st.finalize_logged_model(ids["gamma"], LoggedModelStatus.READY)
    return ids


QUERIES = [
    ("model_type = 'sk'", ["name ASC"]),
    ("model_type IS NULL", None),
    ("tags.team = 'A'", ["name DESC"]),
    ("tags.team ILIKE 'a'", ["name"]),
    ("name LIKE '%a'", ["name"]),
    ("name LIKE 'eps_%'", ["name"]),
    ("metrics.acc > 0.4", ["metrics.acc DESC"]),
    ("metrics.acc != 0.9", ["metrics.acc ASC", "name"]),
    ("params.lr IN ('0.1', '0.3') OR status = 'READY'", ["params.lr DESC", "name"]),
    ("NOT tags.team IS NULL AND model_type != 'torch'", ["name"]),
    (None, ["model_type", "name"]),
    (None, ["metrics.acc", "name"]),
]


@pytest.mark.parametrize("filter_string,order_by", QUERIES)
def test_search_matches_file_backend(store, uniq, tmp_path, filter_string, order_by):
    exp = store.create_experiment(uniq("exp"))
    sql_ids = _populate(store, exp)
    fstore = FileTrackingStore(str(tmp_path / "file-store"))
    file_ids = _populate(fstore, fstore.create_experiment("e"))
    fexp = fstore.get_experiment_by_name("e").experiment_id
    got = [m.name for m in store.search_logged_models([exp], filter_string, order_by)]
    want = [m.name for m in fstore.search_logged_models([fexp], filter_string, order_by)]
    assert got == want
    assert got  # every query matches something
    assert set(sql_ids) == set(file_ids)


def test_search_pages_and_scope(store, exp, uniq):
    models = [store.create_logged_model(exp, name=f"m{i}") for i in range(5)]
    elsewhere = store.create_logged_model(store.create_experiment(uniq("exp")), name="m9")
    page = store.search_logged_models([exp, "999999999", "not-a-number"], order_by=["name"], max_results=2)
    assert [m.name for m in page] == ["m0", "m1"] and page.token
    store.create_logged_model(exp, name="m00")  # created after the first page: not returned
    seen = list(page)
    while page.token:
        page = store.search_logged_models(
            [exp, "999999999", "not-a-number"], order_by=["name"], max_results=2, page_token=page.token
        )
        seen += page
    assert [m.model_id for m in seen] == [m.model_id for m in models]
    assert elsewhere.model_id not in {m.model_id for m in seen}
    default = store.search_logged_models([exp])  # creation_timestamp DESC, then model_id
    assert [(m.creation_timestamp, m.model_id) for m in default] == sorted(
        ((m.creation_timestamp, m.model_id) for m in default), key=lambda t: (-t[0], t[1])
    )
    with pytest.raises(InvalidParameterError, match="page_token"):
        store.search_logged_models([exp], max_results=2, page_token=page.token or "garbage")
    first = store.search_logged_models([exp], max_results=2)
    with pytest.raises(InvalidParameterError, match="page_token"):
        store.search_logged_models([exp], filter_string="name = 'm1'", max_results=2, page_token=first.token)
    with pytest.raises(InvalidParameterError):
        store.search_logged_models([exp], filter_string="name = ")
    with pytest.raises(InvalidParameterError):
        store.search_logged_models([exp], filter_string="datasets.name = 'x'")


def test_model_version_points_at_logged_model(db_uri, store, exp, uniq):
    model = store.create_logged_model(exp, name="m")
    registry = SqlRegistryStore(db_uri)
    try:
        name = uniq("rm")
        registry.create_registered_model(name)
        version = registry.create_model_version(name, model.artifact_location, model_id=model.model_id)
        assert version.model_id == model.model_id
        assert registry.get_model_version(name, version.version).model_id == model.model_id
        found = registry.search_model_versions(f"model_id = '{model.model_id}'")
        assert [(v.name, v.version) for v in found] == [(name, version.version)]
    finally:
        registry.close()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql", "mariadb"])
def test_upgrade_from_datasets_revision_keeps_runs_and_adds_logged_models(backend, new_database_uri, tmp_path):
    from storekit.backends.sql import SqlTrackingStore, schema
    from storekit.backends.sql.engine import Database
    from storekit.backends.sql.migrate import current_revision, upgrade

    uri = new_database_uri(backend)
    db = Database(uri)
    try:
        upgrade(db, target="0002")
        with db.engine.begin() as conn:  # a run written by the previous revision
            exp_id = conn.execute(
                schema.experiments.insert().values(
                    name="old",
                    artifact_location="file:///old",
                    lifecycle_stage="active",
                    creation_time=1,
                    last_update_time=1,
                )
            ).inserted_primary_key[0]
            conn.execute(
                schema.runs.insert().values(
                    run_uuid="a" * 32,
                    experiment_id=exp_id,
                    status="FINISHED",
                    start_time=1,
                    lifecycle_stage="active",
                    artifact_uri="file:///old/run",
                )
            )
        upgrade(db)
        assert current_revision(db) == schema.HEAD_REVISION
        store = SqlTrackingStore(uri, default_artifact_root=tmp_path.as_uri())
        try:
            assert store.get_run("a" * 32).outputs.model_ids == ()
            model = store.create_logged_model(str(exp_id), name="m", tags={"Case": "x"})
            assert model.artifact_location == f"file:///old/models/{model.model_id}/artifacts"
            store.log_outputs("a" * 32, [model.model_id])
            assert store.get_run("a" * 32).outputs.model_ids == (model.model_id,)
            # string columns compare case-sensitively after the migration too (MariaDB collation)
            assert store.search_logged_models([str(exp_id)], "tags.Case = 'X'") == []
            assert len(store.search_logged_models([str(exp_id)], "tags.Case = 'x'")) == 1
        finally:
            store.close()
    finally:
        db.dispose()
