"""Unit tests of the in-process evaluator, LIKE matcher and ordering."""

from __future__ import annotations

import json
import math
import random
import time

import pytest

from storekit.entities import RunStatus
from storekit.errors import InvalidParameterError
from storekit.search import (
    MODEL_VERSION_SCHEMA,
    RUN_SCHEMA,
    Identifier,
    Kind,
    OrderKey,
    ValueType,
    evaluate,
    parse_filter,
    parse_order_by,
    sort_entities,
)
from storekit.search.evaluator import compare_order_values, is_after, like_match, order_values

NAN, INF = math.nan, math.inf


def getter(values: dict):
    """A ``get`` for a dict keyed by ``"kind.key"`` strings."""
    return lambda ident: values.get(f"{ident.kind.value}.{ident.key}")


def holds(text: str, values: dict, schema=RUN_SCHEMA) -> bool:
    return evaluate(parse_filter(text, schema), getter(values))


# ------------------------------------------------------------ LIKE


@pytest.mark.parametrize(
    "value, pattern, expected",
    [
        ("abc", "abc", True),
        ("abc", "ab", False),
        ("abc", "a%", True),
        ("abc", "%c", True),
        ("abc", "%b%", True),
        ("abc", "a_c", True),
        ("abc", "a_", False),
        ("abc", "___", True),
        ("", "%", True),
        ("", "_", False),
        ("", "", True),
        ("a", "", False),
        ("aXbXc", "a%b%c", True),
        ("ab", "a%b%c", False),
        ("aa", "a%a", True),
        ("a", "a%a", False),
        ("a%b", "a%b", True),
        ("a.b", "a.b", True),
        ("axb", "a.b", False),
        ("a*b", "a*b", True),
        ("a\nb", "a_b", True),
        ("a\\b", "a\\b", True),
        ("a\\b", "a\\_", True),
        ("a_b", "a\\_b", False),
        ("[x]", "[x]", True),
        ("x", "[x]", False),
        ("ünï", "_n_", True),
        ("abcabc", "%abc", True),
    ],
)
def test_like(value, pattern, expected):
    assert like_match(value, pattern, False) is expected


def test_like_is_case_sensitive_and_ilike_is_not():
    assert not like_match("ABC", "abc", False)
    assert like_match("ABC", "abc", True)
    assert like_match("Straße", "STRASSE", True) is False  # lower(), not casefold()
    assert like_match("ÄBC", "äb%", True)


def test_like_has_no_backtracking_blowup():
    start = time.perf_counter()
    assert not like_match("a" * 20_000, "%a" * 200 + "%b", False)
    assert time.perf_counter() - start < 1.0


# ------------------------------------------------------------ comparisons


NUMBERS = {"metrics.m": 2.0, "attributes.start_time": 1000}


@pytest.mark.parametrize(
    "text, expected",
    [
        ("metrics.m = 2", True),
        ("metrics.m = 3", False),
        ("metrics.m != 3", True),
        ("metrics.m != 2", False),
        ("metrics.m < 3", True),
        ("metrics.m < 2", False),
        ("metrics.m <= 2", True),
        ("metrics.m <= 1", False),
        ("metrics.m > 1", True),
        ("metrics.m > 2", False),
        ("metrics.m >= 2", True),
        ("metrics.m >= 3", False),
        ("metrics.m < Infinity", True),
        ("metrics.m > -inf", True),
        ("start_time = 1000", True),
        ("start_time > 999.5", True),
        ("start_time < 1e3", False),
        ("metrics.m IS NOT NULL", True),
        ("metrics.m IS NULL", False),
    ],
)
def test_numeric_comparisons(text, expected):
    assert holds(text, NUMBERS) is expected


