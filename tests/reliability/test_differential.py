"""Differential test: every backend answers the same random workload the same way.

One hypothesis test drives the file store, SQLite, PostgreSQL, MariaDB and the
memory plugin (the template a plugin author starts from) with the same random
sequence of writes and reads - unset attributes, NaN and +-inf, repeated
steps and timestamps, param re-logs with the same or another value, deleted
and restored runs, pages that end exactly full - and asserts that every store
gives the same answer to every call: the same value, or the same error class.

Only what the contract leaves free is normalised: run ids (replaced by the
run's creation index) and the store-assigned parts of a run (artifact URI,
experiment id).  Every timestamp the workload sees is one it chose.

~40 workloads by default (CI); ``STOREKIT_SOAK=1`` runs 2,000, and
``STOREKIT_DIFFERENTIAL_EXAMPLES=N`` any number.
"""

from __future__ import annotations

import math
import os
from typing import Any, Callable, Iterator, Optional

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from storekit.entities import Metric, Param, RunStatus, RunTag, ViewType
from storekit.errors import StorekitError
from storekit.interfaces import TrackingStore
from storekit.plugins import resolve_tracking_store
from tests.reliability.conftest import HOSTILE_BACKENDS, SOAK

EXAMPLES = int(os.environ.get("STOREKIT_DIFFERENTIAL_EXAMPLES") or (2_000 if SOAK else 40))

# about a second per workload on an idle machine; room for a loaded one
pytestmark = pytest.mark.timeout(300 + 5 * EXAMPLES)

# ---------------------------------------------------------------- the workload

VALUES = st.sampled_from([0.0, 1.0, -1.0, 0.5, 2.0, math.nan, math.inf, -math.inf])
METRIC_KEYS = st.sampled_from(["m0", "m1"])
PARAM_KEYS = st.sampled_from(["p0", "p1", "p2"])
PARAM_VALUES = st.sampled_from(["a", "b", "1"])
TAG_KEYS = st.sampled_from(["t0", "t1"])
TAG_VALUES = st.sampled_from(["x", "y", ""])
SMALL = st.integers(min_value=0, max_value=3)  # steps and timestamps repeat often
RUN = st.integers(min_value=0, max_value=7)  # an index, taken modulo the runs created

COMPARISONS = [
    "metrics.m0 > 0",
    "metrics.m0 <= 0.5",
    "metrics.m1 = 1",
    "metrics.m0 != 2",
    "metrics.m1 >= -1",
    "params.p0 = 'a'",
    "params.p1 != 'b'",
    "params.p2 LIKE '%'",
    "tags.t0 = 'x'",
    "tags.t1 != 'y'",
    "tags.t0 ILIKE 'X'",
    "attributes.status = 'FINISHED'",
    "attributes.status != 'RUNNING'",
    "attributes.end_time > 5",
    "attributes.end_time <= 20",
    "attributes.start_time >= 2",
    "attributes.run_name = 'r1'",
    "attributes.run_name LIKE 'r%'",
    "metrics.m1 IS NULL",
    "metrics.m0 = NaN",
    "metrics.m0 < inf",
    "params.p1 IS NOT NULL",
    "params.p0 IN ('a', 'b')",
    "tags.t1 NOT IN ('x')",
    "tags.t0 IS NULL",
    "attributes.end_time IS NULL",
]
ORDERS = [
    None,
    ["metrics.m0 ASC"],
    ["metrics.m0 DESC"],
    ["metrics.m1 DESC", "params.p0 ASC"],
    ["params.p0 DESC"],
    ["tags.t0 ASC"],
    ["attributes.end_time ASC"],
    ["attributes.end_time DESC"],
    ["attributes.start_time ASC"],
    ["attributes.run_name DESC"],
]


@st.composite
def filters(draw: st.DrawFn, depth: int = 2) -> Optional[str]:
    """A filter string of the contract's grammar (comparisons, AND, OR, NOT, brackets)."""
    kind = draw(st.sampled_from(["none", "one", "not", "and", "or"] if depth else ["one"]))
    if kind == "none":
        return None
    if kind == "one":
        return draw(st.sampled_from(COMPARISONS))
    if kind == "not":
        return f"NOT ({draw(filters(depth - 1)) or COMPARISONS[0]})"
    left = draw(filters(depth - 1)) or COMPARISONS[1]
    right = draw(filters(depth - 1)) or COMPARISONS[2]
    return f"({left}) {kind.upper()} ({right})"


