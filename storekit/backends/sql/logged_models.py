"""Logged models of :class:`~storekit.backends.sql.SqlTrackingStore` (contract section 3b).

A logged model is a row of ``logged_models`` (public id ``m-<hex>``, integer
``model_row`` for child tables and keyset bounds) with key/value child tables
for tags, params and metrics.  ``logged_model_metrics`` keeps, per key, the
latest point (:func:`storekit.entities.metric_order_key`) of the metrics that
named the model, written in the same transaction as the run's batch.
``run_outputs`` records the models a run produced, in first-recorded order.

Behaviour matches the file backend: deleting is soft (hidden from
searches, still readable with ``lifecycle_stage`` deleted), and a search
covers every existing experiment listed, active or deleted.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any, Mapping, Optional, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from ... import rules
from ...entities import LifecycleStage, LoggedModel, LoggedModelStatus, Metric, PagedList
from ...errors import LoggedModelNotFound, NotFoundError
from ...ids import new_model_id, now_ms
from ...interfaces import DEFAULT_MAX_RESULTS
from ...rules import validate_key, validate_tags
from ...search.ast import LOGGED_MODEL_SCHEMA, Kind
from ...uri import append_path
from . import schema as s
from .engine import Database
from .experiments import is_experiment_key
from .metrics import latest_tuples, metric_tuple, row_to_metric
from .paged import fingerprint, paged_select, parse_query
from .rows import key_values
from .search_sql import EntitySpec, KeyedTable
from .sqlutil import chunks, inserted_id, upsert

__all__ = ["LoggedModelOps", "LOGGED_MODEL_SPEC", "models_from_rows"]

_m = s.logged_models
#: (model_row, key, value, kind, timestamp, step): metric_tuple() without model_id
_METRIC_COLUMNS = ("model_row", "key", "value", "kind", "timestamp", "step")


def _child(table: sa.Table, numeric: bool = False) -> KeyedTable:
    return KeyedTable(table, lambda t: t.c.model_row == _m.c.model_row, numeric=numeric)


LOGGED_MODEL_SPEC = EntitySpec(
    attributes={
        "model_id": _m.c.model_id,
        "name": _m.c.name,
        "experiment_id": sa.cast(_m.c.experiment_id, sa.String(20)),
        "model_type": _m.c.model_type,
        "source_run_id": _m.c.source_run_id,
        "status": _m.c.status,
        "creation_timestamp": _m.c.creation_timestamp,
        "last_updated_timestamp": _m.c.last_updated_timestamp,
    },
    keyed={
        Kind.METRIC: _child(s.logged_model_metrics, numeric=True),
        Kind.PARAM: _child(s.logged_model_params),
        Kind.TAG: _child(s.logged_model_tags),
    },
    unique=(_m.c.model_id,),
    unique_attribute="model_id",
    not_null=frozenset({"model_id", "name", "experiment_id", "status", "creation_timestamp", "last_updated_timestamp"}),
)


def _metrics(conn: Connection, rows: Sequence[Mapping[Any, Any]]) -> dict[int, list[Metric]]:
    t = s.logged_model_metrics
    ids = {r["model_row"]: r["model_id"] for r in rows}
    out: dict[int, list[Metric]] = defaultdict(list)
    for part in chunks(list(ids)):
        stmt = sa.select(t).where(t.c.model_row.in_(part)).order_by(t.c.model_row, t.c.key)
        for r in conn.execute(stmt).mappings():
            out[r["model_row"]].append(row_to_metric({**r, "model_id": ids[r["model_row"]]}))
    return out


def models_from_rows(conn: Connection, rows: Sequence[Mapping[Any, Any]]) -> list[LoggedModel]:
    """Logged models with tags, params and metrics (three IN-list queries per 900 models)."""
    ids = [r["model_row"] for r in rows]
    tags = key_values(conn, s.logged_model_tags, s.logged_model_tags.c.model_row, ids)
    params = key_values(conn, s.logged_model_params, s.logged_model_params.c.model_row, ids)
    metrics = _metrics(conn, rows)
    return [
        LoggedModel(
            model_id=r["model_id"],
            experiment_id=str(r["experiment_id"]),
            name=r["name"],
            artifact_location=r["artifact_location"],
            creation_timestamp=int(r["creation_timestamp"]),
            last_updated_timestamp=int(r["last_updated_timestamp"]),
            model_type=r["model_type"],
            source_run_id=r["source_run_id"],
            status=LoggedModelStatus(r["status"]),
            status_message=r["status_message"],
            tags=dict(tags.get(r["model_row"], {})),
            params=dict(params.get(r["model_row"], {})),
            metrics=tuple(metrics.get(r["model_row"], ())),
            lifecycle_stage=LifecycleStage(r["lifecycle_stage"]),
        )
        for r in rows
    ]


class LoggedModelOps:
    """Logged models: create, read, finalize, tags, soft delete, search, run outputs.

    A mix-in of :class:`~storekit.backends.sql.SqlTrackingStore`, which
    calls :meth:`_record_model_metrics` inside ``log_batch``'s transaction.
    """

    _db: Database
    _token_key: bytes
    if TYPE_CHECKING:  # provided by SqlTrackingStore / ExperimentOps

        def _experiment_row(self, conn: Connection, experiment_id: object, lock: bool = False) -> RowMapping: ...
        def _run_row(self, conn: Connection, run_id: str, lock: bool = False) -> RowMapping: ...
        def _writable_run(self, conn: Connection, run_id: str) -> RowMapping: ...

    # --- helpers -------------------------------------------------------------
    @staticmethod
    def _model_row(conn: Connection, model_id: Any, lock: bool = False) -> RowMapping:
        stmt = sa.select(_m).where(_m.c.model_id == rules.validate_model_id(model_id))
        if lock:
            stmt = stmt.with_for_update()
        row = conn.execute(stmt).mappings().first()
        if row is None:
            raise LoggedModelNotFound(f"no logged model with id {model_id!r}")
        return row

    @staticmethod
    def _touch(conn: Connection, row: Mapping[Any, Any], **values: Any) -> None:
        """Update a (locked) model row, advancing ``last_updated_timestamp``."""
        stamp = max(now_ms(), int(row["last_updated_timestamp"]))
        conn.execute(
            sa.update(_m).where(_m.c.model_row == row["model_row"]).values(last_updated_timestamp=stamp, **values)
        )

    def _change(self, model_id: str, apply: Any = None, **values: Any) -> None:
        """Lock a model, run ``apply(conn, row)`` (if given) and update its row, in one transaction."""

        def txn(conn: Connection) -> None:
            row = self._model_row(conn, model_id, lock=True)
            if apply is not None:
                apply(conn, row)
            self._touch(conn, row, **values)

        self._db.run(txn)

    # --- API -------------------------------------------------------------------
    def create_logged_model(
        self,
        experiment_id: str,
        name: Optional[str] = None,
        source_run_id: Optional[str] = None,
        tags: Optional[Mapping[str, str]] = None,
        params: Optional[Mapping[str, str]] = None,
        model_type: Optional[str] = None,
    ) -> LoggedModel:
        """Create a PENDING logged model at ``<experiment location>/models/<model_id>/artifacts``."""
        tag_map = validate_tags(tags, "logged model tag")
        param_map = validate_tags(params, "logged model param")
        name = rules.validate_logged_model_text(name, "name")
        model_type = rules.validate_logged_model_text(model_type, "model_type")

        def txn(conn: Connection) -> LoggedModel:
            exp = self._experiment_row(conn, experiment_id)
            rules.check_experiment_active(exp["experiment_id"], exp["lifecycle_stage"], "a model")
            if source_run_id is not None:
                self._run_row(conn, source_run_id)
            model_id = new_model_id()
            now = now_ms()
            values = dict(
                model_id=model_id,
                experiment_id=exp["experiment_id"],
                name=name or f"model-{model_id[2:10]}",
                artifact_location=append_path(exp["artifact_location"], "models", model_id, "artifacts"),
                creation_timestamp=now,
                last_updated_timestamp=now,
                model_type=model_type,
                source_run_id=source_run_id,
                status=LoggedModelStatus.PENDING.value,
                status_message=None,
                lifecycle_stage=LifecycleStage.ACTIVE.value,
            )
            row_id = inserted_id(conn, sa.insert(_m).values(**values))
            for table, items in ((s.logged_model_tags, tag_map), (s.logged_model_params, param_map)):
                if items:
                    conn.execute(
                        sa.insert(table), [{"model_row": row_id, "key": k, "value": v} for k, v in items.items()]
                    )
            return models_from_rows(conn, [{**values, "model_row": row_id}])[0]

        return self._db.run(txn)

    def get_logged_model(self, model_id: str) -> LoggedModel:
        """A logged model (active or deleted); LoggedModelNotFound if there is none."""
        return self._db.run(lambda conn: models_from_rows(conn, [self._model_row(conn, model_id)])[0], write=False)

    def finalize_logged_model(self, model_id: str, status: LoggedModelStatus) -> LoggedModel:
        """Set a logged model's final status (``READY`` or ``FAILED``; any status is accepted)."""

        self._change(model_id, status=LoggedModelStatus.parse(status).value)
        return self.get_logged_model(model_id)

    def set_logged_model_tags(self, model_id: str, tags: Mapping[str, str]) -> None:
        """Set (or overwrite) tags on a logged model."""
        tag_map = validate_tags(tags, "logged model tag")

        def apply(conn: Connection, row: RowMapping) -> None:
            upsert(
                conn,
                s.logged_model_tags,
                [{"model_row": row["model_row"], "key": k, "value": v} for k, v in tag_map.items()],
                ["value"],
            )

        self._change(model_id, apply)

    def log_logged_model_params(self, model_id: str, params: Mapping[str, str]) -> None:
        """Add params to a logged model (immutable: another value for a key raises), in one transaction."""
        rules.new_logged_model_params({}, params)  # validate before the transaction
        t = s.logged_model_params

        def apply(conn: Connection, row: RowMapping) -> None:
            stored = dict(conn.execute(sa.select(t.c.key, t.c.value).where(t.c.model_row == row["model_row"])).all())
            new = rules.new_logged_model_params(stored, params)
            if new:
                conn.execute(
                    sa.insert(t), [{"model_row": row["model_row"], "key": k, "value": v} for k, v in new.items()]
                )

        self._change(model_id, apply)

    def delete_logged_model_tag(self, model_id: str, key: str) -> None:
        """Remove a tag from a logged model; NotFoundError if it is not set."""
        validate_key(key, "logged model tag key")
        t = s.logged_model_tags

        def apply(conn: Connection, row: RowMapping) -> None:
            if not conn.execute(sa.delete(t).where(t.c.model_row == row["model_row"], t.c.key == key)).rowcount:
                raise NotFoundError(f"logged model {row['model_id']} has no tag {key!r}")

        self._change(model_id, apply)

    def delete_logged_model(self, model_id: str) -> None:
        """Soft-delete a logged model: hidden from searches, still readable (idempotent)."""
        self._change(model_id, lifecycle_stage=LifecycleStage.DELETED.value)

    def search_logged_models(
        self,
        experiment_ids: Sequence[str],
        filter_string: Optional[str] = None,
        order_by: Optional[Sequence[str]] = None,
        max_results: int = DEFAULT_MAX_RESULTS,
        page_token: Optional[str] = None,
    ) -> PagedList[LoggedModel]:
        """Active logged models of the experiments matching the filter, keyset-paginated.

        Default order ``creation_timestamp DESC, model_id``; experiment ids
        that do not exist are ignored.
        """
        texts = rules.validate_experiment_ids(experiment_ids)
        keys = sorted({int(t) for t in texts if is_experiment_key(t)})
        expr, order = parse_query(filter_string, order_by, LOGGED_MODEL_SCHEMA)
        query = fingerprint("logged-models", keys, filter_string, list(order_by or []))

        def txn(conn: Connection) -> PagedList[LoggedModel]:
            rows, token = paged_select(
                conn,
                columns=list(_m.c),
                base=_m,
                where=[_m.c.experiment_id.in_(keys), _m.c.lifecycle_stage == LifecycleStage.ACTIVE.value],
                expr=expr,
                keys=order,
                spec=LOGGED_MODEL_SPEC,
                max_results=max_results,
                page_token=page_token,
                query=query,
                key=self._token_key,
                bound_column=_m.c.model_row,
            )
            return PagedList(models_from_rows(conn, rows), token)

        return self._db.run(txn, write=False)

    def log_outputs(self, run_id: str, model_ids: Sequence[str]) -> None:
        """Record logged models a run produced (each once, in first-recorded order)."""
        wanted = rules.validate_model_ids(model_ids)
        o = s.run_outputs

        def txn(conn: Connection) -> None:
            rows = [self._model_row(conn, m) for m in wanted]  # each must exist
            run_row = self._writable_run(conn, run_id)["row_id"]  # locks the run row
            have = set(conn.execute(sa.select(o.c.model_row).where(o.c.run_row == run_row)).scalars())
            new = [r["model_row"] for r in rows if r["model_row"] not in have]
            if new:
                start = len(have)
                conn.execute(
                    sa.insert(o),
                    [{"run_row": run_row, "model_row": m, "position": start + i} for i, m in enumerate(new)],
                )

        self._db.run(txn)

    # --- called by log_batch ---------------------------------------------------
    def _record_model_metrics(self, conn: Connection, metrics: Sequence[Metric]) -> None:
        """Keep the latest point per key of metrics that name a model, in the caller's transaction.

        A metric naming a model that does not exist raises LoggedModelNotFound
        (and so rolls the whole batch back).
        """
        by_model: dict[str, list[Metric]] = defaultdict(list)
        for m in metrics:
            if m.model_id is not None:
                by_model[m.model_id].append(m)
        t = s.logged_model_metrics
        for model_id in sorted(by_model):  # a fixed lock order
            row = self._model_row(conn, model_id, lock=True)
            best = latest_tuples(metric_tuple(row["model_row"], m)[:6] for m in by_model[model_id])
            current = {
                key: (step, ts, kind, value)
                for key, step, ts, kind, value in conn.execute(
                    sa.select(t.c.key, t.c.step, t.c.timestamp, t.c.kind, t.c.value).where(
                        t.c.model_row == row["model_row"], t.c.key.in_(list(best))
                    )
                )
            }
            winners = [
                dict(zip(_METRIC_COLUMNS, r))
                for k, r in best.items()
                if k not in current or (r[5], r[4], r[3], r[2]) > current[k]
            ]
            # the model row is locked, so only later points are written
            upsert(conn, t, winners, ["value", "kind", "timestamp", "step"])
            self._touch(conn, row)
