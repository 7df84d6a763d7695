"""The search decisions both SQL emitters share (storekit.backends.sql.search_plan), and their one token format.

The raw SQLite path (``raw_search``) and the SQLAlchemy path (``search_sql``)
spell the same plans; a page token written by one is read by the other.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from storekit.backends.sql import SqlTrackingStore
from storekit.backends.sql.metrics import KIND_FINITE, KIND_NAN, KIND_NEG_INF, KIND_POS_INF
from storekit.backends.sql.search_plan import (
    Bound,
    keyset_steps,
    metric_match,
    number_bound,
    plan_order,
    value_match,
)
from storekit.backends.sql.search_sql import EntitySpec
from storekit.entities import Metric
from storekit.errors import InvalidParameterError
from storekit.search.ast import Identifier, Kind, Op, OrderKey, ValueType


@pytest.mark.parametrize(
    "op,value,kinds",
    [
        (Op.GT, 1.0, (KIND_POS_INF,)),
        (Op.LT, 1.0, (KIND_NEG_INF,)),
        (Op.NE, 1.0, (KIND_NEG_INF, KIND_POS_INF, KIND_NAN)),
        (Op.EQ, math.inf, (KIND_POS_INF,)),
        (Op.GE, -math.inf, (KIND_NEG_INF, KIND_POS_INF)),
        (Op.EQ, math.nan, ()),
        (Op.NE, math.nan, (KIND_NEG_INF, KIND_POS_INF, KIND_NAN)),
    ],
)
def test_special_metric_values_are_decided_in_python(op: Op, value: float, kinds: tuple[int, ...]) -> None:
    match = metric_match(op, value)
    assert match.kinds == kinds
    if math.isfinite(value):
        assert match.finite == Bound(op, value)  # SQL compares finite rows with the finite bound
    else:
        assert match.finite.constant is (op is Op.NE or (op is Op.GE and value == -math.inf))


def test_a_number_bound_never_sends_nan_or_infinity_to_sql() -> None:
    assert number_bound(Op.LT, "2") == Bound(Op.LT, 2.0)
    assert number_bound(Op.LT, math.inf).constant is True
    assert number_bound(Op.GT, math.inf).constant is False
    assert number_bound(Op.EQ, math.nan).constant is False


def test_value_match_compares_numbers_with_text_identifiers_as_text() -> None:
    ident = Identifier(Kind.PARAM, "p", ValueType.STRING)
    assert value_match(ident, Op.EQ, 3).value == "3"
    with pytest.raises(InvalidParameterError, match="comparator"):
        value_match(Identifier(Kind.ATTRIBUTE, "start_time", ValueType.NUMBER), Op.LIKE, "1%")


def test_order_terms_put_missing_values_last_and_append_the_tie_breaker() -> None:
    spec = EntitySpec(
        attributes={"start_time": object(), "run_name": object(), "run_id": object()},  # type: ignore[dict-item]
        keyed={Kind.METRIC: type("T", (), {"numeric": True})()},  # type: ignore[dict-item]
        unique=(object(),),  # type: ignore[arg-type]
        not_null=frozenset({"run_id"}),
        unique_attribute="run_id",
    )
    keys = [
        OrderKey(Identifier(Kind.ATTRIBUTE, "run_name", ValueType.STRING), ascending=False),
        OrderKey(Identifier(Kind.METRIC, "m", ValueType.NUMBER), ascending=False),
    ]
    plan = plan_order(keys, spec, 1)
    assert plan.joins == ((Kind.METRIC, "m"),)
    assert [(t.what, t.ascending, t.zero) for t in plan.terms] == [
        ("attribute_missing", True, None),  # missing last in either direction
        ("attribute_value", False, ""),
        ("keyed_missing", True, None),
        ("keyed_nan", True, None),  # NaN after every number, before missing
        ("keyed_kind", False, KIND_FINITE),
        ("keyed_value", False, 0.0),
        ("unique", True, None),
    ]
    by_id = plan_order([OrderKey(Identifier(Kind.ATTRIBUTE, "run_id", ValueType.STRING), True)], spec, 1)
    assert [t.what for t in by_id.terms] == ["column"]  # already unique: no tie-breaker appended
    assert keyset_steps([True, False]) == [(0, True), (1, False)]


@pytest.mark.parametrize("first", ["raw", "sqlalchemy"])
def test_a_page_token_of_one_path_is_read_by_the_other(tmp_path: Path, first: str) -> None:
    with SqlTrackingStore(f"sqlite:///{tmp_path / 'store.db'}") as store:
        assert store._raw is not None, "an up-to-date SQLite store searches on the raw path"
        exp = store.create_experiment("tokens")
        for i in range(7):
            run = store.create_run(exp, start_time=1_000 + i % 3)
            store.log_batch(run.info.run_id, metrics=[Metric("m", [1.0, math.nan, math.inf][i % 3], 0, 0)])
        query = {"filter_string": "metrics.m >= 1", "order_by": ["metrics.m DESC", "start_time"]}
        whole = [r.info.run_id for r in store.search_runs([exp], **query)]  # type: ignore[arg-type]
        paths = {"raw": store.search_runs, "sqlalchemy": store._full().search_runs}
        second = "sqlalchemy" if first == "raw" else "raw"
        page = paths[first]([exp], max_results=3, **query)  # type: ignore[operator]
        assert page.token
        rest = paths[second]([exp], max_results=1000, page_token=page.token, **query)  # type: ignore[operator]
        assert [r.info.run_id for r in [*page, *rest]] == whole and len(whole) == 5  # NaN matches no comparison
