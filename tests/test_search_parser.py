"""Unit tests of the search filter parser, order_by parser and formatter."""

from __future__ import annotations

import math
import re

import pytest

from storekit.errors import InvalidParameterError
from storekit.search import (
    EXPERIMENT_SCHEMA,
    LOGGED_MODEL_SCHEMA,
    MODEL_VERSION_SCHEMA,
    REGISTERED_MODEL_SCHEMA,
    RUN_SCHEMA,
    And,
    Comparison,
    Identifier,
    Kind,
    Not,
    Op,
    Or,
    OrderKey,
    ValueType,
    parse_filter,
    parse_order_by,
)
from storekit.search.parser import MAX_FILTER_LENGTH, MAX_NESTING, format_expr

N, S = ValueType.NUMBER, ValueType.STRING


def metric(key: str) -> Identifier:
    return Identifier(Kind.METRIC, key, N)


def param(key: str) -> Identifier:
    return Identifier(Kind.PARAM, key, S)


def tag(key: str) -> Identifier:
    return Identifier(Kind.TAG, key, S)


def attr(key: str, vtype: ValueType = S) -> Identifier:
    return Identifier(Kind.ATTRIBUTE, key, vtype)


A = Comparison(metric("a"), Op.GT, 1.0)
B = Comparison(param("b"), Op.EQ, "x")
C = Comparison(tag("c"), Op.NE, "y")


def error_of(text: str, schema=RUN_SCHEMA) -> str:
    with pytest.raises(InvalidParameterError) as info:
        parse_filter(text, schema)
    return str(info.value)


def position_of(text: str, schema=RUN_SCHEMA) -> int:
    message = error_of(text, schema)
    match = re.search(r"at position (\d+)", message)
    assert match, message
    return int(match.group(1))


# ------------------------------------------------------------ empty input


@pytest.mark.parametrize("text", [None, "", "   ", "\n\t "])
def test_empty_filter_is_none(text):
    assert parse_filter(text) is None


def test_non_string_filter_is_refused():
    with pytest.raises(InvalidParameterError, match="filter_string: expected a string"):
        parse_filter(42)  # type: ignore[arg-type]


# ------------------------------------------------------------ identifiers


@pytest.mark.parametrize(
    "text, ident",
    [
        ("metrics.acc > 1", metric("acc")),
        ("metric.acc > 1", metric("acc")),
        ("METRICS.acc > 1", metric("acc")),
        ("params.lr = 'x'", param("lr")),
        ("param.lr = 'x'", param("lr")),
        ("tags.t = 'x'", tag("t")),
        ("tag.t = 'x'", tag("t")),
        ("attributes.status = 'x'", attr("status")),
        ("attribute.status = 'x'", attr("status")),
        ("attr.status = 'x'", attr("status")),
        ("run.status = 'x'", attr("status")),
        ("status = 'x'", attr("status")),
        ("STATUS = 'x'", attr("status")),
        ("attributes.start_time > 1", attr("start_time", N)),
        ("datasets.name = 'x'", Identifier(Kind.DATASET, "name", S)),
        ("dataset.digest = 'x'", Identifier(Kind.DATASET, "digest", S)),
        ("datasets.context = 'x'", Identifier(Kind.DATASET, "context", S)),
        ("metrics.`val loss` > 1", metric("val loss")),
        ('metrics."val loss" > 1', metric("val loss")),
        ("metrics.`a.b/c-d:e` > 1", metric("a.b/c-d:e")),
        ("metrics.`with``tick` > 1", metric("with`tick")),
        ("metrics.1st > 1", metric("1st")),
        ("metrics.ünï > 1", metric("ünï")),
    ],
)
def test_identifiers(text, ident):
    expr = parse_filter(text)
    assert isinstance(expr, Comparison)
    assert expr.ident == ident


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("foo = 'x'", "unknown run attribute 'foo'"),
        ("attributes.foo = 'x'", "unknown run attribute 'foo'"),
        ("bogus.x = 'x'", "unknown identifier prefix 'bogus'"),
        ("datasets.size = 'x'", "allowed: name, digest, context"),
        ("metrics. = 1", "expected a key after 'metrics.'"),
        ("metrics.`` = 1", "empty key"),
        ("`acc` = 1", "needs a prefix"),
        ("AND = 1", "expected an identifier"),
        ("tags.mlflow.runName = 'x'", "a key with dots must be back-quoted"),
    ],
)
def test_bad_identifiers(text, fragment):
    assert fragment in error_of(text)


