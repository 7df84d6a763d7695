"""The verification hashes SQL rows as stored (no ``Metric`` per point) in one canonical encoding.

The checksum of a history must be the same whether the points come as
``Metric`` objects (file store, MLflow sources) or as encoded SQL rows, in
whatever chunks; NaN and ±inf included.  Between two SQL stores a changed
value or a missing point in the destination must fail the verification
(exit 1) and name the run.
"""

from __future__ import annotations

import json
import math
import sqlite3
from pathlib import Path

from storekit.backends.sql.bulk import EncodedMetrics
from storekit.backends.sql.metrics import encode_value
from storekit.entities import Metric
from storekit.transfer.digest import HistoryHasher
from tests.migration.conftest import run_cli

_VALUES = [1.5, math.nan, math.inf, -math.inf, -0.0, 0.0, 1e308, 5e-324]


def _points() -> list[Metric]:
    return [Metric(k, v, 1_700_000_000_000 + i, i) for k in ("acc", "loss ü") for i, v in enumerate(_VALUES)]


def _rows(points: list[Metric]) -> list[tuple[object, ...]]:
    return [(m.key, *encode_value(m.value), m.timestamp, m.step, None, n) for n, m in enumerate(points)]


def _digest(chunks: list) -> tuple[str, int]:
    hasher = HistoryHasher()
    for chunk in chunks:
        hasher.update(chunk)
    return hasher.hexdigest(), hasher.points


def test_rows_and_metrics_hash_alike_in_any_chunking() -> None:
    points = _points()
    rows = _rows(points)
    whole = _digest([points])
    assert whole[1] == len(points)
    assert _digest([EncodedMetrics(rows)]) == whole
    assert _digest([EncodedMetrics(rows[:3]), EncodedMetrics(rows[3:11]), EncodedMetrics(rows[11:])]) == whole
    assert _digest([points[:5], EncodedMetrics(rows[5:])]) == whole
    # a non-finite row's stored value does not count, its kind does
    odd = [r if r[2] == 1 else (r[0], 42.0, *r[2:]) for r in rows]
    assert _digest([EncodedMetrics(odd)]) == whole


def test_every_field_and_special_value_counts() -> None:
    points = _points()
    whole = _digest([points])[0]
    changes = [
        lambda m: Metric(m.key, math.nan, m.timestamp, m.step),  # inf -> nan
        lambda m: Metric(m.key, -m.value, m.timestamp, m.step),  # inf -> -inf
        lambda m: Metric(m.key, m.value, m.timestamp + 1, m.step),
        lambda m: Metric(m.key, m.value, m.timestamp, m.step + 1),
        lambda m: Metric(m.key + "x", m.value, m.timestamp, m.step),
    ]
    for change in changes:
        changed = [change(m) if i == 2 else m for i, m in enumerate(points)]
        assert _digest([changed])[0] != whole
    signed = [Metric(m.key, 0.0, m.timestamp, m.step) if i == 4 else m for i, m in enumerate(points)]  # -0.0 -> 0.0
    assert _digest([signed])[0] != whole
    assert _digest([points[:-1]])[0] != whole


def _source(path: Path) -> tuple[str, list[str]]:
    from storekit.backends.sql import SqlTrackingStore

    uri = f"sqlite:///{path}"
    store = SqlTrackingStore(uri)
    exp = store.create_experiment("rows")
    ids = []
    for r in range(3):
        rid = store.create_run(exp, run_name=f"r{r}", start_time=1_700_000_000_000 + r).info.run_id
        store.log_batch(rid, metrics=[Metric("loss", v, 1_700_000_000_000 + i, i) for i, v in enumerate(_VALUES)])
        for start in range(0, 2500, 1000):
            acc = [Metric("acc", i / 7, 1_700_000_000_000 + i, i) for i in range(start, min(2500, start + 1000))]
            store.log_batch(rid, metrics=acc)
        ids.append(rid)
    store.close()
    return uri, ids


def test_sql_to_sql_verification_names_the_run_with_a_changed_or_missing_point(tmp_path: Path) -> None:
    src, ids = _source(tmp_path / "src.db")
    dst_db = tmp_path / "dst.db"
    dst, state = f"sqlite:///{dst_db}", str(tmp_path / "state.jsonl")
    code, out = run_cli("migrate", src, dst, "--state", state, "--json", cwd=tmp_path)
    report = json.loads(out)
    assert code == 0 and report["verification"]["ok"], out
    assert report["verification"]["counts"]["metric points"] == {"source": 3 * 2508, "destination": 3 * 2508}

    def run_row(conn: sqlite3.Connection, run_id: str) -> int:
        return conn.execute("SELECT row_id FROM runs WHERE run_uuid = ?", (run_id,)).fetchone()[0]

    with sqlite3.connect(dst_db) as conn:  # a changed value in run 1
        conn.execute(
            "UPDATE metrics SET value = 0.25 WHERE run_row = ? AND key = 'acc' AND step = 1234",
            (run_row(conn, ids[1]),),
        )
    code, out = run_cli("migrate", src, dst, "--state", state, "--json", cwd=tmp_path)
    report = json.loads(out)
    assert code == 1 and not report["verification"]["ok"]
    assert report["verification"]["differences"] == [f"run {ids[1]}: metrics checksum differs"]

    with sqlite3.connect(dst_db) as conn:  # restore it; a NaN turned into +inf in run 0, a point missing in run 2
        conn.execute(
            "UPDATE metrics SET value = 1234 / 7.0 WHERE run_row = ? AND key = 'acc' AND step = 1234",
            (run_row(conn, ids[1]),),
        )
        conn.execute("UPDATE metrics SET kind = 2 WHERE run_row = ? AND kind = 3", (run_row(conn, ids[0]),))
        conn.execute("DELETE FROM metrics WHERE run_row = ? AND key = 'acc' AND step = 2499", (run_row(conn, ids[2]),))
    code, out = run_cli("migrate", src, dst, "--state", state, "--json", cwd=tmp_path)
    report = json.loads(out)
    assert code == 1
    assert sorted(report["verification"]["differences"]) == sorted(
        [f"run {ids[0]}: metrics checksum differs", f"run {ids[2]}: metrics checksum differs"]
    )
    assert report["verification"]["counts"]["metric points"] == {"source": 3 * 2508, "destination": 3 * 2508 - 1}
