"""Revision 0009: ``storekit db upgrade`` from 0008 builds the covering history index; histories read from it."""

from __future__ import annotations

import sqlite3

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from storekit.backends.sql import SqlTrackingStore, schema
from storekit.backends.sql.engine import Database
from storekit.backends.sql.migrate import current_revision, upgrade
from storekit.cli import cli
from storekit.entities import Metric

_OLD = "0008"
_RUN = "c" * 32


def _indexes(db: Database) -> set[str]:
    return {ix["name"] for ix in sa.inspect(db.engine).get_indexes("metrics")}


@pytest.mark.parametrize("backend", ["sqlite", "postgresql", "mariadb"])
def test_upgrade_from_0008_builds_the_covering_index_and_keeps_histories(backend, new_database_uri, tmp_path):
    uri = new_database_uri(backend)
    db = Database(uri)
    upgrade(db, target=_OLD)
    assert "ix_metrics_history" in _indexes(db)
    with db.engine.begin() as conn:  # what storekit at 0008 wrote
        exp_id = conn.execute(
            sa.insert(schema.experiments).values(
                name="e", artifact_location="file:///a", lifecycle_stage="active", creation_time=1, last_update_time=1
            )
        ).inserted_primary_key[0]
        row_id = conn.execute(
            sa.insert(schema.runs).values(
                run_uuid=_RUN,
                experiment_id=exp_id,
                status="RUNNING",
                start_time=1,
                lifecycle_stage="active",
                artifact_uri="file:///a/r",
            )
        ).inserted_primary_key[0]
        conn.execute(
            sa.insert(schema.metrics),
            [
                dict(run_row=row_id, key="m", value=float(i), kind=1, timestamp=10, step=(3 - i) % 2, model_id=None)
                for i in range(4)
            ],
        )
    result = CliRunner().invoke(cli, ["db", "upgrade", uri])
    assert result.exit_code == 0, result.output
    assert f"{_OLD} -> {schema.HEAD_REVISION}" in result.output
    assert current_revision(db) == schema.HEAD_REVISION == "0009"
    indexes = _indexes(db)
    assert "ix_metrics_history_covering" in indexes and "ix_metrics_history" not in indexes
    store = SqlTrackingStore(uri, default_artifact_root=tmp_path.as_uri())
    try:
        # (step, timestamp), then logging order
        assert [m.value for m in store.get_metric_history(_RUN, "m")] == [1.0, 3.0, 0.0, 2.0]
        store.log_metric(_RUN, Metric("m", 9.0, 11, 0))
        assert [(m.step, m.value) for m in store.get_metric_history(_RUN, "m")][:3] == [(0, 1.0), (0, 3.0), (0, 9.0)]
    finally:
        store.close()
        db.dispose()


def test_sqlite_history_is_read_from_the_covering_index_alone(tmp_path):
    uri = f"sqlite:///{tmp_path}/h.db"
    store = SqlTrackingStore(uri, default_artifact_root=tmp_path.as_uri())
    run = store.create_run(store.create_experiment("e"))
    store.log_batch(run.info.run_id, metrics=[Metric("m", float(i), i, i) for i in range(5)])
    assert store._raw is not None  # the raw sqlite3 path serves the history
    store.close()
    conn = sqlite3.connect(f"{tmp_path}/h.db")
    try:
        plan = " | ".join(
            row[3]
            for row in conn.execute(
                "EXPLAIN QUERY PLAN SELECT m.id, m.key, m.value, m.kind, m.timestamp, m.step, m.model_id "
                "FROM metrics m WHERE m.run_row = (SELECT row_id FROM runs WHERE run_uuid = ?) AND m.key = ? "
                "ORDER BY m.step, m.timestamp, m.id",
                (run.info.run_id, "m"),
            )
        )
    finally:
        conn.close()
    assert "USING COVERING INDEX ix_metrics_history_covering" in plan, plan
    assert "TEMP B-TREE" not in plan, plan
