"""Datasets and logged models (contract section 3b; capabilities DATASETS, LOGGED_MODELS)."""

from __future__ import annotations

import pytest

from storekit.entities import (
    Dataset,
    DatasetInput,
    LifecycleStage,
    LoggedModelStatus,
    Metric,
    Run,
)
from storekit.errors import InvalidParameterError, LoggedModelNotFound, NotFoundError
from storekit.interfaces import Capability, TrackingStore

from ..marks import contract, requires

__all__ = ["DatasetChecks", "LoggedModelChecks"]


def _inputs(name: str, digest: str, context: str) -> DatasetInput:
    return DatasetInput(Dataset(name, digest, "local", f"example://data/{name}"), {"context": context})


class DatasetChecks:
    """Checks of ``log_inputs`` and dataset search."""

    @requires(Capability.DATASETS)
    @contract("3b", "log_inputs records datasets idempotently (once per run, name, digest and context)")
    def test_log_inputs_idempotent(self, tracking_store: TrackingStore, run: Run) -> None:
        run_id = run.info.run_id
        train, evaluation = _inputs("iris", "d1", "training"), _inputs("iris", "d1", "eval")
        tracking_store.log_inputs(run_id, [train])
        tracking_store.log_inputs(run_id, [train, evaluation])
        tracking_store.log_inputs(run_id, [train])
        got = tracking_store.get_run(run_id).inputs.dataset_inputs
        keys = sorted((d.dataset.name, d.dataset.digest, d.tags.get("context")) for d in got)
        assert keys == [("iris", "d1", "eval"), ("iris", "d1", "training")]
        assert {d.dataset.source for d in got} == {"example://data/iris"}

    @requires(Capability.DATASETS)
    @pytest.mark.parametrize(
        "flt,expected",
        [
            ("datasets.name = 'iris'", {"a", "b"}),
            ("datasets.name != 'iris'", {"b"}),
            ("datasets.digest = 'd2'", {"b"}),
            ("datasets.context = 'eval'", {"b"}),
            ("datasets.context IN ('training')", {"a", "b"}),
            ("datasets.name LIKE 'mni%'", {"b"}),
            ("datasets.name ILIKE 'IRIS'", {"a", "b"}),
        ],
    )
    @contract("3b", "search_runs filters on datasets.name, digest and context; any input may match")
    def test_dataset_search(
        self, tracking_store: TrackingStore, experiment_id: str, flt: str, expected: set[str]
    ) -> None:
        runs = {name: tracking_store.create_run(experiment_id, run_name=name).info.run_id for name in "abc"}
        tracking_store.log_inputs(runs["a"], [_inputs("iris", "d1", "training")])
        tracking_store.log_inputs(runs["b"], [_inputs("iris", "d2", "training"), _inputs("mnist", "d3", "eval")])
        found = tracking_store.search_runs([experiment_id], filter_string=flt)
        assert {r.info.run_name for r in found} == expected

    @requires(Capability.DATASETS)
    @contract("3b", "log_inputs to a deleted run raises InvalidParameterError")
    def test_log_inputs_deleted_run(self, tracking_store: TrackingStore, run: Run) -> None:
        tracking_store.delete_run(run.info.run_id)
        with pytest.raises(InvalidParameterError, match="(?i)deleted"):
            tracking_store.log_inputs(run.info.run_id, [_inputs("iris", "d1", "training")])


