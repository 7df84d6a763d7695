"""Reads an MLflow tracking/registry database directly (SQLite, PostgreSQL, MySQL), read-only.

MLflow is not needed: the reader runs plain SQL against the tables MLflow
creates (checked against MLflow 3.17's schema: ``experiments``,
``experiment_tags``, ``runs``, ``params``, ``tags``, ``metrics``,
``datasets``, ``inputs``/``input_tags``, ``logged_models`` and their
tags/params/metrics, ``registered_models``, ``model_versions``, their tags
and ``registered_model_aliases``).  Tables a database predates (logged
models before MLflow 3, aliases before 2.3...) are treated as empty.

Nothing is written: SQLite files are opened with ``mode=ro``, PostgreSQL
and MySQL sessions are set to read-only transactions.  Where MLflow 3's
``workspace`` column exists, only the ``default`` workspace is read.
"""

from __future__ import annotations

import os
import sqlite3
from typing import Any, Iterator, Optional, Sequence

import sqlalchemy as sa

from ..entities import Experiment, LifecycleStage, LoggedModel, Metric, ModelVersion, RegisteredModel, RunInfo
from ..errors import BackendUnavailableError, InvalidParameterError
from ..uri import redact_uri
from .mlflow_common import dataset_input, logged_model_status, metric_value, run_status, run_tags
from .records import CHUNK_POINTS, RunRecord

__all__ = ["MlflowDatabaseSource", "open_readonly_engine"]

_RUN_PAGE = 500
_REQUIRED = ("experiments", "runs", "metrics", "params", "tags")


def _sqlite_path(uri: str) -> str:
    rest = uri.split(":", 1)[1]
    path = (rest[3:] if rest.startswith("///") else rest.lstrip("/")).split("?", 1)[0]
    if not path or path == ":memory:":
        raise InvalidParameterError(f"SRC {uri}: an in-memory database holds nothing to import")
    return os.path.abspath(path)


