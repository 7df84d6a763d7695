"""SqlTrackingStore: the tracking store on SQLite, PostgreSQL and MySQL/MariaDB."""

from __future__ import annotations

import json
from bisect import bisect_left, bisect_right
from operator import attrgetter
from typing import Any, Mapping, Optional, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from ... import rules
from ...entities import (
    DatasetInput,
    LifecycleStage,
    Metric,
    PagedList,
    Param,
    Run,
    RunData,
    RunInfo,
    RunStatus,
    RunTag,
    ViewType,
)
from ...errors import InvalidParameterError, NotFoundError, RunNotFound
from ...histories import MetricHistories, validate_history_request
from ...ids import default_artifact_root as _artifact_root_of
from ...ids import new_run_id, now_ms
from ...interfaces import DEFAULT_MAX_RESULTS, TrackingStore
from ...paging import decode_page_token, encode_page_token, token_scalars
from ...rules import validate_key, validate_max_results, validate_run_id
from ...search.ast import RUN_SCHEMA, Kind
from ...uri import append_path, redact_uri
from ..opening import refuse_mlflow_artifact_root
from . import schema as s
from . import writes
from .arrow_histories import sqlite_file, sqlite_histories_arrow
from .experiments import ExperimentOps, is_experiment_key
from .fastpath import fast_path_for, on_cursor
from .importing import SqlTrackingImportOps
from .logged_models import LoggedModelOps
from .metrics import KIND_FINITE, decode_value, row_to_metric
from .migrate import open_database
from .paged import fingerprint, paged_select, parse_query
from .purge import PurgeOps
from .rows import RUN_COLUMNS, run_info, runs_from_rows
from .search_sql import EntitySpec, KeyedTable
from .secret import store_key
from .sqlutil import cursor_of, inserted_id, placeholder
from .store import SQL_TRACKING_CAPABILITIES

__all__ = ["SqlAlchemyTrackingStore", "RUN_SPEC"]

_r = s.runs
_MODEL_ID = attrgetter("model_id")
_DELETED = LifecycleStage.DELETED.value
#: runs per bulk-history query (bounded IN lists on every database)
_HISTORY_CHUNK = 1000
#: the lifecycle stage of a run's experiment (a correlated scalar subquery)
_EXPERIMENT_STAGE = (
    sa.select(s.experiments.c.lifecycle_stage)
    .where(s.experiments.c.experiment_id == _r.c.experiment_id)
    .scalar_subquery()
)
#: a run's effective lifecycle stage: deleted when the run or its experiment is deleted
EFFECTIVE_STAGE = sa.case((_EXPERIMENT_STAGE == _DELETED, _DELETED), else_=_r.c.lifecycle_stage)


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


