"""Search compiled to SQL: same answers as the pinned semantics, on every database."""

from __future__ import annotations

import math

import pytest

from storekit.entities import Dataset, DatasetInput, Metric, Param, RunTag
from storekit.errors import InvalidParameterError


@pytest.fixture
def corpus(store, uniq):
    """Five runs with metrics (incl. NaN/inf), params and tags; returns (exp, {name: run_id})."""
    exp = store.create_experiment(uniq("search"))
    spec = {
        "a": ({"m": 1.0}, {"p": "Alpha"}, {"t": "x%y"}),
        "b": ({"m": 2.5}, {"p": "alpha"}, {"t": "a\\b"}),
        "c": ({"m": math.nan}, {"p": "beta"}, {"t": "x_y"}),
        "d": ({"m": math.inf}, {}, {"t": "xzy"}),
        "e": ({}, {"p": "BETA "}, {}),
    }
    ids = {}
    for i, (name, (metrics, params, tags)) in enumerate(spec.items()):
        run = store.create_run(exp, start_time=1000 + i, run_name=name)
        store.log_batch(
            run.info.run_id,
            [Metric(k, v, 0, 0) for k, v in metrics.items()],
            [Param(k, v) for k, v in params.items()],
            [RunTag(k, v) for k, v in tags.items()],
        )
        ids[name] = run.info.run_id
    return exp, ids


def names(store, exp, filter_string=None, order_by=None):
    return [r.info.run_name for r in store.search_runs([exp], filter_string, order_by=order_by)]


@pytest.mark.parametrize(
    "flt, expected",
    [
        ("metrics.m > 1", {"b", "d"}),
        ("metrics.m != 1", {"b", "c", "d"}),  # NaN satisfies only !=
        ("metrics.m = 1", {"a"}),
        ("metrics.m <= 2.5", {"a", "b"}),
        ("metrics.m >= 1e308", {"d"}),
        ("NOT metrics.m > 1", {"a", "c", "e"}),  # missing is false, NOT inverts
        ("metrics.m IS NULL", {"e"}),
        ("params.p = 'alpha'", {"b"}),  # case-sensitive
        ("params.p != 'alpha'", {"a", "c", "e"}),
        ("params.p = 'BETA'", set()),  # no trailing-space padding
        ("params.p LIKE 'al%'", {"b"}),
        ("params.p ILIKE 'al%'", {"a", "b"}),
        ("params.p ILIKE '%ET_%'", {"c", "e"}),
        ("params.p IN ('beta', 'Alpha')", {"a", "c"}),
        ("params.p NOT IN ('beta', 'Alpha')", {"b", "e"}),
        ("params.p IS NULL", {"d"}),
        ("tags.t LIKE 'x_y'", {"a", "c", "d"}),
        ("tags.t LIKE 'a\\b'", {"b"}),  # backslash is literal
        ("tags.t LIKE 'x[%'", set()),
        ("tags.t LIKE 'x|%'", set()),
        ("metrics.m > 2 OR params.p = 'beta'", {"b", "c", "d"}),
        ("(metrics.m > 2 OR params.p = 'beta') AND NOT tags.t = 'xzy'", {"b", "c"}),
        ("attributes.run_name = 'a' OR attributes.run_name LIKE 'e'", {"a", "e"}),
        ("attributes.start_time >= 1003", {"d", "e"}),
        ("attributes.end_time IS NULL", {"a", "b", "c", "d", "e"}),
    ],
)
def test_filters(store, corpus, flt, expected):
    exp, _ = corpus
    assert set(names(store, exp, flt)) == expected


def test_ordering_missing_last_nan_after_numbers(store, corpus):
    exp, _ = corpus
    assert names(store, exp, order_by=["metrics.m ASC"]) == ["a", "b", "d", "c", "e"]
    assert names(store, exp, order_by=["metrics.m DESC"]) == ["d", "b", "a", "c", "e"]
    assert names(store, exp, order_by=["params.p ASC"]) == ["a", "e", "b", "c", "d"]  # code-point order
    assert names(store, exp, order_by=["params.p DESC"]) == ["c", "b", "e", "a", "d"]
    assert names(store, exp) == ["e", "d", "c", "b", "a"]


def test_malformed_filter_raises(store, corpus):
    exp, _ = corpus
    with pytest.raises(InvalidParameterError):
        store.search_runs([exp], "metrics.m >")


@pytest.mark.parametrize("order", [None, ["metrics.m DESC"], ["params.p ASC"], ["attributes.run_name DESC"]])
def test_pagination_stable_while_runs_are_added(store, corpus, order):
    exp, ids = corpus
    expected = [r.info.run_id for r in store.search_runs([exp], order_by=order)]
    page = store.search_runs([exp], max_results=2, order_by=order)
    seen = [r.info.run_id for r in page]
    while page.token:
        new = store.create_run(exp, start_time=5000)  # created meanwhile: not returned
        store.log_batch(new.info.run_id, [Metric("m", 0.0, 0, 0)], [Param("p", "zzz")])
        page = store.search_runs([exp], max_results=2, order_by=order, page_token=page.token)
        seen += [r.info.run_id for r in page]
    assert seen == expected
    with pytest.raises(InvalidParameterError):
        store.search_runs([exp], max_results=2, order_by=order, page_token=page.token or "x" + "A" * 20)


def test_token_bound_to_query(store, corpus):
    exp, _ = corpus
    page = store.search_runs([exp], max_results=1)
    with pytest.raises(InvalidParameterError):
        store.search_runs([exp], "metrics.m > 0", max_results=1, page_token=page.token)
    with pytest.raises(InvalidParameterError):
        store.search_runs([exp], max_results=50_001)


def test_dataset_search(store, corpus):
    exp, ids = corpus
    ds = Dataset("mnist", "abc123", "path", "/data/mnist")
    store.log_inputs(ids["a"], [DatasetInput(ds, {"context": "training"})])
    store.log_inputs(ids["a"], [DatasetInput(ds, {"context": "training"})])  # idempotent
    store.log_inputs(ids["b"], [DatasetInput(ds, {"context": "eval"})])
    run = store.get_run(ids["a"])
    assert [i.dataset for i in run.inputs.dataset_inputs] == [ds]
    assert set(names(store, exp, "datasets.name = 'mnist'")) == {"a", "b"}
    assert set(names(store, exp, "datasets.context = 'training'")) == {"a"}
    assert set(names(store, exp, "datasets.digest LIKE 'ABC%'")) == set()


def test_search_experiments(store, uniq):
    prefix = uniq("se")
    ids = [store.create_experiment(f"{prefix}-{i}", tags={"k": str(i)}) for i in range(5)]
    store.delete_experiment(ids[0])
    found = store.search_experiments(filter_string=f"name LIKE '{prefix}%' AND tags.k != '3'")
    assert sorted(e.experiment_id for e in found) == sorted([ids[1], ids[2], ids[4]])
    page = store.search_experiments(filter_string=f"name LIKE '{prefix}%'", max_results=2)
    seen = [e.experiment_id for e in page]
    while page.token:
        page = store.search_experiments(filter_string=f"name LIKE '{prefix}%'", max_results=2, page_token=page.token)
        seen += [e.experiment_id for e in page]
    assert sorted(seen) == sorted(ids[1:])