@pytest.mark.parametrize("op", ["=", "<", "<=", ">", ">="])
def test_nan_satisfies_only_not_equal(op):
    for literal in ("1", "NaN", "Infinity", "-Infinity"):
        assert holds(f"metrics.m {op} {literal}", {"metrics.m": NAN}) is False
        assert holds(f"metrics.m {op} NaN", {"metrics.m": 1.0}) is False
    assert holds("metrics.m != NaN", {"metrics.m": NAN}) is True
    assert holds("metrics.m != 1", {"metrics.m": NAN}) is True
    assert holds("metrics.m != NaN", {"metrics.m": 1.0}) is True


def test_infinities_compare_as_doubles():
    assert holds("metrics.m = Infinity", {"metrics.m": INF})
    assert holds("metrics.m > 1e308", {"metrics.m": INF})
    assert holds("metrics.m < -1e308", {"metrics.m": -INF})
    assert not holds("metrics.m = Infinity", {"metrics.m": -INF})


def test_numeric_attribute_given_as_string_compares_numerically():
    assert holds("version = 10", {"attributes.version": "10"}, MODEL_VERSION_SCHEMA)
    assert holds("version > 9", {"attributes.version": "10"}, MODEL_VERSION_SCHEMA)  # not "10" < "9"
    assert not holds("version > 9", {"attributes.version": "garbage"}, MODEL_VERSION_SCHEMA)


STRINGS = {"params.p": "Alpha", "tags.t": "x y", "attributes.status": RunStatus.FINISHED}


@pytest.mark.parametrize(
    "text, expected",
    [
        ("params.p = 'Alpha'", True),
        ("params.p = 'alpha'", False),
        ("params.p != 'alpha'", True),
        ("params.p != 'Alpha'", False),
        ("params.p LIKE 'Al%'", True),
        ("params.p LIKE 'al%'", False),
        ("params.p ILIKE 'al%'", True),
        ("params.p ILIKE 'AL_HA'", True),
        ("params.p ILIKE 'al'", False),
        ("params.p IN ('x', 'Alpha')", True),
        ("params.p IN ('alpha')", False),
        ("params.p NOT IN ('alpha')", True),
        ("params.p NOT IN ('Alpha', 'b')", False),
        ("params.p IS NOT NULL", True),
        ("params.p IS NULL", False),
        ("tags.t = 'x y'", True),
        ("status = 'FINISHED'", True),
        ("status LIKE 'FIN%'", True),
        ("status IN ('RUNNING', 'FINISHED')", True),
        ("status = 'finished'", False),
    ],
)
def test_string_comparisons(text, expected):
    assert holds(text, STRINGS) is expected


@pytest.mark.parametrize(
    "text",
    [
        "metrics.x = 1",
        "metrics.x != 1",
        "metrics.x < 1",
        "metrics.x >= 1",
        "metrics.x != NaN",
        "params.x = 'a'",
        "params.x != 'a'",
        "params.x LIKE '%'",
        "params.x ILIKE '%'",
        "params.x IN ('a')",
        "params.x NOT IN ('a')",
        "params.x IS NOT NULL",
        "end_time > 0",
    ],
)
def test_comparison_on_missing_value_is_false(text):
    assert holds(text, {}) is False


@pytest.mark.parametrize(
    "text",
    [
        "NOT metrics.x = 1",
        "NOT params.x != 'a'",
        "params.x IS NULL",
        "metrics.x IS NULL",
        "NOT params.x NOT IN ('a')",
        "NOT params.x LIKE '%'",
    ],
)
def test_not_inverts_a_false_comparison_on_missing(text):
    assert holds(text, {}) is True


# ------------------------------------------------------------ boolean logic


@pytest.mark.parametrize(
    "text, expected",
    [
        ("metrics.m = 2 AND params.p = 'Alpha'", True),
        ("metrics.m = 2 AND params.p = 'x'", False),
        ("metrics.m = 3 OR params.p = 'Alpha'", True),
        ("metrics.m = 3 OR params.p = 'x'", False),
        ("NOT metrics.m = 3", True),
        ("metrics.m = 3 AND params.p = 'x' OR tags.t = 'x y'", True),
        ("metrics.m = 3 AND (params.p = 'x' OR tags.t = 'x y')", False),
        ("NOT (metrics.m = 3 OR params.p = 'x')", True),
    ],
)
def test_boolean_logic(text, expected):
    assert holds(text, {**NUMBERS, **STRINGS}) is expected


