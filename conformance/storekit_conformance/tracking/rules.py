"""Argument shapes, enum names, writable runs and param rules (docs/semantics.md, contract section 3).

Each check pins one line of ``docs/semantics.md`` that the older checks did
not reach; together they hold every backend to the rules of ``storekit.rules``.
"""

from __future__ import annotations

import uuid

import pytest

from storekit.entities import (
    Dataset,
    DatasetInput,
    LifecycleStage,
    Metric,
    Param,
    Run,
    RunStatus,
    RunTag,
    ViewType,
)
from storekit.errors import InvalidParameterError, LoggedModelNotFound, RunNotFound
from storekit.interfaces import Capability, TrackingStore

from ..helpers import assert_invalid, now_ms, unique
from ..marks import contract, requires
from .runs import _WRITES

__all__ = ["RuleChecks"]

_DATASET = Dataset("iris", "d1", "local", "example://data/iris")


def _dataset(**fields: str) -> DatasetInput:
    values = {"name": "iris", "digest": "d1", "source_type": "local", "source": "example://data/iris", **fields}
    return DatasetInput(Dataset(**values), {"context": "training"})


class RuleChecks:
    """Checks of the argument and write rules every backend shares."""

    # -- argument shapes --------------------------------------------------------
    @contract("3", "create_run(tags=...) takes a mapping or a sequence of RunTag, on every backend")
    def test_create_run_tags_as_run_tags(self, tracking_store: TrackingStore, experiment_id: str) -> None:
        run = tracking_store.create_run(experiment_id, tags=[RunTag("a", "1"), RunTag("b", "2")])  # type: ignore[arg-type]
        assert tracking_store.get_run(run.info.run_id).data.tags == {"a": "1", "b": "2"}
        with pytest.raises(InvalidParameterError):
            tracking_store.create_run(experiment_id, tags=[("a", "1")])  # type: ignore[arg-type]

    @contract("3", "user_id is at most 256 characters; longer raises naming the field and limit")
    def test_user_id_limit(self, tracking_store: TrackingStore, experiment_id: str) -> None:
        run = tracking_store.create_run(experiment_id, user_id="u" * 256)
        assert tracking_store.get_run(run.info.run_id).info.user_id == "u" * 256
        with pytest.raises(InvalidParameterError) as excinfo:
            tracking_store.create_run(experiment_id, user_id="u" * 257)
        assert_invalid(excinfo, "user_id", "256")

    # -- enums by name -------------------------------------------------------------
    @pytest.mark.parametrize(
        "given,expected",
        [
            ("finished", RunStatus.FINISHED),
            ("FAILED", RunStatus.FAILED),
            ("Killed", RunStatus.KILLED),
            (RunStatus.SCHEDULED, RunStatus.SCHEDULED),
        ],
    )
    @contract("3", "update_run_info(status=...) takes a RunStatus or its name in any case")
    def test_status_by_name(self, tracking_store: TrackingStore, run: Run, given: object, expected: RunStatus) -> None:
        info = tracking_store.update_run_info(run.info.run_id, status=given)  # type: ignore[arg-type]
        assert info.status == expected
        assert tracking_store.get_run(run.info.run_id).info.status == expected

    @contract("3", "an unknown run status raises InvalidParameterError and changes nothing")
    def test_unknown_status(self, tracking_store: TrackingStore, run: Run) -> None:
        with pytest.raises(InvalidParameterError) as excinfo:
            tracking_store.update_run_info(run.info.run_id, status="done")  # type: ignore[arg-type]
        assert_invalid(excinfo, "status")
        assert tracking_store.get_run(run.info.run_id).info.status == RunStatus.RUNNING

    @pytest.mark.parametrize(
        "name,view",
        [("ALL", ViewType.ALL), ("deleted_only", ViewType.DELETED_ONLY), ("Active_Only", ViewType.ACTIVE_ONLY)],
    )
    @contract("3", "view_type takes a ViewType, its integer value or its name in any case")
    def test_view_type_by_name(
        self, tracking_store: TrackingStore, experiment_id: str, name: str, view: ViewType
    ) -> None:
        active = tracking_store.create_run(experiment_id).info.run_id
        deleted = tracking_store.create_run(experiment_id).info.run_id
        tracking_store.delete_run(deleted)

        def ids(v: object) -> set[str]:
            return {r.info.run_id for r in tracking_store.search_runs([experiment_id], view_type=v)}  # type: ignore[arg-type]

        assert ids(name) == ids(view) == ids(int(view))
        assert (
            ids(view)
            == {ViewType.ALL: {active, deleted}, ViewType.DELETED_ONLY: {deleted}, ViewType.ACTIVE_ONLY: {active}}[view]
        )
        found = {e.experiment_id for e in tracking_store.search_experiments(view_type=name)}  # type: ignore[arg-type]
        assert (experiment_id in found) is (view is not ViewType.DELETED_ONLY)
        with pytest.raises(InvalidParameterError):
            tracking_store.search_runs([experiment_id], view_type="everything")  # type: ignore[arg-type]

    @contract("3-search", "order_by given as one string is one clause")
    def test_order_by_one_string(self, tracking_store: TrackingStore, experiment_id: str) -> None:
        ids = [tracking_store.create_run(experiment_id, start_time=1_700_000_000_000 - i).info.run_id for i in range(3)]
        found = tracking_store.search_runs([experiment_id], order_by="attributes.start_time ASC")
        assert [r.info.run_id for r in found] == list(reversed(ids))

    @contract("3", "an explicit artifact_location is non-empty, without NUL, at most 65,471 bytes in UTF-8")
    def test_artifact_location_limits(self, tracking_store: TrackingStore) -> None:
        too_long = "file:///" + "é" * 32_732  # 65,472 bytes in UTF-8, 32,740 characters
        for bad, needle in (("", "artifact_location"), ("/tmp/a\x00b", "NUL"), (too_long, "65471")):
            name = unique("loc")
            with pytest.raises(InvalidParameterError) as excinfo:
                tracking_store.create_experiment(name, artifact_location=bad)
            assert_invalid(excinfo, "artifact_location", needle)
            assert tracking_store.get_experiment_by_name(name) is None  # refused before anything was written

    @requires(Capability.LOGGED_MODELS)
    @contract("3b", "a logged model's name and model_type are 1 to 500 characters")
    def test_logged_model_text_limits(self, tracking_store: TrackingStore, experiment_id: str) -> None:
        model = tracking_store.create_logged_model(experiment_id, name="n" * 500, model_type="t" * 500)
        got = tracking_store.get_logged_model(model.model_id)
        assert (got.name, got.model_type) == ("n" * 500, "t" * 500)
        for field, value in (("name", "n" * 501), ("name", ""), ("model_type", "t" * 501), ("model_type", "")):
            with pytest.raises(InvalidParameterError) as excinfo:
                tracking_store.create_logged_model(experiment_id, **{field: value})  # type: ignore[arg-type]
            assert_invalid(excinfo, field, "500")

    # -- deleted experiments, unknown runs -----------------------------------------
    @pytest.mark.parametrize("write", sorted(_WRITES))
    @contract("3", "a run of a deleted experiment reads as deleted and refuses every write; restoring brings it back")
    def test_runs_of_deleted_experiment_read_only(
        self, tracking_store: TrackingStore, experiment_id: str, run: Run, write: str
    ) -> None:
        run_id = run.info.run_id
        tracking_store.set_tag(run_id, RunTag("existing", "x"))
        before = tracking_store.get_run(run_id)
        tracking_store.delete_experiment(experiment_id)
        assert tracking_store.get_run(run_id).info.lifecycle_stage == LifecycleStage.DELETED
        with pytest.raises(InvalidParameterError, match="(?i)deleted"):
            _WRITES[write](tracking_store, run_id)
        tracking_store.restore_experiment(experiment_id)
        after = tracking_store.get_run(run_id)
        assert after.info == before.info and after.data == before.data

    @contract("3", "restoring an experiment leaves its separately deleted runs deleted")
    def test_restore_experiment_keeps_deleted_runs(self, tracking_store: TrackingStore, experiment_id: str) -> None:
        kept = tracking_store.create_run(experiment_id).info.run_id
        gone = tracking_store.create_run(experiment_id).info.run_id
        tracking_store.delete_run(gone)
        tracking_store.delete_experiment(experiment_id)
        tracking_store.delete_experiment(experiment_id)  # idempotent
        tracking_store.restore_experiment(experiment_id)
        tracking_store.restore_experiment(experiment_id)  # idempotent
        assert tracking_store.get_experiment(experiment_id).lifecycle_stage == LifecycleStage.ACTIVE
        assert tracking_store.get_run(gone).info.lifecycle_stage == LifecycleStage.DELETED
        assert [r.info.run_id for r in tracking_store.search_runs([experiment_id])] == [kept]

    @pytest.mark.parametrize("write", sorted(_WRITES))
    @contract("3", "a write to a well-formed run id that does not exist raises RunNotFound")
    def test_write_to_unknown_run(self, tracking_store: TrackingStore, write: str) -> None:
        with pytest.raises(RunNotFound):
            _WRITES[write](tracking_store, uuid.uuid4().hex)

    @contract("3", "search_runs ignores experiment ids that do not exist; an empty list gives no runs")
    def test_search_unknown_experiment_ids(self, tracking_store: TrackingStore, experiment_id: str, run: Run) -> None:
        found = tracking_store.search_runs([experiment_id, "987654321"])
        assert [r.info.run_id for r in found] == [run.info.run_id]
        assert list(tracking_store.search_runs([])) == []

    # -- params --------------------------------------------------------------------
    @pytest.mark.parametrize("position", [0, 1, 2])
    @contract("3", "re-logging a batch of params with their values is a no-op; one changed value anywhere raises")
    def test_param_batch_relog(self, tracking_store: TrackingStore, run: Run, position: int) -> None:
        run_id = run.info.run_id
        params = [Param(f"p{i}", str(i)) for i in range(3)]
        tracking_store.log_batch(run_id, params=params)
        tracking_store.log_batch(run_id, params=params)  # the same values again: nothing happens
        tracking_store.log_batch(run_id, params=list(reversed(params)))
        assert tracking_store.get_run(run_id).data.params == {"p0": "0", "p1": "1", "p2": "2"}
        changed = list(params)
        changed[position] = Param(f"p{position}", "changed")
        with pytest.raises(InvalidParameterError) as excinfo:
            tracking_store.log_batch(run_id, params=changed)
        assert_invalid(excinfo, f"p{position}", f"'{position}'", "'changed'")
        assert tracking_store.get_run(run_id).data.params == {"p0": "0", "p1": "1", "p2": "2"}

    @requires(Capability.ATOMIC_BATCH)
    @contract("3", "log_batch is atomic: a batch with one conflicting param among new ones stores nothing")
    def test_param_conflict_stores_nothing(self, tracking_store: TrackingStore, run: Run) -> None:
        run_id = run.info.run_id
        tracking_store.log_batch(run_id, params=[Param("p1", "1")])
        batch = [Param("new0", "a"), Param("p1", "2"), Param("new1", "b")]
        with pytest.raises(InvalidParameterError):
            tracking_store.log_batch(run_id, metrics=[Metric("m", 1.0, now_ms(), 0)], params=batch)
        data = tracking_store.get_run(run_id).data
        assert (data.params, data.metrics) == ({"p1": "1"}, {})

    # -- datasets --------------------------------------------------------------------
    @requires(Capability.DATASETS)
    @pytest.mark.parametrize("field,limit", [("name", 500), ("digest", 64), ("source_type", 64)])
    @contract(
        "3b", "dataset name at most 500 characters, digest 64, source type 64; longer raises naming field and limit"
    )
    def test_dataset_field_limits(self, tracking_store: TrackingStore, run: Run, field: str, limit: int) -> None:
        run_id = run.info.run_id
        tracking_store.log_inputs(run_id, [_dataset(**{field: "x" * limit})])
        with pytest.raises(InvalidParameterError) as excinfo:
            tracking_store.log_inputs(run_id, [_dataset(**{field: "y" * (limit + 1)})])
        assert_invalid(excinfo, field, str(limit))
        got = tracking_store.get_run(run_id).inputs.dataset_inputs
        assert [getattr(d.dataset, field) for d in got] == ["x" * limit]

    @requires(Capability.DATASETS)
    @contract("3b", "dataset source, schema and profile: at most 65,535 bytes in UTF-8; name, digest, source required")
    def test_dataset_text_limits(self, tracking_store: TrackingStore, run: Run) -> None:
        run_id = run.info.run_id
        big = "s" * 65_535
        tracking_store.log_inputs(run_id, [DatasetInput(Dataset("big", "d1", "local", big, big, big), {})])
        (got,) = tracking_store.get_run(run_id).inputs.dataset_inputs
        assert (got.dataset.source, got.dataset.schema, got.dataset.profile) == (big, big, big)
        for bad in (
            _dataset(source="s" * 65_536),
            _dataset(source="é" * 40_000),
            _dataset(source=""),
            _dataset(digest=""),
            _dataset(name=""),
        ):
            with pytest.raises(InvalidParameterError):
                tracking_store.log_inputs(run_id, [bad])
        assert len(tracking_store.get_run(run_id).inputs.dataset_inputs) == 1

    @requires(Capability.DATASETS)
    @contract("3b", "the context tag of a dataset input is at most 250 characters")
    def test_dataset_context_limit(self, tracking_store: TrackingStore, run: Run) -> None:
        run_id = run.info.run_id
        tracking_store.log_inputs(run_id, [DatasetInput(_DATASET, {"context": "c" * 250})])
        with pytest.raises(InvalidParameterError) as excinfo:
            tracking_store.log_inputs(run_id, [DatasetInput(_DATASET, {"context": "c" * 251})])
        assert_invalid(excinfo, "context", "250")

    @requires(Capability.DATASETS)
    @contract("3b", "log_inputs to a run of a deleted experiment, or to an unknown run, is refused")
    def test_log_inputs_refused(self, tracking_store: TrackingStore, experiment_id: str, run: Run) -> None:
        with pytest.raises(RunNotFound):
            tracking_store.log_inputs(uuid.uuid4().hex, [_dataset()])
        tracking_store.delete_experiment(experiment_id)
        with pytest.raises(InvalidParameterError, match="(?i)deleted"):
            tracking_store.log_inputs(run.info.run_id, [_dataset()])

    # -- logged models ---------------------------------------------------------------
    @requires(Capability.LOGGED_MODELS)
    @contract("3b", "log_outputs to a deleted run, a run of a deleted experiment or an unknown run is refused")
    def test_log_outputs_refused(self, tracking_store: TrackingStore, experiment_id: str) -> None:
        model = tracking_store.create_logged_model(experiment_id, name=unique("m"))
        run = tracking_store.create_run(experiment_id)
        other = tracking_store.create_run(experiment_id)
        with pytest.raises(RunNotFound):
            tracking_store.log_outputs(uuid.uuid4().hex, [model.model_id])
        tracking_store.delete_run(run.info.run_id)
        with pytest.raises(InvalidParameterError, match="(?i)deleted"):
            tracking_store.log_outputs(run.info.run_id, [model.model_id])
        tracking_store.delete_experiment(experiment_id)
        with pytest.raises(InvalidParameterError, match="(?i)deleted"):
            tracking_store.log_outputs(other.info.run_id, [model.model_id])
        tracking_store.restore_experiment(experiment_id)
        tracking_store.restore_run(run.info.run_id)
        for r in (run, other):
            assert tracking_store.get_run(r.info.run_id).outputs.model_ids == ()

    @requires(Capability.LOGGED_MODELS)
    @contract("3b", "a metric naming a logged model that does not exist fails the whole batch (LoggedModelNotFound)")
    def test_metric_of_unknown_model(self, tracking_store: TrackingStore, run: Run) -> None:
        run_id = run.info.run_id
        with pytest.raises(LoggedModelNotFound):
            tracking_store.log_batch(
                run_id,
                metrics=[Metric("ok", 1.0, 1, 0), Metric("acc", 0.5, 1, 0, model_id="m-" + "0" * 32)],
                params=[Param("p", "v")],
            )
        data = tracking_store.get_run(run_id).data
        assert (data.metrics, data.params) == ({}, {})

    @requires(Capability.LOGGED_MODELS)
    @contract("3b", "logged model ids are 'm-' and letters/digits (at most 64); a malformed one raises")
    def test_malformed_model_id(self, tracking_store: TrackingStore) -> None:
        for bad in ("x", "m-", "m-" + "a" * 63, "m-../x", "M-abc"):
            with pytest.raises(InvalidParameterError):
                tracking_store.get_logged_model(bad)

    # -- paging ------------------------------------------------------------------------
    @contract("3-paging", "a last page that is exactly full carries no next-page token (runs, metric history)")
    def test_last_full_page_has_no_token(self, tracking_store: TrackingStore, experiment_id: str) -> None:
        runs = [
            tracking_store.create_run(experiment_id, start_time=1_700_000_000_000 + i).info.run_id for i in range(4)
        ]
        whole = tracking_store.search_runs([experiment_id], max_results=4)
        assert len(whole) == 4 and not whole.token
        first = tracking_store.search_runs([experiment_id], max_results=2)
        assert len(first) == 2 and first.token
        last = tracking_store.search_runs([experiment_id], max_results=2, page_token=first.token)
        assert len(last) == 2 and not last.token, "the exactly full last page of a search has a next-page token"
        assert {r.info.run_id for r in [*first, *last]} == set(runs)
        run_id = runs[0]
        tracking_store.log_batch(run_id, metrics=[Metric("h", float(i), 1000 + i, i) for i in range(4)])
        history = tracking_store.get_metric_history(run_id, "h", max_results=4)
        assert len(history) == 4 and not history.token
        first_h = tracking_store.get_metric_history(run_id, "h", max_results=2)
        last_h = tracking_store.get_metric_history(run_id, "h", max_results=2, page_token=first_h.token)
        assert [m.value for m in [*first_h, *last_h]] == [0.0, 1.0, 2.0, 3.0]
        assert not last_h.token, "the exactly full last page of a metric history has a next-page token"

    @contract("3-paging", "a last page of search_experiments that is exactly full carries no next-page token")
    def test_last_full_experiment_page_has_no_token(self, tracking_store: TrackingStore) -> None:
        prefix = unique("full")
        ids = [tracking_store.create_experiment(f"{prefix}-{i}") for i in range(2)]
        try:
            flt = f"name LIKE '{prefix}-%'"
            whole = tracking_store.search_experiments(filter_string=flt, max_results=2)
            assert sorted(e.experiment_id for e in whole) == sorted(ids) and not whole.token
            first = tracking_store.search_experiments(filter_string=flt, max_results=1)
            last = tracking_store.search_experiments(filter_string=flt, max_results=1, page_token=first.token)
            assert len(last) == 1 and not last.token
        finally:
            for experiment_id in ids:
                tracking_store.delete_experiment(experiment_id)

    @requires(Capability.LOGGED_MODELS)
    @contract("3-paging", "a last page of search_logged_models that is exactly full carries no next-page token")
    def test_last_full_logged_model_page_has_no_token(self, tracking_store: TrackingStore, experiment_id: str) -> None:
        for i in range(2):
            tracking_store.create_logged_model(experiment_id, name=f"m{i}")
        whole = tracking_store.search_logged_models([experiment_id], max_results=2)
        assert len(whole) == 2 and not whole.token
        first = tracking_store.search_logged_models([experiment_id], max_results=1)
        last = tracking_store.search_logged_models([experiment_id], max_results=1, page_token=first.token)
        assert len(last) == 1 and not last.token