def test_unknown_attribute_lists_allowed_ones():
    message = error_of("foo = 'x'")
    for name in RUN_SCHEMA.attributes:
        assert name in message


# ------------------------------------------------------------ comparators


@pytest.mark.parametrize(
    "symbol, op",
    [
        ("=", Op.EQ),
        ("==", Op.EQ),
        ("!=", Op.NE),
        ("<>", Op.NE),
        ("<", Op.LT),
        ("<=", Op.LE),
        (">", Op.GT),
        (">=", Op.GE),
    ],
)
def test_numeric_comparators(symbol, op):
    assert parse_filter(f"metrics.a {symbol} 2") == Comparison(metric("a"), op, 2.0)
    assert parse_filter(f"start_time{symbol}2") == Comparison(attr("start_time", N), op, 2.0)


@pytest.mark.parametrize(
    "text, op, value",
    [
        ("params.p = 'v'", Op.EQ, "v"),
        ("params.p != 'v'", Op.NE, "v"),
        ("params.p LIKE 'v%'", Op.LIKE, "v%"),
        ("params.p like 'v%'", Op.LIKE, "v%"),
        ("params.p ILIKE 'V_'", Op.ILIKE, "V_"),
        ("params.p IN ('a', \"b\")", Op.IN, ("a", "b")),
        ("params.p in ('a')", Op.IN, ("a",)),
        ("params.p NOT IN ('a','b' , 'c')", Op.NOT_IN, ("a", "b", "c")),
        ("params.p IS NULL", Op.IS_NULL, None),
        ("params.p is not null", Op.IS_NOT_NULL, None),
    ],
)
def test_string_comparators(text, op, value):
    assert parse_filter(text) == Comparison(param("p"), op, value)


@pytest.mark.parametrize("text", ["metrics.a IS NULL", "metrics.a IS NOT NULL"])
def test_null_checks_on_numbers(text):
    assert parse_filter(text).op in (Op.IS_NULL, Op.IS_NOT_NULL)


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("metrics.a LIKE 'x'", "LIKE does not apply to metrics.`a` (number)"),
        ("metrics.a IN ('x')", "IN does not apply"),
        ("params.p > 'x'", "> does not apply to params.`p` (string)"),
        ("start_time ILIKE 'x'", "ILIKE does not apply"),
        ("metrics.a = 'x'", "is numeric: expected a number"),
        ("params.p = 1", "is a string: expected a quoted string"),
        ("status = FINISHED", "quote it"),
        ("params.p IN ()", "IN needs at least one value"),
        ("params.p IN ('a', 1)", "expected a quoted string"),
        ("params.p IN 'a'", "expected '('"),
        ("params.p IN ('a' 'b')", "expected ',' or ')'"),
        ("params.p NOT LIKE 'a'", "expected a comparator"),
        ("params.p IS 'a'", "expected NULL after IS"),
        ("params.p IS NOT 'a'", "expected NULL after IS NOT"),
        ("params.p", "expected a comparator"),
        ("params.p =", "expected a quoted string"),
        ("start_time = NaN", "only metrics compare with NaN"),
        ("start_time > 1e999", "not a finite number"),
    ],
)
def test_bad_comparisons(text, fragment):
    assert fragment in error_of(text)


# ------------------------------------------------------------ values


@pytest.mark.parametrize(
    "literal, value",
    [
        ("1", 1.0),
        ("-1", -1.0),
        ("+2.5", 2.5),
        (".5", 0.5),
        ("5.", 5.0),
        ("1e3", 1000.0),
        ("-1.5E-3", -0.0015),
        ("Infinity", math.inf),
        ("inf", math.inf),
        ("-Infinity", -math.inf),
        ("-INF", -math.inf),
        ("+inf", math.inf),
    ],
)
def test_number_literals(literal, value):
    assert parse_filter(f"metrics.m = {literal}").value == value


@pytest.mark.parametrize("literal", ["NaN", "nan", "NAN"])
def test_nan_literal_is_the_shared_nan(literal):
    expr = parse_filter(f"metrics.m != {literal}")
    assert expr.value is math.nan
    assert expr == parse_filter("metrics.m != NaN")