def test_no_filter_matches_everything():
    assert evaluate(None, getter({})) is True


def test_evaluate_refuses_non_expressions():
    with pytest.raises(TypeError):
        evaluate("metrics.a > 1", getter({}))  # type: ignore[arg-type]


# ------------------------------------------------------------ datasets


DATASETS = {"datasets.name": ("train", "eval"), "datasets.context": ("training", "evaluation")}


@pytest.mark.parametrize(
    "text, expected",
    [
        ("datasets.name = 'eval'", True),
        ("datasets.name = 'test'", False),
        ("datasets.name != 'train'", True),  # any input whose name is not 'train'
        ("datasets.name IN ('x', 'train')", True),
        ("datasets.name NOT IN ('train', 'eval')", False),
        ("datasets.context LIKE 'eval%'", True),
        ("datasets.context ILIKE 'TRAIN%'", True),
        ("datasets.digest = 'x'", False),
        ("datasets.digest IS NULL", True),
        ("datasets.name IS NOT NULL", True),
        ("NOT datasets.name = 'train'", False),
    ],
)
def test_dataset_any_match(text, expected):
    assert holds(text, DATASETS) is expected


def test_empty_dataset_tuple_is_missing():
    assert holds("datasets.name IS NULL", {"datasets.name": ()})
    assert not holds("datasets.name != 'x'", {"datasets.name": ()})


# ------------------------------------------------------------ ordering


def run_values(items):
    return lambda item, ident: item.get(f"{ident.kind.value}.{ident.key}")


def ids(items):
    return [item["attributes.run_id"] for item in items]


ROWS = [
    {"attributes.run_id": "a", "metrics.m": 2.0, "params.p": "b", "attributes.start_time": 3},
    {"attributes.run_id": "b", "metrics.m": NAN, "params.p": "a", "attributes.start_time": 1},
    {"attributes.run_id": "c", "params.p": "B", "attributes.start_time": 2},
    {"attributes.run_id": "d", "metrics.m": -INF, "attributes.start_time": 2},
    {"attributes.run_id": "e", "metrics.m": 10.0, "params.p": "a", "attributes.start_time": 5},
]


def test_sort_numeric_ascending_nan_then_missing_last():
    keys = parse_order_by(["metrics.m ASC"])
    assert ids(sort_entities(ROWS, keys, run_values(ROWS))) == ["d", "a", "e", "b", "c"]


def test_sort_numeric_descending_nan_then_missing_still_last():
    keys = parse_order_by(["metrics.m DESC"])
    assert ids(sort_entities(ROWS, keys, run_values(ROWS))) == ["e", "a", "d", "b", "c"]


def test_sort_strings_by_code_point_with_tie_breaker():
    keys = parse_order_by(["params.p"])
    assert ids(sort_entities(ROWS, keys, run_values(ROWS))) == ["c", "b", "e", "a", "d"]
    keys = parse_order_by(["params.p DESC"])
    assert ids(sort_entities(ROWS, keys, run_values(ROWS))) == ["a", "b", "e", "c", "d"]


def test_sort_default_order_is_start_time_desc_then_run_id():
    keys = parse_order_by(None)
    assert ids(sort_entities(ROWS, keys, run_values(ROWS))) == ["e", "a", "c", "d", "b"]


def test_sort_multiple_keys():
    keys = parse_order_by(["attributes.start_time ASC", "params.p DESC"])
    assert ids(sort_entities(ROWS, keys, run_values(ROWS))) == ["b", "c", "d", "a", "e"]