metric_st = st.tuples(METRIC_KEYS, VALUES, SMALL, SMALL)  # key, value, timestamp, step
operations = st.one_of(
    st.tuples(st.just("create"), SMALL, st.sampled_from([None, "r0", "r1"])),
    st.tuples(
        st.just("log_batch"),
        RUN,
        st.lists(metric_st, max_size=4),
        st.lists(st.tuples(PARAM_KEYS, PARAM_VALUES), max_size=3),
        st.lists(st.tuples(TAG_KEYS, TAG_VALUES), max_size=2),
    ),
    st.tuples(st.just("log_batch"), RUN, st.lists(metric_st, min_size=1, max_size=4), st.just([]), st.just([])),
    st.tuples(
        st.just("update"), RUN, st.sampled_from([None, "FINISHED", "FAILED"]), st.sampled_from([None, 3, 10, 30])
    ),
    st.tuples(st.just("delete"), RUN),
    st.tuples(st.just("restore"), RUN),
    st.tuples(st.just("delete_tag"), RUN, TAG_KEYS),
    st.tuples(
        st.just("search"),
        filters(),
        st.sampled_from(ORDERS),
        st.sampled_from([1, 2, 3, 1000]),
        st.sampled_from([ViewType.ACTIVE_ONLY, ViewType.DELETED_ONLY, ViewType.ALL]),
    ),
    st.tuples(st.just("history"), RUN, METRIC_KEYS, st.sampled_from([None, 1, 2, 3])),
    st.tuples(st.just("get"), RUN),
)
workloads = st.lists(operations, min_size=1, max_size=14)

# ---------------------------------------------------------- normal forms


def _num(value: float) -> Any:
    return repr(value) if math.isnan(value) or math.isinf(value) else value


_VIEW_FIELD = {"status": 1, "start_time": 2, "end_time": 3, "run_name": 4}


def _sort_value(view: Any, clause: str) -> Any:
    """The value of one ``order_by`` clause's column in a run's normal form."""
    column = clause.split()[0]
    kind, _, name = column.partition(".")
    if kind == "attributes":
        return view[_VIEW_FIELD[name]]
    where = {"metrics": 6, "params": 7, "tags": 8}[kind]
    return dict(view[where]).get(name)


def _tie_free(pages: list[Any], order_by: Optional[list[str]]) -> Any:
    """Pages of a search with the order *within* ties left free.

    Runs whose sort values are all equal are ordered by run id, which the
    contract leaves to the store: the page sizes, the tokens, the sequence of
    sort values and the set of runs in each tie must agree, the order inside
    a tie need not.
    """
    clauses = order_by or ["attributes.start_time DESC"]
    runs = [view for items, _ in pages for view in items]
    keys = [tuple(_sort_value(view, c) for c in clauses) for view in runs]
    groups: list[tuple[Any, list[Any]]] = []
    for key, view in zip(keys, runs):
        if groups and groups[-1][0] == key:
            groups[-1][1].append(view)
        else:
            groups.append((key, [view]))
    shape = [(len(items), more) for items, more in pages]
    return shape, [(key, sorted(views)) for key, views in groups]