@pytest.mark.parametrize(
    "literal, value",
    [
        ("'abc'", "abc"),
        ('"abc"', "abc"),
        ("'it''s'", "it's"),
        ('"say ""hi"""', 'say "hi"'),
        (r"'it\'s'", "it's"),
        (r"'back\\slash'", "back\\slash"),
        (r"'c:\temp'", r"c:\temp"),
        ("'say \"hi\"'", 'say "hi"'),
        ("''", ""),
        ("'100%'", "100%"),
        ("'ünï ☃'", "ünï ☃"),
        ("'a AND b'", "a AND b"),
        ("'line\nbreak'", "line\nbreak"),
    ],
)
def test_string_literals(literal, value):
    assert parse_filter(f"params.p = {literal}").value == value


def test_version_accepts_number_or_quoted_integer():
    number = parse_filter("version = 3", MODEL_VERSION_SCHEMA)
    quoted = parse_filter("version = '3'", MODEL_VERSION_SCHEMA)
    assert number == quoted == Comparison(attr("version", N), Op.EQ, 3.0)
    assert "expected a number" in error_of("version = 'three'", MODEL_VERSION_SCHEMA)


# ------------------------------------------------------------ boolean structure


def test_precedence_not_and_or():
    text = "metrics.a > 1 OR params.b = 'x' AND NOT tags.c != 'y'"
    assert parse_filter(text) == Or((A, And((B, Not(C)))))


def test_parentheses_override_precedence():
    text = "(metrics.a > 1 OR params.b = 'x') AND tags.c != 'y'"
    assert parse_filter(text) == And((Or((A, B)), C))


def test_and_or_are_flattened_and_single_groups_unwrapped():
    assert parse_filter("(metrics.a > 1 AND params.b = 'x') AND tags.c != 'y'") == And((A, B, C))
    assert parse_filter("metrics.a > 1 or (params.b = 'x' or (tags.c != 'y'))") == Or((A, B, C))
    assert parse_filter("((metrics.a > 1))") == A


def test_not_binds_tightest_and_nests():
    assert parse_filter("NOT metrics.a > 1 AND params.b = 'x'") == And((Not(A), B))
    assert parse_filter("NOT NOT metrics.a > 1") == Not(Not(A))
    assert parse_filter("not (metrics.a > 1 or params.b = 'x')") == Not(Or((A, B)))


def test_keywords_are_case_insensitive():
    assert parse_filter("metrics.a > 1 and params.b = 'x' Or not tags.c != 'y'") == Or((And((A, B)), Not(C)))


# ------------------------------------------------------------ error positions


@pytest.mark.parametrize(
    "text, position",
    [
        ("metrics.a > 1 AND", 17),
        ("metrics.a > 1 AND params.b = 'x", 29),
        ("(metrics.a > 1", 14),
        ("metrics.a > 1)", 13),
        ("metrics.a > 1 params.b = 'x'", 14),
        ("params.b = 'x' AND foo = 'y'", 19),
        ("metrics.a ~ 1", 10),
        ("metrics.a > 'x'", 12),
        ("metrics.a > 1 AND \x00", 18),
        ("params.b LIKE 3", 14),
    ],
)
def test_error_positions(text, position):
    assert position_of(text) == position


def test_error_message_names_field_and_excerpt():
    message = error_of("metrics.a > 1 OR OR params.b = 'x'")
    assert message.startswith("filter_string:")
    assert "at position 17" in message
    assert "OR params" in message


# ------------------------------------------------------------ limits


def test_too_long_filter_is_refused_with_the_limit():
    text = "params.p = '" + "x" * MAX_FILTER_LENGTH + "'"
    message = error_of(text)
    assert str(MAX_FILTER_LENGTH) in message and "filter_string" in message


def test_nesting_limit_for_parentheses_and_not():
    ok = "(" * MAX_NESTING + "metrics.a > 1" + ")" * MAX_NESTING
    assert parse_filter(ok) == A
    too_deep = "(" * (MAX_NESTING + 1) + "metrics.a > 1" + ")" * (MAX_NESTING + 1)
    assert f"deeper than the limit of {MAX_NESTING}" in error_of(too_deep)
    assert "deeper than the limit" in error_of("NOT " * (MAX_NESTING + 1) + "metrics.a > 1")


def _ands(n: int) -> str:
    return " AND ".join(f"metrics.m{i} > {i}" for i in range(n))


def test_comparison_limit_names_the_limit_and_its_variable():
    from storekit.search.limits import SearchLimits

    limit = SearchLimits().max_comparisons
    assert parse_filter(_ands(limit)) is not None
    message = error_of(_ands(limit + 1))
    assert f"limit of {limit} comparisons" in message and "STOREKIT_SEARCH_MAX_COMPARISONS" in message
    # OR, NOT and IS NULL count too: the bound is on the tree, not on one operator
    assert "comparisons" in error_of(" OR ".join(f"NOT tags.t{i} IS NULL" for i in range(limit + 1)))