def test_order_values_are_json_and_encode_special_numbers():
    keys = parse_order_by(["metrics.m DESC", "params.p"])
    encoded = [order_values(row, keys, run_values(ROWS)) for row in ROWS]
    assert encoded[1] == ["NaN", "a", "b"]
    assert encoded[2] == [None, "B", "c"]
    assert encoded[3] == ["-Infinity", None, "d"]
    assert json.loads(json.dumps(encoded, allow_nan=False)) == encoded
    start = order_values(ROWS[0], parse_order_by(None), run_values(ROWS))
    assert start == [3, "a"] and isinstance(start[0], int)


@pytest.mark.parametrize(
    "order",
    [
        ["metrics.m ASC"],
        ["metrics.m DESC"],
        ["params.p DESC", "metrics.m"],
        None,
        ["attributes.start_time", "params.p"],
    ],
)
def test_is_after_agrees_with_sort(order):
    keys = parse_order_by(order)
    get = run_values(ROWS)
    ordered = sort_entities(ROWS, keys, get)
    encoded = [json.loads(json.dumps(order_values(row, keys, get))) for row in ordered]
    for i, cursor in enumerate(encoded):
        after = [row for row, values in zip(ordered, encoded) if is_after(values, cursor, keys)]
        assert after == ordered[i + 1 :]
        assert compare_order_values(cursor, cursor, keys) == 0


def test_sort_matches_comparator_on_random_data():
    rng = random.Random(7)
    choices = [None, NAN, INF, -INF, 0.0, -0.0, 1.0, -2.5, 3]
    rows = [
        {
            "attributes.run_id": f"{i:04x}",
            "metrics.m": rng.choice(choices),
            "params.p": rng.choice([None, "", "a", "B", "é", "aa"]),
        }
        for i in range(200)
    ]
    for order in (["metrics.m"], ["metrics.m DESC", "params.p"], ["params.p DESC"]):
        keys = parse_order_by(order)
        get = run_values(rows)
        ordered = sort_entities(rows, keys, get)
        values = [order_values(row, keys, get) for row in ordered]
        for earlier, later in zip(values, values[1:]):
            assert is_after(later, earlier, keys)


@pytest.mark.parametrize(
    "values, cursor",
    [
        (["x", "a"], ["NaN", "a"]),  # a string in a numeric slot
        ([1, 2], [1, "a"]),  # a number in a string slot
        ([1], [1, "a"]),  # wrong length
        ([True, "a"], [1, "a"]),  # booleans are not numbers
    ],
)
def test_bad_cursor_values_raise_invalid_parameter(values, cursor):
    keys = parse_order_by(None)
    with pytest.raises(InvalidParameterError, match="page_token"):
        is_after(values, cursor, keys)


def test_sort_is_fast_enough_for_thousands_of_runs():
    rng = random.Random(1)
    rows = [
        {"attributes.run_id": f"{i:032x}", "metrics.m": rng.random(), "attributes.start_time": i} for i in range(10_000)
    ]
    keys = parse_order_by(["metrics.m DESC"])
    start = time.perf_counter()
    ordered = sort_entities(rows, keys, run_values(rows))
    assert time.perf_counter() - start < 2.0
    assert [r["metrics.m"] for r in ordered] == sorted((r["metrics.m"] for r in rows), reverse=True)


def test_identifier_value_types_drive_ordering():
    ident = Identifier(Kind.PARAM, "p", ValueType.STRING)
    rows = [{"params.p": "10"}, {"params.p": "9"}]
    ordered = sort_entities(rows, [OrderKey(ident, True)], run_values(rows))
    assert [r["params.p"] for r in ordered] == ["10", "9"]  # params are strings


def test_order_values_turn_str_enums_into_plain_strings():
    keys = [OrderKey(Identifier(Kind.ATTRIBUTE, "status", ValueType.STRING), True)]
    values = order_values({"attributes.status": RunStatus.FINISHED}, keys, run_values([]))
    assert values == ["FINISHED"] and type(values[0]) is str
