"""The hot operations of the SQL tracking store on a raw :mod:`sqlite3` cursor (see :mod:`.raw`).

``get_run``, ``get_metric_history``, ``log_batch``, ``search_runs`` and
``search_experiments`` of an up-to-date SQLite store, with prebuilt SQL and
plain tuples: no SQLAlchemy, no row mappings.  Each function runs inside the
transaction :meth:`.raw.RawSqlite.run` opened and shares its rules
(:mod:`storekit.rules`) and write statements (:mod:`.writes`) with the
SQLAlchemy path.
"""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict
from typing import Any, Container, Mapping, Optional, Sequence

from ... import rules
from ...entities import (
    Dataset,
    DatasetInput,
    Experiment,
    LifecycleStage,
    Metric,
    Param,
    Run,
    RunData,
    RunInfo,
    RunInputs,
    RunOutputs,
    RunStatus,
    RunTag,
    ViewType,
)
from ...errors import ExperimentNotFound, InvalidParameterError, RunNotFound
from ...ids import new_run_id
from ...search.ast import EXPERIMENT_SCHEMA, RUN_SCHEMA, Kind
from ...uri import append_path
from .basics import is_experiment_key
from .metrics import KIND_FINITE, decode_value, history_after, history_page, latest_point
from .query import fingerprint, parse_query
from .raw_search import RawKeyed, RawSpec, in_list, paged_rows

__all__ = [
    "run_info",
    "create_run",
    "update_run_info",
    "load_runs",
    "get_run",
    "metric_history",
    "log_batch",
    "search_runs",
    "search_experiments",
    "RUN_RAW_SPEC",
    "EXPERIMENT_RAW_SPEC",
]

_DELETED = LifecycleStage.DELETED.value
_ACTIVE = LifecycleStage.ACTIVE.value
#: enum members by stored value (a dict lookup instead of an enum call per row)
_STATUSES = {m.value: m for m in RunStatus}
_STAGES = {m.value: m for m in LifecycleStage}
#: run ids per IN list (three lists per child query stay under SQLite's 999-variable floor)
_CHUNK = 300

#: the columns of ``runs`` every run query reads, in :func:`run_info` order
_RUN_COLUMNS = (
    "r.row_id",
    "r.run_uuid",
    "r.experiment_id",
    "r.name",
    "r.user_id",
    "r.status",
    "r.start_time",
    "r.end_time",
    "r.lifecycle_stage",
    "r.artifact_uri",
)
_EXPERIMENT_STAGE = "(SELECT e.lifecycle_stage FROM experiments e WHERE e.experiment_id = r.experiment_id)"


def run_info(r: Mapping[Any, Any], experiment_deleted: bool = False) -> RunInfo:
    """The RunInfo of a ``runs`` row (a mapping by column name).

    Its ``lifecycle_stage`` is the effective one: ``deleted`` when the run or
    (``experiment_deleted``) its experiment is deleted.
    """
    return RunInfo(
        run_id=r["run_uuid"],
        experiment_id=str(r["experiment_id"]),
        run_name=r["name"],
        user_id=r["user_id"],
        status=_STATUSES[r["status"]],
        start_time=r["start_time"],
        end_time=r["end_time"],
        lifecycle_stage=LifecycleStage.DELETED if experiment_deleted else _STAGES[r["lifecycle_stage"]],
        artifact_uri=r["artifact_uri"],
    )


def _info(r: Sequence[Any], experiment_deleted: bool) -> RunInfo:
    """The RunInfo of a tuple of :data:`_RUN_COLUMNS`."""
    return RunInfo(
        run_id=r[1],
        experiment_id=str(r[2]),
        run_name=r[3],
        user_id=r[4],
        status=_STATUSES[r[5]],
        start_time=r[6],
        end_time=r[7],
        lifecycle_stage=LifecycleStage.DELETED if experiment_deleted else _STAGES[r[8]],
        artifact_uri=r[9],
    )


def _chunks(ids: Sequence[int]) -> list[Sequence[int]]:
    return [ids[i : i + _CHUNK] for i in range(0, len(ids), _CHUNK)]


