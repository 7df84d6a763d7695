"""Property tests of the search language (hypothesis).

~200 examples per property by default; ``STOREKIT_SOAK=1`` runs 10,000.
"""

from __future__ import annotations

import math
import operator
import os
import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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
    evaluate,
    parse_filter,
    sort_entities,
)
from storekit.search.ast import NUMERIC_OPS, STRING_OPS
from storekit.search.evaluator import compare_order_values, like_match, order_values
from storekit.search.parser import format_expr

settings.register_profile(
    "storekit-search",
    max_examples=200,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "storekit-search-soak",
    max_examples=10_000,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
PROFILE = settings.get_profile("storekit-search-soak" if os.environ.get("STOREKIT_SOAK") == "1" else "storekit-search")

SCHEMAS = [RUN_SCHEMA, EXPERIMENT_SCHEMA, REGISTERED_MODEL_SCHEMA, MODEL_VERSION_SCHEMA, LOGGED_MODEL_SCHEMA]

# ------------------------------------------------------------ 1. any text

FRAGMENTS = [
    "metrics.a",
    "params.`b c`",
    'tags."t"',
    "attributes.status",
    "status",
    "start_time",
    "name",
    "datasets.name",
    "version",
    " = ",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    " LIKE ",
    " ILIKE ",
    " IN ",
    " NOT ",
    " IS ",
    " NULL",
    " AND ",
    " OR ",
    "NOT ",
    "(",
    ")",
    ",",
    "'x'",
    "'it''s'",
    "'\\'",
    '"y"',
    "1",
    "-2.5e3",
    "NaN",
    "-Infinity",
    "inf",
    "`",
    "'",
    '"',
    "\\",
    ".",
    " ",
    "\x00",
    "\n",
    "é",
    "☃",
    "metrics.",
    "`k``",
    "1e999",
    "+",
    "-",
]


@PROFILE
@given(text=st.text(), schema=st.sampled_from(SCHEMAS))
def test_any_text_parses_or_raises_invalid_parameter(text, schema):
    try:
        parse_filter(text, schema)
    except InvalidParameterError:
        pass


@PROFILE
@given(parts=st.lists(st.sampled_from(FRAGMENTS), max_size=25), schema=st.sampled_from(SCHEMAS))
def test_token_soup_parses_or_raises_invalid_parameter(parts, schema):
    text = "".join(parts)
    try:
        expr = parse_filter(text, schema)
    except InvalidParameterError as error:
        assert re.search(r"at position \d+", str(error)) or "filter_string:" in str(error)
    else:
        if expr is not None:  # whatever parses, formats back to the same tree
            assert parse_filter(format_expr(expr), schema) == expr


# ------------------------------------------------------------ 2. round trip

# NUL and lone surrogates are refused by the parser (no stored key or value can hold them, see
# tests/test_validation_fields.py), so the round trip draws everything else.
_PARSABLE = st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",))
KEYS = st.one_of(
    st.sampled_from(["a", "acc", "val loss", "a.b", "x/y:z-w", "ünï", "1st", "tick`key", "q'\"uote"]),
    st.text(_PARSABLE, min_size=1, max_size=12),
)
STRINGS = st.one_of(
    st.sampled_from(["", "x", "it's", "a\\b", "%", "_a%", 'say "hi"', "\\'"]),
    st.text(_PARSABLE, max_size=12),
)


def _nan_is_shared(value: float) -> float:
    return math.nan if math.isnan(value) else value


def identifiers(schema):
    prefixed = []
    for kind, vtype in ((Kind.METRIC, ValueType.NUMBER), (Kind.PARAM, ValueType.STRING), (Kind.TAG, ValueType.STRING)):
        if kind in schema.kinds:
            prefixed.append(KEYS.map(lambda key, k=kind, t=vtype: Identifier(k, key, t)))
    if Kind.DATASET in schema.kinds:
        prefixed.append(
            st.sampled_from(["name", "digest", "context"]).map(
                lambda key: Identifier(Kind.DATASET, key, ValueType.STRING)
            )
        )
    attrs = st.sampled_from(sorted(schema.attributes)).map(
        lambda name: Identifier(Kind.ATTRIBUTE, name, schema.attributes[name])
    )
    return st.one_of(attrs, *prefixed)


@st.composite
def comparisons(draw, schema):
    ident = draw(identifiers(schema))
    if ident.type is ValueType.NUMBER:
        op = draw(st.sampled_from(sorted(NUMERIC_OPS)))
        finite = ident.kind is not Kind.METRIC
        value = draw(st.floats(allow_nan=not finite, allow_infinity=not finite).map(_nan_is_shared))
    else:
        op = draw(st.sampled_from(sorted(STRING_OPS)))
        if op in (Op.IN, Op.NOT_IN):
            value = tuple(draw(st.lists(STRINGS, min_size=1, max_size=4)))
        else:
            value = draw(STRINGS)
    if op in (Op.IS_NULL, Op.IS_NOT_NULL):
        value = None
    return Comparison(ident, op, value)


def _flat(cls, items):
    flat = []
    for item in items:
        flat.extend(item.items if isinstance(item, cls) else (item,))
    return cls(tuple(flat))


def expressions(leaves):
    """Normal-form trees: And/Or flattened with at least two items."""
    return st.recursive(
        leaves,
        lambda children: st.one_of(
            children.map(Not),
            st.lists(children, min_size=2, max_size=3).map(lambda xs: _flat(And, xs)),
            st.lists(children, min_size=2, max_size=3).map(lambda xs: _flat(Or, xs)),
        ),
        max_leaves=10,
    )


@st.composite
def schema_and_expression(draw):
    schema = draw(st.sampled_from(SCHEMAS))
    return schema, draw(expressions(comparisons(schema)))


@PROFILE
@given(pair=schema_and_expression())
def test_parse_format_round_trip(pair):
    schema, expr = pair
    text = format_expr(expr)
    assert parse_filter(text, schema) == expr, text


# ------------------------------------------------------------ 3. evaluator vs reference

M = Identifier(Kind.METRIC, "m", ValueType.NUMBER)
P = Identifier(Kind.PARAM, "p", ValueType.STRING)
T = Identifier(Kind.TAG, "t", ValueType.STRING)
D = Identifier(Kind.DATASET, "name", ValueType.STRING)
_STRING_CHOICES = ["a", "A", "ab", "aB", "Ab", "", "b%", "a_b", "ba"]
_NUMBER_CHOICES = [1.0, math.nan, math.inf, -math.inf, 0.0, -1.0, 2.5]
SMALL_STRINGS = st.sampled_from(_STRING_CHOICES)
PATTERNS = st.sampled_from(["a", "A", "a%", "A%", "%b", "%B", "_", "%", "a_b", "A_B", "%a%", "_%", ""])
SMALL_NUMBERS = st.sampled_from(_NUMBER_CHOICES)
# Present far more often than missing, so that comparisons decide results.
MAYBE_STRING = st.sampled_from(_STRING_CHOICES + [None])
MAYBE_NUMBER = st.sampled_from(_NUMBER_CHOICES + [None])


@st.composite
def small_comparisons(draw):
    ident = draw(st.sampled_from([M, P, T, D]))
    if ident is M:
        op = draw(st.sampled_from(sorted(NUMERIC_OPS)))
        value = draw(SMALL_NUMBERS)
    else:
        op = draw(st.sampled_from(sorted(STRING_OPS)))
        if op in (Op.LIKE, Op.ILIKE):
            value = draw(PATTERNS)
        elif op in (Op.IN, Op.NOT_IN):
            value = tuple(draw(st.lists(SMALL_STRINGS, min_size=1, max_size=3)))
        else:
            value = draw(SMALL_STRINGS)
    return Comparison(ident, op, None if op in (Op.IS_NULL, Op.IS_NOT_NULL) else value)


RECORDS = st.fixed_dictionaries(
    {
        M: MAYBE_NUMBER,
        P: MAYBE_STRING,
        T: MAYBE_STRING,
        D: st.one_of(st.none(), st.lists(SMALL_STRINGS, max_size=3).map(tuple)),
    }
)

_REFERENCE_NUMERIC = {
    Op.EQ: operator.eq,
    Op.NE: operator.ne,
    Op.LT: operator.lt,
    Op.LE: operator.le,
    Op.GT: operator.gt,
    Op.GE: operator.ge,
}


def _reference_like(value: str, pattern: str) -> bool:
    regex = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, re.DOTALL) is not None


