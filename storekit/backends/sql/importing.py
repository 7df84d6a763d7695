"""The import hook of the SQL backend (capability ``IMPORT``): whole records with their own ids.

``storekit migrate`` and ``storekit import-mlflow`` copy experiments, runs,
logged models and registered models from another store and must keep their
ids.  The public API hands out new ids, so these methods write records as
given instead:

* every method writes one record in **one transaction**: a run with all its
  params, tags, dataset inputs, outputs and its whole metric history is
  either there completely or not at all;
* every method is **idempotent**: importing a record whose id exists
  replaces it (a run's children are deleted and written again), so an
  interrupted migration can simply be run again;
* metric points go in through the bulk path of :mod:`.bulk` (binary
  ``COPY`` on PostgreSQL, multi-row ``INSERT`` on MySQL/MariaDB,
  ``executemany`` on SQLite), chunk by chunk; a SQL source's chunks keep
  their stored encoding all the way.
"""

from __future__ import annotations

import json
from typing import Any, Iterator, Mapping, Optional, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ... import rules
from ...entities import (
    DatasetInput,
    Experiment,
    LoggedModel,
    Metric,
    MetricChunks,
    ModelVersion,
    Param,
    RegisteredModel,
    RunImport,
    RunInfo,
    RunTag,
)
from ...errors import AlreadyExistsError, InvalidParameterError, RunNotFound
from ...uri import append_path
from ...validation import (
    validate_batch,
    validate_experiment_id,
    validate_experiment_name,
    validate_model_name,
    validate_run_id,
    validate_run_name,
    validate_tags,
    validate_version,
)
from . import bulk, bulk_index, writes
from . import schema as s
from .engine import Database
from .experiments import MAX_EXPERIMENT_KEY, experiment_key, is_experiment_key
from .metrics import encode_value
from .sqlutil import cursor_of, inserted_id

__all__ = ["SqlTrackingImportOps", "SqlRegistryImportOps", "MetricChunks", "RunImport"]

_PARAM_CHUNK = 100
#: rows per multi-row params/tags/latest statement, and metric points per COPY/executemany
_BULK_ITEMS, _BULK_POINTS = 1000, 10_000