def load_runs(
    cur: sqlite3.Cursor, rows: Sequence[Sequence[Any]], deleted_experiments: Container[int] = ()
) -> list[Run]:
    """Full runs from tuples of :data:`_RUN_COLUMNS`: params, tags and latest metrics in one query per 300 runs."""
    params: dict[int, dict[str, str]] = defaultdict(dict)
    tags: dict[int, dict[str, str]] = defaultdict(dict)
    latest: dict[int, dict[str, Metric]] = defaultdict(dict)
    inputs: dict[int, list[DatasetInput]] = {}
    outputs: dict[int, list[str]] = defaultdict(list)
    ids = [r[0] for r in rows]
    for part in _chunks(ids):
        marks = ", ".join("?" * len(part))
        cur.execute(
            f"SELECT 0, run_row, key, value, 1, NULL, NULL, NULL FROM params WHERE run_row IN ({marks}) "
            f"UNION ALL SELECT 1, run_row, key, value, 1, NULL, NULL, NULL FROM tags WHERE run_row IN ({marks}) "
            f"UNION ALL SELECT 2, run_row, key, value, kind, timestamp, step, model_id FROM latest_metrics "
            f"WHERE run_row IN ({marks}) "
            f"UNION ALL SELECT 3, run_row, NULL, NULL, NULL, NULL, NULL, NULL FROM inputs WHERE run_row IN ({marks}) "
            f"UNION ALL SELECT 4, o.run_row, m.model_id, o.position, NULL, NULL, NULL, NULL FROM run_outputs o "
            f"JOIN logged_models m ON m.model_row = o.model_row WHERE o.run_row IN ({marks})",
            (*part, *part, *part, *part, *part),
        )
        with_inputs, with_outputs = set(), []
        for table, run_row, key, value, kind, timestamp, step, model_id in cur.fetchall():
            if table == 0:
                params[run_row][key] = value
            elif table == 1:
                tags[run_row][key] = value
            elif table == 2:
                latest[run_row][key] = latest_point(key, value, kind, timestamp, step, model_id)
            elif table == 3:
                with_inputs.add(run_row)
            else:
                with_outputs.append((run_row, value, key))
        for run_row, _position, model_id in sorted(with_outputs):
            outputs[run_row].append(model_id)
        if with_inputs:
            inputs.update(_inputs(cur, sorted(with_inputs)))
    return [
        Run(
            info=_info(r, r[2] in deleted_experiments),
            data=RunData(
                metrics={k: m.value for k, m in latest.get(r[0], {}).items()},
                params=params.get(r[0], {}),
                tags=tags.get(r[0], {}),
                latest_metrics=latest.get(r[0], {}),
            ),
            inputs=RunInputs(tuple(inputs.get(r[0], ()))),
            outputs=RunOutputs(tuple(outputs.get(r[0], ()))),
        )
        for r in rows
    ]


def _inputs(cur: sqlite3.Cursor, ids: Sequence[int]) -> dict[int, list[DatasetInput]]:
    """Dataset inputs per run, ordered by dataset name, digest and context (code-point order)."""
    sql, args = in_list("i.run_row", ids)
    cur.execute(
        "SELECT i.run_row, d.name, d.digest, i.context, d.source_type, d.source, d.schema, d.profile, i.tags_json "
        f"FROM inputs i JOIN datasets d ON d.dataset_id = i.dataset_id WHERE {sql} "
        "ORDER BY i.run_row, d.name, d.digest, i.context",
        args,
    )
    out: dict[int, list[DatasetInput]] = defaultdict(list)
    for run_row, name, digest, _context, source_type, source, schema, profile, tags_json in cur.fetchall():
        out[run_row].append(
            DatasetInput(Dataset(name, digest, source_type, source, schema, profile), json.loads(tags_json))
        )
    return out


def get_run(cur: sqlite3.Cursor, run_id: str) -> Run:
    """The run (active or deleted) with latest metrics, params, tags, inputs and outputs."""
    rules.validate_run_id(run_id)
    cur.execute(f"SELECT {', '.join(_RUN_COLUMNS)}, {_EXPERIMENT_STAGE} FROM runs r WHERE r.run_uuid = ?", (run_id,))
    row = cur.fetchone()
    if row is None:
        raise RunNotFound(f"run {run_id!r} does not exist")
    return load_runs(cur, [row], (row[2],) if row[10] == _DELETED else ())[0]


