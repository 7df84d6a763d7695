"""The edges of storekit.validation that the mutation run of the ``validation`` module found unguarded.

Each case here failed on a surviving mutant (docs/mutation.md): the int64 limits reached through an
integer type other than ``int``, refusals inside ``log_batch`` that the whole-batch fast path must
not wave through (NUL bytes, non-string keys and values, items that are no Metric), the field each
message names, the type it reports, and where a long value is cut in a message.
"""

from __future__ import annotations

import json
import re
import secrets
from typing import Any

import pytest

from storekit.entities import Dataset, DatasetInput, Metric, Param, RunTag
from storekit.errors import InvalidParameterError
from storekit.validation import (
    MAX_TEXT_BYTES,
    coerce_metric_value,
    plain_metric_columns_valid,
    validate_alias,
    validate_artifact_location,
    validate_artifact_path,
    validate_artifact_source,
    validate_batch,
    validate_dataset_input,
    validate_experiment_id,
    validate_experiment_name,
    validate_key,
    validate_metric,
    validate_model_id,
    validate_param,
    validate_run_id,
    validate_run_name,
    validate_run_tags,
    validate_version,
)

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def _message(call: Any, *args: Any, **kwargs: Any) -> str:
    with pytest.raises(InvalidParameterError) as info:
        call(*args, **kwargs)
    return str(info.value)


# ------------------------------------------------------------------------------- integers and metrics


class Step(int):
    """An integer that is not exactly ``int`` (like numpy's or an ``IntEnum``): the checks' slow path."""


def test_integer_subclass_steps_and_timestamps_at_the_int64_limits_are_accepted() -> None:
    for low, high in ((Step(INT64_MIN), Step(INT64_MAX)), (INT64_MIN, INT64_MAX)):
        metric = Metric("m", 1.0, low, high)
        assert validate_metric(metric) is metric
        validate_batch([metric, Metric("m", 2.0, high, low)])
    assert _message(validate_metric, Metric("m", 1.0, Step(INT64_MAX + 1), 0)) == (
        f"metric 'm' timestamp: {INT64_MAX + 1} is outside [{INT64_MIN}, {INT64_MAX}]"
    )


def test_bulk_metric_columns_accept_the_int64_limits_themselves() -> None:
    assert plain_metric_columns_valid(["a", "b"], [1.0, 2.0], [INT64_MIN, 0], [INT64_MAX, INT64_MIN], [None, None])
    assert not plain_metric_columns_valid(["a"], [1.0], [0], [INT64_MIN - 1], [None])


def test_a_number_too_large_for_a_double_is_cut_at_forty_digits_in_the_message() -> None:
    assert _message(coerce_metric_value, 10**400, "loss") == (
        "metric 'loss' value: 1" + "0" * 39 + "... is too large for a 64-bit float"
    )


def test_validate_metric_names_what_it_got_instead_of_a_metric() -> None:
    assert _message(validate_metric, ("m", 1.0, 0, 0)) == "metric: expected a Metric, got tuple"


def test_batch_items_that_are_no_metric_are_refused_not_crashed_on() -> None:
    for items in (["loss"], [Metric("m", 1.0, 0, 0), ("m", 1.0, 0, 0)]):
        assert _message(validate_batch, items) in (
            "metric: expected a Metric, got str",
            "metric: expected a Metric, got tuple",
        )


# ------------------------------------------------------------------------------------ params and tags


def test_param_key_refusals_name_the_param_key_field() -> None:
    assert _message(validate_param, Param("/p", "v")) == "param key '/p': must not start with '/'"


@pytest.mark.parametrize(
    "params, message",
    [
        ([Param("p", "a\x00b")], "param 'p' value: must not contain NUL characters"),
        ([Param("ok", "1"), Param("p", "\x00")], "param 'p' value: must not contain NUL characters"),
        ([Param(7, "v")], "param key: expected a string, got int"),  # type: ignore[arg-type]
        ([Param("p", 5)], "param 'p' value: expected a string, got int"),  # type: ignore[arg-type]
    ],
)
def test_batch_params_the_fast_path_must_not_accept(params: list[Param], message: str) -> None:
    assert _message(validate_batch, params=params) == message


@pytest.mark.parametrize(
    "tags, message",
    [
        ([RunTag("t", "a\x00")], "tag 't' value: must not contain NUL characters"),
        ([RunTag(7, "v")], "tag key: expected a string, got int"),  # type: ignore[arg-type]
        ([RunTag("t", 5)], "tag 't' value: expected a string, got int"),  # type: ignore[arg-type]
    ],
)
def test_batch_tags_the_fast_path_must_not_accept(tags: list[RunTag], message: str) -> None:
    assert _message(validate_batch, tags=tags) == message


def test_create_run_tags_given_as_runtags_name_what_they_are() -> None:
    assert _message(validate_run_tags, [RunTag("/k", "v")], "run tag") == "run tag key '/k': must not start with '/'"


# ---------------------------------------------------------------------------------- names and ids


def test_names_report_the_field_and_the_type_they_got() -> None:
    assert _message(validate_experiment_name, 5) == "experiment name: expected a string, got int"
    assert _message(validate_run_name, "a\udc00") == (
        "run name: lone surrogate U+DC00 at position 1 is not valid Unicode text"
    )
    assert _message(validate_alias, 5) == "alias: expected a string, got int"


