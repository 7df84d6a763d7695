"""Run operations of :class:`~storekit.backends.sql.SqlTrackingStore` (SQLAlchemy path).

Creating, reading, changing and deleting runs, ``log_batch``, ``delete_tag``
and ``log_inputs``.  The raw-SQLite twins of the hot ones are in :mod:`.raw_ops`.
"""

from __future__ import annotations

import json
from operator import attrgetter
from typing import TYPE_CHECKING, Any, Mapping, Optional, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from ... import rules
from ...entities import DatasetInput, LifecycleStage, Metric, Param, Run, RunData, RunInfo, RunStatus, RunTag
from ...errors import NotFoundError, RunNotFound
from ...ids import new_run_id, now_ms
from ...rules import validate_key, validate_run_id
from ...uri import append_path
from . import schema as s
from . import writes
from .engine import Database
from .fastpath import ServerFastPath, on_cursor
from .rows import RUN_COLUMNS, run_info, runs_from_rows
from .sqlutil import cursor_of, inserted_id

__all__ = ["RunOps", "EFFECTIVE_STAGE"]

_r = s.runs
_DELETED = LifecycleStage.DELETED.value
#: the lifecycle stage of a run's experiment (a correlated scalar subquery)
_EXPERIMENT_STAGE = (
    sa.select(s.experiments.c.lifecycle_stage)
    .where(s.experiments.c.experiment_id == _r.c.experiment_id)
    .scalar_subquery()
)
#: a run's effective lifecycle stage: deleted when the run or its experiment is deleted
EFFECTIVE_STAGE = sa.case((_EXPERIMENT_STAGE == _DELETED, _DELETED), else_=_r.c.lifecycle_stage)


_MODEL_ID = attrgetter("model_id")


class RunOps:
    """The run operations of :class:`~.tracking.SqlAlchemyTrackingStore` (a mix-in)."""

    _db: Database
    _writes: Any
    _fast: Optional[ServerFastPath]

    if TYPE_CHECKING:  # provided by ExperimentOps and LoggedModelOps

        def _experiment_row(self, conn: Connection, experiment_id: object, lock: bool = False) -> RowMapping: ...

        def _record_model_metrics(self, conn: Connection, metrics: Sequence[Metric]) -> None: ...

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