def _fix_sequence(conn: Connection, table: str, column: str) -> None:
    """After inserting explicit keys, move PostgreSQL's serial sequence past the largest one."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(
            f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'), "
            f"GREATEST((SELECT COALESCE(MAX({column}), 0) FROM {table}), 1))"
        )


def _allow_zero_key(conn: Connection) -> None:
    """MySQL/MariaDB turn an explicit 0 into a fresh AUTO_INCREMENT value unless told otherwise."""
    if conn.dialect.name == "mysql":
        conn.exec_driver_sql("SET SESSION sql_mode = CONCAT(@@SESSION.sql_mode, ',NO_AUTO_VALUE_ON_ZERO')")


def _validated_items(params: Mapping[str, str], tags: Mapping[str, str]) -> None:
    plist = [Param(k, v) for k, v in params.items()]
    tlist = [RunTag(k, v) for k, v in tags.items()]
    for start in range(0, max(len(plist), len(tlist)), _PARAM_CHUNK):
        validate_batch(params=plist[start : start + _PARAM_CHUNK], tags=tlist[start : start + _PARAM_CHUNK])


class SqlTrackingImportOps:
    """``import_experiment``, ``import_run``, ``import_logged_model`` of :class:`SqlTrackingStore`."""

    _db: Database
    _artifact_root: str
    _writes: writes.WriteStatements
    #: The largest experiment id this store can keep (MLflow's file store uses 18-digit ids).
    import_max_experiment_id = MAX_EXPERIMENT_KEY

    def import_experiment(self, experiment: Experiment, artifact_location: Optional[str] = None) -> Experiment:
        """Write ``experiment`` with its id, name, stage, times and tags (replacing one with that id).

        ``artifact_location`` None gives it this store's default location for
        the id; AlreadyExistsError when another experiment has the name.
        """
        text = validate_experiment_id(experiment.experiment_id)
        if not is_experiment_key(text):
            raise InvalidParameterError(
                f"experiment_id {text!r}: this store keeps integer ids of at most {MAX_EXPERIMENT_KEY}"
            )
        key = int(text)
        name = validate_experiment_name(experiment.name)
        tags = validate_tags(experiment.tags, "experiment tag")
        location = artifact_location or append_path(self._artifact_root, str(key))
        e = s.experiments
        created = int(experiment.creation_time or 0)
        updated = int(experiment.last_update_time or created)
        values: dict[str, Any] = dict(
            name=name,
            artifact_location=location,
            creation_time=created,
            lifecycle_stage=str(experiment.lifecycle_stage),
            last_update_time=updated,
            deleted_time=rules.imported_deleted_time(experiment.lifecycle_stage),
        )

        def txn(conn: Connection) -> None:
            other = conn.execute(sa.select(e.c.experiment_id).where(e.c.name == name)).scalar()
            if other is not None and other != key:
                raise AlreadyExistsError(
                    f"experiment name {name!r} is already taken by experiment {str(other)!r} "
                    f"(importing experiment {str(key)!r})"
                )
            if conn.execute(sa.select(e.c.experiment_id).where(e.c.experiment_id == key)).first():
                conn.execute(sa.update(e).where(e.c.experiment_id == key).values(**values))
                conn.execute(sa.delete(s.experiment_tags).where(s.experiment_tags.c.experiment_id == key))
            else:
                _allow_zero_key(conn)
                conn.execute(sa.insert(e).values(experiment_id=key, **values))
                _fix_sequence(conn, "experiments", "experiment_id")
            if tags:
                conn.execute(
                    sa.insert(s.experiment_tags),
                    [{"experiment_id": key, "key": k, "value": v} for k, v in tags.items()],
                )

        self._db.run(txn)
        return Experiment(str(key), name, location, experiment.lifecycle_stage, dict(tags), created, updated)

    def begin_bulk_load(self) -> list[str]:
        """Before a transfer's load: drop the metric tables' secondary indexes when both tables are empty
        (PostgreSQL); return the names dropped (see :mod:`.bulk_index`)."""
        return bulk_index.defer_indexes(self._db)

    def finish_bulk_load(self) -> list[str]:
        """After a transfer's load (and on every later attempt): build any of those indexes that is missing;
        return the names built."""
        return bulk_index.build_missing_indexes(self._db)

    def import_run(
        self,
        info: RunInfo,
        params: Mapping[str, str],
        tags: Mapping[str, str],
        metric_chunks: MetricChunks,
        inputs: Sequence[DatasetInput] = (),
        outputs: Sequence[str] = (),
    ) -> None:
        """Write a whole run with its id in one transaction, replacing a run with that id.

        ``metric_chunks()`` yields the full history in chunks (at most 1,000
        points each are validated and written at a time, so memory stays
        bounded); the latest value per key is derived from it.
        """
        self.import_runs([RunImport(info, params, tags, metric_chunks, inputs, outputs)])

    def import_runs(self, runs: Sequence[RunImport]) -> None:
        """Write several whole runs in **one** transaction (all or none): see :meth:`import_run`.

        The group is written in bulk — one statement for the run rows, one per
        thousand params/tags, metric points in buffers of ten thousand (``COPY``
        on PostgreSQL), one upsert of the latest values — so a server's round
        trips and commit are paid per group, not per run.
        """
        prepared = [self._prepare_run(item) for item in runs]
        ids = [values["run_uuid"] for _, values in prepared]
        if len(set(ids)) != len(ids):
            raise InvalidParameterError("import_runs: a run id appears twice in one group")

        def txn(conn: Connection) -> None:
            rows = self._run_rows(conn, prepared)
            cur = cursor_of(conn)
            st = self._writes
            try:
                params = [(rows[v["run_uuid"]], k, val) for item, v in prepared for k, val in item.params.items()]
                tags = [(rows[v["run_uuid"]], k, val) for item, v in prepared for k, val in item.tags.items()]
                for start in range(0, len(params), _BULK_ITEMS):
                    st.insert(cur, st.insert_params, params[start : start + _BULK_ITEMS])
                for start in range(0, len(tags), _BULK_ITEMS):
                    st.insert(cur, st.upsert_tags, tags[start : start + _BULK_ITEMS])
                self._write_histories(cur, [(rows[v["run_uuid"]], item) for item, v in prepared])
            finally:
                cur.close()
            for item, values in prepared:
                row_id = rows[values["run_uuid"]]
                if item.inputs:
                    self._import_inputs(conn, row_id, values["experiment_id"], item.inputs)
                self._import_outputs(conn, row_id, values["run_uuid"], item.outputs)

        self._db.run(txn)

    @staticmethod
    def _run_rows(conn: Connection, prepared: Sequence[tuple[RunImport, dict[str, Any]]]) -> dict[str, int]:
        """Insert (or, for ids already there, empty and update) the run rows; ``{run id: row id}``."""
        r = s.runs
        ids = [values["run_uuid"] for _, values in prepared]
        existing = dict(
            conn.execute(sa.select(r.c.run_uuid, r.c.row_id).where(r.c.run_uuid.in_(ids)).with_for_update()).all()
        )
        if existing:
            rows_ = list(existing.values())
            for child in (s.params, s.tags, s.metrics, s.latest_metrics, s.inputs, s.run_outputs):
                conn.execute(sa.delete(child).where(child.c.run_row.in_(rows_)))
            for _, values in prepared:
                if values["run_uuid"] in existing:
                    conn.execute(sa.update(r).where(r.c.row_id == existing[values["run_uuid"]]).values(**values))
        new = [values for _, values in prepared if values["run_uuid"] not in existing]
        if new:
            conn.execute(sa.insert(r), new)
            existing.update(
                conn.execute(
                    sa.select(r.c.run_uuid, r.c.row_id).where(r.c.run_uuid.in_([v["run_uuid"] for v in new]))
                ).all()
            )
        return existing

    def _write_histories(self, cur: Any, runs: Sequence[tuple[int, RunImport]]) -> None:
        """Every run's metric points, then the latest value per run and key (see :mod:`.bulk`)."""
        bulk.write_histories(cur, self._writes, runs, _BULK_POINTS)

    @staticmethod
    def _import_outputs(conn: Connection, row_id: int, run_id: str, outputs: Sequence[str]) -> None:
        for position, model_id in enumerate(dict.fromkeys(outputs)):
            model_row = conn.execute(
                sa.select(s.logged_models.c.model_row).where(s.logged_models.c.model_id == model_id)
            ).scalar()
            if model_row is None:
                raise InvalidParameterError(
                    f"run {run_id!r} output {model_id!r}: import the logged model before the run"
                )
            conn.execute(sa.insert(s.run_outputs).values(run_row=row_id, model_row=model_row, position=position))

    @staticmethod
    def _prepare_run(item: RunImport) -> tuple[RunImport, dict[str, Any]]:
        info = item.info
        run_id = validate_run_id(info.run_id)
        run_name = validate_run_name(info.run_name)
        key = experiment_key(info.experiment_id)
        _validated_items(item.params, item.tags)
        return item, dict(
            run_uuid=run_id,
            experiment_id=key,
            name=run_name,
            user_id=info.user_id,
            status=str(info.status),
            start_time=int(info.start_time or 0),
            end_time=info.end_time,
            lifecycle_stage=str(info.lifecycle_stage),
            artifact_uri=info.artifact_uri,
            deleted_time=rules.imported_deleted_time(info.lifecycle_stage),
        )

    def export_metric_chunks(self, run_id: str, chunk_size: int = 10_000) -> Iterator[Sequence[Metric]]:
        """A run's whole metric history, key by key (code-point order), each key by ``(step, timestamp)``
        then logging order, in chunks of ``chunk_size`` points (the bulk read of a transfer).

        The chunks are :class:`.bulk.EncodedMetrics`: they read as metrics and
        carry the stored rows for a SQL destination's bulk path."""
        validate_run_id(run_id)
        dialect = self._db.engine.dialect
        q, mark = dialect.identifier_preparer.quote, self._writes.mark
        order = f"{q('key')}, step, {q('timestamp')}, id"
        head = (
            f"SELECT {q('key')}, {q('value')}, kind, {q('timestamp')}, step, model_id, id FROM metrics "
            f"WHERE run_row = {mark}"
        )
        after: Optional[tuple[Any, ...]] = None
        while True:

            def txn(conn: Connection, after: Optional[tuple[Any, ...]] = after) -> list[Any]:
                cur = cursor_of(conn)  # raw cursor: a transfer calls this once per run
                try:
                    cur.execute(f"SELECT row_id FROM runs WHERE run_uuid = {mark}", (run_id,))
                    found = cur.fetchone()
                    if found is None:
                        raise RunNotFound(f"run {run_id!r} does not exist")
                    row_id = found[0]
                    if after is None:
                        cur.execute(f"{head} ORDER BY {order} LIMIT {int(chunk_size)}", (row_id,))
                    else:
                        cur.execute(
                            f"{head} AND ({order}) > ({', '.join([mark] * 4)}) "
                            f"ORDER BY {order} LIMIT {int(chunk_size)}",
                            (row_id, *after),
                        )
                    return list(cur.fetchall())
                finally:
                    cur.close()

            rows = self._db.run(txn, write=False)
            if not rows:
                return
            yield bulk.EncodedMetrics(rows)
            if len(rows) < chunk_size:
                return
            last = rows[-1]
            after = (last[0], last[4], last[3], last[6])

    @staticmethod
    def _import_inputs(conn: Connection, row_id: int, experiment_key_: int, inputs: Sequence[DatasetInput]) -> None:
        d, i = s.datasets, s.inputs
        seen: set[tuple[int, str]] = set()
        for item in inputs:
            ds = item.dataset
            where = (d.c.experiment_id == experiment_key_, d.c.name == ds.name, d.c.digest == ds.digest)
            dataset_id = conn.execute(sa.select(d.c.dataset_id).where(*where)).scalar()
            if dataset_id is None:
                dataset_id = inserted_id(
                    conn,
                    sa.insert(d).values(
                        experiment_id=experiment_key_,
                        name=ds.name,
                        digest=ds.digest,
                        source_type=ds.source_type,
                        source=ds.source or "",
                        schema=ds.schema,
                        profile=ds.profile,
                    ),
                )
            context = item.tags.get("context", "")
            if (dataset_id, context) in seen:
                continue
            seen.add((dataset_id, context))
            conn.execute(
                sa.insert(i).values(
                    run_row=row_id, dataset_id=dataset_id, context=context, tags_json=json.dumps(dict(item.tags))
                )
            )

    def import_logged_model(self, model: LoggedModel) -> None:
        """Write a logged model with its id, tags, params and latest metrics (replacing one with that id)."""
        key = experiment_key(model.experiment_id)
        tags = validate_tags(model.tags, "logged model tag")
        params = validate_tags(model.params, "logged model param")
        lm = s.logged_models
        values = dict(
            model_id=model.model_id,
            experiment_id=key,
            name=model.name,
            artifact_location=model.artifact_location,
            creation_timestamp=model.creation_timestamp,
            last_updated_timestamp=model.last_updated_timestamp,
            model_type=model.model_type,
            source_run_id=model.source_run_id,
            status=str(model.status),
            status_message=model.status_message,
            lifecycle_stage=str(model.lifecycle_stage),
        )

        def txn(conn: Connection) -> None:
            row = conn.execute(sa.select(lm.c.model_row).where(lm.c.model_id == model.model_id)).scalar()
            if row is None:
                row = inserted_id(conn, sa.insert(lm).values(**values))
            else:
                for child in (s.logged_model_tags, s.logged_model_params, s.logged_model_metrics):
                    conn.execute(sa.delete(child).where(child.c.model_row == row))
                conn.execute(sa.update(lm).where(lm.c.model_row == row).values(**values))
            if tags:
                conn.execute(
                    sa.insert(s.logged_model_tags), [{"model_row": row, "key": k, "value": v} for k, v in tags.items()]
                )
            if params:
                conn.execute(
                    sa.insert(s.logged_model_params),
                    [{"model_row": row, "key": k, "value": v} for k, v in params.items()],
                )
            latest: dict[str, Metric] = {}
            for m in model.metrics:
                latest[m.key] = m
            if latest:
                conn.execute(
                    sa.insert(s.logged_model_metrics),
                    [
                        dict(
                            model_row=row,
                            key=m.key,
                            value=encode_value(m.value)[0],
                            kind=encode_value(m.value)[1],
                            timestamp=int(m.timestamp),
                            step=int(m.step),
                        )
                        for m in latest.values()
                    ],
                )

        self._db.run(txn)


