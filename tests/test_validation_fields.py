"""The validators of storekit.validation not pinned by tests/test_validation.py: datasets, sources,
artifact locations, user ids, times, create_run tags, logged models, byte limits and lone surrogates.

Each refusal is an ``InvalidParameterError`` whose message names the field and the limit, and each
accepted value comes back as given (or normalised as documented).  Written against the mutation
run of the ``validation`` module (docs/mutation.md): every assertion here failed on a surviving mutant.
"""

from __future__ import annotations

import math
import re
from typing import Any

import pytest

from storekit.entities import Dataset, DatasetInput, Metric, Param, RunTag
from storekit.errors import InvalidParameterError
from storekit.validation import (
    DATASET_LIMITS,
    MAX_DATASET_CONTEXT_LENGTH,
    MAX_DESCRIPTION_LENGTH,
    MAX_LOGGED_MODEL_TEXT_LENGTH,
    MAX_MODEL_ID_LENGTH,
    MAX_TEXT_BYTES,
    MAX_USER_ID_LENGTH,
    coerce_metric_value,
    is_finite_number,
    iter_dict_tags,
    plain_metric_columns_valid,
    refuse_surrogates,
    surrogate_position,
    validate_artifact_location,
    validate_artifact_path,
    validate_artifact_source,
    validate_batch,
    validate_dataset_input,
    validate_dataset_inputs,
    validate_description,
    validate_logged_model_text,
    validate_millis,
    validate_model_id,
    validate_model_version_source,
    validate_run_tags,
    validate_user_id,
)

RUN_ID = "0123456789abcdef0123456789abcdef"


def _refused(message: str) -> Any:
    """``pytest.raises`` for InvalidParameterError whose message contains ``message`` literally."""
    return pytest.raises(InvalidParameterError, match=re.escape(message))


def _dataset(**fields: Any) -> Dataset:
    base: dict[str, Any] = {"name": "d", "digest": "abc", "source_type": "local", "source": "/data"}
    base.update(fields)
    return Dataset(**base)


# ---------------------------------------------------------------------------------------------- metrics


def test_coerce_metric_value_makes_real_numbers_floats_and_leaves_the_rest() -> None:
    assert type(coerce_metric_value(3)) is float and coerce_metric_value(3) == 3.0
    assert type(coerce_metric_value(2.5)) is float
    for other in ("1.0", True, None, b"1"):
        assert coerce_metric_value(other) is other  # validate_metric refuses them, naming the metric


def test_coerce_metric_value_too_large_names_the_metric() -> None:
    with _refused("metric 'loss' value: 1000000") as info:
        coerce_metric_value(10**400, "loss")
    assert "too large for a 64-bit float" in str(info.value)


def test_metric_model_id_must_be_a_string() -> None:
    assert validate_batch([Metric("m", 1.0, 0, 0, "m-1")]) is None
    with _refused("metric 'm' model_id: expected a string, got int"):
        validate_batch([Metric("m", 1.0, 0, 0, 7)])  # type: ignore[arg-type]


def test_plain_metric_columns() -> None:
    assert plain_metric_columns_valid(["a", "b"], [1.0, 2], [0, 1], [0, 2**63 - 1], [None, "m-1"])
    assert not plain_metric_columns_valid(["a"], [1.0], [0], [2**63], [None])
    assert not plain_metric_columns_valid(["a"], [1.0], [-(2**63) - 1], [0], [None])
    assert not plain_metric_columns_valid(["a"], [True], [0], [0], [None])
    assert not plain_metric_columns_valid(["a"], [1.0], [0], [0], [3])
    assert not plain_metric_columns_valid(["/a"], [1.0], [0], [0], [None])
    assert not plain_metric_columns_valid([1], [1.0], [0], [0], [None])