def test_in_list_and_like_pattern_limits():
    from storekit.search.limits import SearchLimits

    limits = SearchLimits()
    values = ", ".join(f"'v{i}'" for i in range(limits.max_in_values))
    assert parse_filter(f"params.p IN ({values})") is not None
    assert "STOREKIT_SEARCH_MAX_IN_VALUES" in error_of(f"params.p IN ({values}, 'x')")
    assert parse_filter("params.p LIKE '" + "%a" * limits.max_pattern_wildcards + "'") is not None
    message = error_of("params.p LIKE '" + "%" * 10_000 + "'")
    assert "LIKE pattern" in message and "limit" in message
    assert "wildcards" in error_of("tags.t ILIKE '" + "_" * (limits.max_pattern_wildcards + 1) + "'")
    assert "characters" in error_of("tags.t LIKE '" + "a" * (limits.max_pattern_length + 1) + "'")
    # '=' compares literally: a long value with % in it is no pattern
    assert parse_filter("params.p = '" + "%" * 10_000 + "'") is not None


def test_order_by_key_limit():
    from storekit.search.limits import SearchLimits
    from storekit.search.parser import parse_order_by

    limit = SearchLimits().max_order_by_keys
    parse_order_by([f"metrics.m{i} DESC" for i in range(limit)])
    with pytest.raises(InvalidParameterError, match=r"order_by: 1000 clauses exceed the limit of 10"):
        parse_order_by([f"metrics.m{i}" for i in range(1000)])


