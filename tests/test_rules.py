"""storekit.rules: the one rules layer every backend and plugin calls."""

from __future__ import annotations

import pytest

from storekit import rules, validation
from storekit.entities import (
    Dataset,
    DatasetInput,
    ExperimentTag,
    LifecycleStage,
    ModelVersionStage,
    Param,
    RunStatus,
    RunTag,
    ViewType,
)
from storekit.errors import InvalidParameterError


def test_reexports_every_validation_name() -> None:
    for name in validation.__all__:
        assert getattr(rules, name) is getattr(validation, name)
        assert name in rules.__all__


@pytest.mark.parametrize(
    "given,expected",
    [
        ("finished", RunStatus.FINISHED),
        ("RUNNING", RunStatus.RUNNING),
        ("Killed", RunStatus.KILLED),
        (RunStatus.FAILED, RunStatus.FAILED),
    ],
)
def test_parse_run_status(given: object, expected: RunStatus) -> None:
    assert rules.parse_run_status(given) is expected


@pytest.mark.parametrize("bad", ["done", "", None, 3, "FINISHED "])
def test_parse_run_status_refuses(bad: object) -> None:
    with pytest.raises(InvalidParameterError, match="status.*FINISHED"):
        rules.parse_run_status(bad)


@pytest.mark.parametrize(
    "given,expected",
    [
        ("all", ViewType.ALL),
        ("DELETED_ONLY", ViewType.DELETED_ONLY),
        (ViewType.ACTIVE_ONLY, ViewType.ACTIVE_ONLY),
        (int(ViewType.ALL), ViewType.ALL),
    ],
)
def test_parse_view_type(given: object, expected: ViewType) -> None:
    assert rules.parse_view_type(given) is expected


@pytest.mark.parametrize("bad", ["everything", 0, 99, True, None, 1.0])
def test_parse_view_type_refuses(bad: object) -> None:
    with pytest.raises(InvalidParameterError, match="view_type"):
        rules.parse_view_type(bad)


def test_parse_stages() -> None:
    assert rules.parse_stages("Production") == {"Production"}
    assert rules.parse_stages("production") == {"Production"}
    assert rules.parse_stages(ModelVersionStage.STAGING) == {"Staging"}
    assert rules.parse_stages(["none", "ARCHIVED"]) == {"None", "Archived"}
    assert rules.parse_stages(None) is None
    assert rules.parse_stages([]) is None
    with pytest.raises(InvalidParameterError, match="stage"):
        rules.parse_stages("Prod")
    with pytest.raises(InvalidParameterError, match="stages"):
        rules.parse_stages(5)


@pytest.mark.parametrize(
    "stage,archive,expected",
    [
        ("Staging", True, True),
        ("production", True, True),
        ("None", True, False),
        (None, True, False),
        ("Archived", True, False),
        ("Production", False, False),
    ],
)
def test_archives_other_versions(stage: object, archive: bool, expected: bool) -> None:
    assert rules.archives_other_versions(stage, archive) is expected


def test_archives_other_versions_wants_a_bool() -> None:
    with pytest.raises(InvalidParameterError, match="archive_existing_versions"):
        rules.archives_other_versions("Staging", "yes")


def test_check_run_writable() -> None:
    rules.check_run_writable("r", LifecycleStage.ACTIVE, "active", "1")
    with pytest.raises(InvalidParameterError, match="run 'r' is deleted"):
        rules.check_run_writable("r", "deleted", LifecycleStage.ACTIVE, "1")
    with pytest.raises(InvalidParameterError, match="experiment '1', which is deleted"):
        rules.check_run_writable("r", "active", LifecycleStage.DELETED, "1")
    with pytest.raises(InvalidParameterError, match="experiment '7' is deleted"):
        rules.check_experiment_active(7, "deleted")
    rules.check_experiment_active("7", LifecycleStage.ACTIVE)


def test_new_params() -> None:
    stored = {"a": "1", "b": "2"}
    assert rules.new_params(stored, [Param("b", "2"), Param("a", "1")]) == {}
    assert rules.new_params(stored, {"a": "1", "c": "3"}) == {"c": "3"}
    for position in range(3):
        batch = [Param("a", "1"), Param("b", "2"), Param("c", "3")]
        key = batch[position].key
        batch[position] = Param(key, "changed")
        expected_old = {"a": "'1'", "b": "'2'", "c": None}[key]
        if expected_old is None:
            assert rules.new_params(stored, batch) == {"c": "changed"}
            continue
        with pytest.raises(InvalidParameterError) as excinfo:
            rules.new_params(stored, batch)
        assert key in str(excinfo.value) and expected_old in str(excinfo.value) and "'changed'" in str(excinfo.value)