def test_finite_numbers_and_tag_lists() -> None:
    assert is_finite_number(1.5) and not is_finite_number(math.nan) and not is_finite_number(-math.inf)
    assert iter_dict_tags([RunTag("a", "1"), RunTag("b", "2"), RunTag("a", "3")]) == {"a": "3", "b": "2"}


# ------------------------------------------------------------------------------------ lone surrogates


@pytest.mark.parametrize("text,at", [("abc", -1), ("", -1), ("é\ud800", 1), ("\udfff", 0), ("ü", -1)])
def test_surrogate_position(text: str, at: int) -> None:
    assert surrogate_position(text) == at


def test_refuse_surrogates_names_field_code_point_and_position() -> None:
    assert refuse_surrogates("ok é", "name") == "ok é"
    with _refused("run name: lone surrogate U+DC80 at position 2 is not valid Unicode text"):
        refuse_surrogates("ab\udc80", "run name")


@pytest.mark.parametrize(
    "call,message",
    [
        (lambda: validate_batch(params=[Param("p", "x\ud800")]), "param 'p' value: lone surrogate U+D800"),
        (lambda: validate_batch(tags=[RunTag("t", "\ud800")]), "tag 't' value: lone surrogate U+D800"),
        (lambda: validate_description("\ud800"), "description: lone surrogate"),
        (lambda: validate_user_id("\ud800"), "user_id: lone surrogate"),
        (lambda: validate_artifact_location("\ud800"), "artifact_location: lone surrogate"),
        (lambda: validate_logged_model_text("\ud800", "name"), "logged model name: lone surrogate"),
    ],
)
def test_lone_surrogates_are_refused_naming_the_field(call: Any, message: str) -> None:
    with _refused(message):
        call()


# ---------------------------------------------------------------------------------- byte limits


def test_description_edges_in_characters_and_bytes() -> None:
    assert validate_description(None) is None
    assert validate_description("x" * MAX_DESCRIPTION_LENGTH) == "x" * MAX_DESCRIPTION_LENGTH
    # 16,384 four-byte characters are 65,536 bytes: within the character limit, one byte over the byte limit
    with _refused(f"description: 65536 bytes in UTF-8 exceed the limit of {MAX_TEXT_BYTES} bytes"):
        validate_description("\U0001f600" * 16_384)
    assert validate_description("\U0001f600" * 16_383 + "abc") is not None  # 65,535 bytes: at the limit
    with _refused(f"description: length {MAX_DESCRIPTION_LENGTH + 1} exceeds the limit of {MAX_DESCRIPTION_LENGTH}"):
        validate_description("x" * (MAX_DESCRIPTION_LENGTH + 1))