def create_run(
    cur: sqlite3.Cursor,
    experiment_id: str,
    user_id: Optional[str],
    start: int,
    tags: Mapping[str, str],
    run_name: Optional[str],
) -> Run:
    """Insert a RUNNING run (arguments validated) into an active experiment."""
    text = rules.validate_experiment_id(experiment_id)
    exp = None
    if is_experiment_key(text):
        exp = cur.execute(
            "SELECT experiment_id, lifecycle_stage, artifact_location FROM experiments WHERE experiment_id = ?",
            (int(text),),
        ).fetchone()
    if exp is None:
        raise ExperimentNotFound(f"experiment {text!r} does not exist")
    rules.check_experiment_active(exp[0], exp[1])
    run_id = new_run_id()
    values = dict(
        run_uuid=run_id,
        experiment_id=exp[0],
        name=run_name,
        user_id=user_id,
        status=RunStatus.RUNNING.value,
        start_time=start,
        end_time=None,
        lifecycle_stage=_ACTIVE,
        artifact_uri=append_path(exp[2], run_id, "artifacts"),
    )
    cur.execute(
        f"INSERT INTO runs ({', '.join(values)}) VALUES ({', '.join('?' * len(values))})", tuple(values.values())
    )
    if tags:
        from . import writes

        st = writes.sqlite_statements()
        st.insert(cur, st.upsert_tags, [(cur.lastrowid, k, v) for k, v in tags.items()])
    return Run(info=run_info(values), data=RunData(tags=dict(tags)))


def update_run_info(cur: sqlite3.Cursor, run_id: str, values: Mapping[str, Any]) -> RunInfo:
    """Apply validated changes (``status``, ``end_time``, ``name``) to a writable run."""
    rules.validate_run_id(run_id)
    cur.execute(f"SELECT {', '.join(_RUN_COLUMNS)}, {_EXPERIMENT_STAGE} FROM runs r WHERE r.run_uuid = ?", (run_id,))
    row = cur.fetchone()
    if row is None:
        raise RunNotFound(f"run {run_id!r} does not exist")
    rules.check_run_writable(run_id, row[8], row[10], row[2])
    if values:
        sets = ", ".join(f"{column} = ?" for column in values)
        cur.execute(f"UPDATE runs SET {sets} WHERE row_id = ?", (*values.values(), row[0]))
    current = dict(zip((c[2:] for c in _RUN_COLUMNS), row))
    return run_info({**current, **values})


_new = object.__new__


def _metrics(key: str, rows: Sequence[Sequence[Any]]) -> list[Metric]:
    """Metrics of ``key`` from ``metrics`` rows, filled without the dataclass ``__init__``.

    A frozen dataclass's ``__init__`` sets each field through
    ``object.__setattr__``; filling the instance ``__dict__`` directly gives
    the identical object at a fraction of the cost, which matters at 100
    points per ``get_metric_history``.  The values come from the database,
    already typed; ``key`` is the one asked for (the query matched it
    exactly), so the rows need not carry it.
    """
    out: list[Metric] = []
    append = out.append
    for row in rows:
        metric = _new(Metric)
        fields = metric.__dict__
        fields["key"] = key
        fields["value"] = row[2] if row[3] == KIND_FINITE else decode_value(row[2], row[3])
        fields["timestamp"] = row[4]
        fields["step"] = row[5]
        fields["model_id"] = row[6]
        append(metric)
    return out


def metric_history(
    cur: sqlite3.Cursor, run_id: str, key: str, limit: Optional[int], page_token: Optional[str], token_key: bytes
) -> tuple[list[Metric], Optional[str]]:
    """One page of a metric's points by ``(step, timestamp)``, then logging order, and the next token."""
    paged = page_token or limit is not None
    query = fingerprint("history", run_id, key) if paged else ""  # a whole history needs no token
    # the row layout of ``history_page``; the id is read only for a next-page token, the key never
    sql = (
        f"SELECT {'m.id' if paged else 'NULL'}, NULL, m.value, m.kind, m.timestamp, m.step, m.model_id "
        "FROM metrics m WHERE m.run_row = (SELECT row_id FROM runs WHERE run_uuid = ?) AND m.key = ?"
    )
    args: list[Any] = [run_id, key]
    if page_token:
        sql += " AND (m.step, m.timestamp, m.id) > (?, ?, ?)"
        args += history_after(page_token, query, token_key)
    sql += " ORDER BY m.step, m.timestamp, m.id"
    if limit is not None:
        sql += f" LIMIT {limit + 1}"
    rows = cur.execute(sql, args).fetchall()
    if not rows and cur.execute("SELECT 1 FROM runs WHERE run_uuid = ?", (run_id,)).fetchone() is None:
        raise RunNotFound(f"run {run_id!r} does not exist")
    page, token = history_page(rows, limit, query, token_key)
    return _metrics(key, page), token


