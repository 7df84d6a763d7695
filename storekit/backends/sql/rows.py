"""Rows to entities, loading related rows of many parents in a few IN-list queries."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any, Container, Mapping, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ...entities import (
    Dataset,
    DatasetInput,
    Experiment,
    LifecycleStage,
    Metric,
    Run,
    RunData,
    RunInputs,
    RunOutputs,
)
from . import schema as s
from .metrics import latest_point
from .raw_ops import run_info
from .sqlutil import chunks, rows_in

__all__ = ["key_values", "experiments_from_rows", "runs_from_rows", "run_info", "RUN_COLUMNS"]

#: columns of ``runs`` every run query selects
RUN_COLUMNS = (
    s.runs.c.row_id,
    s.runs.c.run_uuid,
    s.runs.c.experiment_id,
    s.runs.c.name,
    s.runs.c.user_id,
    s.runs.c.status,
    s.runs.c.start_time,
    s.runs.c.end_time,
    s.runs.c.lifecycle_stage,
    s.runs.c.artifact_uri,
)


def key_values(conn: Connection, table: sa.Table, parent: sa.Column, ids: Sequence[Any]) -> dict[Any, dict[str, str]]:
    """``{parent id: {key: value}}`` of a key/value table, batched by IN lists."""
    out: dict[Any, dict[str, str]] = defaultdict(dict)
    for pid, key, value in rows_in(conn, (parent, table.c.key, table.c.value), parent, ids):
        out[pid][key] = value
    return out


def experiments_from_rows(conn: Connection, rows: Sequence[Mapping[Any, Any]]) -> list[Experiment]:
    """Experiments with their tags."""
    ids = [r["experiment_id"] for r in rows]
    tags = key_values(conn, s.experiment_tags, s.experiment_tags.c.experiment_id, ids)
    return [
        Experiment(
            experiment_id=str(r["experiment_id"]),
            name=r["name"],
            artifact_location=r["artifact_location"],
            lifecycle_stage=LifecycleStage(r["lifecycle_stage"]),
            tags=tags.get(r["experiment_id"], {}),
            creation_time=r["creation_time"],
            last_update_time=r["last_update_time"],
        )
        for r in rows
    ]


def _latest(conn: Connection, ids: Sequence[int]) -> dict[int, dict[str, Metric]]:
    """The latest point of each metric, per run."""
    t = s.latest_metrics
    columns = (t.c.run_row, t.c.key, t.c.value, t.c.kind, t.c.timestamp, t.c.step, t.c.model_id)
    out: dict[int, dict[str, Metric]] = defaultdict(dict)
    for run_row, key, value, kind, timestamp, step, model_id in rows_in(conn, columns, t.c.run_row, ids):
        out[run_row][key] = latest_point(key, value, kind, timestamp, step, model_id)
    return out


def _inputs(conn: Connection, ids: Sequence[int]) -> dict[int, list[DatasetInput]]:
    """Dataset inputs per run, ordered by dataset name, digest and context (code-point order)."""
    i, d = s.inputs, s.datasets
    links = rows_in(conn, (i.c.run_row, i.c.dataset_id, i.c.context, i.c.tags_json), i.c.run_row, ids)
    if not links:  # the common case costs one cheap query
        return {}
    columns = (d.c.dataset_id, d.c.name, d.c.digest, d.c.source_type, d.c.source, d.c.schema, d.c.profile)
    found = {r[0]: Dataset(*r[1:]) for r in rows_in(conn, columns, d.c.dataset_id, sorted({r[1] for r in links}))}
    out: dict[int, list[DatasetInput]] = defaultdict(list)
    for run_row, dataset_id, _context, tags_json in sorted(
        links, key=lambda r: (r[0], found[r[1]].name, found[r[1]].digest, r[2])
    ):
        out[run_row].append(DatasetInput(found[dataset_id], json.loads(tags_json)))
    return out


def _outputs(conn: Connection, ids: Sequence[int]) -> dict[int, list[str]]:
    o, m = s.run_outputs, s.logged_models
    out: dict[int, list[str]] = defaultdict(list)
    for part in chunks(list(ids)):
        for run_row, model_id in conn.execute(
            sa.select(o.c.run_row, m.c.model_id)
            .join_from(o, m, o.c.model_row == m.c.model_row)
            .where(o.c.run_row.in_(part))
            .order_by(o.c.run_row, o.c.position)
        ):
            out[run_row].append(model_id)
    return out


def runs_from_rows(
    conn: Connection, rows: Sequence[Mapping[Any, Any]], deleted_experiments: Container[int] = ()
) -> list[Run]:
    """Full runs (params, tags, latest metrics, inputs, outputs) in a few IN-list queries per 900 runs.

    Runs of an experiment in ``deleted_experiments`` read as deleted.
    """
    ids = [r["row_id"] for r in rows]
    params = key_values(conn, s.params, s.params.c.run_row, ids)
    tags = key_values(conn, s.tags, s.tags.c.run_row, ids)
    latest = _latest(conn, ids)
    inputs = _inputs(conn, ids)
    outputs = _outputs(conn, ids)
    return [
        Run(
            info=run_info(r, r["experiment_id"] in deleted_experiments),
            data=RunData(
                metrics={k: m.value for k, m in latest.get(r["row_id"], {}).items()},
                params=params.get(r["row_id"], {}),
                tags=tags.get(r["row_id"], {}),
                latest_metrics=latest.get(r["row_id"], {}),
            ),
            inputs=RunInputs(tuple(inputs.get(r["row_id"], ()))),
            outputs=RunOutputs(tuple(outputs.get(r["row_id"], ()))),
        )
        for r in rows
    ]