def _reference_string(op, value, operand):
    return {
        Op.EQ: lambda: value == operand,
        Op.NE: lambda: value != operand,
        Op.LIKE: lambda: _reference_like(value, operand),
        Op.ILIKE: lambda: _reference_like(value.lower(), operand.lower()),
        Op.IN: lambda: value in operand,
        Op.NOT_IN: lambda: value not in operand,
    }[op]()


def reference(expr, record) -> bool:
    """A straightforward statement of the pinned semantics."""
    if isinstance(expr, Not):
        return not reference(expr.item, record)
    if isinstance(expr, And):
        return all(reference(item, record) for item in expr.items)
    if isinstance(expr, Or):
        return any(reference(item, record) for item in expr.items)
    value = record[expr.ident]
    values = list(value or ()) if expr.ident.kind is Kind.DATASET else ([] if value is None else [value])
    if expr.op is Op.IS_NULL:
        return not values
    if expr.op is Op.IS_NOT_NULL:
        return bool(values)
    if expr.ident.type is ValueType.NUMBER:
        return any(_REFERENCE_NUMERIC[expr.op](v, expr.value) for v in values)
    return any(_reference_string(expr.op, v, expr.value) for v in values)


@PROFILE
@given(expr=expressions(small_comparisons()), record=RECORDS)
def test_evaluator_agrees_with_reference(expr, record):
    got = evaluate(expr, record.get)
    assert got is reference(expr, record)
    assert evaluate(Not(expr), record.get) is (not got)


