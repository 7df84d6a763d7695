"""The hot operations of the SQL tracking store on PostgreSQL and MySQL/MariaDB, on the driver's cursor.

``get_run``, ``get_metric_history``, ``create_run``, ``update_run_info`` and
``log_batch`` are what a training job and a tracking server call thousands
of times.  On a server database every statement is a round trip, and
SQLAlchemy's statement construction, compilation and row processing cost
more CPU than the database spends on these small queries.  So this module
builds their SQL once per dialect (:class:`ServerFastPath`) and runs it on
the DBAPI cursor inside the transaction :meth:`.engine.Database.run` opened:

* ``get_run``: the run row, then params, tags, latest metrics and whether it
  has dataset inputs or logged-model outputs in one ``UNION ALL`` query (on
  PostgreSQL both queries go in one pipelined round trip);
* ``get_metric_history``: one query (the run is found by a subquery);
* ``log_batch``: the run row locked, the stored values of the batch's param
  keys read, then every write — on PostgreSQL in one pipelined round trip
  (small batches) or a ``COPY`` for the points plus one pipeline for the rest.

Validation, the param-conflict rule, the writable-run rule and the
latest-value rule are the shared ones (:mod:`storekit.rules`,
:mod:`.writes`); the SQL is the same the SQLAlchemy path runs, so both paths
read and write identical rows and page tokens.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import TYPE_CHECKING, Any, Callable, Container, Mapping, Optional, Sequence, TypeVar

from ... import rules
from ...entities import (
    Dataset,
    DatasetInput,
    LifecycleStage,
    Metric,
    Run,
    RunData,
    RunInfo,
    RunInputs,
    RunOutputs,
    RunStatus,
    RunTag,
)
from ...entities import Param as ParamEntity
from ...errors import ExperimentNotFound, RunNotFound
from ...ids import new_run_id
from ...uri import append_path
from . import writes
from .bulk import MetricRowWriter
from .experiments import experiment_key
from .metrics import KIND_FINITE, decode_value, history_after, history_page, latest_point, latest_tuples
from .query import fingerprint
from .raw_ops import run_info
from .sqlutil import cursor_of

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from .engine import Database

T = TypeVar("T")

__all__ = ["ServerFastPath", "COPY_MIN_POINTS", "fast_path_for", "on_cursor"]

_DELETED = LifecycleStage.DELETED.value
_ACTIVE = LifecycleStage.ACTIVE.value
_RUNNING = RunStatus.RUNNING.value
#: metric points per batch from which PostgreSQL gets them by ``COPY`` (below: a multi-row INSERT in the pipeline)
COPY_MIN_POINTS = 200
#: columns of ``runs`` read by every run query, in :func:`~.raw_ops.run_info` order
_RUN_COLUMNS = (
    "row_id",
    "run_uuid",
    "experiment_id",
    "name",
    "user_id",
    "status",
    "start_time",
    "end_time",
    "lifecycle_stage",
    "artifact_uri",
)
_new = object.__new__
#: runs per children query of :meth:`ServerFastPath.load_runs` (five IN lists of bound values each)
_LOAD_CHUNK = 300


def _metric(row: Sequence[Any]) -> Metric:
    """A Metric from ``(id, key, value, kind, timestamp, step, model_id)``, without the dataclass ``__init__``."""
    metric = _new(Metric)
    metric.__dict__.update(
        key=row[1],
        value=float(row[2]) if row[3] == KIND_FINITE else decode_value(row[2], row[3]),
        timestamp=int(row[4]),
        step=int(row[5]),
        model_id=row[6],
    )
    return metric


def fast_path_for(dialect: Any) -> Optional["ServerFastPath"]:
    """The fast path of a dialect: PostgreSQL on psycopg 3 and MySQL/MariaDB on PyMySQL, else None."""
    if (dialect.name, dialect.driver) in (("postgresql", "psycopg"), ("mysql", "pymysql")):
        return ServerFastPath(dialect)
    return None


def on_cursor(db: Database, fn: Callable[[Any], T], write: bool = True) -> T:
    """``fn(cursor)`` in one transaction of ``db`` (retried and translated like every transaction)."""

    def txn(conn: Connection) -> T:
        cur = cursor_of(conn)
        try:
            return fn(cur)
        finally:
            cur.close()

    return db.run(txn, write)


def _columns(rows: Sequence[tuple[Any, ...]]) -> list[Any]:
    """The columns after ``run_row`` of :data:`~.metrics.TUPLE_COLUMNS` rows, as array parameters.

    As PostgreSQL array literals where that is exact and needs no escaping
    (keys are validated to ``[\\w.\\- /:]``, values are finite floats whose
    ``repr`` round-trips, no model id): the driver's list adaptation costs
    more CPU than the rest of a small ``log_batch``.  Lists otherwise.
    """
    _run, keys, values, kinds, stamps, steps, models = zip(*rows)
    if (
        {*models} == {None}
        and {*map(type, values)} == {float}
        and not any('"' in k or "\\" in k or "," in k for k in keys)
    ):
        return [
            '{"' + '","'.join(keys) + '"}',
            "{" + ",".join(map(repr, values)) + "}",
            "{" + ",".join(map(str, kinds)) + "}",
            "{" + ",".join(map(str, stamps)) + "}",
            "{" + ",".join(map(str, steps)) + "}",
            "{" + ",".join(["NULL"] * len(keys)) + "}",
        ]
    return [list(keys), list(values), list(kinds), list(stamps), list(steps), list(models)]


class ServerFastPath:
    """Prebuilt SQL of the hot operations for one dialect (``postgresql`` or ``mysql``).

    Every method takes the DBAPI cursor of an open transaction (see
    :func:`~.sqlutil.cursor_of`) and raises storekit errors; the caller's
    transaction makes each call atomic.
    """

    def __init__(self, dialect: Any) -> None:
        self.st = writes.statements_for(dialect)
        self.postgres = dialect.name == "postgresql"
        q = dialect.identifier_preparer.quote
        m = self.st.mark
        run_cols = ", ".join(f"r.{q(c)}" for c in _RUN_COLUMNS)
        exp_stage = "(SELECT e.lifecycle_stage FROM experiments e WHERE e.experiment_id = r.experiment_id)"
        self.select_run = f"SELECT {run_cols}, {exp_stage} FROM runs r WHERE r.run_uuid = {m}"
        self.lock_run = self.select_run + " FOR UPDATE"
        k, v, ts = q("key"), q("value"), q("timestamp")
        of_run = f"(SELECT row_id FROM runs WHERE run_uuid = {m})"
        no_number = "CAST(NULL AS DOUBLE PRECISION)" if self.postgres else "CAST(NULL AS DOUBLE)"
        # the latest point's timestamp, step and model id: latest_metrics rows only (typed for the UNION)
        integer, text = ("BIGINT", "TEXT") if self.postgres else ("SIGNED", "CHAR")
        z = f"CAST(NULL AS {integer}), CAST(NULL AS {integer}), CAST(NULL AS {text})"
        latest_cols = f"{ts}, step, model_id"
        self.select_children = (
            f"SELECT 0, {k}, {v}, {no_number}, 1, {z} FROM params WHERE run_row = {of_run} "
            f"UNION ALL SELECT 1, {k}, {v}, NULL, 1, {z} FROM tags WHERE run_row = {of_run} "
            f"UNION ALL SELECT 2, {k}, NULL, {v}, kind, {latest_cols} FROM latest_metrics WHERE run_row = {of_run} "
            f"UNION ALL SELECT 3, NULL, NULL, NULL, NULL, {z} FROM runs WHERE row_id = {of_run} "
            f"AND EXISTS (SELECT 1 FROM inputs WHERE run_row = {of_run}) "
            f"UNION ALL SELECT 4, lm.model_id, NULL, NULL, o.{q('position')}, {z} FROM run_outputs o "
            f"JOIN logged_models lm ON lm.model_row = o.model_row WHERE o.run_row = {of_run}"
        )
        self._children_in = (
            f"SELECT 0, run_row, {k}, {v}, {no_number}, 1, {z} FROM params WHERE run_row IN {{ids}} "
            f"UNION ALL SELECT 1, run_row, {k}, {v}, NULL, 1, {z} FROM tags WHERE run_row IN {{ids}} "
            f"UNION ALL SELECT 2, run_row, {k}, NULL, {v}, kind, {latest_cols} FROM latest_metrics "
            f"WHERE run_row IN {{ids}} "
            f"UNION ALL SELECT 3, row_id, NULL, NULL, NULL, NULL, {z} FROM runs WHERE row_id IN {{ids}} "
            f"AND EXISTS (SELECT 1 FROM inputs WHERE run_row = runs.row_id) "
            f"UNION ALL SELECT 4, o.run_row, lm.model_id, NULL, NULL, o.{q('position')}, {z} FROM run_outputs o "
            f"JOIN logged_models lm ON lm.model_row = o.model_row WHERE o.run_row IN {{ids}}"
        )
        self.select_inputs = (
            f"SELECT d.name, d.digest, i.context, d.source_type, d.{q('source')}, d.{q('schema')}, d.profile, "
            f"i.tags_json FROM inputs i JOIN datasets d ON d.dataset_id = i.dataset_id WHERE i.run_row = {m}"
        )
        self.history = (
            f"SELECT mt.id, mt.{k}, mt.{v}, mt.kind, mt.{ts}, mt.step, mt.model_id FROM metrics mt "
            f"WHERE mt.run_row = {of_run} AND mt.{k} = {m}"
        )
        self.history_after = f" AND (mt.step, mt.{ts}, mt.id) > ({m}, {m}, {m})"
        self.history_order = f" ORDER BY mt.step, mt.{ts}, mt.id"
        self.run_exists = f"SELECT 1 FROM runs WHERE run_uuid = {m}"
        self.select_experiment = (
            f"SELECT experiment_id, lifecycle_stage, artifact_location FROM experiments WHERE experiment_id = {m}"
        )
        run_insert = ", ".join(q(c) for c in _RUN_COLUMNS[1:])
        self.insert_run = f"INSERT INTO runs ({run_insert}) VALUES ({', '.join([m] * (len(_RUN_COLUMNS) - 1))})"
        if self.postgres:
            self.insert_run += " RETURNING row_id"
        # PostgreSQL: rows as arrays, so each statement has the same text (parsed once, prepared by the
        # driver after a few calls) whatever the number of rows; same conflict clauses as :mod:`.writes`
        key_values = f"SELECT {m}::int8, k, v FROM unnest({m}::text[], {m}::text[]) AS u(k, v)"
        self.pg_insert_params = f"INSERT INTO params (run_row, {k}, {v}) {key_values}"
        self.pg_upsert_tags = f"INSERT INTO tags (run_row, {k}, {v}) {key_values}{self.st.upsert_tags.suffix}"
        self.pg_insert_metrics = (
            f"INSERT INTO metrics (run_row, {k}, {v}, kind, {ts}, step, model_id) "
            f"SELECT {m}::int8, * FROM unnest({m}::text[], {m}::float8[], {m}::int2[], "
            f"{m}::int8[], {m}::int8[], {m}::text[])"  # ids follow the array order: logging order
        )
        self.pg_upsert_latest = (
            f"INSERT INTO latest_metrics (run_row, {k}, {v}, kind, {ts}, step, model_id) "
            f"SELECT {m}::int8, k, v, kd, ts, sp, md FROM unnest({m}::text[], {m}::float8[], {m}::int2[], "
            f"{m}::int8[], {m}::int8[], {m}::text[]) AS u(k, v, kd, ts, sp, md){self.st.upsert_latest.suffix}"
        )
        # The same writes naming the run by its id (``of_run``, evaluated once per statement), so that they
        # go in one pipeline with the run lock: no rows when the run does not exist; a run that may not be
        # written is refused after the pipeline and the transaction rolls the writes back.
        by_id = f"SELECT {of_run}::int8 AS r WHERE EXISTS (SELECT 1 FROM runs WHERE run_uuid = {m})"
        self.pg_upsert_tags_by_id = (
            f"INSERT INTO tags (run_row, {k}, {v}) SELECT run.r, k, v FROM ({by_id}) AS run, "
            f"unnest({m}::text[], {m}::text[]) AS u(k, v){self.st.upsert_tags.suffix}"
        )
        self.pg_insert_metrics_by_id = (
            f"INSERT INTO metrics (run_row, {k}, {v}, kind, {ts}, step, model_id) "
            f"SELECT run.r, k, v, kd, ts, sp, md FROM ({by_id}) AS run, unnest({m}::text[], {m}::float8[], {m}::int2[], "
            f"{m}::int8[], {m}::int8[], {m}::text[]) WITH ORDINALITY AS u(k, v, kd, ts, sp, md, n) ORDER BY u.n"
        )
        self.pg_upsert_latest_by_id = (
            f"INSERT INTO latest_metrics (run_row, {k}, {v}, kind, {ts}, step, model_id) "
            f"SELECT run.r, k, v, kd, ts, sp, md FROM ({by_id}) AS run, unnest({m}::text[], {m}::float8[], "
            f"{m}::int2[], {m}::int8[], {m}::int8[], {m}::text[]) AS u(k, v, kd, ts, sp, md)"
            f"{self.st.upsert_latest.suffix}"
        )

    # --- reads ------------------------------------------------------------------
    def get_run(self, cur: Any, run_id: str) -> Run:
        """The run (active or deleted) with latest metrics, params, tags, inputs and outputs."""
        rules.validate_run_id(run_id)
        children = cur.connection.cursor()
        try:
            if self.postgres:
                with cur.connection.pipeline():  # both queries in one round trip
                    cur.execute(self.select_run, (run_id,))
                    children.execute(self.select_children, (run_id,) * 6)
            else:
                cur.execute(self.select_run, (run_id,))
                children.execute(self.select_children, (run_id,) * 6)
            row = cur.fetchone()
            rows = children.fetchall()
        finally:
            children.close()
        if row is None:
            raise RunNotFound(f"run {run_id!r} does not exist")
        params: dict[str, str] = {}
        tags: dict[str, str] = {}
        latest: dict[str, Metric] = {}
        outputs: list[tuple[int, str]] = []
        inputs: list[DatasetInput] = []
        for table, key, text, number, kind, timestamp, step, model_id in rows:
            if table == 0:
                params[key] = text
            elif table == 1:
                tags[key] = text
            elif table == 2:
                latest[key] = latest_point(key, number, kind, timestamp, step, model_id)
            elif table == 3:
                inputs = self._inputs(cur, row[0])
            else:
                outputs.append((kind, key))
        outputs.sort()
        return Run(
            info=run_info(dict(zip(_RUN_COLUMNS, row)), row[10] == _DELETED),
            data=RunData(
                metrics={key: point.value for key, point in latest.items()},
                params=params,
                tags=tags,
                latest_metrics=latest,
            ),
            inputs=RunInputs(tuple(inputs)),
            outputs=RunOutputs(tuple(model_id for _position, model_id in outputs)),
        )

    def load_runs(
        self, cur: Any, rows: Sequence[Mapping[Any, Any]], deleted_experiments: Container[Any] = ()
    ) -> list[Run]:
        """Full runs from ``runs`` rows (by column name): their children in one query per 300 runs.

        Runs of an experiment in ``deleted_experiments`` read as deleted.
        """
        params: dict[int, dict[str, str]] = defaultdict(dict)
        tags: dict[int, dict[str, str]] = defaultdict(dict)
        latest: dict[int, dict[str, Metric]] = defaultdict(dict)
        outputs: dict[int, list[tuple[int, str]]] = defaultdict(list)
        inputs: dict[int, list[DatasetInput]] = {}
        ids = [r["row_id"] for r in rows]
        for start in range(0, len(ids), _LOAD_CHUNK):
            part = ids[start : start + _LOAD_CHUNK]
            marks = f"({', '.join([self.st.mark] * len(part))})"
            cur.execute(self._children_in.format(ids=marks), part * 5)
            for table, run_row, key, text, number, kind, timestamp, step, model_id in cur.fetchall():
                if table == 0:
                    params[run_row][key] = text
                elif table == 1:
                    tags[run_row][key] = text
                elif table == 2:
                    latest[run_row][key] = latest_point(key, number, kind, timestamp, step, model_id)
                elif table == 3:
                    inputs[run_row] = self._inputs(cur, run_row)
                else:
                    outputs[run_row].append((kind, key))
        return [
            Run(
                info=run_info(r, r["experiment_id"] in deleted_experiments),
                data=RunData(
                    metrics={key: point.value for key, point in latest.get(r["row_id"], {}).items()},
                    params=params.get(r["row_id"], {}),
                    tags=tags.get(r["row_id"], {}),
                    latest_metrics=latest.get(r["row_id"], {}),
                ),
                inputs=RunInputs(tuple(inputs.get(r["row_id"], ()))),
                outputs=RunOutputs(tuple(model_id for _p, model_id in sorted(outputs.get(r["row_id"], ())))),
            )
            for r in rows
        ]

    def _inputs(self, cur: Any, run_row: int) -> list[DatasetInput]:
        """A run's dataset inputs, ordered by dataset name, digest and context (code-point order)."""
        cur.execute(self.select_inputs, (run_row,))
        found = sorted(cur.fetchall(), key=lambda r: (r[0], r[1], r[2]))
        return [DatasetInput(Dataset(r[0], r[1], r[3], r[4], r[5], r[6]), json.loads(r[7])) for r in found]

    def metric_history(
        self,
        cur: Any,
        run_id: str,
        key: str,
        limit: Optional[int],
        page_token: Optional[str],
        token_key: bytes,
    ) -> tuple[list[Metric], Optional[str]]:
        """One page of a metric's points by ``(step, timestamp)``, then logging order, and the next token."""
        rules.validate_run_id(run_id)
        query = fingerprint("history", run_id, key)
        sql = self.history
        args: list[Any] = [run_id, key]
        if page_token:
            sql += self.history_after
            args += history_after(page_token, query, token_key)
        sql += self.history_order
        if limit is not None:
            sql += f" LIMIT {int(limit) + 1}"
        cur.execute(sql, args)
        rows = cur.fetchall()
        if not rows:
            cur.execute(self.run_exists, (run_id,))
            if cur.fetchone() is None:
                raise RunNotFound(f"run {run_id!r} does not exist")
        page, token = history_page(rows, limit, query, token_key)
        return [_metric(r) for r in page], token

    # --- writes -----------------------------------------------------------------
    def create_run(
        self,
        cur: Any,
        experiment_id: str,
        user_id: Optional[str],
        start_time: int,
        tags: Mapping[str, str],
        run_name: Optional[str],
    ) -> Run:
        """Insert a RUNNING run (and its tags) into an active experiment; arguments already validated."""
        cur.execute(self.select_experiment, (experiment_key(experiment_id),))
        exp = cur.fetchone()
        if exp is None:
            raise ExperimentNotFound(f"experiment {str(experiment_id)!r} does not exist")
        rules.check_experiment_active(exp[0], exp[1])
        run_id = new_run_id()
        values = dict(
            run_uuid=run_id,
            experiment_id=exp[0],
            name=run_name,
            user_id=user_id,
            status=_RUNNING,
            start_time=start_time,
            end_time=None,
            lifecycle_stage=_ACTIVE,
            artifact_uri=append_path(exp[2], run_id, "artifacts"),
        )
        cur.execute(self.insert_run, tuple(values[c] for c in _RUN_COLUMNS[1:]))
        row_id = cur.fetchone()[0] if self.postgres else cur.lastrowid
        if tags:
            writes.write_tags(cur, self.st, row_id, tags)
        return Run(info=run_info(values), data=RunData(tags=dict(tags)))

    def update_run_info(self, cur: Any, run_id: str, values: Mapping[str, Any]) -> RunInfo:
        """Apply validated changes (``status``, ``end_time``, ``name``) to a writable run."""
        rules.validate_run_id(run_id)
        cur.execute(self.lock_run, (run_id,))
        row = cur.fetchone()
        if row is None:
            raise RunNotFound(f"run {run_id!r} does not exist")
        rules.check_run_writable(run_id, row[8], row[10], row[2])
        if values:
            sets = ", ".join(f"{column} = {self.st.mark}" for column in values)  # column names from rules
            cur.execute(f"UPDATE runs SET {sets} WHERE row_id = {self.st.mark}", (*values.values(), row[0]))
        return run_info({**dict(zip(_RUN_COLUMNS, row)), **values})

    def log_batch(
        self,
        cur: Any,
        run_id: str,
        metrics: Sequence[Metric],
        params: Sequence[ParamEntity],
        tags: Sequence[RunTag],
    ) -> None:
        """Store validated metrics (naming no logged model), params and tags of a writable run."""
        st = self.st
        if self.postgres and not params and len(metrics) < COPY_MIN_POINTS:
            self._log_batch_pipelined(cur, run_id, metrics, tags)
            return
        found = writes.lock_run(cur, st, run_id)  # locks the run row
        if found is None:
            raise RunNotFound(f"run {run_id!r} does not exist")
        row_id = found[0]
        rules.check_run_writable(run_id, found[1], found[3], found[2])
        new: list[tuple[Any, ...]] = []
        if params:
            param_map = {p.key: p.value for p in params}
            keys = list(param_map)
            cur.execute(st.in_list(st.select_params, len(keys)), (row_id, *keys))
            new = [(row_id, k, v) for k, v in rules.new_params(dict(cur.fetchall()), param_map).items()]
        if not self.postgres:
            if new:
                st.insert(cur, st.insert_params, new)
            if tags:
                writes.write_tags(cur, st, row_id, {t.key: t.value for t in tags})
            if metrics:  # literal multi-row INSERTs: PyMySQL escapes every value in Python otherwise
                rows = writes.metric_rows(row_id, metrics)
                MetricRowWriter(cur, st).write(rows)
                writes.advance_latest(cur, st, row_id, rows)
            return
        tag_map = {t.key: t.value for t in tags}
        small = len(metrics) < COPY_MIN_POINTS
        with cur.connection.pipeline():  # one round trip for every statement inside
            if new:
                cur.execute(self.pg_insert_params, (row_id, [r[1] for r in new], [r[2] for r in new]))
            if tag_map:
                cur.execute(self.pg_upsert_tags, (row_id, list(tag_map), list(tag_map.values())))
            if metrics and small:
                rows = writes.metric_rows(row_id, metrics)
                cur.execute(self.pg_insert_metrics, (row_id, *_columns(rows)))
                self._upsert_latest(cur, row_id, rows)
        if metrics and not small:  # COPY is not allowed in a pipeline
            rows = writes.metric_rows(row_id, metrics)
            text = writes.copy_text(rows)
            if text is None:
                st.insert(cur, st.insert_metrics, rows)
            else:
                with cur.copy(st.copy_metrics) as copy:
                    copy.write(text)
            self._upsert_latest(cur, row_id, rows)

    def _log_batch_pipelined(self, cur: Any, run_id: str, metrics: Sequence[Metric], tags: Sequence[RunTag]) -> None:
        """PostgreSQL, no params, few points: the run lock and every write in one round trip.

        The writes name the run by its id and write nothing when it does not
        exist; the writable-run rule is checked on the locked row afterwards, and
        raising rolls the transaction (and so the writes) back.
        """
        st = self.st
        tag_map = {t.key: t.value for t in tags}
        lock = cur.connection.cursor()
        try:
            with cur.connection.pipeline():  # one round trip for every statement inside
                lock.execute(st.lock_run, (run_id,))  # first: the run row is locked before any write
                if tag_map:
                    cur.execute(self.pg_upsert_tags_by_id, (run_id, run_id, list(tag_map), list(tag_map.values())))
                if metrics:
                    rows = writes.metric_rows(0, metrics)  # the run column is the statement's
                    cur.execute(self.pg_insert_metrics_by_id, (run_id, run_id, *_columns(rows)))
                    latest = _columns(list(latest_tuples(rows).values()))
                    cur.execute(self.pg_upsert_latest_by_id, (run_id, run_id, *latest))
            found = lock.fetchone()
        finally:
            lock.close()
        if found is None:
            raise RunNotFound(f"run {run_id!r} does not exist")
        rules.check_run_writable(run_id, found[1], found[3], found[2])

    def _upsert_latest(self, cur: Any, row_id: int, rows: list[tuple[Any, ...]]) -> None:
        """Advance the latest value of each key of ``rows`` (a stored later point is kept: see :mod:`.writes`)."""
        cur.execute(self.pg_upsert_latest, (row_id, *_columns(list(latest_tuples(rows).values()))))
