"""The search filter grammar and ordering (contract section 3, docs/semantics.md "Search").

One experiment with six runs of known values is built once per suite
class; every check searches only inside it.
"""

from __future__ import annotations

import math
import weakref
from dataclasses import dataclass
from typing import Any, Optional

import pytest

from storekit.entities import Metric, Param, RunStatus, RunTag, ViewType
from storekit.errors import InvalidParameterError
from storekit.interfaces import Capability, TrackingStore

from ..helpers import unique
from ..marks import contract, requires

__all__ = ["SearchChecks", "SearchData"]

# name: (start_time offset, metrics, params, tags, status)
_ROWS: dict[str, tuple[int, dict[str, float], dict[str, str], dict[str, str], RunStatus]] = {
    "r0": (
        0,
        {"acc": 0.9, "loss": 0.1, "val.loss": 0.2},
        {"lr": "0.01", "opt": "Adam"},
        {"team": "Vision", "my key": "x"},
        RunStatus.RUNNING,
    ),
    "r1": (1, {"acc": 0.5, "loss": 0.5}, {"lr": "0.1", "opt": "adam"}, {"team": "vision"}, RunStatus.FINISHED),
    "r2": (2, {"acc": math.nan, "loss": 0.3}, {"lr": "0.001", "opt": "SGD"}, {"team": "nlp"}, RunStatus.FAILED),
    "r3": (3, {"acc": math.inf, "loss": -math.inf}, {"opt": "Adam"}, {"team": "a_c%"}, RunStatus.RUNNING),
    "r4": (4, {"loss": 0.7}, {"lr": "0.01", "opt": "a.c*"}, {"team": "abc"}, RunStatus.FINISHED),
    "r5": (5, {"acc": 0.7, "val.loss": 0.1}, {"lr": "1e-3"}, {}, RunStatus.KILLED),
}


@dataclass
class SearchData:
    """The search fixture: experiment id, run ids by row name, and the base start time."""

    experiment_id: str
    ids: dict[str, str]
    t0: int

    def names(self, runs: list[Any]) -> set[str]:
        """Row names of a search result (as a set)."""
        back = {v: k for k, v in self.ids.items()}
        return {back[r.info.run_id] for r in runs}

    def ordered(self, runs: list[Any]) -> list[str]:
        """Row names of a search result, in order."""
        back = {v: k for k, v in self.ids.items()}
        return [back[r.info.run_id] for r in runs]


_BUILT: "weakref.WeakKeyDictionary[TrackingStore, SearchData]" = weakref.WeakKeyDictionary()


def _build_search_data(store: TrackingStore) -> SearchData:
    exp_id = store.create_experiment(unique("search"))
    t0 = 1_600_000_000_000
    ids: dict[str, str] = {}
    for name, (offset, metrics, params, tags, status) in _ROWS.items():
        run = store.create_run(exp_id, user_id=f"user-{name}", start_time=t0 + offset * 1000, run_name=name)
        store.log_batch(
            run.info.run_id,
            metrics=[Metric(k, v, t0, 0) for k, v in metrics.items()],
            params=[Param(k, v) for k, v in params.items()],
            tags=[RunTag(k, v) for k, v in tags.items()],
        )
        if status is not RunStatus.RUNNING:
            store.update_run_info(run.info.run_id, status=status, end_time=t0 + 10_000)
        ids[name] = run.info.run_id
    return SearchData(exp_id, ids, t0)