def open_readonly_engine(uri: str) -> sa.engine.Engine:
    """An engine on ``uri`` whose connections cannot write."""
    scheme = uri.split(":", 1)[0].split("+", 1)[0].lower()
    if scheme == "sqlite":
        path = _sqlite_path(uri)
        if not os.path.exists(path):
            raise InvalidParameterError(f"SRC {redact_uri(uri)}: {path} does not exist")
        return sa.create_engine("sqlite://", creator=lambda: sqlite3.connect(f"file:{path}?mode=ro", uri=True))
    from ..backends.sql.engine import to_sqlalchemy_url

    engine = sa.create_engine(to_sqlalchemy_url(uri), pool_pre_ping=True)
    statement = (
        "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY"
        if engine.dialect.name == "postgresql"
        else "SET SESSION TRANSACTION READ ONLY"
    )

    @sa.event.listens_for(engine, "connect")
    def _read_only(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute(statement)
        cur.close()
        if engine.dialect.name == "postgresql":
            dbapi_conn.commit()

    return engine


class MlflowDatabaseSource:
    """An MLflow database as a transfer source."""

    def __init__(self, uri: str, registry_uri: Optional[str] = None) -> None:
        self.description = redact_uri(uri)
        self._registry_source: Optional[MlflowDatabaseSource] = None
        self.engine = open_readonly_engine(uri)
        try:
            self.conn = self.engine.connect()
            tables = set(sa.inspect(self.conn).get_table_names())
        except sa.exc.SQLAlchemyError as exc:
            self.engine.dispose()
            raise BackendUnavailableError(
                f"cannot read {self.description}: {redact_uri(str(getattr(exc, 'orig', exc)))}"
            ) from None
        if "storekit_alembic_version" in tables:
            self.close()
            raise InvalidParameterError(f"SRC {self.description} is a storekit database: use `storekit migrate`")
        missing = [t for t in _REQUIRED if t not in tables]
        if missing:
            self.close()
            raise InvalidParameterError(
                f"SRC {self.description} is not an MLflow database (no table {', '.join(missing)})"
            )
        self.tables = tables
        self.workspaces = {
            t
            for t in ("experiments", "registered_models")
            if "workspace" in {c["name"] for c in sa.inspect(self.conn).get_columns(t)}
        }
        if registry_uri:
            self._registry_source = MlflowDatabaseSource(registry_uri)

    def _q(self, sql: str, **params: Any) -> Sequence[Any]:
        return self.conn.execute(sa.text(sql), params).all()

    def _ws(self, table: str, alias: str = "") -> str:
        prefix = f"{alias}." if alias else ""
        return f" AND {prefix}workspace = 'default'" if table in self.workspaces else ""

    # --- experiments ----------------------------------------------------
    def experiments(self) -> Iterator[Experiment]:
        """Every experiment by id."""
        rows = self._q(
            "SELECT experiment_id, name, artifact_location, lifecycle_stage, creation_time, "
            f"last_update_time FROM experiments WHERE 1=1{self._ws('experiments')} ORDER BY experiment_id"
        )
        tags: dict[str, dict[str, str]] = {}
        if "experiment_tags" in self.tables:
            for key, value, eid in self._q("SELECT key, value, experiment_id FROM experiment_tags"):
                tags.setdefault(str(eid), {})[key] = value if value is not None else ""
        for eid, name, location, stage, created, updated in rows:
            yield Experiment(
                str(eid),
                name,
                location or "",
                LifecycleStage(stage or "active"),
                tags.get(str(eid), {}),
                created,
                updated,
            )

    def count_runs(self, experiment_id: str) -> int:
        """How many runs the experiment has."""
        return int(self._q("SELECT COUNT(*) FROM runs WHERE experiment_id = :e", e=int(experiment_id))[0][0])

    # --- runs -------------------------------------------------------------
    def _children(self, sql: str, ids: list[str]) -> list[Any]:
        stmt = sa.text(sql).bindparams(sa.bindparam("ids", expanding=True))
        return list(self.conn.execute(stmt, {"ids": ids}).all())

    def runs(self, experiment_id: str) -> Iterator[RunRecord]:
        """The experiment's runs by id, read a page at a time."""
        after = ""
        while True:
            rows = self._q(
                "SELECT run_uuid, name, user_id, status, start_time, end_time, lifecycle_stage, "
                "artifact_uri FROM runs WHERE experiment_id = :e AND run_uuid > :a "
                f"ORDER BY run_uuid LIMIT {_RUN_PAGE}",
                e=int(experiment_id),
                a=after,
            )
            if not rows:
                return
            ids = [r[0] for r in rows]
            after = ids[-1]
            params: dict[str, dict[str, str]] = {i: {} for i in ids}
            tags: dict[str, dict[str, str]] = {i: {} for i in ids}
            keys: dict[str, list[str]] = {i: [] for i in ids}
            for key, value, rid in self._children(
                "SELECT key, value, run_uuid FROM params WHERE run_uuid IN :ids", ids
            ):
                params[rid][key] = value
            for key, value, rid in self._children("SELECT key, value, run_uuid FROM tags WHERE run_uuid IN :ids", ids):
                tags[rid][key] = value if value is not None else ""
            for rid, key in self._children("SELECT DISTINCT run_uuid, key FROM metrics WHERE run_uuid IN :ids", ids):
                keys[rid].append(key)
            inputs, outputs = self._inputs(ids)
            for rid, name, user, status, start, end, stage, uri in rows:
                info = RunInfo(
                    run_id=rid,
                    experiment_id=experiment_id,
                    run_name=name,
                    user_id=user,
                    status=run_status(status or "FINISHED"),
                    start_time=start,
                    end_time=end,
                    lifecycle_stage=LifecycleStage(stage or "active"),
                    artifact_uri=uri or "",
                )
                yield RunRecord(
                    info=info,
                    params=params[rid],
                    tags=run_tags(tags[rid]),
                    inputs=tuple(inputs.get(rid, ())),
                    outputs=tuple(outputs.get(rid, ())),
                    metric_keys=tuple(sorted(keys[rid])),
                )

    def _inputs(self, ids: list[str]) -> tuple[dict[str, list[Any]], dict[str, list[str]]]:
        inputs: dict[str, list[Any]] = {}
        outputs: dict[str, list[str]] = {}
        if "inputs" not in self.tables:
            return inputs, outputs
        rows = self._children(
            "SELECT input_uuid, source_type, source_id, destination_type, destination_id "
            "FROM inputs WHERE destination_id IN :ids OR source_id IN :ids",
            ids,
        )
        dataset_rows = [r for r in rows if r[1] == "DATASET" and r[3] == "RUN"]
        for r in rows:
            if r[1] == "RUN_OUTPUT" and r[3] == "MODEL_OUTPUT":
                outputs.setdefault(r[2], []).append(r[4])
        if not dataset_rows or "datasets" not in self.tables:
            return inputs, outputs
        input_tags: dict[str, dict[str, str]] = {}
        if "input_tags" in self.tables:
            for uid, name, value in self._children(
                "SELECT input_uuid, name, value FROM input_tags WHERE input_uuid IN :ids", [r[0] for r in dataset_rows]
            ):
                input_tags.setdefault(uid, {})[name] = value
        datasets = {
            r[0]: r
            for r in self._children(
                "SELECT dataset_uuid, name, digest, dataset_source_type, dataset_source, dataset_schema, dataset_profile "
                "FROM datasets WHERE dataset_uuid IN :ids",
                sorted({r[2] for r in dataset_rows}),
            )
        }
        for uid, _st, dataset_uuid, _dt, run_id in sorted(dataset_rows, key=lambda r: r[0]):
            ds = datasets.get(dataset_uuid)
            if ds is not None:
                inputs.setdefault(run_id, []).append(
                    dataset_input(ds[1], ds[2], ds[3], ds[4], ds[5], ds[6], input_tags.get(uid, {}))
                )
        return inputs, outputs

    def metric_chunks(self, run: RunRecord) -> Iterator[Sequence[Metric]]:
        """Each key's history ordered by ``(step, timestamp)``, then NaN last, then value."""
        for key in run.metric_keys:
            result = self.conn.execute(
                sa.text(
                    "SELECT value, timestamp, step, is_nan FROM metrics WHERE run_uuid = :r AND key = :k "
                    "ORDER BY step, timestamp, is_nan, value"
                ),
                {"r": run.info.run_id, "k": key},
            )
            while True:
                rows = result.fetchmany(CHUNK_POINTS)
                if not rows:
                    break
                yield [Metric(key, metric_value(v, nan), int(ts), int(step or 0)) for v, ts, step, nan in rows]

    # --- logged models ------------------------------------------------------
    def logged_models(self, experiment_id: str) -> Iterator[LoggedModel]:
        """The experiment's logged models (MLflow 3), by id."""
        if "logged_models" not in self.tables:
            return
        rows = self._q(
            "SELECT model_id, name, artifact_location, creation_timestamp_ms, last_updated_timestamp_ms, "
            "status, lifecycle_stage, model_type, source_run_id, status_message FROM logged_models "
            "WHERE experiment_id = :e ORDER BY model_id",
            e=int(experiment_id),
        )
        for mid, name, location, created, updated, status, stage, mtype, run_id, message in rows:
            tags = (
                {
                    k: v
                    for k, v in self._q("SELECT tag_key, tag_value FROM logged_model_tags WHERE model_id = :m", m=mid)
                }
                if "logged_model_tags" in self.tables
                else {}
            )
            params = (
                {
                    k: v
                    for k, v in self._q(
                        "SELECT param_key, param_value FROM logged_model_params WHERE model_id = :m", m=mid
                    )
                }
                if "logged_model_params" in self.tables
                else {}
            )
            latest: dict[str, Metric] = {}
            if "logged_model_metrics" in self.tables:
                for key, ts, step, value in self._q(
                    "SELECT metric_name, metric_timestamp_ms, metric_step, metric_value FROM logged_model_metrics "
                    "WHERE model_id = :m ORDER BY metric_name, metric_step, metric_timestamp_ms",
                    m=mid,
                ):
                    latest[key] = Metric(
                        key, metric_value(value if value is not None else float("nan")), int(ts), int(step)
                    )
            yield LoggedModel(
                model_id=mid,
                experiment_id=experiment_id,
                name=name,
                artifact_location=location,
                creation_timestamp=int(created),
                last_updated_timestamp=int(updated),
                model_type=mtype,
                source_run_id=run_id,
                status=logged_model_status(status),
                status_message=message,
                tags=tags,
                params=params,
                metrics=tuple(latest[k] for k in sorted(latest)),
                lifecycle_stage=LifecycleStage(stage or "active"),
            )

    # --- registry -------------------------------------------------------------
    def registered_models(self) -> Iterator[tuple[RegisteredModel, list[ModelVersion]]]:
        """Registered models by name with their versions (soft-deleted versions left out)."""
        if self._registry_source is not None:
            yield from self._registry_source.registered_models()
            return
        if "registered_models" not in self.tables:
            return
        ws = self._ws("registered_models")
        for name, created, updated, description in self._q(
            f"SELECT name, creation_time, last_updated_time, description FROM registered_models WHERE 1=1{ws} "
            "ORDER BY name"
        ):
            tags = {
                k: v or ""
                for k, v in self._q(f"SELECT key, value FROM registered_model_tags WHERE name = :n{ws}", n=name)
            }
            aliases: dict[str, str] = {}
            if "registered_model_aliases" in self.tables:
                aliases = {
                    a: str(v)
                    for a, v in self._q(
                        f"SELECT alias, version FROM registered_model_aliases WHERE name = :n{ws} ORDER BY alias",
                        n=name,
                    )
                }
            versions = []
            for row in self._q(
                "SELECT version, creation_time, last_updated_time, description, user_id, current_stage, source, "
                f"run_id, status FROM model_versions WHERE name = :n{ws} ORDER BY version",
                n=name,
            ):
                number, vcreated, vupdated, vdesc, user, stage, source, run_id, status = row
                if stage == "Deleted_Internal":
                    continue
                vtags = {
                    k: v or ""
                    for k, v in self._q(
                        f"SELECT key, value FROM model_version_tags WHERE name = :n AND version = :v{ws}",
                        n=name,
                        v=int(number),
                    )
                }
                versions.append(
                    ModelVersion(
                        name=name,
                        version=str(number),
                        creation_timestamp=int(vcreated or 0),
                        last_updated_timestamp=int(vupdated or vcreated or 0),
                        description=vdesc,
                        user_id=user,
                        current_stage=stage or "None",
                        source=source,
                        run_id=run_id or None,
                        status=status or "READY",
                        tags=vtags,
                        aliases=tuple(a for a, v in aliases.items() if v == str(number)),
                    )
                )
            yield (
                RegisteredModel(
                    name=name,
                    creation_timestamp=int(created or 0),
                    last_updated_timestamp=int(updated or created or 0),
                    description=description,
                    tags=tags,
                    aliases=aliases,
                ),
                versions,
            )

    def close(self) -> None:
        """Close the connection."""
        conn = getattr(self, "conn", None)
        if conn is not None:
            conn.close()
        self.engine.dispose()
        if self._registry_source is not None:
            self._registry_source.close()
