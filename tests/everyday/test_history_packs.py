"""Packed histories (SQLite ``metric_history_packs``, the file store's ``metrics.arrow``) are never served stale.

The bulk read writes each run's whole history as one Arrow blob and later
reads the blob instead of the rows.  These tests check that it does (a
swapped pack shows up in the result), and that a pack is not used once the
run has a new point, after ``storekit gc`` deleted metric rows (freed row ids
may be handed out again), after a run was re-imported, while a writer logs
during bulk reads, when the write lock is busy, or when a side file is
half-written or corrupt.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Optional

import pytest

from storekit.client import TrackingClient
from storekit.entities import Metric
from tests.everyday.test_history_table import _expected, _fill, _groups

pytest.importorskip("adbc_driver_sqlite")


def _bulk(client: TrackingClient, run_ids: list[str], keys: Optional[list[str]] = None) -> dict:
    cols = client.get_metric_histories(run_ids, keys, output_format="arrow").to_pydict()
    return _groups(cols["run_id"], cols["key"], cols["step"], cols["timestamp"], cols["value"])


def _packs(path: Path) -> dict[int, tuple[int, int, int]]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT run_row, generation, through_id, points FROM metric_history_packs").fetchall()
    return {row: (generation, through, points) for row, generation, through, points in rows}


def _row_of(path: Path, run_id: str) -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute("SELECT row_id FROM runs WHERE run_uuid = ?", (run_id,)).fetchone()[0])


def test_sqlite_packs_are_written_then_read(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    with TrackingClient(f"sqlite:///{path}") as c:
        run_ids = _fill(c)
        expected = _expected(c, run_ids, None)
        assert _bulk(c, run_ids) == expected
        packs = _packs(path)
        assert sorted(packs) == sorted(_row_of(path, r) for r in run_ids)  # the run without points too
        assert [packs[_row_of(path, r)][2] for r in run_ids] == [36, 36, 36, 0]
        for keys in (None, ["a", "ключ", "missing"], ["Z"]):
            assert _bulk(c, run_ids, keys) == _expected(c, run_ids, keys)
        # the second read comes from the packs: swapping two runs' packs shows in the result
        a, b = _row_of(path, run_ids[0]), _row_of(path, run_ids[1])
        with sqlite3.connect(path) as conn:
            data = dict(conn.execute("SELECT run_row, data FROM metric_history_packs WHERE run_row IN (?, ?)", (a, b)))
            conn.executemany("UPDATE metric_history_packs SET data = ? WHERE run_row = ?", [(data[b], a), (data[a], b)])
        swapped = _bulk(c, run_ids[:2])
        assert swapped[(run_ids[0], "a")] == expected.get((run_ids[1], "a"))


def test_sqlite_pack_is_not_used_after_a_new_point(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    with TrackingClient(f"sqlite:///{path}") as c:
        run_ids = _fill(c)
        _bulk(c, run_ids)
        c.log_batch(run_ids[1], metrics=[Metric("a", 7.5, 5000, -1)])
        c.log_batch(run_ids[3], metrics=[Metric("new", 1.0, 5000, 0)])  # the run that had no points
        assert _bulk(c, run_ids) == _expected(c, run_ids, None)
        assert _packs(path)[_row_of(path, run_ids[3])][2] == 1  # rebuilt


def test_sqlite_packs_are_retired_when_gc_deletes_metric_rows(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    with TrackingClient(f"sqlite:///{path}") as c:
        run_ids = _fill(c)
        last = c.create_run(c.get_run(run_ids[0]).info.experiment_id).info.run_id
        c.log_batch(last, metrics=[Metric("a", float(i), 1, i) for i in range(50)])  # the highest row ids
        _bulk(c, run_ids + [last])
        before = {g for g, _, _ in _packs(path).values()}
        c.delete_run(last)
        store = c.store
        for entity in store.list_deleted():
            store.begin_purge(entity)
            store.purge(entity)
        with sqlite3.connect(path) as conn:
            (generation,) = conn.execute(
                "SELECT value FROM storekit_settings WHERE name = 'history_pack_generation'"
            ).fetchone()
        assert before and all(int(generation) > g for g in before)
        assert _row_of(path, run_ids[0]) in _packs(path)  # kept, but of the old generation: unused
        # the freed row ids may be handed out again, below the packs' through_id
        c.log_batch(run_ids[0], metrics=[Metric("a", 99.0, 1, 99)])
        assert _bulk(c, run_ids) == _expected(c, run_ids, None)


def test_sqlite_pack_is_not_used_after_the_run_is_reimported(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    with TrackingClient(f"sqlite:///{path}") as c:
        run_ids = _fill(c)
        _bulk(c, run_ids)
        run = c.get_run(run_ids[2])  # it holds the highest row ids: the new rows get ids below the packs' watermark
        points = [Metric("a", 1.0, 1, 0), Metric("b", 2.0, 1, 0)]
        c.store.import_run(run.info, {}, {}, lambda: [points])  # type: ignore[attr-defined]
        got = _bulk(c, run_ids)
        assert got == _expected(c, run_ids, None)
        assert got[(run_ids[2], "a")] == [(0, 1, "1.0")]


def test_sqlite_bulk_read_does_not_wait_for_a_busy_writer(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    with TrackingClient(f"sqlite:///{path}") as c:
        run_ids = _fill(c)
        blocker = sqlite3.connect(path, isolation_level=None)
        try:
            blocker.execute("BEGIN IMMEDIATE")  # holds the write lock
            assert _bulk(c, run_ids) == _expected(c, run_ids, None)
            assert _packs(path) == {}  # skipped, not waited for
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        assert _bulk(c, run_ids) == _expected(c, run_ids, None)
        assert len(_packs(path)) == len(run_ids)


@pytest.mark.parametrize("backend", ["sqlite", "file"])
def test_bulk_reads_while_a_writer_logs_are_never_stale(tmp_path: Path, backend: str) -> None:
    uri = f"sqlite:///{tmp_path / 'store.db'}" if backend == "sqlite" else str(tmp_path / "store")
    with TrackingClient(uri) as c:
        run_ids = _fill(c, runs=3)
        live = c.create_run(c.get_run(run_ids[0]).info.experiment_id).info.run_id
        asked = run_ids + [live]
        done = threading.Event()
        errors: list[BaseException] = []

        def writer() -> None:
            try:
                for step in range(60):
                    c.log_batch(live, metrics=[Metric("live", float(step), 1, step)])
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)
            finally:
                done.set()

        thread = threading.Thread(target=writer)
        thread.start()
        reads = 0
        while not done.is_set() or reads < 3:
            got = _bulk(c, asked)
            steps = [p[0] for p in got.get((live, "live"), [])]
            assert steps == list(range(len(steps)))  # a prefix of what was logged, no gap
            reads += 1
        thread.join()
        assert not errors
        assert _bulk(c, asked) == _expected(c, asked, None)


def _history(store_dir: Path, run_id: str) -> Path:
    found = list(store_dir.rglob(f"{run_id}/metrics.jsonl"))
    assert len(found) == 1
    return found[0]


def test_file_side_files_are_written_then_read(tmp_path: Path) -> None:
    root = tmp_path / "store"
    with TrackingClient(str(root)) as c:
        run_ids = _fill(c)
        expected = _expected(c, run_ids, None)
        assert _bulk(c, run_ids) == expected
        sides = [_history(root, r).with_name("metrics.arrow") for r in run_ids[:3]]
        assert all(side.is_file() for side in sides)
        for keys in (None, ["a", "ключ", "missing"], ["Z"]):
            assert _bulk(c, run_ids, keys) == _expected(c, run_ids, keys)
        # the second read comes from the side files: a value changed in one (metadata kept) shows in the result
        import pyarrow as pa

        with pa.memory_map(str(sides[0]), "r") as source:
            table = pa.ipc.open_file(source).read_all()
        changed = table.set_column(3, "value", pa.array([12345.0] * table.num_rows))
        with pa.OSFile(str(sides[0]), "wb") as sink, pa.ipc.new_file(sink, changed.schema) as writer:
            writer.write_table(changed)
        assert {p[2] for k, pts in _bulk(c, run_ids[:1]).items() for p in pts} == {"12345.0"}


def test_file_side_file_is_not_used_after_a_new_point_or_a_reimport(tmp_path: Path) -> None:
    root = tmp_path / "store"
    with TrackingClient(str(root)) as c:
        run_ids = _fill(c)
        _bulk(c, run_ids)
        c.log_batch(run_ids[1], metrics=[Metric("a", 7.5, 5000, -1)])
        assert _bulk(c, run_ids) == _expected(c, run_ids, None)
        run = c.get_run(run_ids[0])
        points = [Metric("a", 1.0, 1, 0), Metric("b", 2.0, 1, 0)]
        c.store.import_run(run.info, {}, {}, lambda: [points])  # type: ignore[attr-defined]
        got = _bulk(c, run_ids)
        assert got == _expected(c, run_ids, None) and got[(run_ids[0], "a")] == [(0, 1, "1.0")]


def test_file_half_written_or_corrupt_side_files_are_never_read(tmp_path: Path) -> None:
    root = tmp_path / "store"
    with TrackingClient(str(root)) as c:
        run_ids = _fill(c)
        expected = _expected(c, run_ids, None)
        _bulk(c, run_ids)
        side = _history(root, run_ids[0]).with_name("metrics.arrow")
        whole = side.read_bytes()
        side.write_bytes(whole[: len(whole) // 2])  # torn write (no fsync, power loss)
        (side.parent / ".metrics.arrow.0123456789ab.tmp").write_bytes(whole[:100])  # a crashed writer's temp
        assert _bulk(c, run_ids) == expected
        assert side.read_bytes() == whole  # rebuilt
        side.write_bytes(b"")  # a side file replaced but never written (no fsync, power loss)
        assert _bulk(c, run_ids) == expected