class SearchChecks:
    """Checks of ``search_runs`` filters and ordering."""

    @pytest.fixture
    def search_data(self, tracking_store: TrackingStore) -> SearchData:
        """Six runs with known metrics, params, tags, names, statuses and start times.

        Built once per store object (it is only read), so a class- or
        session-scoped store fixture pays for it once.
        """
        try:
            return _BUILT[tracking_store]
        except (KeyError, TypeError):
            pass
        data = _build_search_data(tracking_store)
        try:
            _BUILT[tracking_store] = data
        except TypeError:  # not weak-referenceable: rebuilt for every check
            pass
        return data

    @staticmethod
    def _find(store: TrackingStore, data: SearchData, filter_string: Optional[str], **kw: Any) -> set[str]:
        return data.names(store.search_runs([data.experiment_id], filter_string=filter_string, **kw))

    # -- comparators -----------------------------------------------------------
    @pytest.mark.parametrize(
        "flt,expected",
        [
            ("metrics.acc > 0.6", {"r0", "r3", "r5"}),
            ("metrics.acc >= 0.7", {"r0", "r3", "r5"}),
            ("metrics.acc < 0.7", {"r1"}),
            ("metrics.acc <= 0.7", {"r1", "r5"}),
            ("metrics.acc = 0.5", {"r1"}),
            ("metrics.acc != 0.5", {"r0", "r2", "r3", "r5"}),
            ("metrics.loss < 0", {"r3"}),
            ("metrics.acc = NaN", set()),
            ("metrics.acc > -1e308", {"r0", "r1", "r3", "r5"}),
        ],
    )
    @contract(
        "3-search",
        "numeric comparators = != < <= > >= compare as IEEE doubles; NaN matches only !=; missing matches nothing",
    )
    def test_numeric_comparators(
        self, tracking_store: TrackingStore, search_data: SearchData, flt: str, expected: set[str]
    ) -> None:
        assert self._find(tracking_store, search_data, flt) == expected

    @pytest.mark.parametrize(
        "flt,expected",
        [
            ("params.opt = 'Adam'", {"r0", "r3"}),
            ("params.opt != 'Adam'", {"r1", "r2", "r4"}),
            ("params.opt LIKE 'A%'", {"r0", "r3"}),
            ("params.opt LIKE 'a%'", {"r1", "r4"}),
            ("params.opt ILIKE 'a%'", {"r0", "r1", "r3", "r4"}),
            ("params.opt ILIKE 'ADAM'", {"r0", "r1", "r3"}),
            ("tags.team = 'vision'", {"r1"}),
            ("tags.team ILIKE 'VISION'", {"r0", "r1"}),
            ("params.opt IN ('SGD', 'adam')", {"r1", "r2"}),
            ("params.opt NOT IN ('SGD', 'adam')", {"r0", "r3", "r4"}),
            ("params.lr IS NULL", {"r3"}),
            ("params.lr IS NOT NULL", {"r0", "r1", "r2", "r4", "r5"}),
            ("tags.team IS NULL", {"r5"}),
        ],
    )
    @contract(
        "3-search", "string comparators = != LIKE ILIKE IN NOT IN IS [NOT] NULL; = != LIKE IN case-sensitive, ILIKE not"
    )
    def test_string_comparators(
        self, tracking_store: TrackingStore, search_data: SearchData, flt: str, expected: set[str]
    ) -> None:
        assert self._find(tracking_store, search_data, flt) == expected

    @pytest.mark.parametrize(
        "flt,expected",
        [
            ("tags.team LIKE 'a_c'", {"r4"}),  # _ matches one character
            ("tags.team LIKE 'a_c%'", {"r3", "r4"}),  # % matches the rest
            ("params.opt LIKE 'a.c*'", {"r4"}),  # . and * are literals
            ("params.opt LIKE 'a.c'", set()),
            ("params.opt LIKE '_.c%'", {"r4"}),
            ("params.opt LIKE '[a]%'", set()),  # brackets are literals
        ],
    )
    @contract("3-search", "% and _ are the only wildcards")
    def test_like_wildcards(
        self, tracking_store: TrackingStore, search_data: SearchData, flt: str, expected: set[str]
    ) -> None:
        assert self._find(tracking_store, search_data, flt) == expected

    @pytest.mark.parametrize(
        "flt,expected",
        [
            ("attributes.run_name = 'r2'", {"r2"}),
            ("attributes.status = 'FINISHED'", {"r1", "r4"}),
            ("attributes.status != 'RUNNING'", {"r1", "r2", "r4", "r5"}),
            ("attributes.user_id LIKE 'user-r%'", {"r0", "r1", "r2", "r3", "r4", "r5"}),
            ("attributes.run_name ILIKE 'R1'", {"r1"}),
            ("attributes.start_time >= START3", {"r3", "r4", "r5"}),
            ("attributes.start_time < START1", {"r0"}),
            ("attributes.run_id = 'RUN_r4'", {"r4"}),
            ("attributes.run_id IN ('RUN_r4', 'RUN_r0')", {"r0", "r4"}),
        ],
    )
    @contract("3-search", "attributes run_id, run_name, status, user_id, start_time compare with their comparators")
    def test_attribute_filters(
        self, tracking_store: TrackingStore, search_data: SearchData, flt: str, expected: set[str]
    ) -> None:
        flt = flt.replace("START3", str(search_data.t0 + 3000)).replace("START1", str(search_data.t0 + 1000))
        for name, run_id in search_data.ids.items():
            flt = flt.replace(f"RUN_{name}'", f"{run_id}'")
        assert self._find(tracking_store, search_data, flt) == expected

    @contract("3-search", "keys with spaces or dots are quoted with backticks")
    def test_backtick_keys(self, tracking_store: TrackingStore, search_data: SearchData) -> None:
        assert self._find(tracking_store, search_data, "tags.`my key` = 'x'") == {"r0"}
        assert self._find(tracking_store, search_data, "metrics.`val.loss` < 0.15") == {"r5"}
        assert self._find(tracking_store, search_data, "metrics.`val.loss` IS NULL") == {"r1", "r2", "r3", "r4"}

    @contract("3-search", "AND combines comparisons")
    def test_and(self, tracking_store: TrackingStore, search_data: SearchData) -> None:
        flt = "params.opt ILIKE 'adam' AND metrics.acc > 0.6 and tags.team = 'Vision'"
        assert self._find(tracking_store, search_data, flt) == {"r0"}

    @pytest.mark.parametrize(
        "flt,expected",
        [
            ("params.opt = 'SGD' OR metrics.acc > 0.8", {"r0", "r2", "r3"}),
            ("NOT params.opt = 'Adam'", {"r1", "r2", "r4", "r5"}),
            ("NOT (params.opt = 'Adam' OR params.opt = 'adam')", {"r2", "r4", "r5"}),
            ("params.opt = 'SGD' OR params.opt = 'Adam' AND metrics.acc < 1", {"r0", "r2"}),
            ("(params.opt = 'SGD' OR params.opt = 'Adam') AND metrics.acc < 1", {"r0"}),
            ("NOT metrics.acc > 0.6 AND params.lr IS NOT NULL", {"r1", "r2", "r4"}),
            ("tags.team = 'nlp' or tags.team = 'abc' or attributes.run_name = 'r5'", {"r2", "r4", "r5"}),
        ],
    )
    @requires(Capability.SEARCH_OR)
    @contract("3-search", "OR, NOT and parentheses with the usual precedence (NOT > AND > OR); two-valued logic")
    def test_or_not_parentheses(
        self, tracking_store: TrackingStore, search_data: SearchData, flt: str, expected: set[str]
    ) -> None:
        assert self._find(tracking_store, search_data, flt) == expected

    @pytest.mark.parametrize(
        "flt,expected",
        [
            ("NOT attributes.end_time > 5", {"r0", "r3"}),  # r0 and r3 never ended: end_time is unset
            ("NOT attributes.end_time < 5", {"r0", "r1", "r2", "r3", "r4", "r5"}),
            ("NOT metrics.acc > 0", {"r2", "r4"}),  # r2: NaN, r4: no acc
            ("NOT params.lr = '0.01'", {"r1", "r2", "r3", "r5"}),  # r3 has no lr
        ],
    )
    @requires(Capability.SEARCH_OR)
    @contract("3-search", "NOT of a comparison on a missing value (unset attribute, metric, param) is true")
    def test_not_keeps_missing_values(
        self, tracking_store: TrackingStore, search_data: SearchData, flt: str, expected: set[str]
    ) -> None:
        assert self._find(tracking_store, search_data, flt) == expected

    # -- errors ------------------------------------------------------------------
    @pytest.mark.parametrize(
        "flt",
        [
            "metrics.acc >",
            "params.opt = 'unterminated",
            "metrics.acc > 0.5 AND",
            "(params.opt = 'Adam'",
            "unknown.x = 1",
            "params.opt ~ 'x'",
            "metrics.acc LIKE 'x'",
            "params.opt > 3",
            "attributes.no_such_attribute = 'x'",
        ],
    )
    @contract("3-search", "a malformed filter raises InvalidParameterError with the position of the error")
    def test_malformed_filter(self, tracking_store: TrackingStore, search_data: SearchData, flt: str) -> None:
        with pytest.raises(InvalidParameterError) as excinfo:
            tracking_store.search_runs([search_data.experiment_id], filter_string=flt)
        message = str(excinfo.value).lower()
        assert "position" in message or "unknown" in message or "not" in message or "allowed" in message, message

    @contract("3-search", "a malformed filter's error gives the position")
    def test_malformed_filter_position(self, tracking_store: TrackingStore, search_data: SearchData) -> None:
        with pytest.raises(InvalidParameterError, match="(?i)position"):
            tracking_store.search_runs([search_data.experiment_id], filter_string="metrics.acc > 0.5 AND AND")

    @pytest.mark.parametrize(
        "flt",
        [
            "params.opt = 'x'' OR ''1''=''1'",
            "params.opt = 'x\\' OR 1=1 --'",
            "tags.`team` = 'a'); DROP TABLE runs; --'",
            "params.`opt' OR '1'='1` = 'x'",
        ],
    )
    @contract("3-search", "no filter string reaches SQL or the file system unescaped")
    def test_injection_is_data(self, tracking_store: TrackingStore, search_data: SearchData, flt: str) -> None:
        try:
            found = self._find(tracking_store, search_data, flt)
        except InvalidParameterError:
            found = set()
        assert found == set()
        assert len(tracking_store.search_runs([search_data.experiment_id])) == len(_ROWS)

    @contract("3-search", "max_results is capped at 50,000; above it raises InvalidParameterError")
    def test_max_results_cap(self, tracking_store: TrackingStore, search_data: SearchData) -> None:
        assert len(tracking_store.search_runs([search_data.experiment_id], max_results=50_000)) == len(_ROWS)
        with pytest.raises(InvalidParameterError) as excinfo:
            tracking_store.search_runs([search_data.experiment_id], max_results=50_001)
        assert "50000" in str(excinfo.value) or "50,000" in str(excinfo.value)
        page = tracking_store.search_runs([search_data.experiment_id], max_results=2)
        assert len(page) == 2 and page.token

    # -- ordering --------------------------------------------------------------------
    @contract("3-search", "default order: start_time DESC, then run_id")
    def test_default_order(self, tracking_store: TrackingStore, search_data: SearchData) -> None:
        runs = tracking_store.search_runs([search_data.experiment_id])
        assert search_data.ordered(runs) == ["r5", "r4", "r3", "r2", "r1", "r0"]

    @pytest.mark.parametrize(
        "order_by,expected",
        [
            (["metrics.acc DESC"], ["r3", "r0", "r5", "r1", "r2", "r4"]),
            (["metrics.acc ASC"], ["r1", "r5", "r0", "r3", "r2", "r4"]),
            (["metrics.acc"], ["r1", "r5", "r0", "r3", "r2", "r4"]),
            (["params.lr ASC", "attributes.start_time DESC"], ["r2", "r4", "r0", "r1", "r5", "r3"]),
            (["params.lr DESC", "attributes.start_time ASC"], ["r5", "r1", "r0", "r4", "r2", "r3"]),
            (["tags.team DESC"], ["r1", "r2", "r4", "r3", "r0", "r5"]),
            (["attributes.run_name DESC"], ["r5", "r4", "r3", "r2", "r1", "r0"]),
            (["attributes.start_time ASC"], ["r0", "r1", "r2", "r3", "r4", "r5"]),
        ],
    )
    @contract(
        "3-search", "order_by: several keys, ASC/DESC; missing values last and NaN after numbers in either direction"
    )
    def test_order_by(
        self, tracking_store: TrackingStore, search_data: SearchData, order_by: list[str], expected: list[str]
    ) -> None:
        runs = tracking_store.search_runs([search_data.experiment_id], order_by=order_by)
        assert search_data.ordered(runs) == expected

    @contract("3-search", "search_runs over several experiments, and deleted runs only with DELETED_ONLY/ALL")
    def test_several_experiments(
        self, tracking_store: TrackingStore, search_data: SearchData, experiment_id: str
    ) -> None:
        extra = tracking_store.create_run(experiment_id, run_name="extra")
        tracking_store.log_param(extra.info.run_id, Param("opt", "Adam"))
        runs = tracking_store.search_runs(
            [search_data.experiment_id, experiment_id], filter_string="params.opt = 'Adam'"
        )
        assert {r.info.run_id for r in runs} == {search_data.ids["r0"], search_data.ids["r3"], extra.info.run_id}
        tracking_store.delete_run(extra.info.run_id)
        deleted = tracking_store.search_runs([experiment_id], view_type=ViewType.DELETED_ONLY)
        assert [r.info.run_id for r in deleted] == [extra.info.run_id]