class SqlRegistryImportOps:
    """``import_registered_model`` of :class:`SqlRegistryStore`."""

    _db: Database

    def import_registered_model(self, model: RegisteredModel, versions: Sequence[ModelVersion]) -> None:
        """Write a registered model with all its versions (their numbers, stages, tags) and aliases.

        Replaces a model of that name; the next version number is one past the
        largest imported.
        """
        name = validate_model_name(model.name)
        tags = validate_tags(model.tags, "registered model tag")
        numbers = [int(validate_version(v.version)) for v in versions]
        rm, mv = s.registered_models, s.model_versions

        def txn(conn: Connection) -> None:
            row = conn.execute(sa.select(rm.c.model_row).where(rm.c.name == name).with_for_update()).scalar()
            values = dict(
                name=name,
                creation_timestamp=model.creation_timestamp,
                last_updated_timestamp=model.last_updated_timestamp,
                description=model.description,
                next_version=max(numbers, default=0) + 1,
            )
            if row is None:
                row = inserted_id(conn, sa.insert(rm).values(**values))
            else:
                for child in (
                    s.registered_model_aliases,
                    s.model_version_tags,
                    s.model_versions,
                    s.registered_model_tags,
                ):
                    conn.execute(sa.delete(child).where(child.c.model_row == row))
                conn.execute(sa.update(rm).where(rm.c.model_row == row).values(**values))
            if tags:
                conn.execute(
                    sa.insert(s.registered_model_tags),
                    [{"model_row": row, "key": k, "value": v} for k, v in tags.items()],
                )
            for number, v in zip(numbers, versions):
                conn.execute(
                    sa.insert(mv).values(
                        model_row=row,
                        version=number,
                        creation_timestamp=v.creation_timestamp,
                        last_updated_timestamp=v.last_updated_timestamp,
                        description=v.description,
                        user_id=v.user_id,
                        current_stage=v.current_stage,
                        source=v.source,
                        run_id=v.run_id,
                        status=v.status,
                        model_id=v.model_id,
                    )
                )
                vtags = validate_tags(v.tags, "model version tag")
                if vtags:
                    conn.execute(
                        sa.insert(s.model_version_tags),
                        [{"model_row": row, "version": number, "key": k, "value": val} for k, val in vtags.items()],
                    )
            aliases = dict(model.aliases)
            for number, v in zip(numbers, versions):
                for alias in v.aliases:
                    aliases.setdefault(alias, str(number))
            if aliases:
                conn.execute(
                    sa.insert(s.registered_model_aliases),
                    [{"model_row": row, "alias": a, "version": int(n)} for a, n in aliases.items()],
                )

        self._db.run(txn)
