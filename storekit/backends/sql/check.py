"""Integrity check of a SQL store: the SQL backend's ``storekit check``.

Checks, each one query (so they stay cheap on large databases):

* the schema revision is this storekit's head revision;
* no orphan rows: run children (params, tags, metrics, latest metrics,
  inputs) of missing runs, runs of missing experiments, versions, tags and
  aliases of missing registered models or versions;
* latest metric values agree with the history: every ``latest_metrics`` row
  is a logged point, no logged point is later than it, and every metric with
  history has a latest value;
* every registered model's version counter is above its highest version;
* the metric tables' secondary indexes exist (a transfer killed while they
  were deferred leaves them missing until it is run again: a warning).

The database is opened without creating or migrating anything: a missing
SQLite file raises :class:`~storekit.errors.StoreNotFoundError`, an MLflow
or other foreign database :class:`~storekit.errors.ForeignStoreError`.  There is
no automatic repair for SQL stores: transactions leave nothing half-written,
so a finding here means a bug or a manual edit; the report says what.
"""

from __future__ import annotations

from typing import Callable

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ...errors import StorekitError
from ...integrity import ERROR, WARNING, IntegrityReport, describe_error
from ..opening import store_not_found
from . import bulk_index
from . import schema as s
from .engine import Database
from .probe import probe, refuse_foreign

__all__ = ["check_sql_store"]

_LATEST_COLUMNS = ("step", "timestamp", "kind", "value")


def _orphans(child: sa.Table, column: str, parent: sa.Table, parent_column: str) -> sa.Select:
    return (
        sa.select(sa.func.count())
        .select_from(child)
        .where(~sa.exists().where(parent.c[parent_column] == child.c[column]))
    )


def _orphan_checks() -> list[tuple[str, sa.Select]]:
    checks = [
        (f"{t.name} of missing runs", _orphans(t, "run_row", s.runs, "row_id"))
        for t in (s.params, s.tags, s.metrics, s.latest_metrics, s.inputs)
    ]
    checks += [
        ("runs of missing experiments", _orphans(s.runs, "experiment_id", s.experiments, "experiment_id")),
        (
            "experiment_tags of missing experiments",
            _orphans(s.experiment_tags, "experiment_id", s.experiments, "experiment_id"),
        ),
        ("inputs of missing datasets", _orphans(s.inputs, "dataset_id", s.datasets, "dataset_id")),
        (
            "model_versions of missing registered models",
            _orphans(s.model_versions, "model_row", s.registered_models, "model_row"),
        ),
        (
            "registered_model_tags of missing registered models",
            _orphans(s.registered_model_tags, "model_row", s.registered_models, "model_row"),
        ),
    ]
    v, vt, al = s.model_versions, s.model_version_tags, s.registered_model_aliases
    for table, label in ((vt, "model_version_tags"), (al, "registered_model_aliases")):
        checks.append(
            (
                f"{label} of missing model versions",
                sa.select(sa.func.count())
                .select_from(table)
                .where(~sa.exists().where(v.c.model_row == table.c.model_row, v.c.version == table.c.version)),
            )
        )
    return checks


def _same_point(m: sa.FromClause, lm: sa.FromClause) -> list[sa.ColumnElement[bool]]:
    return [m.c.run_row == lm.c.run_row, m.c.key == lm.c.key]


def _latest_checks() -> list[tuple[str, sa.Select]]:
    m, lm = s.metrics.alias("m"), s.latest_metrics.alias("lm")
    stale = (
        sa.select(sa.func.count())
        .select_from(lm)
        .where(~sa.exists().where(*_same_point(m, lm), *[m.c[c] == lm.c[c] for c in _LATEST_COLUMNS]))
    )
    later = (
        sa.select(sa.func.count())
        .select_from(m.join(lm, sa.and_(*_same_point(m, lm))))
        .where(sa.tuple_(*[m.c[c] for c in _LATEST_COLUMNS]) > sa.tuple_(*[lm.c[c] for c in _LATEST_COLUMNS]))
    )
    missing = sa.select(sa.func.count()).select_from(
        sa.select(m.c.run_row, m.c.key).distinct().where(~sa.exists().where(*_same_point(m, lm))).subquery()
    )
    return [
        ("latest metric values that are not a logged point", stale),
        ("logged metric points later than the stored latest value", later),
        ("metrics with history but no latest value", missing),
    ]


def _counter_check() -> sa.Select:
    rm, v = s.registered_models, s.model_versions
    top = sa.select(v.c.model_row, sa.func.max(v.c.version).label("top")).group_by(v.c.model_row).subquery()
    return (
        sa.select(rm.c.name, rm.c.next_version, top.c.top)
        .join_from(rm, top, rm.c.model_row == top.c.model_row)
        .where(top.c.top >= rm.c.next_version)
    )


_COUNTS: list[tuple[str, sa.Table]] = [
    ("experiments", s.experiments),
    ("runs", s.runs),
    ("params", s.params),
    ("tags", s.tags),
    ("metric points", s.metrics),
    ("registered models", s.registered_models),
    ("model versions", s.model_versions),
]


def _run_checks(report: IntegrityReport, conn: Connection) -> None:
    for kind, table in _COUNTS:
        report.count(kind, int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()))
    checks = [(label.split(" ", 1)[0], label, q) for label, q in _orphan_checks()]
    checks += [("latest_metrics", label, q) for label, q in _latest_checks()]
    for location, label, query in checks:
        n = int(conn.execute(query).scalar_one())
        if n:
            report.add(ERROR, location, f"{n} {label}")
    for name in bulk_index.missing_on(conn):
        report.add(
            WARNING,
            "metrics",
            f"index {name} is missing (a storekit migrate into this store was interrupted: "
            "run the same command again to build it)",
        )
    for name, counter, top in conn.execute(_counter_check()):
        report.add(
            ERROR, f"registered model {name!r}", f"version counter {counter} is not above the highest version {top}"
        )


def check_sql_store(uri: str, repair: bool = False, open_db: Callable[[str], Database] = Database) -> IntegrityReport:
    """Check the SQL store at ``uri`` (``repair`` has nothing to do for SQL and is reported)."""
    report = IntegrityReport(uri=uri, backend="sql", repair=repair)
    db = open_db(uri)
    try:
        report.backend = db.dialect
        try:
            state = probe(db)
            refuse_foreign(db, state)
            if not state.exists:
                raise store_not_found(db.redacted_uri, "the database file does not exist")
            revision = state.revision
        except StorekitError:
            raise
        except Exception as exc:
            report.add(ERROR, "schema", f"cannot read the schema revision: {describe_error(exc)}")
            return report
        if revision is None:
            report.add(
                ERROR,
                "schema",
                "no storekit schema revision: not a storekit database (a store creates its schema when first opened)",
            )
            return report
        if revision != s.HEAD_REVISION:
            report.add(
                ERROR,
                "schema",
                f"schema revision {revision}, expected {s.HEAD_REVISION}; run: storekit db upgrade {report.uri}",
            )
            return report
        report.count("schema revision")
        db.run(lambda conn: _run_checks(report, conn), write=False)
        if repair:
            report.add(
                WARNING,
                "repair",
                "SQL stores need no crash repair (every change is one transaction); nothing was changed",
            )
    finally:
        db.dispose()
    return report