def test_validate_batch_args() -> None:
    assert rules.validate_batch_args(None, None, None) == ([], [], [])
    assert rules.validate_batch_args((), (Param("p", "v"),), [RunTag("t", "v")]) == (
        [],
        [Param("p", "v")],
        [RunTag("t", "v")],
    )
    with pytest.raises(InvalidParameterError, match="log_batch params"):
        rules.validate_batch_args(params={"p": "v"})  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match="different values"):
        rules.validate_batch_args(params=[Param("p", "1"), Param("p", "2")])


def test_validate_run_tags() -> None:
    assert rules.validate_run_tags(None) == {}
    assert rules.validate_run_tags({"a": "1"}) == {"a": "1"}
    assert rules.validate_run_tags([RunTag("a", "1"), RunTag("a", "2")]) == {"a": "2"}
    for bad in ([("a", "1")], "a=1", 5):
        with pytest.raises(InvalidParameterError, match="tag"):
            rules.validate_run_tags(bad)
    with pytest.raises(InvalidParameterError, match="8000"):
        rules.validate_run_tags([RunTag("a", "x" * 8001)])


def test_validate_run_update() -> None:
    update = rules.validate_run_update("finished", 5, "name")
    assert update.changes() == {"status": "FINISHED", "end_time": 5, "run_name": "name"}
    assert rules.validate_run_update().changes() == {}
    with pytest.raises(InvalidParameterError, match="end_time"):
        rules.validate_run_update(end_time="5")
    with pytest.raises(InvalidParameterError, match="end_time"):
        rules.validate_run_update(end_time=True)


def test_user_id_and_millis() -> None:
    assert rules.validate_user_id("u" * 256) == "u" * 256
    assert rules.validate_user_id(None) is None
    with pytest.raises(InvalidParameterError, match="user_id.*256"):
        rules.validate_user_id("u" * 257)
    assert rules.validate_millis(None, "start_time") is None
    with pytest.raises(InvalidParameterError, match="start_time"):
        rules.validate_millis(2**63, "start_time")


def _input(**fields: object) -> DatasetInput:
    values = {"name": "n", "digest": "d", "source_type": "t", "source": "s", **fields}
    tags = values.pop("tags", {})
    return DatasetInput(Dataset(**values), tags)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "field,limit",
    [("name", 500), ("digest", 64), ("source_type", 64), ("source", 65_535), ("schema", 65_535), ("profile", 65_535)],
)
def test_dataset_limits(field: str, limit: int) -> None:
    assert validation.DATASET_LIMITS[field] == limit
    rules.validate_dataset_input(_input(**{field: "x" * limit}))
    with pytest.raises(
        InvalidParameterError, match=f"dataset {field}: length {limit + 1} exceeds the limit of {limit}"
    ):
        rules.validate_dataset_input(_input(**{field: "x" * (limit + 1)}))


def test_dataset_bytes_required_and_context() -> None:
    with pytest.raises(InvalidParameterError, match="bytes"):
        rules.validate_dataset_input(_input(source="é" * 40_000))
    for field in ("name", "digest", "source_type", "source"):
        with pytest.raises(InvalidParameterError, match=f"dataset {field}: expected a non-empty string"):
            rules.validate_dataset_input(_input(**{field: ""}))
    rules.validate_dataset_input(_input(schema=None, profile=None))
    with pytest.raises(InvalidParameterError, match="context.*250"):
        rules.validate_dataset_input(_input(tags={"context": "c" * 251}))
    assert rules.validate_dataset_inputs(_input()) == [_input()]
    assert rules.validate_dataset_inputs(None) == []
    with pytest.raises(InvalidParameterError, match="DatasetInput"):
        rules.validate_dataset_inputs(["x"])


def test_model_ids_and_texts() -> None:
    assert rules.validate_model_ids("m-abc") == ["m-abc"]
    assert rules.validate_model_ids(["m-a", "m-b", "m-a"]) == ["m-a", "m-b"]
    for bad in ("x", "m-", "m-a/b", "m-" + "a" * 63, 5):
        with pytest.raises(InvalidParameterError, match="model_id"):
            rules.validate_model_id(bad)
    assert rules.validate_logged_model_text(None, "name") is None
    with pytest.raises(InvalidParameterError, match="model_type.*500"):
        rules.validate_logged_model_text("t" * 501, "model_type")


def test_experiment_arguments() -> None:
    assert rules.validate_experiment_ids("3") == ["3"]
    assert rules.validate_experiment_ids([1, "1", "2"]) == ["1", "2"]
    with pytest.raises(InvalidParameterError, match="experiment_ids"):
        rules.validate_experiment_ids(None)
    assert rules.validate_experiment_tag(ExperimentTag("k", "v")) == ExperimentTag("k", "v")
    with pytest.raises(InvalidParameterError, match="ExperimentTag"):
        rules.validate_experiment_tag(RunTag("k", "v"))
    assert rules.validate_lookup_name("") == ""
    with pytest.raises(InvalidParameterError, match="experiment name"):
        rules.validate_lookup_name(None)
    assert rules.validate_artifact_location(None) is None
    for bad in ("", "a\x00b", 5):
        with pytest.raises(InvalidParameterError, match="artifact_location"):
            rules.validate_artifact_location(bad)