@st.composite
def value_and_pattern(draw):
    """A value and a pattern made from it (kept, case-swapped, wildcarded or extra chars): near misses."""
    value = draw(st.text(alphabet="aAbB%_\n", max_size=8))
    pattern = "".join(draw(st.sampled_from([c, c.swapcase(), "_", "%", c + "%", "%" + c, "", c + "b"])) for c in value)
    return value, pattern


@PROFILE
@given(pair=value_and_pattern(), ci=st.booleans())
def test_like_agrees_with_reference(pair, ci):
    value, pattern = pair
    expected = _reference_like(value.lower(), pattern.lower()) if ci else _reference_like(value, pattern)
    assert like_match(value, pattern, ci) is expected


@PROFILE
@given(expr=small_comparisons(), record=RECORDS)
def test_single_comparison_agrees_with_reference(expr, record):
    assert evaluate(expr, record.get) is reference(expr, record)


@PROFILE
@given(a=expressions(small_comparisons()), b=expressions(small_comparisons()), record=RECORDS)
def test_boolean_identities(a, b, record):
    get = record.get
    ea, eb = evaluate(a, get), evaluate(b, get)
    assert evaluate(And((a, b)), get) is (ea and eb)
    assert evaluate(Or((a, b)), get) is (ea or eb)
    assert evaluate(Not(And((a, b))), get) is evaluate(Or((Not(a), Not(b))), get)
    assert evaluate(Not(Not(a)), get) is ea


@PROFILE
@given(expr=expressions(small_comparisons()), record=RECORDS)
def test_formatted_filter_evaluates_the_same(expr, record):
    reparsed = parse_filter(format_expr(expr))
    assert evaluate(reparsed, record.get) is evaluate(expr, record.get)


# ------------------------------------------------------------ ordering

RUN_ID = Identifier(Kind.ATTRIBUTE, "run_id", ValueType.STRING)


@PROFILE
@given(
    rows=st.lists(st.fixed_dictionaries({M: MAYBE_NUMBER, P: MAYBE_STRING}), max_size=30),
    ascending=st.tuples(st.booleans(), st.booleans()),
    first=st.sampled_from([M, P]),
)
def test_sort_is_a_permutation_ordered_by_the_cursor_comparator(rows, ascending, first):
    rows = [{**row, RUN_ID: f"{i:04d}"} for i, row in enumerate(rows)]
    second = P if first is M else M
    keys = [OrderKey(first, ascending[0]), OrderKey(second, ascending[1]), OrderKey(RUN_ID, True)]
    get = lambda row, ident: row[ident]  # noqa: E731
    ordered = sort_entities(rows, keys, get)
    assert sorted(r[RUN_ID] for r in ordered) == [r[RUN_ID] for r in rows]
    values = [order_values(row, keys, get) for row in ordered]
    for earlier, later in zip(values, values[1:]):
        assert compare_order_values(earlier, later, keys) < 0
    # Missing always last, NaN just before it, in either direction.
    first_values = [row[first] for row in ordered]
    classes = [2 if v is None else 1 if (isinstance(v, float) and math.isnan(v)) else 0 for v in first_values]
    assert classes == sorted(classes)