def test_artifact_location_edges() -> None:
    limit = MAX_TEXT_BYTES - 64
    assert validate_artifact_location(None) is None
    assert validate_artifact_location("s3://b/" + "é" * ((limit - 7) // 2)) is not None
    with _refused(f"artifact_location: {limit + 1} bytes in UTF-8 exceed the limit of {limit} bytes"):
        validate_artifact_location("x" * (limit + 1))
    for bad in ("", 5):
        with _refused("artifact_location: expected a non-empty string"):
            validate_artifact_location(bad)
    with _refused("artifact_location: must not contain NUL characters"):
        validate_artifact_location("a\x00b")


def test_user_id_edges() -> None:
    assert validate_user_id(None) is None
    assert validate_user_id("u" * MAX_USER_ID_LENGTH) == "u" * MAX_USER_ID_LENGTH
    with _refused(f"user_id: length {MAX_USER_ID_LENGTH + 1} exceeds the limit of {MAX_USER_ID_LENGTH} characters"):
        validate_user_id("u" * (MAX_USER_ID_LENGTH + 1))
    with _refused("user_id: expected a string, got int"):
        validate_user_id(3)


def test_millis() -> None:
    assert validate_millis(None, "end_time") is None
    assert validate_millis(1_700_000_000_000, "end_time") == 1_700_000_000_000
    with _refused("start_time: expected an integer (milliseconds), got float"):
        validate_millis(1.5, "start_time")
    with _refused("end_time: expected an integer (milliseconds), got bool"):
        validate_millis(True, "end_time")
    with _refused("end_time: 9223372036854775808 is outside"):
        validate_millis(2**63, "end_time")


# --------------------------------------------------------------------------------- create_run tags


def test_run_tags_as_mapping_or_sequence() -> None:
    assert validate_run_tags(None) == {}
    assert validate_run_tags({"a": "1"}) == {"a": "1"}
    assert validate_run_tags([RunTag("a", "1"), RunTag("a", "2"), RunTag("b", "3")]) == {"a": "2", "b": "3"}
    assert validate_run_tags(iter([RunTag("a", "1")])) == {"a": "1"}  # any iterable


@pytest.mark.parametrize(
    "tags,message",
    [
        ("a=1", "tags: expected a mapping of key to value or a sequence of RunTag, got str"),
        (b"a", "tags: expected a mapping of key to value or a sequence of RunTag, got bytes"),
        (5, "tags: expected a mapping of key to value or a sequence of RunTag, got int"),
        ([("a", "1")], "tags: expected RunTag items, got tuple"),
        ([RunTag("a", 1)], "tag 'a' value: expected a string, got int"),
        ([RunTag("/a", "1")], "tag key '/a': must not start with '/'"),
    ],
)
def test_run_tags_refused(tags: Any, message: str) -> None:
    with _refused(message):
        validate_run_tags(tags)


def test_run_tags_name_what_they_are() -> None:
    with _refused("experiment tags: expected RunTag items, got str"):
        validate_run_tags(["x"], "experiment tag")
    with _refused("experiment tag key '/a'"):
        validate_run_tags({"/a": "1"}, "experiment tag")


# ------------------------------------------------------------------------------------- datasets


def test_dataset_inputs_accepted() -> None:
    item = DatasetInput(_dataset(schema="{}", profile=None), {"context": "training"})
    assert validate_dataset_input(item) is item
    assert validate_dataset_inputs(None) == []
    assert validate_dataset_inputs(item) == [item]
    assert validate_dataset_inputs([item, item]) == [item, item]
    assert validate_dataset_inputs(iter([item])) == [item]


@pytest.mark.parametrize(
    "datasets,message",
    [
        ("d", "datasets: expected a sequence of DatasetInput, got str"),
        (b"d", "datasets: expected a sequence of DatasetInput, got bytes"),
        (3, "datasets: expected a sequence of DatasetInput, got int"),
        ([_dataset()], "datasets: expected DatasetInput items, got Dataset"),
        ([DatasetInput("d")], "datasets: expected DatasetInput items, got DatasetInput"),  # type: ignore[arg-type]
    ],
)
def test_dataset_inputs_refused(datasets: Any, message: str) -> None:
    with _refused(message):
        validate_dataset_inputs(datasets)


@pytest.mark.parametrize("name", sorted(DATASET_LIMITS))
def test_dataset_field_limits(name: str) -> None:
    limit = DATASET_LIMITS[name]
    validate_dataset_input(DatasetInput(_dataset(**{name: "x" * limit})))
    with _refused(f"dataset {name}: length {limit + 1} exceeds the limit of {limit} characters"):
        validate_dataset_input(DatasetInput(_dataset(**{name: "x" * (limit + 1)})))
    with _refused(f"dataset {name}: must not contain NUL characters"):
        validate_dataset_input(DatasetInput(_dataset(**{name: "a\x00"})))
    with _refused(f"dataset {name}: lone surrogate U+D800 at position 1"):
        validate_dataset_input(DatasetInput(_dataset(**{name: "a\ud800"})))
    with _refused(f"dataset {name}: expected a non-empty string"):
        validate_dataset_input(DatasetInput(_dataset(**{name: 5})))


@pytest.mark.parametrize("name", ["source", "schema", "profile"])
def test_dataset_text_fields_are_limited_in_bytes(name: str) -> None:
    # 16,384 four-byte characters: within the 65,535-character limit, 65,536 bytes in UTF-8
    with _refused(f"dataset {name}: 65536 bytes in UTF-8 exceed the limit of {MAX_TEXT_BYTES} bytes"):
        validate_dataset_input(DatasetInput(_dataset(**{name: "\U0001f600" * 16_384})))


def test_dataset_required_and_optional_fields() -> None:
    for name in ("name", "digest", "source_type", "source"):
        for empty in ("", None):
            with _refused(f"dataset {name}: expected a non-empty string"):
                validate_dataset_input(DatasetInput(_dataset(**{name: empty})))
    for name in ("schema", "profile"):
        validate_dataset_input(DatasetInput(_dataset(**{name: None})))
        validate_dataset_input(DatasetInput(_dataset(**{name: ""})))


def test_dataset_input_tags() -> None:
    context = "c" * MAX_DATASET_CONTEXT_LENGTH
    validate_dataset_input(DatasetInput(_dataset(), {"context": context}))
    with _refused(
        f"dataset input tag 'context' value: length {MAX_DATASET_CONTEXT_LENGTH + 1} exceeds the limit of "
        f"{MAX_DATASET_CONTEXT_LENGTH} characters"
    ):
        validate_dataset_input(DatasetInput(_dataset(), {"context": context + "c"}))
    with _refused("dataset input tag key '/k': must not start with '/'"):
        validate_dataset_input(DatasetInput(_dataset(), {"/k": "v"}))
    with _refused("dataset input tags: expected a mapping of key to value"):
        validate_dataset_input(DatasetInput(_dataset(), ["k"]))  # type: ignore[arg-type]


def test_dataset_input_tags_are_limited_as_json() -> None:
    # nine tags of 7,990 characters: 71,910 characters, more than 65,535 bytes as JSON
    tags = {f"k{i}": "v" * 7_990 for i in range(9)}
    with _refused(f"bytes as JSON exceed the limit of {MAX_TEXT_BYTES} bytes") as info:
        validate_dataset_input(DatasetInput(_dataset(), tags))
    assert str(info.value).startswith("dataset input tags: ")
    # eight of them: 63,920 characters, within the limit however they are counted
    validate_dataset_input(DatasetInput(_dataset(), {f"k{i}": "v" * 7_990 for i in range(8)}))
    # short tags whose estimate (six bytes a character) is over the limit but whose JSON is not
    validate_dataset_input(DatasetInput(_dataset(), {f"k{i}": "v" * 7_000 for i in range(2)}))


# ------------------------------------------------------------------------------------ model ids


def test_model_ids() -> None:
    assert validate_model_id("m-" + "a" * (MAX_MODEL_ID_LENGTH - 2)) == "m-" + "a" * (MAX_MODEL_ID_LENGTH - 2)
    for bad in ("m-" + "a" * (MAX_MODEL_ID_LENGTH - 1), "m-", "x-1", "m-a/b", 5, None):
        with _refused(f"is not a logged model id ('m-' and letters/digits, at most {MAX_MODEL_ID_LENGTH} characters)"):
            validate_model_id(bad)
    with _refused("model_id 'x-1': is not"):
        validate_model_id("x-1")


def test_logged_model_text() -> None:
    assert validate_logged_model_text(None, "name") is None
    text = "n" * MAX_LOGGED_MODEL_TEXT_LENGTH
    assert validate_logged_model_text(text, "name") == text
    for bad in ("", text + "n", 5):
        with _refused(f"logged model model_type: expected a string of 1..{MAX_LOGGED_MODEL_TEXT_LENGTH} characters"):
            validate_logged_model_text(bad, "model_type")


# ---------------------------------------------------------------------------- model version sources


@pytest.mark.parametrize(
    "source",
    [
        "s3://bucket/path/model",
        "/abs/local/model",
        f"runs:/{RUN_ID}/model",
        f"runs:///{RUN_ID}/a/b",
        f"RUNS:/{RUN_ID.upper()}/model",
        f"runs:/{RUN_ID}",
        "models:/name/3",
        "models:/name/champion/",
        "models:/m-0123",
        "file:///x/a..b",
    ],
)
def test_artifact_sources_accepted(source: str) -> None:
    assert validate_artifact_source(source) == source


@pytest.mark.parametrize(
    "source,message",
    [
        ("", "source: expected a non-empty string"),
        (None, "source: expected a non-empty string"),
        ("s3://b/\x00", "source: must not contain NUL characters"),
        ("s3://b/\x07", "source: must not contain control characters"),
        ("s3://b/\ud800", "source: lone surrogate U+D800"),
        ("runs:/notarunid/model", "expected runs:/<run_id>/<path>"),
        ("runs:/", "expected runs:/<run_id>/<path>"),
        (f"runs:/{RUN_ID}/../x", "must not contain '..' segments"),
        (f"runs:/{RUN_ID}/%2e%2e/x", "must not contain '..' segments"),
        ("models:/a/b/c", "expected models:/<name>/<version or alias> or models:/<model id>"),
        ("Models:/", "expected models:/<name>/<version or alias> or models:/<model id>"),
        ("s3://b/../x", "must not contain '..' path segments"),
        ("s3://b/%2E%2E/x", "must not contain '..' path segments"),
        ("C:\\a\\..\\b", "must not contain '..' path segments"),
        ("s3://b//..//x", "must not contain '..' path segments"),
    ],
)
def test_artifact_sources_refused(source: Any, message: str) -> None:
    with _refused(message):
        validate_artifact_source(source)


def test_artifact_source_names_its_field() -> None:
    with _refused("model source 'models:/a/b/c': expected"):
        validate_artifact_source("models:/a/b/c", "model source")
    with _refused("model source 'runs:/x/m': expected runs:/<run_id>/<path>"):
        validate_artifact_source("runs:/x/m", "model source")
    with _refused("model source 'a/../b': must not contain '..' segments"):
        validate_artifact_source(f"runs:/{RUN_ID}/a/../b", "model source")


def test_model_version_source() -> None:
    assert validate_model_version_source("s3://b/m") == ("s3://b/m", None, None)
    assert validate_model_version_source("s3://b/m", RUN_ID, "m-1") == ("s3://b/m", RUN_ID, "m-1")
    with _refused("source: expected a non-empty string"):
        validate_model_version_source("")
    with _refused("source: 65536 bytes in UTF-8 exceed the limit of 65535 bytes"):
        validate_model_version_source("s3://abc" + "\U0001f600" * 16_382)
    with _refused("run_id 'nope': must be 32 lowercase hexadecimal characters"):
        validate_model_version_source("s3://b/m", "nope")
    message = f"model_id: expected a non-empty string of at most {MAX_MODEL_ID_LENGTH} characters"
    for bad in ("", "m" * (MAX_MODEL_ID_LENGTH + 1), 5):
        with _refused(message):
            validate_model_version_source("s3://b/m", None, bad)
    assert validate_model_version_source("s3://b/m", None, "m" * MAX_MODEL_ID_LENGTH)[2] == "m" * MAX_MODEL_ID_LENGTH


# ------------------------------------------------------------------------------------ artifact paths


def test_artifact_path_names_its_field_and_keeps_dots_in_names() -> None:
    with _refused("path: expected a string, got int"):
        validate_artifact_path(5, "path")
    with _refused("dst: must not contain NUL bytes"):
        validate_artifact_path("a\x00", "dst")
    assert validate_artifact_path("a//./b/") == "a/b"
    assert validate_artifact_path("./.") == ""
    assert validate_artifact_path("a/.hidden/b.c") == "a/.hidden/b.c"
    assert validate_artifact_path("XXXX/a") == "XXXX/a"
