"""Run search of :class:`~storekit.backends.sql.SqlTrackingStore` (SQLAlchemy path).

``RUN_SPEC`` maps the run search identifiers to columns for the filter
compiler (:mod:`.search_sql`); ``search_runs`` pages with :func:`.paged.paged_select`.
The raw-SQLite twin is :func:`.raw_ops.search_runs`.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ... import rules
from ...entities import LifecycleStage, PagedList, Run, ViewType
from ...errors import InvalidParameterError
from ...interfaces import DEFAULT_MAX_RESULTS
from ...search.ast import RUN_SCHEMA, Kind
from . import schema as s
from .basics import is_experiment_key
from .engine import Database
from .fastpath import ServerFastPath
from .paged import fingerprint, paged_select, parse_query
from .rows import RUN_COLUMNS, runs_from_rows
from .runs import EFFECTIVE_STAGE
from .search_sql import EntitySpec, KeyedTable
from .sqlutil import cursor_of

__all__ = ["SearchOps", "RUN_SPEC"]

_r = s.runs


def _dataset_exists(key: str, cond: Any) -> Any:
    i, d = s.inputs.alias(), s.datasets.alias()
    column = {"name": d.c.name, "digest": d.c.digest, "context": i.c.context}.get(key)
    if column is None:
        raise InvalidParameterError(f"datasets.{key}: unknown dataset field (name, digest, context)")
    return sa.exists().where(i.c.run_row == _r.c.row_id, i.c.dataset_id == d.c.dataset_id, cond(column))


def _of_run(t: Any) -> Any:
    """A run child row belongs to the outer query's run."""
    return t.c.run_row == _r.c.row_id


RUN_SPEC = EntitySpec(
    attributes={
        "run_id": _r.c.run_uuid,
        "run_name": _r.c.name,
        "status": _r.c.status,
        "user_id": _r.c.user_id,
        "start_time": _r.c.start_time,
        "end_time": _r.c.end_time,
        "artifact_uri": _r.c.artifact_uri,
        "experiment_id": sa.cast(_r.c.experiment_id, sa.String(20)),
        "lifecycle_stage": EFFECTIVE_STAGE,
    },
    keyed={
        Kind.METRIC: KeyedTable(s.latest_metrics, _of_run, numeric=True, parent=_r.c.row_id, child="run_row"),
        Kind.PARAM: KeyedTable(s.params, _of_run, parent=_r.c.row_id, child="run_row"),
        Kind.TAG: KeyedTable(s.tags, _of_run, parent=_r.c.row_id, child="run_row"),
    },
    unique=(_r.c.run_uuid,),
    unique_attribute="run_id",
    not_null=frozenset({"run_id", "status", "start_time", "artifact_uri", "experiment_id", "lifecycle_stage"}),
    dataset_exists=_dataset_exists,
)


class SearchOps:
    """``search_runs`` of :class:`~.tracking.SqlAlchemyTrackingStore` (a mix-in)."""

    _db: Database
    _token_key: bytes
    _fast: Optional[ServerFastPath]

    def search_runs(
        self,
        experiment_ids: Sequence[str],
        filter_string: Optional[str] = None,
        view_type: ViewType = ViewType.ACTIVE_ONLY,
        max_results: int = DEFAULT_MAX_RESULTS,
        order_by: Optional[Sequence[str]] = None,
        page_token: Optional[str] = None,
    ) -> PagedList[Run]:
        """Runs of the experiments matching the filter, keyset-paginated."""
        keys_wanted = [int(e) for e in rules.validate_experiment_ids(experiment_ids) if is_experiment_key(e)]
        view_type = rules.parse_view_type(view_type)
        expr, order = parse_query(filter_string, order_by, RUN_SCHEMA)
        query = fingerprint("runs", sorted(keys_wanted), filter_string, int(view_type), list(order_by or []))

        def txn(conn: Connection) -> PagedList[Run]:
            stages: dict[Any, Any] = (
                dict(
                    conn.execute(
                        sa.select(s.experiments.c.experiment_id, s.experiments.c.lifecycle_stage).where(
                            s.experiments.c.experiment_id.in_(keys_wanted)
                        )
                    ).all()
                )
                if keys_wanted
                else {}
            )
            active = [k for k, st in stages.items() if st == LifecycleStage.ACTIVE.value]
            deleted = [k for k, st in stages.items() if st != LifecycleStage.ACTIVE.value]
            run_active = _r.c.lifecycle_stage == LifecycleStage.ACTIVE.value
            if view_type is ViewType.ACTIVE_ONLY:
                where = sa.and_(_r.c.experiment_id.in_(active), run_active)
            elif view_type is ViewType.DELETED_ONLY:
                where = sa.or_(_r.c.experiment_id.in_(deleted), sa.and_(_r.c.experiment_id.in_(active), ~run_active))
            else:
                where = _r.c.experiment_id.in_(active + deleted)
            rows, token = paged_select(
                conn,
                columns=RUN_COLUMNS,
                base=_r,
                where=[where],
                expr=expr,
                keys=order,
                spec=RUN_SPEC,
                max_results=max_results,
                page_token=page_token,
                query=query,
                key=self._token_key,
                bound_column=_r.c.row_id,
            )
            if self._fast is not None:  # the runs' children in one query on the driver's cursor
                cur = cursor_of(conn)
                try:
                    return PagedList(self._fast.load_runs(cur, rows, frozenset(deleted)), token)
                finally:
                    cur.close()
            return PagedList(runs_from_rows(conn, rows, frozenset(deleted)), token)

        return self._db.run(txn, write=False)