class Store:
    """One backend's store, the runs of the current workload and a normaliser."""

    def __init__(self, name: str, store: TrackingStore) -> None:
        self.name = name
        self.store = store
        self.experiment_id = ""
        self.runs: list[str] = []

    def index(self, run_id: str) -> int:
        return self.runs.index(run_id)

    def run_view(self, run: Any) -> Any:
        info, data = run.info, run.data
        return (
            self.index(info.run_id),
            info.status.name if hasattr(info.status, "name") else info.status,
            info.start_time,
            info.end_time,
            info.run_name,
            str(info.lifecycle_stage),
            sorted((k, _num(v)) for k, v in data.metrics.items()),
            sorted(data.params.items()),
            sorted(data.tags.items()),
        )

    def paged(self, call: Callable[[Optional[str]], Any], view: Callable[[Any], Any]) -> Any:
        """Every page of a listing: the items of each page, and whether a token followed."""
        pages: list[Any] = []
        token: Optional[str] = None
        while True:
            page = call(token)
            token = page.token
            pages.append(([view(item) for item in page], token is not None))
            if token is None or len(pages) > 60:
                return pages

    def apply(self, op: tuple[Any, ...]) -> Any:
        kind = op[0]
        if kind == "create":
            run = self.store.create_run(self.experiment_id, start_time=op[1], run_name=op[2])
            self.runs.append(run.info.run_id)
            return self.run_view(run)
        if kind == "search":
            _, filter_string, order_by, max_results, view_type = op
            pages = self.paged(
                lambda token: self.store.search_runs(
                    [self.experiment_id],
                    filter_string,
                    view_type=view_type,
                    max_results=max_results,
                    order_by=order_by,
                    page_token=token,
                ),
                self.run_view,
            )
            return _tie_free(pages, order_by)
        run_id = self.runs[op[1] % len(self.runs)]
        if kind == "log_batch":
            _, _, metrics, params, tags = op
            self.store.log_batch(
                run_id,
                metrics=[Metric(k, v, ts, step) for k, v, ts, step in metrics],
                params=[Param(k, v) for k, v in params],
                tags=[RunTag(k, v) for k, v in tags],
            )
            return None
        if kind == "update":
            status = None if op[2] is None else RunStatus[op[2]]
            info = self.store.update_run_info(run_id, status=status, end_time=op[3])
            return (info.status.name, info.end_time)
        if kind == "delete":
            return self.store.delete_run(run_id)
        if kind == "restore":
            return self.store.restore_run(run_id)
        if kind == "delete_tag":
            return self.store.delete_tag(run_id, op[2])
        if kind == "history":
            return self.paged(
                lambda token: self.store.get_metric_history(run_id, op[2], max_results=op[3], page_token=token),
                lambda m: (m.key, _num(m.value), m.timestamp, m.step),
            )
        if kind == "get":
            return self.run_view(self.store.get_run(run_id))
        raise AssertionError(kind)

    def outcome(self, op: tuple[Any, ...]) -> Any:
        """The normalised answer to ``op``: its value, or the class of the error it raised."""
        try:
            return ("ok", self.apply(op))
        except StorekitError as exc:
            return ("error", type(exc).__name__)


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Store]]:
    """One store per backend for the whole module (each workload uses a new experiment)."""
    from tests.databases import DatabaseFactory, server_uri

    base = tmp_path_factory.mktemp("differential")
    factories: list[DatabaseFactory] = []
    opened: list[Store] = []
    for backend in HOSTILE_BACKENDS:
        if backend == "file":
            uri = str(base / "filestore")
        elif backend == "sqlite":
            uri = f"sqlite:///{base}/store.db"
        elif backend == "memory":
            uri = f"memory://differential-{base.name}"
        else:
            factory = DatabaseFactory(backend, server_uri(backend))
            factories.append(factory)
            uri = factory.create()
        opened.append(Store(backend, resolve_tracking_store(uri)))
    yield opened
    for s in opened:
        s.store.close()
    for factory in factories:
        factory.drop_all()


_counter = iter(range(10**9))


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large],
)
@given(
    first_runs=st.lists(st.tuples(SMALL, st.sampled_from([None, "r0", "r1"])), min_size=1, max_size=4), ops=workloads
)
def test_every_backend_answers_the_same(
    stores: list[Store], first_runs: list[tuple[int, Optional[str]]], ops: list[tuple[Any, ...]]
) -> None:
    name = f"differential-{next(_counter)}"
    for s in stores:
        s.experiment_id = s.store.create_experiment(name)
        s.runs = []
    workload = [("create", start, run_name) for start, run_name in first_runs] + list(ops)
    # the final state, whatever came before: every comparison, and its negation, on every run
    workload.append(("search", None, None, 1000, ViewType.ALL))
    workload += [("search", c, None, 1000, ViewType.ALL) for c in COMPARISONS]
    workload += [("search", f"NOT ({c})", None, 1000, ViewType.ALL) for c in COMPARISONS]
    for step, op in enumerate(workload):
        answers = {s.name: s.outcome(op) for s in stores}
        reference = answers[stores[0].name]
        differing = {name: answer for name, answer in answers.items() if answer != reference}
        assert not differing, (
            f"operation {step} {op!r} of workload {workload!r}:\n"
            f"  {stores[0].name}: {reference!r}\n" + "\n".join(f"  {n}: {a!r}" for n, a in differing.items())
        )
