"""Every contract limit at and past its edge (storekit.validation).

Each refusal is an ``InvalidParameterError`` (also a ``ValueError``) whose
message names the field and, where there is one, the limit.
"""

from __future__ import annotations

import math

import pytest

from storekit.entities import Metric, Param, RunTag
from storekit.errors import InvalidParameterError
from storekit.validation import (
    MAX_ALIAS_LENGTH,
    MAX_EXPERIMENT_NAME_LENGTH,
    MAX_KEY_LENGTH,
    MAX_METRICS_PER_BATCH,
    MAX_PARAM_VALUE_LENGTH,
    MAX_PARAMS_PER_BATCH,
    MAX_TAG_VALUE_LENGTH,
    MAX_TAGS_PER_BATCH,
    validate_alias,
    validate_artifact_path,
    validate_batch,
    validate_experiment_id,
    validate_experiment_name,
    validate_key,
    validate_max_results,
    validate_metric,
    validate_model_name,
    validate_param,
    validate_run_id,
    validate_run_name,
    validate_tag,
    validate_tags,
    validate_version,
)


def test_limits_are_the_contract_values() -> None:
    assert (MAX_KEY_LENGTH, MAX_PARAM_VALUE_LENGTH, MAX_TAG_VALUE_LENGTH) == (250, 6000, 8000)
    assert MAX_EXPERIMENT_NAME_LENGTH == 500 and MAX_ALIAS_LENGTH == 255
    assert (MAX_METRICS_PER_BATCH, MAX_PARAMS_PER_BATCH, MAX_TAGS_PER_BATCH) == (1000, 100, 100)


def _refused(match: str):
    return pytest.raises(InvalidParameterError, match=match)


# --- keys --------------------------------------------------------------------------


def test_key_length_edge() -> None:
    assert validate_key("k" * 250) == "k" * 250
    with _refused(r"metric key .*length 251 exceeds the limit of 250 characters"):
        validate_key("k" * 251, "metric key")


@pytest.mark.parametrize("key", ["a", "loss/val", "a.b-c d:e", "ünïcode_ok", "x/..y", "..a"])
def test_valid_keys(key: str) -> None:
    assert validate_key(key) == key


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        ("", "must not be empty"),
        ("/abs", "must not start with '/'"),
        ("a/../b", r"'\.\.' path segment"),
        ("..", r"'\.\.' path segment"),
        ("a\\b", "may contain only"),
        ("a\x00b", "may contain only"),
        ("semi;colon", "may contain only"),
        ("new\nline", "may contain only"),
    ],
)
def test_invalid_keys_name_the_field(key: str, reason: str) -> None:
    with _refused(f"param key.*{reason}"):
        validate_key(key, "param key")


def test_key_must_be_a_string() -> None:
    with _refused("tag key: expected a string, got int"):
        validate_key(3, "tag key")


def test_invalid_parameter_error_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        validate_key("")


# --- values --------------------------------------------------------------------------


def test_param_value_edge() -> None:
    assert validate_param(Param("p", "v" * 6000)).value == "v" * 6000
    with _refused(r"param 'p' value: length 6001 exceeds the limit of 6000 characters"):
        validate_param(Param("p", "v" * 6001))


def test_param_value_must_be_str_without_nul() -> None:
    with _refused("param 'p' value: expected a string"):
        validate_param(Param("p", 5))  # type: ignore[arg-type]
    with _refused("param 'p' value: must not contain NUL"):
        validate_param(Param("p", "a\x00"))


def test_tag_value_edge() -> None:
    validate_tag("t", "v" * 8000)
    with _refused(r"tag 't' value: length 8001 exceeds the limit of 8000 characters"):
        validate_tag("t", "v" * 8001)
    with _refused(r"experiment tag 't' value: length 8001 exceeds the limit of 8000"):
        validate_tags({"t": "v" * 8001}, what="experiment tag")


def test_validate_tags_mapping() -> None:
    assert validate_tags(None) == {}
    assert validate_tags({"a": "1"}) == {"a": "1"}
    with _refused("tags: expected a mapping"):
        validate_tags([("a", "1")])  # type: ignore[arg-type]


# --- metrics --------------------------------------------------------------------------


@pytest.mark.parametrize("value", [0.5, 3, -1e308, math.nan, math.inf, -math.inf])
def test_metric_values_accepted(value: float) -> None:
    assert validate_metric(Metric("m", value, 0, 0)).key == "m"


@pytest.mark.parametrize(
    ("metric", "message"),
    [
        (Metric("m", "0.5", 0, 0), "metric 'm' value: expected a number, got str"),  # type: ignore[arg-type]
        (Metric("m", True, 0, 0), "metric 'm' value: expected a number, got bool"),
        (Metric("m", 1.0, 1.5, 0), "metric 'm' timestamp: expected an integer, got float"),  # type: ignore[arg-type]
        (Metric("m", 1.0, 0, 2**63), r"metric 'm' step: 9223372036854775808 is outside"),
        (Metric("/m", 1.0, 0, 0), "metric key '/m': must not start with '/'"),
    ],
)
def test_metric_refusals(metric: Metric, message: str) -> None:
    with _refused(message):
        validate_metric(metric)


def test_metric_step_edges() -> None:
    validate_metric(Metric("m", 1.0, 0, 2**63 - 1))
    validate_metric(Metric("m", 1.0, 0, -(2**63)))


# --- batches ---------------------------------------------------------------------------