def test_limits_are_configurable_and_a_bad_value_keeps_the_default(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("STOREKIT_SEARCH_MAX_COMPARISONS", "3")
    assert "limit of 3 comparisons" in error_of(_ands(4))
    monkeypatch.setenv("STOREKIT_SEARCH_MAX_COMPARISONS", "0")
    assert parse_filter(_ands(40)) is not None
    monkeypatch.setenv("STOREKIT_SEARCH_MAX_COMPARISONS", "lots")
    assert parse_filter(_ands(40)) is not None


def test_huge_unbalanced_input_raises_invalid_parameter_not_recursion_error():
    assert "deeper than the limit" in error_of("(" * 50_000)
    assert "deeper than the limit" in error_of("NOT " * 20_000)


def test_long_flat_filter_parses(monkeypatch: pytest.MonkeyPatch):
    """With the comparison limit raised, a long flat OR still parses flat (no recursion)."""
    monkeypatch.setenv("STOREKIT_SEARCH_MAX_COMPARISONS", "5000")
    text = " OR ".join(f"params.p{i} = 'v'" for i in range(2000))
    expr = parse_filter(text)
    assert isinstance(expr, Or) and len(expr.items) == 2000


# ------------------------------------------------------------ schemas


@pytest.mark.parametrize(
    "schema, text",
    [
        (EXPERIMENT_SCHEMA, "name LIKE 'exp%' AND tags.team = 'x' AND creation_time > 5"),
        (REGISTERED_MODEL_SCHEMA, "name = 'm' AND tags.t IS NOT NULL AND description ILIKE '%x%'"),
        (MODEL_VERSION_SCHEMA, "name = 'm' AND version >= 2 AND current_stage IN ('Production')"),
        (LOGGED_MODEL_SCHEMA, "metrics.acc > 0.5 AND params.p = 'x' AND status = 'READY'"),
        (RUN_SCHEMA, "datasets.name = 'd' AND lifecycle_stage = 'active' AND end_time IS NULL"),
    ],
)
def test_each_schema_accepts_its_identifiers(schema, text):
    expr = parse_filter(text, schema)
    assert isinstance(expr, And) and len(expr.items) == 3
    for item in expr.items:
        ident = item.ident
        assert ident.kind in schema.kinds or ident.key in schema.attributes


@pytest.mark.parametrize(
    "schema, text, fragment",
    [
        (EXPERIMENT_SCHEMA, "metrics.a > 1", "experiment search has no metrics"),
        (EXPERIMENT_SCHEMA, "params.p = 'x'", "experiment search has no params"),
        (EXPERIMENT_SCHEMA, "status = 'x'", "unknown experiment attribute 'status'"),
        (REGISTERED_MODEL_SCHEMA, "datasets.name = 'x'", "registered model search has no datasets"),
        (MODEL_VERSION_SCHEMA, "metrics.a > 1", "model version search has no metrics"),
        (LOGGED_MODEL_SCHEMA, "datasets.name = 'x'", "logged model search has no datasets"),
        (RUN_SCHEMA, "name = 'x'", "unknown run attribute 'name'"),
    ],
)
def test_schema_refuses_foreign_identifiers(schema, text, fragment):
    message = error_of(text, schema)
    assert fragment in message
    assert "allowed:" in message


# ------------------------------------------------------------ order_by


def test_order_by_default_and_empty():
    assert parse_order_by(None) == list(RUN_SCHEMA.default_order)
    assert parse_order_by([]) == list(RUN_SCHEMA.default_order)
    assert parse_order_by([], EXPERIMENT_SCHEMA) == list(EXPERIMENT_SCHEMA.default_order)


def test_order_by_clauses_and_tie_breaker():
    keys = parse_order_by(["metrics.acc DESC", "params.lr", "attributes.start_time ASC"])
    assert keys == [
        OrderKey(metric("acc"), False),
        OrderKey(param("lr"), True),
        OrderKey(attr("start_time", N), True),
        OrderKey(attr("run_id"), True),
    ]


def test_order_by_keeps_an_explicit_tie_breaker():
    assert parse_order_by(["run_id desc"]) == [OrderKey(attr("run_id"), False)]
    assert parse_order_by(["metrics.`val loss` asc", "tags.t"])[-1] == OrderKey(attr("run_id"), True)


def test_order_by_tie_breakers_per_schema():
    assert parse_order_by(["name"], EXPERIMENT_SCHEMA)[-1] == OrderKey(attr("experiment_id"), True)
    assert parse_order_by(["creation_timestamp"], REGISTERED_MODEL_SCHEMA)[-1] == OrderKey(attr("name"), True)
    versions = parse_order_by(["creation_timestamp DESC"], MODEL_VERSION_SCHEMA)
    assert versions[1:] == list(MODEL_VERSION_SCHEMA.default_order)
    assert parse_order_by(["metrics.acc"], LOGGED_MODEL_SCHEMA)[-1] == OrderKey(attr("model_id"), True)


def test_order_by_single_string_is_one_clause():
    assert parse_order_by("metrics.acc DESC")[0] == OrderKey(metric("acc"), False)


@pytest.mark.parametrize(
    "clauses, fragment",
    [
        (["metrics.acc sideways"], "order_by[0]"),
        (["params.p", "bogus"], "order_by[1]: unknown run attribute 'bogus'"),
        ([""], "order_by[0]: empty order_by clause"),
        ([3], "order_by[0]: expected a string, got int"),
        (["datasets.name"], "cannot be used in order_by"),
        (["metrics.a DESC DESC"], "expected ASC, DESC or the end"),
        (["x" * 2000], "exceeds the limit of 1000"),
    ],
)
def test_order_by_errors(clauses, fragment):
    with pytest.raises(InvalidParameterError) as info:
        parse_order_by(clauses)
    assert fragment in str(info.value)


def test_order_by_not_a_list():
    with pytest.raises(InvalidParameterError, match="expected a list of strings"):
        parse_order_by(5)  # type: ignore[arg-type]


# ------------------------------------------------------------ formatting


@pytest.mark.parametrize(
    "text",
    [
        "metrics.a > 1 OR params.b = 'x' AND NOT tags.c != 'y'",
        "(metrics.a > 1 OR params.b = 'x') AND NOT (tags.c != 'y' AND tags.d IS NULL)",
        "metrics.`val loss` <= -Infinity OR metrics.x != NaN",
        "params.`a b` IN ('it''s', 'back\\\\slash', '%_') AND status NOT IN ('A')",
        "NOT NOT datasets.context ILIKE 'TRAIN%'",
    ],
)
def test_format_round_trips(text):
    expr = parse_filter(text)
    assert parse_filter(format_expr(expr)) == expr


def test_format_is_canonical():
    assert (
        format_expr(parse_filter("status='A' and  metric.`x` >= 1")) == "attributes.status = 'A' AND metrics.x >= 1.0"
    )
    assert format_expr(None) == ""


def test_nul_is_refused_with_its_position() -> None:
    """No stored value can hold NUL, and some databases refuse it: the parser refuses it for every backend."""
    with pytest.raises(InvalidParameterError, match="NUL character at position 12"):
        parse_filter("params.p = '\x00'")