class SqlAlchemyTrackingStore(SqlTrackingImportOps, LoggedModelOps, ExperimentOps, PurgeOps, TrackingStore):
    """The tracking store on SQLAlchemy: every operation, on every SQL database.

    ``SqlAlchemyTrackingStore(uri, default_artifact_root=None, create=True, **engine_options)``;
    ``engine_options`` go to :func:`sqlalchemy.create_engine` (plus
    ``sqlite_synchronous``, default ``NORMAL``).  An empty database gets the
    schema unless ``create=False`` (then :class:`~storekit.errors.StoreNotFoundError`);
    a database with other tables (an MLflow database) raises
    :class:`~storekit.errors.ForeignStoreError` and is left untouched.
    Used through :class:`~.store.SqlTrackingStore`, which serves an up-to-date
    SQLite file without it where it can.
    """

    capabilities = SQL_TRACKING_CAPABILITIES

    def __init__(
        self, uri: str, default_artifact_root: Optional[str] = None, create: bool = True, **engine_options: Any
    ) -> None:
        self._uri = uri
        self._artifact_root = _artifact_root_of(default_artifact_root)
        refuse_mlflow_artifact_root(self._artifact_root)
        self._db = open_database(uri, create=create, **engine_options)
        self._token_key = store_key(self._db)
        self._writes = writes.statements_for(self._db.engine.dialect)
        self._fast = fast_path_for(self._db.engine.dialect)  # PostgreSQL, MySQL/MariaDB: prebuilt SQL

    def __repr__(self) -> str:
        return f"SqlAlchemyTrackingStore({redact_uri(self._uri)!r})"

    def close(self) -> None:
        """Close pooled connections."""
        self._db.dispose()

    @classmethod
    def check_integrity(cls, uri: str, repair: bool = False) -> Any:
        """Check the database at ``uri`` without opening it as a store: see :mod:`.check`."""
        from .check import check_sql_store

        return check_sql_store(uri, repair)

    # --- runs ------------------------------------------------------------
    def _run_row(self, conn: Connection, run_id: str, lock: bool = False) -> RowMapping:
        validate_run_id(run_id)
        stmt = sa.select(*RUN_COLUMNS, _r.c.purge_time, _EXPERIMENT_STAGE.label("experiment_stage")).where(
            _r.c.run_uuid == run_id
        )
        if lock:
            stmt = stmt.with_for_update()
        row = conn.execute(stmt).mappings().first()
        if row is None:
            raise RunNotFound(f"run {run_id!r} does not exist")
        return row

    def _writable_run(self, conn: Connection, run_id: str) -> RowMapping:
        row = self._run_row(conn, run_id, lock=True)
        rules.check_run_writable(run_id, row["lifecycle_stage"], row["experiment_stage"], row["experiment_id"])
        return row

    def create_run(
        self,
        experiment_id: str,
        user_id: Optional[str] = None,
        start_time: Optional[int] = None,
        tags: Optional[Mapping[str, str]] = None,
        run_name: Optional[str] = None,
    ) -> Run:
        """Create a RUNNING run in an active experiment."""
        rules.validate_experiment_id(experiment_id)
        run_name = rules.validate_run_name(run_name)
        tag_map = rules.validate_run_tags(tags)
        user_id = rules.validate_user_id(user_id)
        start_time = rules.validate_millis(start_time, "start_time")
        start = now_ms() if start_time is None else start_time
        fast = self._fast
        if fast is not None:
            return on_cursor(
                self._db, lambda cur: fast.create_run(cur, experiment_id, user_id, start, tag_map, run_name)
            )

        def txn(conn: Connection) -> Run:
            exp = self._experiment_row(conn, experiment_id)
            rules.check_experiment_active(exp["experiment_id"], exp["lifecycle_stage"])
            run_id = new_run_id()
            values = dict(
                run_uuid=run_id,
                experiment_id=exp["experiment_id"],
                name=run_name,
                user_id=user_id,
                status=RunStatus.RUNNING.value,
                start_time=start,
                end_time=None,
                lifecycle_stage=LifecycleStage.ACTIVE.value,
                artifact_uri=append_path(exp["artifact_location"], run_id, "artifacts"),
            )
            row_id = inserted_id(conn, sa.insert(_r).values(**values))
            if tag_map:
                conn.execute(sa.insert(s.tags), [{"run_row": row_id, "key": k, "value": v} for k, v in tag_map.items()])
            return Run(info=run_info(values), data=RunData(tags=dict(tag_map)))

        return self._db.run(txn)

    def get_run(self, run_id: str) -> Run:
        """The run (active or deleted) with latest metrics, params and tags."""
        fast = self._fast
        if fast is not None:
            return on_cursor(self._db, lambda cur: fast.get_run(cur, run_id), write=False)

        def txn(conn: Connection) -> Run:
            row = self._run_row(conn, run_id)
            deleted = (row["experiment_id"],) if row["experiment_stage"] == _DELETED else ()
            return runs_from_rows(conn, [row], deleted)[0]

        return self._db.run(txn, write=False)

    def update_run_info(
        self,
        run_id: str,
        status: Optional[RunStatus] = None,
        end_time: Optional[int] = None,
        run_name: Optional[str] = None,
    ) -> RunInfo:
        """Change status, end time and/or name."""
        values = rules.validate_run_update(status, end_time, run_name).changes()
        if "run_name" in values:
            values["name"] = values.pop("run_name")
        fast = self._fast
        if fast is not None:
            return on_cursor(self._db, lambda cur: fast.update_run_info(cur, run_id, values))

        def txn(conn: Connection) -> RunInfo:
            row = self._writable_run(conn, run_id)
            if values:
                conn.execute(sa.update(_r).where(_r.c.row_id == row["row_id"]).values(**values))
            return run_info({**row, **values})

        return self._db.run(txn)

    def _set_run_stage(self, run_id: str, stage: LifecycleStage) -> None:
        def txn(conn: Connection) -> None:
            row = self._run_row(conn, run_id, lock=True)
            if row["lifecycle_stage"] != stage.value:
                if stage is LifecycleStage.ACTIVE:
                    rules.check_restorable("run", run_id, row["purge_time"])
                deleted_time = now_ms() if stage is LifecycleStage.DELETED else None
                conn.execute(
                    sa.update(_r)
                    .where(_r.c.row_id == row["row_id"])
                    .values(lifecycle_stage=stage.value, deleted_time=deleted_time)
                )

        self._db.run(txn)

    def delete_run(self, run_id: str) -> None:
        """Soft-delete a run (idempotent)."""
        self._set_run_stage(run_id, LifecycleStage.DELETED)

    def restore_run(self, run_id: str) -> None:
        """Undo :meth:`delete_run` (idempotent)."""
        self._set_run_stage(run_id, LifecycleStage.ACTIVE)

    # --- logging -----------------------------------------------------------
    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric] = (),
        params: Sequence[Param] = (),
        tags: Sequence[RunTag] = (),
    ) -> None:
        """Store metrics, params and tags in one transaction (all or nothing)."""
        metrics, params, tags = rules.validate_batch_args(metrics, params, tags)
        validate_run_id(run_id)
        if not (metrics or params or tags):
            self._db.run(lambda conn: self._writable_run(conn, run_id))
            return
        fast = self._fast
        if fast is not None and {*map(_MODEL_ID, metrics)} <= {None}:  # model metrics: the path below
            on_cursor(self._db, lambda cur: fast.log_batch(cur, run_id, metrics, params, tags))
            return
        param_map = {p.key: p.value for p in params}
        tag_map = {t.key: t.value for t in tags}
        st = self._writes

        def txn(conn: Connection) -> None:
            cur = cursor_of(conn)
            try:
                found = writes.lock_run(cur, st, run_id)  # locks the run row
                if found is None:
                    raise RunNotFound(f"run {run_id!r} does not exist")
                row_id = found[0]
                rules.check_run_writable(run_id, found[1], found[3], found[2])
                if param_map:
                    writes.write_params(cur, st, row_id, param_map)
                if tag_map:
                    writes.write_tags(cur, st, row_id, tag_map)
                if metrics:
                    writes.write_metrics(cur, st, row_id, metrics)
            finally:
                cur.close()
            if metrics:
                self._record_model_metrics(conn, metrics)  # metrics that name a logged model

        self._db.run(txn)

    def delete_tag(self, run_id: str, key: str) -> None:
        """Remove a run tag; NotFoundError if it is not set."""
        validate_key(key, "tag key")

        def txn(conn: Connection) -> None:
            row_id = self._writable_run(conn, run_id)["row_id"]
            if not conn.execute(sa.delete(s.tags).where(s.tags.c.run_row == row_id, s.tags.c.key == key)).rowcount:
                raise NotFoundError(f"run {run_id!r} has no tag {key!r}")

        self._db.run(txn)

    def get_metric_history(
        self, run_id: str, key: str, max_results: Optional[int] = None, page_token: Optional[str] = None
    ) -> PagedList[Metric]:
        """Every point of a metric by ``(step, timestamp)``, then logging order."""
        validate_key(key, "metric key")
        limit = validate_max_results(max_results) if max_results is not None else None
        m = s.metrics
        query = fingerprint("history", run_id, key)
        fast = self._fast
        if fast is not None:
            points, token = on_cursor(
                self._db,
                lambda cur: fast.metric_history(cur, run_id, key, limit, page_token, self._token_key),
                write=False,
            )
            return PagedList(points, token)

        def txn(conn: Connection) -> PagedList[Metric]:
            row_id = self._run_row(conn, run_id)["row_id"]
            stmt = (
                sa.select(m.c.id, m.c.key, m.c.value, m.c.kind, m.c.timestamp, m.c.step, m.c.model_id)
                .where(m.c.run_row == row_id, m.c.key == key)
                .order_by(m.c.step, m.c.timestamp, m.c.id)
            )
            if page_token:
                payload = decode_page_token(page_token, query, key=self._token_key)
                after = token_scalars(payload.get("a"), 3, "a", [int, int, int], nullable=False)
                if any(isinstance(v, float) for v in after):
                    raise InvalidParameterError("page_token: invalid page token (a must hold 3 integers)")
                stmt = stmt.where(sa.tuple_(m.c.step, m.c.timestamp, m.c.id) > sa.tuple_(*after))
            if limit is not None:
                stmt = stmt.limit(limit + 1)
            rows = list(conn.execute(stmt).mappings())
            token = None
            if limit is not None and len(rows) > limit:
                rows = rows[:limit]
                last = rows[-1]
                token = encode_page_token(
                    {"a": [last["step"], last["timestamp"], last["id"]]}, query, key=self._token_key
                )
            return PagedList([row_to_metric(r) for r in rows], token)

        return self._db.run(txn, write=False)

    def get_metric_histories(self, run_ids: Sequence[str], keys: Optional[Sequence[str]] = None) -> MetricHistories:
        """Histories of many runs and keys in one query per 1,000 runs (``keys=None``: every key).

        Rows come grouped by run and key (the groups in database order), each
        key's points by ``(step, timestamp)``, then logging order.  The rows are
        read on the driver's cursor and turned into columns without a Python
        object per point beyond the driver's own tuple.
        """
        runs, wanted = validate_history_request(run_ids, keys)
        out = MetricHistories()

        def txn(conn: Connection, chunk: list[str]) -> tuple[dict[str, int], list[Any]]:
            found = dict(conn.execute(sa.select(_r.c.run_uuid, _r.c.row_id).where(_r.c.run_uuid.in_(chunk))).all())
            missing = [run_id for run_id in chunk if run_id not in found]
            if missing:
                raise RunNotFound(f"run {missing[0]!r} does not exist")
            q = conn.dialect.identifier_preparer
            mark = placeholder(conn.dialect)
            cols = ", ".join(q.quote(c) for c in ("run_row", "key", "step", "timestamp", "value", "kind"))
            row_ids = sorted(found.values())
            sql = (
                f"SELECT {cols} FROM {q.format_table(s.metrics)} "
                f"WHERE {q.quote('run_row')} IN ({', '.join([mark] * len(row_ids))})"
            )
            params: list[Any] = list(row_ids)
            if wanted is not None:
                sql += f" AND {q.quote('key')} IN ({', '.join([mark] * len(wanted))})"
                params += wanted
            sql += " ORDER BY " + ", ".join(q.quote(c) for c in ("run_row", "key", "step", "timestamp", "id"))
            cur = cursor_of(conn)
            try:
                cur.execute(sql, tuple(params))
                return found, cur.fetchall()
            finally:
                cur.close()

        for start in range(0, len(runs), _HISTORY_CHUNK):
            chunk = runs[start : start + _HISTORY_CHUNK]
            found, rows = self._db.run(lambda conn: txn(conn, chunk), write=False)
            if not rows:
                continue
            run_rows, keys_, steps, stamps, values, kinds = (list(c) for c in zip(*rows))
            del rows
            by_row = sorted((row_id, run_id) for run_id, row_id in found.items())
            for row_id, run_id in by_row:  # run_rows is sorted: each run is one block
                lo, hi = bisect_left(run_rows, row_id), bisect_right(run_rows, row_id)
                out.run_id.extend([run_id] * (hi - lo))
            if kinds.count(KIND_FINITE) != len(kinds):
                for i, kind in enumerate(kinds):
                    if kind != KIND_FINITE:
                        values[i] = decode_value(values[i], kind)
            out.key.extend(keys_)
            out.step.extend(steps)
            out.timestamp.extend(stamps)
            out.value.extend(values)
        return out

    def metric_histories_arrow(self, run_ids: Sequence[str], keys: Optional[Sequence[str]] = None) -> Optional[Any]:
        """:meth:`get_metric_histories` as a ``pyarrow.Table``, read without a Python object per point.

        Only for a SQLite file with ``adbc-driver-sqlite`` installed (see
        :mod:`.arrow_histories`); None otherwise, and the caller reads through
        :meth:`get_metric_histories`.  Same rows, order, types and errors.
        """
        path = sqlite_file(self._db.engine.url)
        if path is None:
            return None

        def row_ids_of(chunk: list[str]) -> dict[str, int]:
            def txn(conn: Connection) -> dict[str, int]:
                found = dict(conn.execute(sa.select(_r.c.run_uuid, _r.c.row_id).where(_r.c.run_uuid.in_(chunk))).all())
                missing = [run_id for run_id in chunk if run_id not in found]
                if missing:
                    raise RunNotFound(f"run {missing[0]!r} does not exist")
                return found

            return self._db.run(txn, write=False)

        return sqlite_histories_arrow(path, run_ids, keys, row_ids_of)

    # --- search -------------------------------------------------------------
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

    # --- datasets -------------------------------------------------------------
    def log_inputs(self, run_id: str, datasets: Sequence[DatasetInput]) -> None:
        """Record datasets a run consumed; the same name, digest and context once per run."""
        items = rules.validate_dataset_inputs(datasets)
        d, i = s.datasets, s.inputs

        def txn(conn: Connection) -> None:
            run = self._writable_run(conn, run_id)
            for item in items:
                ds = item.dataset
                where = (d.c.experiment_id == run["experiment_id"], d.c.name == ds.name, d.c.digest == ds.digest)
                dataset_id = conn.execute(sa.select(d.c.dataset_id).where(*where)).scalar()
                if dataset_id is None:
                    dataset_id = inserted_id(
                        conn,
                        sa.insert(d).values(
                            experiment_id=run["experiment_id"],
                            name=ds.name,
                            digest=ds.digest,
                            source_type=ds.source_type,
                            source=ds.source,
                            schema=ds.schema,
                            profile=ds.profile,
                        ),
                    )
                context = item.tags.get("context", "")
                exists = conn.execute(
                    sa.select(i.c.run_row).where(
                        i.c.run_row == run["row_id"], i.c.dataset_id == dataset_id, i.c.context == context
                    )
                ).first()
                if not exists:
                    conn.execute(
                        sa.insert(i).values(
                            run_row=run["row_id"],
                            dataset_id=dataset_id,
                            context=context,
                            tags_json=json.dumps(dict(item.tags)),
                        )
                    )

        self._db.run(txn)