def log_batch(
    cur: sqlite3.Cursor, run_id: str, metrics: Sequence[Metric], params: Sequence[Param], tags: Sequence[RunTag]
) -> None:
    """Store validated metrics (naming no logged model), params and tags of a writable run."""
    from . import writes  # on the first write: opening a store to read does not need it

    st = writes.sqlite_statements()
    found = writes.lock_run(cur, st, run_id)  # BEGIN IMMEDIATE holds the database lock
    if found is None:
        raise RunNotFound(f"run {run_id!r} does not exist")
    row_id = found[0]
    rules.check_run_writable(run_id, found[1], found[3], found[2])
    if params:
        writes.write_params(cur, st, row_id, {p.key: p.value for p in params})
    if tags:
        writes.write_tags(cur, st, row_id, {t.key: t.value for t in tags})
    if metrics:
        writes.write_metrics(cur, st, row_id, metrics)


def _dataset_exists(key: str, alias: str) -> tuple[str, str]:
    column = {"name": f"{alias}.name", "digest": f"{alias}.digest", "context": f"i{alias}.context"}.get(key)
    if column is None:
        raise InvalidParameterError(f"datasets.{key}: unknown dataset field (name, digest, context)")
    body = (
        f"FROM inputs i{alias}, datasets {alias} "
        f"WHERE i{alias}.run_row = r.row_id AND i{alias}.dataset_id = {alias}.dataset_id"
    )
    return body, column


#: run search identifiers as SQLite SQL (the twin of ``tracking.RUN_SPEC``)
RUN_RAW_SPEC = RawSpec(
    attributes={
        "run_id": ("r.run_uuid", str),
        "run_name": ("r.name", str),
        "status": ("r.status", str),
        "user_id": ("r.user_id", str),
        "start_time": ("r.start_time", int),
        "end_time": ("r.end_time", int),
        "artifact_uri": ("r.artifact_uri", str),
        "experiment_id": ("CAST(r.experiment_id AS VARCHAR(20))", str),
        "lifecycle_stage": (
            f"CASE WHEN {_EXPERIMENT_STAGE} = '{_DELETED}' THEN '{_DELETED}' ELSE r.lifecycle_stage END",
            str,
        ),
    },
    keyed={
        Kind.METRIC: RawKeyed("latest_metrics", "r.row_id", "run_row", numeric=True),
        Kind.PARAM: RawKeyed("params", "r.row_id", "run_row"),
        Kind.TAG: RawKeyed("tags", "r.row_id", "run_row"),
    },
    unique=(("r.run_uuid", str),),
    unique_attribute="run_id",
    not_null=frozenset({"run_id", "status", "start_time", "artifact_uri", "experiment_id", "lifecycle_stage"}),
    dataset_exists=_dataset_exists,
)

#: experiment search identifiers as SQLite SQL (the twin of ``experiments.EXPERIMENT_SPEC``)
EXPERIMENT_RAW_SPEC = RawSpec(
    attributes={
        "experiment_id": ("CAST(e.experiment_id AS VARCHAR(20))", str),
        "name": ("e.name", str),
        "artifact_location": ("e.artifact_location", str),
        "lifecycle_stage": ("e.lifecycle_stage", str),
        "creation_time": ("e.creation_time", int),
        "last_update_time": ("e.last_update_time", int),
    },
    keyed={Kind.TAG: RawKeyed("experiment_tags", "e.experiment_id", "experiment_id", semi_join=False)},
    unique=(("e.experiment_id", int),),
    not_null=frozenset(
        {"experiment_id", "name", "artifact_location", "lifecycle_stage", "creation_time", "last_update_time"}
    ),
)


