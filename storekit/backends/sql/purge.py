"""The purge hook of :class:`~storekit.backends.sql.SqlTrackingStore` (capability PURGE, ``storekit gc``).

``begin_purge`` sets ``purge_time`` on the run or experiment row (restore then
refuses); ``purge`` deletes the rows in one transaction: a run with its
metrics, params, tags, inputs and outputs; an experiment with all of that for
every run in it, its logged models, datasets and tags.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ... import rules
from ...entities import DeletedEntity, LifecycleStage
from ...errors import ExperimentNotFound, InvalidParameterError, RunNotFound
from ...ids import now_ms
from . import schema as s
from .engine import Database
from .experiments import PURGED_ID_SETTING, experiment_key, is_experiment_key
from .sqlutil import upsert

__all__ = ["PurgeOps"]

_DELETED = LifecycleStage.DELETED.value
_RUN_CHILDREN = (s.metrics, s.latest_metrics, s.params, s.tags, s.inputs, s.run_outputs)
_MODEL_CHILDREN = (s.logged_model_tags, s.logged_model_params, s.logged_model_metrics, s.run_outputs)


def _kind(entity: DeletedEntity) -> str:
    if entity.kind not in ("run", "experiment"):
        raise InvalidParameterError(f"entity.kind: {entity.kind!r} is not 'run' or 'experiment'")
    return entity.kind


class PurgeOps:
    """``list_deleted``, ``begin_purge``, ``purge`` and ``owned_artifact_root`` on SQL."""

    _db: Database
    _artifact_root: str

    def owned_artifact_root(self) -> Optional[str]:
        """The default artifact root: experiments created without a location keep artifacts under it."""
        return self._artifact_root

    def list_deleted(self, experiment_ids: Optional[Sequence[str]] = None) -> list[DeletedEntity]:
        """Deleted runs (deleted on their own) and deleted experiments, oldest deletion first."""
        wanted = None
        if experiment_ids is not None:
            wanted = [int(e) for e in rules.validate_experiment_ids(experiment_ids) if is_experiment_key(e)]
        r, e = s.runs, s.experiments

        def txn(conn: Connection) -> list[DeletedEntity]:
            runs = sa.select(
                r.c.run_uuid, r.c.experiment_id, r.c.name, r.c.artifact_uri, r.c.deleted_time, r.c.purge_time
            ).where(r.c.lifecycle_stage == _DELETED)
            exps = sa.select(
                e.c.experiment_id, e.c.name, e.c.artifact_location, e.c.deleted_time, e.c.purge_time
            ).where(e.c.lifecycle_stage == _DELETED)
            if wanted is not None:
                runs = runs.where(r.c.experiment_id.in_(wanted))
                exps = exps.where(e.c.experiment_id.in_(wanted))
            out = [
                DeletedEntity("run", rid, str(eid), name, uri, deleted, purge is not None)
                for rid, eid, name, uri, deleted, purge in conn.execute(runs.order_by(r.c.row_id))
            ]
            out += [
                DeletedEntity("experiment", str(eid), str(eid), name, location, deleted, purge is not None)
                for eid, name, location, deleted, purge in conn.execute(exps.order_by(e.c.experiment_id))
            ]
            return out

        return self._db.run(txn, write=False)

    def _locked(self, conn: Connection, entity: DeletedEntity) -> Optional[Any]:
        """The run or experiment row of ``entity``, locked; None when it is gone."""
        if _kind(entity) == "run":
            rules.validate_run_id(entity.entity_id)
            stmt: Any = sa.select(s.runs.c.row_id, s.runs.c.lifecycle_stage, s.runs.c.purge_time).where(
                s.runs.c.run_uuid == entity.entity_id
            )
        else:
            stmt = sa.select(
                s.experiments.c.experiment_id, s.experiments.c.lifecycle_stage, s.experiments.c.purge_time
            ).where(s.experiments.c.experiment_id == experiment_key(entity.entity_id))
        return conn.execute(stmt.with_for_update()).first()

    def begin_purge(self, entity: DeletedEntity) -> None:
        """Mark a deleted run or experiment as being purged; restore refuses from now on."""

        def txn(conn: Connection) -> None:
            row = self._locked(conn, entity)
            if row is None:
                missing = RunNotFound if entity.kind == "run" else ExperimentNotFound
                raise missing(f"{entity.kind} {entity.entity_id!r} does not exist")
            rules.check_purge_deleted(entity.kind, entity.entity_id, row[1])
            if row[2] is None:
                table = s.runs if entity.kind == "run" else s.experiments
                key = table.c.row_id if entity.kind == "run" else table.c.experiment_id
                conn.execute(sa.update(table).where(key == row[0]).values(purge_time=now_ms()))

        self._db.run(txn)

    def purge(self, entity: DeletedEntity) -> None:
        """Delete a marked run, or a marked experiment with everything in it, in one transaction."""

        def txn(conn: Connection) -> None:
            row = self._locked(conn, entity)
            if row is None:
                return  # already gone: an earlier gc finished this one
            rules.check_purge_begun(entity.kind, entity.entity_id, row[2])
            if entity.kind == "run":
                _delete_runs(conn, sa.select(s.runs.c.row_id).where(s.runs.c.row_id == row[0]))
            else:
                _delete_experiment(conn, row[0])

        self._db.run(txn)


def _delete_runs(conn: Connection, run_rows: Any) -> None:
    """Delete the runs whose ``row_id`` the select ``run_rows`` yields, with their child rows."""
    ids = [r for (r,) in conn.execute(run_rows)]
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        for table in _RUN_CHILDREN:
            conn.execute(sa.delete(table).where(table.c.run_row.in_(chunk)))
        conn.execute(sa.delete(s.runs).where(s.runs.c.row_id.in_(chunk)))


def _delete_experiment(conn: Connection, experiment_id: int) -> None:
    _delete_runs(conn, sa.select(s.runs.c.row_id).where(s.runs.c.experiment_id == experiment_id))
    models = [
        m
        for (m,) in conn.execute(
            sa.select(s.logged_models.c.model_row).where(s.logged_models.c.experiment_id == experiment_id)
        )
    ]
    for start in range(0, len(models), 500):
        chunk = models[start : start + 500]
        for table in _MODEL_CHILDREN:
            conn.execute(sa.delete(table).where(table.c.model_row.in_(chunk)))
        conn.execute(sa.delete(s.logged_models).where(s.logged_models.c.model_row.in_(chunk)))
    datasets = sa.select(s.datasets.c.dataset_id).where(s.datasets.c.experiment_id == experiment_id)
    conn.execute(sa.delete(s.inputs).where(s.inputs.c.dataset_id.in_(datasets)))
    conn.execute(sa.delete(s.datasets).where(s.datasets.c.experiment_id == experiment_id))
    conn.execute(sa.delete(s.experiment_tags).where(s.experiment_tags.c.experiment_id == experiment_id))
    conn.execute(sa.delete(s.experiments).where(s.experiments.c.experiment_id == experiment_id))
    if conn.dialect.name == "sqlite":  # SQLite would hand this id out again: remember the highest one purged
        old = conn.execute(sa.select(s.settings.c.value).where(s.settings.c.name == PURGED_ID_SETTING)).scalar()
        value = str(max(experiment_id, int(old or 0)))
        upsert(conn, s.settings, [{"name": PURGED_ID_SETTING, "value": value}], ["value"])
