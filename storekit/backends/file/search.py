"""Run search of :class:`~storekit.backends.file.FileTrackingStore`: in-process filter, order and keyset pages.

The runs of the experiments' indexes are filtered and ordered by
:func:`storekit.search.inprocess.search_page`; a page token is bound to the
last run sequence number of each index, so runs created later never shift a page.
"""

from __future__ import annotations

import operator
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any, Callable, Iterator, Optional, Sequence

from ... import rules
from ...entities import LifecycleStage, PagedList, Run, ViewType
from ...errors import InvalidParameterError
from ...interfaces import DEFAULT_MAX_RESULTS
from ...search.inprocess import ResultCache, int_bound, search_page
from .experiments import ExperimentCatalog
from .run_index import ExperimentIndex, RunState

__all__ = ["FileSearchOps"]


class FileSearchOps:
    """``search_runs`` of :class:`~storekit.backends.file.FileTrackingStore` (a mix-in)."""

    _experiments: ExperimentCatalog
    _results: ResultCache
    _token_key: Optional[bytes]

    if TYPE_CHECKING:  # provided by FileRunOps

        def _index(self, experiment_id: str) -> ExperimentIndex: ...

    def search_runs(
        self,
        experiment_ids: Sequence[str],
        filter_string: Optional[str] = None,
        view_type: ViewType = ViewType.ACTIVE_ONLY,
        max_results: int = DEFAULT_MAX_RESULTS,
        order_by: Optional[Sequence[str]] = None,
        page_token: Optional[str] = None,
    ) -> PagedList[Run]:
        """Runs of the given experiments matching the filter, paged by a stable keyset token."""
        from ...search import RUN_SCHEMA

        ids = sorted(rules.validate_experiment_ids(experiment_ids), key=lambda e: (len(e), e))
        view = rules.parse_view_type(view_type)
        deleted_experiments: set[str] = set()
        indexes = []
        for eid in ids:
            doc = self._experiments.load(eid) if eid.isdigit() else None
            if doc is None:
                continue
            if doc["lifecycle_stage"] == LifecycleStage.DELETED.value:
                deleted_experiments.add(eid)
            indexes.append(self._index(eid))
        with ExitStack() as stack:
            bound: dict[str, int] = {}
            for index in indexes:
                stack.enter_context(index.mutex)
                index.refresh()
                bound[index.dir.name] = index.next_seq - 1
            page = search_page(
                _visible_states(indexes, view, deleted_experiments),  # only walked when not cached
                _run_accessor(deleted_experiments),
                schema=RUN_SCHEMA,
                filter_string=filter_string,
                order_by=order_by,
                max_results=max_results,
                page_token=page_token,
                key=self._token_key,
                query=[ids, int(view)],
                bound=bound,
                within_bound=_within_run_bound,
                cache=self._results,
                version=(tuple((i.dir.name, i.log.version()) for i in indexes), tuple(sorted(deleted_experiments))),
            )
            return PagedList([s.to_run(s.experiment_id in deleted_experiments) for s in page], page.token)


def _visible_states(
    indexes: Sequence[ExperimentIndex], view: ViewType, deleted_experiments: set[str]
) -> Iterator[RunState]:
    """The runs of ``indexes`` that ``view`` shows (a run of a deleted experiment counts as deleted)."""
    for index in indexes:
        runs = index.runs.values()
        if view is ViewType.ALL:
            yield from runs
        elif index.dir.name in deleted_experiments:
            if view is ViewType.DELETED_ONLY:
                yield from runs
        else:
            want = "active" if view is ViewType.ACTIVE_ONLY else "deleted"
            yield from (s for s in runs if s.lifecycle_stage == want)


def _within_run_bound(bound: Any) -> Callable[[RunState], bool]:
    """Validate a run-search bound ({experiment id: last run seq}) and return its predicate."""
    if not isinstance(bound, dict) or not all(isinstance(k, str) for k in bound):
        raise InvalidParameterError("page_token: invalid page token (bad bound)")
    limits = {k: int_bound(v) for k, v in bound.items()}
    return lambda state: state.seq <= limits.get(state.experiment_id, 0)


def _run_accessor(deleted_experiments: set[str]) -> Callable[[Any], Callable[[RunState], object]]:
    """Search values of runs: identifier -> (run state -> value), see :func:`storekit.search.compile_filter`."""
    from ...search import Kind

    def accessor(ident: Any) -> Callable[[RunState], object]:
        kind, key = ident.kind, ident.key
        if kind is Kind.METRIC:

            def metric(state: RunState) -> object:
                point = state.metrics.get(key)
                return None if point is None else point[0]

            return metric
        if kind is Kind.PARAM:
            return lambda state: state.params.get(key)
        if kind is Kind.TAG:
            return lambda state: state.tags.get(key)
        if kind is Kind.ATTRIBUTE:
            if key == "lifecycle_stage":
                return lambda state: state.effective_stage(state.experiment_id in deleted_experiments).value
            return operator.attrgetter(key) if key in RunState.__slots__ else (lambda state: None)
        # datasets: any-match over the run's inputs
        if key == "context":
            return lambda state: tuple(d["tags"]["context"] for d in state.inputs if "context" in (d.get("tags") or {}))
        return lambda state: tuple(d["dataset"].get(key) for d in state.inputs)

    return accessor