def test_batch_count_edges() -> None:
    metrics = [Metric("m", 1.0, 0, i) for i in range(1000)]
    params = [Param(f"p{i}", "v") for i in range(100)]
    tags = [RunTag(f"t{i}", "v") for i in range(100)]
    validate_batch(metrics, params, tags)
    with _refused("log_batch metrics: 1001 items exceed the limit of 1000 per batch"):
        validate_batch(metrics + [Metric("m", 1.0, 0, 1000)])
    with _refused("log_batch params: 101 items exceed the limit of 100 per batch"):
        validate_batch(params=params + [Param("p100", "v")])
    with _refused("log_batch tags: 101 items exceed the limit of 100 per batch"):
        validate_batch(tags=tags + [RunTag("t100", "v")])


def test_batch_param_conflict_names_key_and_values() -> None:
    validate_batch(params=[Param("lr", "0.1"), Param("lr", "0.1")])
    with _refused(r"param 'lr'.*'0\.1' and '0\.2'"):
        validate_batch(params=[Param("lr", "0.1"), Param("lr", "0.2")])


def test_batch_item_types() -> None:
    with _refused("tag: expected a RunTag, got tuple"):
        validate_batch(tags=[("a", "b")])  # type: ignore[list-item]
    with _refused("param: expected a Param, got dict"):
        validate_batch(params=[{"a": "b"}])  # type: ignore[list-item]


# --- names ------------------------------------------------------------------------------


def test_experiment_name_edge() -> None:
    assert validate_experiment_name("e" * 500) == "e" * 500
    with _refused(r"experiment name: length 501 exceeds the limit of 500 characters"):
        validate_experiment_name("e" * 501)
    with _refused("experiment name: must not be empty"):
        validate_experiment_name("  ")
    with _refused("experiment name: must not contain control characters"):
        validate_experiment_name("a\tb")


def test_run_and_model_names() -> None:
    assert validate_run_name(None) is None
    assert validate_run_name("r" * 500) == "r" * 500
    with _refused(r"run name: length 501 exceeds the limit of 500"):
        validate_run_name("r" * 501)
    assert validate_model_name("m" * 500) == "m" * 500
    with _refused(r"registered model name: length 501 exceeds the limit of 500"):
        validate_model_name("m" * 501)
    with _refused("registered model name 'a/b': must not contain '/'"):
        validate_model_name("a/b")


# --- aliases -------------------------------------------------------------------------------


def test_alias_edges() -> None:
    assert validate_alias("a" * 255) == "a" * 255
    assert validate_alias("champion-2_b") == "champion-2_b"
    assert validate_alias("version2") == "version2"
    with _refused(r"alias: length 256 is outside 1\.\.255 characters"):
        validate_alias("a" * 256)
    with _refused(r"alias: length 0 is outside 1\.\.255 characters"):
        validate_alias("")


@pytest.mark.parametrize("alias", ["latest", "LATEST", "v1", "V42"])
def test_reserved_aliases(alias: str) -> None:
    with _refused(f"alias '{alias}': 'latest' and 'v<digits>' are reserved"):
        validate_alias(alias)


@pytest.mark.parametrize("alias", ["a.b", "a b", "a/b", "x:y"])
def test_alias_characters(alias: str) -> None:
    with _refused("alias .*may contain only letters, digits, underscores and dashes"):
        validate_alias(alias)


# --- ids, versions, max_results ------------------------------------------------------------


def test_run_ids() -> None:
    assert validate_run_id("0" * 32) == "0" * 32
    assert validate_run_id("0123456789abcdef" * 2)
    for bad in ("0" * 31, "0" * 33, "A" * 32, "g" * 32, "0" * 31 + "-"):
        with _refused("run_id .*: must be 32 lowercase hexadecimal characters"):
            validate_run_id(bad)
    with _refused("run_id: expected a string, got NoneType"):
        validate_run_id(None)


def test_experiment_ids() -> None:
    assert validate_experiment_id(7) == "7"
    assert validate_experiment_id("x" * 64) == "x" * 64
    for bad in ("", "x" * 65, "a/b", "..", "a\nb"):
        with _refused("experiment_id .*is not a valid id"):
            validate_experiment_id(bad)


def test_versions() -> None:
    assert validate_version(3) == "3"
    assert validate_version("007") == "7"
    for bad in ("0", "-1", "1.5", "x", "١"):
        with _refused("version .*must be a positive integer"):
            validate_version(bad)


def test_max_results_edges() -> None:
    assert validate_max_results(None) == 1000
    assert validate_max_results(1) == 1
    assert validate_max_results(50_000) == 50_000
    with _refused("max_results: 50001 exceeds the limit of 50000"):
        validate_max_results(50_001)
    with _refused(r"max_results: 0 is outside \[1, "):
        validate_max_results(0)


# --- artifact paths ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "normalised"),
    [
        (None, ""),
        ("", ""),
        (".", ""),
        ("a/b/c", "a/b/c"),
        ("a//b/./c/", "a/b/c"),
        ("a\\b", "a/b"),
        ("dir/..hidden", "dir/..hidden"),
    ],
)
def test_artifact_paths_normalised(path: "str | None", normalised: str) -> None:
    assert validate_artifact_path(path) == normalised


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/etc/passwd", "must be relative to the artifact root"),
        ("\\\\server\\share", "must be relative to the artifact root"),
        ("C:\\x", "must be relative to the artifact root"),
        ("c:x", "must be relative to the artifact root"),
        ("../x", r"must not contain '\.\.' segments"),
        ("a/../../x", r"must not contain '\.\.' segments"),
        ("a\\..\\x", r"must not contain '\.\.' segments"),
        ("a\x00b", "must not contain NUL bytes"),
    ],
)
def test_artifact_paths_refused(path: str, reason: str) -> None:
    with _refused(f"artifact_path.*{reason}"):
        validate_artifact_path(path)