def search_runs(
    cur: sqlite3.Cursor,
    experiment_ids: Sequence[str],
    filter_string: Optional[str],
    view_type: ViewType,
    max_results: int,
    order_by: Optional[Sequence[str]],
    page_token: Optional[str],
    token_key: bytes,
) -> tuple[list[Run], Optional[str]]:
    """Runs of the experiments matching the filter, keyset-paginated (as ``SqlAlchemyTrackingStore.search_runs``)."""
    keys_wanted = [int(e) for e in rules.validate_experiment_ids(experiment_ids) if is_experiment_key(e)]
    view_type = rules.parse_view_type(view_type)
    expr, order = parse_query(filter_string, order_by, RUN_SCHEMA)
    query = fingerprint("runs", sorted(keys_wanted), filter_string, int(view_type), list(order_by or []))
    stages: dict[int, str] = {}
    if keys_wanted:
        sql, args = in_list("experiment_id", keys_wanted)
        stages = dict(cur.execute(f"SELECT experiment_id, lifecycle_stage FROM experiments WHERE {sql}", args))
    active = [k for k, st in stages.items() if st == _ACTIVE]
    deleted = [k for k, st in stages.items() if st != _ACTIVE]
    in_active, active_args = in_list("r.experiment_id", active)
    if view_type is ViewType.ACTIVE_ONLY:
        where = (f"({in_active} AND r.lifecycle_stage = '{_ACTIVE}')", active_args)
    elif view_type is ViewType.DELETED_ONLY:
        in_deleted, deleted_args = in_list("r.experiment_id", deleted)
        where = (
            f"({in_deleted} OR ({in_active} AND r.lifecycle_stage != '{_ACTIVE}'))",
            [*deleted_args, *active_args],
        )
    else:
        where = in_list("r.experiment_id", active + deleted)
    rows, token = paged_rows(
        cur,
        columns=_RUN_COLUMNS,
        base="runs r",
        where=where,
        expr=expr,
        keys=order,
        spec=RUN_RAW_SPEC,
        max_results=max_results,
        page_token=page_token,
        query=query,
        bound_column="r.row_id",
        bound_table="runs",
        key=token_key,
    )
    return load_runs(cur, rows, frozenset(deleted)), token


_EXPERIMENT_COLUMNS = (
    "e.experiment_id",
    "e.name",
    "e.artifact_location",
    "e.lifecycle_stage",
    "e.creation_time",
    "e.last_update_time",
)


def search_experiments(
    cur: sqlite3.Cursor,
    view_type: ViewType,
    max_results: int,
    filter_string: Optional[str],
    order_by: Optional[Sequence[str]],
    page_token: Optional[str],
    token_key: bytes,
) -> tuple[list[Experiment], Optional[str]]:
    """Experiments matching the filter; default order ``creation_time DESC, experiment_id``."""
    expr, keys = parse_query(filter_string, order_by, EXPERIMENT_SCHEMA)
    view_type = rules.parse_view_type(view_type)
    query = fingerprint("experiments", int(view_type), filter_string, list(order_by or []))
    if view_type is ViewType.ACTIVE_ONLY:
        where: tuple[str, list[Any]] = ("e.lifecycle_stage = ?", [_ACTIVE])
    elif view_type is ViewType.DELETED_ONLY:
        where = ("e.lifecycle_stage = ?", [_DELETED])
    else:
        where = ("1", [])
    rows, token = paged_rows(
        cur,
        columns=_EXPERIMENT_COLUMNS,
        base="experiments e",
        where=where,
        expr=expr,
        keys=keys,
        spec=EXPERIMENT_RAW_SPEC,
        max_results=max_results,
        page_token=page_token,
        query=query,
        bound_column="e.experiment_id",
        bound_table="experiments",
        key=token_key,
    )
    tags: dict[int, dict[str, str]] = defaultdict(dict)
    ids = [r[0] for r in rows]
    for part in _chunks(ids):
        sql, args = in_list("experiment_id", part)
        for exp_id, key, value in cur.execute(
            f"SELECT experiment_id, key, value FROM experiment_tags WHERE {sql}", args
        ):
            tags[exp_id][key] = value
    experiments = [
        Experiment(
            experiment_id=str(r[0]),
            name=r[1],
            artifact_location=r[2],
            lifecycle_stage=_STAGES[r[3]],
            tags=tags.get(r[0], {}),
            creation_time=r[4],
            last_update_time=r[5],
        )
        for r in rows
    ]
    return experiments, token