def test_long_ids_are_cut_in_messages() -> None:
    assert _message(validate_run_id, "g" * 100) == f"run_id {'g' * 64!r}: must be 32 lowercase hexadecimal characters"
    assert _message(validate_experiment_id, "x" * 100) == f"experiment_id {'x' * 64!r}: is not a valid id"
    assert _message(validate_version, "x" * 100) == f"version {'x' * 40!r}: must be a positive integer"
    assert _message(validate_model_id, "x" * 100).startswith(f"model_id {'x' * 80!r}: is not a logged model id")
    source = "runs:/" + "x" * 300
    assert _message(validate_artifact_source, source) == f"source {source[:200]!r}: expected runs:/<run_id>/<path>"


def test_experiment_ids_refuse_booleans_none_and_a_leading_surrogate() -> None:
    assert _message(validate_experiment_id, True) == "experiment_id: expected a string, got bool"
    assert _message(validate_experiment_id, None) == "experiment_id: expected a string, got NoneType"
    for bad in ("\ud800", "\udfff1", "1\ud800"):
        assert _message(validate_experiment_id, bad).endswith(": is not a valid id")


def test_versions_start_at_one_and_refuse_what_is_no_string_or_int() -> None:
    assert validate_version(1) == "1" and validate_version("1") == "1"
    assert _message(validate_version, None) == "version: expected a string, got NoneType"
    assert _message(validate_version, 1.0) == "version: expected a string, got float"
    assert _message(validate_version, True) == "version: expected a string, got bool"


# ------------------------------------------------------------------------------- locations and paths


def test_artifact_location_refusals_are_worded_exactly() -> None:
    assert _message(validate_artifact_location, "") == "artifact_location: expected a non-empty string"
    assert _message(validate_artifact_location, 5) == "artifact_location: expected a non-empty string"
    assert _message(validate_artifact_location, "s3://b/\x00") == "artifact_location: must not contain NUL characters"


def test_artifact_path_names_the_artifact_path_field_by_default() -> None:
    assert re.match(r"^artifact_path '/a': must be relative", _message(validate_artifact_path, "/a"))


# ------------------------------------------------------------------------------------------------ keys


def test_key_refusals_name_the_key_field_by_default_and_are_worded_exactly() -> None:
    assert _message(validate_key, "/a") == "key '/a': must not start with '/'"
    assert _message(validate_key, "a!b") == (
        "key 'a!b': may contain only letters, digits, underscores, dashes, periods, spaces, slashes and colons"
    )
    long = "k" * 251
    assert _message(validate_key, long) == f"key {long[:40]!r}...: length 251 exceeds the limit of 250 characters"


def test_a_key_of_exactly_the_limit_is_refused_for_its_other_faults_only() -> None:
    assert _message(validate_key, "/" + "k" * 249) == f"key {'/' + 'k' * 249!r}: must not start with '/'"


def _fresh(length: int) -> str:
    """A random valid key of ``length`` CJK letters: accepted keys are remembered (also across a fork),
    so a key some earlier call accepted would not reach the checks under test."""
    return "".join(chr(0x4E00 + secrets.randbelow(20000)) for _ in range(length))


def test_bulk_metric_columns_accept_keys_of_one_character_and_of_the_limit() -> None:
    for key in (_fresh(1), _fresh(250), _fresh(3) + "/" + _fresh(3) + ":1"):
        assert plain_metric_columns_valid([key], [1.0], [0], [0], [None]), key
        assert validate_key(key) == key
    for key in (_fresh(251), _fresh(2) + "/../x", "", "/" + _fresh(2)):
        assert not plain_metric_columns_valid([key], [1.0], [0], [0], [None]), key


def test_a_refused_key_is_still_refused_the_second_time() -> None:
    for key in ("/σ", "σ/../τ", "σ!"):
        for _ in range(2):
            assert not plain_metric_columns_valid([key], [1.0], [0], [0], [None])
            with pytest.raises(InvalidParameterError):
                validate_key(key)


# ------------------------------------------------------------------------------------- sources, datasets


def test_model_sources_are_cut_at_two_hundred_characters_in_messages() -> None:
    source = "models:/" + "m/" * 150
    assert _message(validate_artifact_source, source) == (
        f"source {source[:200]!r}: expected models:/<name>/<version or alias> or models:/<model id>"
    )
    source = "s3://bucket/" + "x" * 300 + "/../y"
    assert _message(validate_artifact_source, source) == f"source {source[:200]!r}: must not contain '..' path segments"


def _tags_of_json_size(size: int) -> dict[str, str]:
    """Dataset input tags whose JSON text is exactly ``size`` bytes (each value within the tag limit)."""
    tags = {f"k{i}": "v" * 8000 for i in range(size // 8020)}
    tags["last"] = ""
    tags["last"] = "v" * (size - len(json.dumps(tags)))
    assert len(json.dumps(tags)) == size
    return tags


def test_dataset_input_tags_of_exactly_the_json_limit_are_accepted() -> None:
    dataset = Dataset(name="d", digest="abc", source_type="local", source="/data")
    item = DatasetInput(dataset, _tags_of_json_size(MAX_TEXT_BYTES))
    assert validate_dataset_input(item) is item
    assert _message(validate_dataset_input, DatasetInput(dataset, _tags_of_json_size(MAX_TEXT_BYTES + 1))) == (
        f"dataset input tags: {MAX_TEXT_BYTES + 1} bytes as JSON exceed the limit of {MAX_TEXT_BYTES} bytes"
    )