def test_free_text_byte_limits() -> None:
    assert rules.validate_description("d" * 65_535) == "d" * 65_535
    for bad in ("d" * 65_536, "é" * 40_000):
        with pytest.raises(InvalidParameterError, match="description"):
            rules.validate_description(bad)
    with pytest.raises(InvalidParameterError, match="source: 65536 bytes"):
        rules.validate_model_version_source("s" * 65_536)
    assert rules.validate_artifact_location("a" * 65_471) == "a" * 65_471
    with pytest.raises(InvalidParameterError, match="artifact_location: 65472 bytes"):
        rules.validate_artifact_location("a" * 65_472)
    many = {f"k{i}": "v" * 8000 for i in range(9)}
    with pytest.raises(InvalidParameterError, match="dataset input tags: .* bytes as JSON"):
        rules.validate_dataset_input(_input(tags=many))


# --- exact messages and argument shapes (pinned by mutation testing: scripts/mutation.sh rules) ---
from storekit.entities import Metric


def _message(fn, *args, **kwargs) -> str:
    with pytest.raises(InvalidParameterError) as info:
        fn(*args, **kwargs)
    return str(info.value)


def test_enum_refusals_list_every_allowed_name() -> None:
    assert _message(rules.parse_run_status, "nope") == (
        f"status: 'nope' is not one of {', '.join(s.value for s in RunStatus)} (case-insensitive)"
    )
    assert _message(rules.parse_view_type, "nope") == (
        f"view_type: 'nope' is not one of {', '.join(v.name for v in ViewType)} (case-insensitive)"
    )


def test_type_refusals_name_the_type_given() -> None:
    assert _message(rules.parse_stages, 5) == "stages: expected a stage name or a sequence of them, got int"
    assert _message(rules.archives_other_versions, "Production", "yes") == (
        "archive_existing_versions: expected a bool, got str"
    )
    assert _message(rules.validate_batch_args, "abc") == "log_batch metrics: expected a sequence, got str"
    assert _message(rules.validate_batch_args, (), {}) == "log_batch params: expected a sequence, got dict"
    assert _message(rules.validate_batch_args, (), (), b"x") == "log_batch tags: expected a sequence, got bytes"
    assert _message(rules.validate_experiment_tag, "k=v") == "tag: expected an ExperimentTag, got str"
    assert _message(rules.validate_experiment_ids, object()) == (
        "experiment_ids: expected a sequence of experiment ids, got object"
    )
    assert (
        _message(rules.validate_experiment_ids, True)
        == "experiment_ids: expected a sequence of experiment ids, got bool"
    )
    assert _message(rules.validate_model_ids, 5) == "model_ids: expected a sequence of logged model ids, got int"
    assert _message(rules.validate_lookup_name, 5) == "experiment name: expected a string, got int"
    assert _message(rules.validate_lookup_name, 5, "model name") == "model name: expected a string, got int"


def test_deleted_run_and_experiment_messages() -> None:
    assert (
        _message(rules.check_experiment_active, "7", "deleted")
        == "experiment '7' is deleted; cannot create a run in it"
    )
    assert _message(rules.check_run_writable, "r1", LifecycleStage.ACTIVE, LifecycleStage.DELETED, "7") == (
        "run 'r1' is in experiment '7', which is deleted; restore the experiment before writing to the run"
    )
    rules.check_run_writable("r1", "active", LifecycleStage.ACTIVE, "7")  # plain strings work too


def test_batch_items_are_validated_metrics_and_tags_included() -> None:
    with pytest.raises(InvalidParameterError, match="metric"):
        rules.validate_batch_args([Metric("", 1.0, 0, 0)])
    with pytest.raises(InvalidParameterError, match="tag"):
        rules.validate_batch_args((), (), [RunTag("", "v")])
    assert rules.validate_batch_args(None, None, None) == ([], [], [])


def test_run_update_names_the_end_time_field() -> None:
    assert (
        _message(rules.validate_run_update, end_time="soon") == "end_time: expected an integer (milliseconds), got str"
    )


def test_experiment_tags_check_key_and_value_as_experiment_tags() -> None:
    assert "experiment tag key" in _message(rules.validate_experiment_tag, ExperimentTag("", "v"))
    long_value = "x" * (validation.MAX_TAG_VALUE_LENGTH + 1)
    assert "experiment tag 'k' value" in _message(rules.validate_experiment_tag, ExperimentTag("k", long_value))
    tag = ExperimentTag("k", "v")
    assert rules.validate_experiment_tag(tag) is tag


def test_one_experiment_id_string_is_one_id() -> None:
    assert rules.validate_experiment_ids("12") == ["12"]
    assert rules.validate_experiment_ids(12) == ["12"]
    assert rules.validate_experiment_ids(["12", "12", "3"]) == ["12", "3"]
