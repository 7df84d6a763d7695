"""Searches at the parser's cost limits run on every SQL backend (no raw database error, no runaway planning).

The shapes are the worst the limits admit (:mod:`storekit.search.limits`):
the most comparisons on distinct keys, the deepest nesting, the longest IN
list, the most LIKE wildcards and the most order_by keys, together.  Before
the limits and the PostgreSQL subquery fence, 200 ANDed comparisons planned
for 151 s on PostgreSQL; a test's timeout guards against that coming back.
"""

from __future__ import annotations

import pytest

from storekit.entities import Metric, Param
from storekit.errors import InvalidParameterError
from storekit.search.limits import SearchLimits

LIMITS = SearchLimits()
N = LIMITS.max_comparisons


@pytest.fixture
def three_runs(store, uniq) -> tuple[str, list[str]]:
    """Runs 0, 1, 2 where run k has every metric m<i> = k and every param p<i> = 'k'."""
    exp = store.create_experiment(uniq("limits"))
    ids = []
    for k in range(3):
        run = store.create_run(exp, run_name=f"r{k}", start_time=1000 + k)
        store.log_batch(
            run.info.run_id,
            metrics=[Metric(f"m{i}", float(k), 0, 0) for i in range(N)],
            params=[Param(f"p{i}", str(k)) for i in range(N)],
        )
        ids.append(run.info.run_id)
    return exp, ids


def _found(store, exp: str, filter_string: str, order_by=None) -> list[str]:
    return [r.info.run_id for r in store.search_runs([exp], filter_string, order_by=order_by, max_results=10)]


@pytest.mark.timeout(300)
def test_worst_shapes_within_the_limits_answer_correctly(store, three_runs) -> None:
    exp, (r0, r1, r2) = three_runs
    many_and = " AND ".join(f"metrics.m{i} >= 1" if i % 2 else f"params.p{i} != '0'" for i in range(N))
    order = [f"metrics.m{i} DESC" for i in range(LIMITS.max_order_by_keys)]
    assert _found(store, exp, many_and, order) == [r2, r1]
    nots = "NOT " * LIMITS.max_nesting + "metrics.m0 >= 1"  # an even number of NOTs
    assert sorted(_found(store, exp, nots)) == sorted([r1, r2])
    depth = LIMITS.max_nesting - 1
    parens = "(" * depth + "metrics.m0 = 0 OR params.p1 = '2'" + ")" * depth
    assert sorted(_found(store, exp, parens)) == sorted([r0, r2])
    values = ", ".join(f"'{v}'" for v in range(5, 5 + LIMITS.max_in_values - 1))
    assert _found(store, exp, f"params.p3 IN ({values}, '1')") == [r1]
    pattern = "%" * (LIMITS.max_pattern_wildcards - 1) + "1"
    assert _found(store, exp, f"params.p0 LIKE '{pattern}'") == [r1]
    many_or = " OR ".join(f"metrics.m{i} = 2" for i in range(N))
    assert _found(store, exp, many_or) == [r2]


def test_one_past_the_limits_is_refused_before_the_database(store, three_runs) -> None:
    exp, _ = three_runs
    with pytest.raises(InvalidParameterError, match="comparisons"):
        store.search_runs([exp], " AND ".join(f"metrics.m{i % N} >= 1" for i in range(N + 1)))
    with pytest.raises(InvalidParameterError, match="order_by"):
        store.search_runs([exp], None, order_by=[f"metrics.m{i}" for i in range(1000)])
    with pytest.raises(InvalidParameterError, match="LIKE pattern"):
        store.search_runs([exp], "params.p0 LIKE '" + "%" * 10_000 + "'")