class LoggedModelChecks:
    """Checks of logged models."""

    @requires(Capability.LOGGED_MODELS)
    @contract("3b", "create_logged_model: PENDING, artifact location <experiment location>/models/<id>/artifacts")
    def test_create_and_get_logged_model(self, tracking_store: TrackingStore, run: Run, experiment_id: str) -> None:
        model = tracking_store.create_logged_model(
            experiment_id,
            name="clf",
            source_run_id=run.info.run_id,
            tags={"t": "1"},
            params={"p": "2"},
            model_type="sklearn",
        )
        assert model.status == LoggedModelStatus.PENDING
        location = tracking_store.get_experiment(experiment_id).artifact_location.rstrip("/")
        assert model.artifact_location.rstrip("/") == f"{location}/models/{model.model_id}/artifacts"
        got = tracking_store.get_logged_model(model.model_id)
        assert (got.name, got.experiment_id, got.source_run_id, got.tags, got.params, got.model_type) == (
            "clf",
            experiment_id,
            run.info.run_id,
            {"t": "1"},
            {"p": "2"},
            "sklearn",
        )
        with pytest.raises(LoggedModelNotFound):
            tracking_store.get_logged_model("m-" + "0" * 32)

    @requires(Capability.LOGGED_MODELS)
    @contract("3b", "finalize_logged_model, tags, soft delete")
    def test_logged_model_lifecycle(self, tracking_store: TrackingStore, experiment_id: str) -> None:
        model = tracking_store.create_logged_model(experiment_id, name="m")
        assert (
            tracking_store.finalize_logged_model(model.model_id, LoggedModelStatus.READY).status
            == LoggedModelStatus.READY
        )
        tracking_store.set_logged_model_tags(model.model_id, {"a": "1", "b": "2"})
        tracking_store.delete_logged_model_tag(model.model_id, "a")
        assert tracking_store.get_logged_model(model.model_id).tags == {"b": "2"}
        with pytest.raises(NotFoundError):
            tracking_store.delete_logged_model_tag(model.model_id, "a")
        tracking_store.delete_logged_model(model.model_id)
        assert tracking_store.search_logged_models([experiment_id]) == []
        try:
            got = tracking_store.get_logged_model(model.model_id)
        except LoggedModelNotFound:
            return
        assert got.lifecycle_stage == LifecycleStage.DELETED

    @requires(Capability.LOGGED_MODELS)
    @contract("3b", "log_logged_model_params adds params to an existing model; params are immutable, all or nothing")
    def test_log_logged_model_params(self, tracking_store: TrackingStore, experiment_id: str) -> None:
        model = tracking_store.create_logged_model(experiment_id, name="m", params={"a": "1"})
        tracking_store.log_logged_model_params(model.model_id, {"b": "2", "c": "3"})
        tracking_store.log_logged_model_params(model.model_id, {"a": "1"})  # same value: a no-op
        assert tracking_store.get_logged_model(model.model_id).params == {"a": "1", "b": "2", "c": "3"}
        with pytest.raises(InvalidParameterError, match="'b'"):
            tracking_store.log_logged_model_params(model.model_id, {"d": "4", "b": "changed"})
        assert tracking_store.get_logged_model(model.model_id).params == {"a": "1", "b": "2", "c": "3"}
        found = tracking_store.search_logged_models([experiment_id], filter_string="params.c = '3'")
        assert [m.model_id for m in found] == [model.model_id]
        with pytest.raises(InvalidParameterError):
            tracking_store.log_logged_model_params(model.model_id, {"": "x"})
        with pytest.raises(LoggedModelNotFound):
            tracking_store.log_logged_model_params("m-" + "0" * 32, {"a": "1"})

    @requires(Capability.LOGGED_MODELS)
    @contract(
        "3b", "search_logged_models filters and pages; log_outputs records a run's models; metrics may name a model"
    )
    def test_search_and_outputs(self, tracking_store: TrackingStore, run: Run, experiment_id: str) -> None:
        models = [
            tracking_store.create_logged_model(experiment_id, name=f"m{i}", model_type="t" if i else "u")
            for i in range(3)
        ]
        found = tracking_store.search_logged_models([experiment_id], filter_string="model_type = 't'")
        assert {m.model_id for m in found} == {models[1].model_id, models[2].model_id}
        page = tracking_store.search_logged_models([experiment_id], max_results=2)
        rest = tracking_store.search_logged_models([experiment_id], max_results=2, page_token=page.token)
        assert sorted(m.model_id for m in [*page, *rest]) == sorted(m.model_id for m in models)
        tracking_store.log_outputs(run.info.run_id, [models[0].model_id])
        assert tracking_store.get_run(run.info.run_id).outputs.model_ids == (models[0].model_id,)
        tracking_store.log_metric(run.info.run_id, Metric("acc", 0.9, 1, 0, model_id=models[0].model_id))
        (point,) = tracking_store.get_metric_history(run.info.run_id, "acc")
        assert point.model_id == models[0].model_id
