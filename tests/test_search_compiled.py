"""The compiled filter and the accessor-based ordering agree with the reference evaluator.

:func:`storekit.search.compile_filter` and ``sort_entities(..., accessor)``
are the fast paths of the in-process backends; :func:`storekit.search.evaluate`
and the ``get``-based ordering define the answers.  Property tests (hypothesis)
over random expressions, records and odd stored values (ints, bools, numeric
strings, str subclasses) that the fast paths hand back to the reference code.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from storekit.errors import InvalidParameterError
from storekit.search import (
    Comparison,
    Identifier,
    Kind,
    Not,
    Op,
    OrderKey,
    ValueType,
    compile_filter,
    evaluate,
    parse_filter,
    sort_entities,
)
from tests.test_search_properties import (
    PROFILE,
    RECORDS,
    D,
    M,
    P,
    T,
    expressions,
    reference,
    small_comparisons,
)


class Text(str):
    """A str subclass: not the plain-``str`` fast path."""


ODD_NUMBERS = st.sampled_from([1, -3, True, False, "2.5", "x", "nan", 10**400, 1.0, math.nan, None])
ODD_STRINGS = st.sampled_from([Text("a"), Text("ab"), 7, 2.5, "a", "", None])
ODD_RECORDS = st.fixed_dictionaries(
    {
        M: ODD_NUMBERS,
        P: ODD_STRINGS,
        T: st.sampled_from(["a", "A", "b%", None]),
        D: st.one_of(st.none(), st.just("a"), st.lists(st.sampled_from(["a", "ab", ""]), max_size=3).map(tuple)),
    }
)


def _accessor(ident):
    return lambda record: record[ident]


def _compiled(expr, record):
    return compile_filter(expr, _accessor)(record)


@PROFILE
@given(expr=expressions(small_comparisons()), record=RECORDS)
def test_compiled_filter_agrees_with_reference(expr, record):
    assert _compiled(expr, record) is reference(expr, record)
    assert _compiled(Not(expr), record) is (not reference(expr, record))


@PROFILE
@given(expr=expressions(small_comparisons()), record=ODD_RECORDS)
def test_compiled_filter_agrees_with_evaluate_on_odd_values(expr, record):
    try:
        expected = evaluate(expr, record.get)
    except (InvalidParameterError, OverflowError) as exc:
        with pytest.raises(type(exc)):
            _compiled(expr, record)
        return
    assert _compiled(expr, record) is expected


def test_no_filter_matches_everything():
    assert compile_filter(None, _accessor)({}) is True


def test_each_identifier_is_resolved_once_per_compile():
    resolved = []

    def accessor(ident):
        resolved.append(ident)
        return lambda record: record.get(ident.key)

    match = compile_filter(parse_filter("metrics.a > 1 or (params.b = 'x' and metrics.a < 0)"), accessor)
    records = [(2.0, "y"), (0.5, "x"), (-1.0, "x"), (-1.0, None), (None, "x")]
    assert [match({"a": v, "b": b}) for v, b in records] == [True, False, True, False, False]
    assert len(resolved) == 3  # one per comparison, none per record


def test_a_number_comparison_with_a_string_operand_is_false():
    match = compile_filter(Comparison(M, Op.GT, "1"), _accessor)
    assert match({M: 5.0}) is False


# ---------------------------------------------------------------- ordering

NUMBER_KEY = Identifier(Kind.METRIC, "m", ValueType.NUMBER)
STRING_KEY = Identifier(Kind.PARAM, "p", ValueType.STRING)
ROWS = st.lists(
    st.fixed_dictionaries(
        {
            NUMBER_KEY: st.sampled_from([1.0, -1.0, 0.0, -0.0, 2, math.nan, math.inf, None, True, "3", Text("x")]),
            STRING_KEY: st.sampled_from(["a", "b", "B", "", None, Text("a"), 5]),
        }
    ),
    max_size=12,
)


def _reference_sortable(raw, ident):
    """(class, value): present values, then NaN, then missing - the pinned rules, stated plainly."""
    if ident.type is ValueType.NUMBER:
        if raw is None or isinstance(raw, bool):
            return 2, 0.0
        try:
            number = float(raw)
        except ValueError:
            return 2, 0.0
        return (1, 0.0) if math.isnan(number) else (0, number)
    return (2, "") if raw is None else (0, str(raw))


def _reference_sort(rows, keys):
    """Stable multi-pass sort: least significant key first; the class is never reversed."""
    rows = list(rows)
    for key in reversed(keys):
        rows.sort(key=lambda row: _reference_sortable(row[key.ident], key.ident)[1], reverse=not key.ascending)
        rows.sort(key=lambda row: _reference_sortable(row[key.ident], key.ident)[0])
    return rows


@PROFILE
@given(rows=ROWS, directions=st.tuples(st.booleans(), st.booleans()), number_first=st.booleans())
def test_accessor_ordering_agrees_with_get_ordering(rows, directions, number_first):
    idents = (NUMBER_KEY, STRING_KEY) if number_first else (STRING_KEY, NUMBER_KEY)
    keys = [OrderKey(ident, ascending) for ident, ascending in zip(idents, directions)]
    expected = [id(r) for r in _reference_sort(rows, keys)]
    got = sort_entities(rows, keys, lambda row, ident: pytest.fail("get must not be called"), _accessor)
    assert [id(r) for r in got] == expected
    assert [id(r) for r in sort_entities(rows, keys, lambda row, ident: row[ident])] == expected


def test_ordering_puts_nan_then_missing_last_in_both_directions():
    rows = [{NUMBER_KEY: v} for v in (None, 1.0, math.nan, 3, -2.0)]
    for ascending, present in ((True, [-2.0, 1.0, 3]), (False, [3, 1.0, -2.0])):
        got = [r[NUMBER_KEY] for r in sort_entities(rows, [OrderKey(NUMBER_KEY, ascending)], None, _accessor)]
        assert got[:3] == present
        assert math.isnan(got[3]) and got[4] is None
