"""Bulk histories as Arrow: the table equals get_metric_history per (run, key) on every backend.

The fast paths (SQLite through ADBC, the file store through pyarrow's JSON
reader, numpy ordering) are checked against the per-(run, key) history on
small stores with awkward points: out-of-order and negative steps, ties on
``(step, timestamp)`` (logging order decides), NaN, infinities, -0.0, keys
outside ASCII, runs without points, and runs and keys not asked for.
"""

from __future__ import annotations

import math
import random
import sqlite3
import uuid
from pathlib import Path
from typing import Any, Iterator, Optional

import pytest

from storekit.client import TrackingClient
from storekit.entities import Metric
from storekit.errors import RunNotFound, StoreCorruptionError
from storekit.history_table import history_schema, history_table, order_of_points
from tests.databases import DatabaseFactory, server_uri

KEYS = ["b", "a", "ключ", "a/b", "Z"]


@pytest.fixture(params=["file", "sqlite", "postgresql", "mariadb", "memory"])
def client(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TrackingClient]:
    """A client on every backend: built-in ones, server databases included, and the memory plugin."""
    if request.param == "file":
        uri = str(tmp_path / "store")
    elif request.param == "sqlite":
        uri = f"sqlite:///{tmp_path / 'store.db'}"
    elif request.param == "memory":
        uri = f"memory://history-{uuid.uuid4().hex}"
    else:
        factory = DatabaseFactory(request.param, server_uri(request.param))
        request.addfinalizer(factory.drop_all)
        uri = factory.create()
    with TrackingClient(uri) as c:
        yield c


def _fill(client: TrackingClient, runs: int = 4, seed: int = 0) -> list[str]:
    """Runs with awkward histories; the last run has no points."""
    rng = random.Random(seed)
    eid = client.create_experiment(f"history-{uuid.uuid4().hex[:8]}")
    run_ids = [client.create_run(eid).info.run_id for _ in range(runs)]
    specials = [math.nan, math.inf, -math.inf, -0.0, 0.0, 1e-300, -2.5]
    for r, run_id in enumerate(run_ids[:-1]):
        for _batch in range(3):  # keys interleaved across batches, steps out of order
            points = []
            for _ in range(12):
                value = rng.choice(specials) if rng.random() < 0.3 else rng.uniform(-1e6, 1e6)
                step = rng.randint(-2, 5)
                points.append(Metric(rng.choice(KEYS[: 3 + r % 3]), value, 1000 + rng.randint(0, 2), step))
            client.log_batch(run_id, metrics=points)
    return run_ids


def _point(step: Any, timestamp: Any, value: float) -> tuple[int, int, str]:
    return int(step), int(timestamp), repr(float(value))  # repr tells NaN, -0.0 and the last bit apart


def _groups(run_ids: list[Any], keys: list[Any], steps: list[Any], stamps: list[Any], values: list[Any]) -> dict:
    """``{(run, key): points}``; each (run, key) and each run must be one contiguous block."""
    groups: dict[tuple[str, str], list[tuple[int, int, str]]] = {}
    seen_runs: list[str] = []
    last: Optional[tuple[str, str]] = None
    for run, key, step, stamp, value in zip(run_ids, keys, steps, stamps, values):
        if (run, key) != last:
            assert (run, key) not in groups, f"{(run, key)} is not one block"
            if not seen_runs or seen_runs[-1] != run:
                assert run not in seen_runs, f"run {run} is not one block"
                seen_runs.append(run)
            groups[(run, key)] = []
            last = (run, key)
        groups[(run, key)].append(_point(step, stamp, value))
    return groups


def _expected(client: TrackingClient, run_ids: list[str], keys: Optional[list[str]]) -> dict:
    out = {}
    for run_id in run_ids:
        names = keys if keys is not None else sorted(client.get_run(run_id).data.metrics)
        for key in names:
            history = client.get_metric_history(run_id, key)
            if history:
                out[(run_id, key)] = [_point(m.step, m.timestamp, m.value) for m in history]
    return out


def _key_order_within_runs(run_ids: list[Any], keys: list[Any], wanted: Optional[list[str]]) -> None:
    order: dict[str, list[str]] = {}
    for run, key in zip(run_ids, keys):
        block = order.setdefault(run, [])
        if not block or block[-1] != key:
            block.append(key)
    for block in order.values():
        assert block == sorted(block) or (wanted is not None and block == [k for k in wanted if k in block])


@pytest.mark.parametrize("keys", [None, ["a", "ключ", "missing"], ["Z"]])
def test_bulk_history_equals_get_metric_history(client: TrackingClient, keys: Optional[list[str]]) -> None:
    run_ids = _fill(client)
    other = _fill(client, runs=2, seed=1)  # runs not asked for
    asked = [run_ids[2], run_ids[0], run_ids[3], run_ids[1]]
    expected = _expected(client, asked, keys)
    assert expected and (keys is not None or sum(map(len, expected.values())) == 3 * 3 * 12)
    assert not any(run in other for run, _ in expected)

    table = client.get_metric_histories(asked, keys, output_format="arrow")
    assert table.schema == history_schema()
    cols = table.to_pydict()
    assert _groups(cols["run_id"], cols["key"], cols["step"], cols["timestamp"], cols["value"]) == expected
    _key_order_within_runs(cols["run_id"], cols["key"], keys)

    frame = client.get_metric_histories(asked, keys, output_format="pandas")
    assert [str(t) for t in frame.dtypes] == ["object", "object", "int64", "int64", "float64"]
    assert all(isinstance(v, str) for v in frame["run_id"]) and all(isinstance(v, str) for v in frame["key"])
    got = _groups(
        list(frame["run_id"]), list(frame["key"]), list(frame["step"]), list(frame["timestamp"]), list(frame["value"])
    )
    assert got == expected

    listed = client.get_metric_histories(asked, keys, output_format="list")
    assert _groups(listed.run_id, listed.key, listed.step, listed.timestamp, listed.value) == expected

    with pytest.raises(RunNotFound):
        client.get_metric_histories([run_ids[0], "f" * 32], keys, output_format="arrow")
    empty = client.get_metric_histories([run_ids[-1]], keys, output_format="arrow")
    assert empty.num_rows == 0 and empty.schema == history_schema()


def test_the_fast_paths_are_taken(tmp_path: Path) -> None:
    """File and SQLite stores answer ``metric_histories_arrow`` (a None would mean the slow path)."""
    for uri in (str(tmp_path / "store"), f"sqlite:///{tmp_path / 'store.db'}"):
        with TrackingClient(uri) as c:
            run_ids = _fill(c, runs=2)
            table = c.store.metric_histories_arrow(run_ids, None)  # type: ignore[attr-defined]
            assert table is not None and table.num_rows == 3 * 12


def test_sqlite_scan_and_indexed_shapes_agree(tmp_path: Path) -> None:
    from storekit.backends.sql.arrow_histories import sqlite_histories_arrow

    path = tmp_path / "store.db"
    with TrackingClient(f"sqlite:///{path}") as c:
        run_ids = _fill(c, runs=6)
        asked = [run_ids[4], run_ids[1], run_ids[5]]

        def row_ids_of(chunk: list[str]) -> dict[str, int]:
            with sqlite3.connect(path) as conn:
                marks = ", ".join("?" * len(chunk))
                return dict(conn.execute(f"SELECT run_uuid, row_id FROM runs WHERE run_uuid IN ({marks})", chunk))

        for keys in (None, ["a", "b"]):
            expected = _expected(c, asked, keys)
            for scan in (True, False):
                table = sqlite_histories_arrow(str(path), asked, keys, row_ids_of, scan=scan)
                cols = table.to_pydict()
                got = _groups(cols["run_id"], cols["key"], cols["step"], cols["timestamp"], cols["value"])
                assert got == expected, scan


def _write_history(path: Path, lines: list[str]) -> int:
    data = "".join(line + "\n" for line in lines).encode("utf-8")
    path.write_bytes(data)
    return len(data)


def test_file_reader_takes_other_spellings_and_refuses_malformed_lines(tmp_path: Path) -> None:
    from storekit.backends.file.history_arrow import file_histories_arrow
    from storekit.backends.file.metric_log import read_points

    runs = [f"{i:032x}" for i in range(3)]
    files = {
        runs[0]: [  # storekit's own spelling, with a model id and special values
            '{"key":"a","value":NaN,"timestamp":2,"step":1}',
            '{"key":"a","value":-Infinity,"timestamp":1,"step":1,"model_id":"m-1"}',
            '{"key":"b","value":Infinity,"timestamp":1,"step":0}',
        ],
        runs[1]: [  # another spelling: spaces, field order, a value as a string, a float timestamp
            '{"step": 3, "key": "a", "value": "0.5", "timestamp": 7}',
            '{"key": "a", "value": 1, "timestamp": 7.0, "step": 2}',
        ],
        runs[2]: ['{"key":"b","value":0.25,"timestamp":1,"step":0}'],
    }
    lengths = {run: _write_history(tmp_path / run, lines) for run, lines in files.items()}

    def history_file(run_id: str) -> tuple[Path, int]:
        if run_id not in lengths:
            raise RunNotFound(run_id)
        return tmp_path / run_id, lengths[run_id]

    table = file_histories_arrow(runs, None, history_file)
    cols = table.to_pydict()
    got = _groups(cols["run_id"], cols["key"], cols["step"], cols["timestamp"], cols["value"])
    expected = {}
    for run in runs:
        points = read_points(tmp_path / run, 0, lengths[run])
        for key in sorted({m.key for m in points}):
            ordered = sorted((m for m in points if m.key == key), key=lambda m: (m.step, m.timestamp))
            expected[(run, key)] = [_point(m.step, m.timestamp, m.value) for m in ordered]
    assert got == expected
    assert got[(runs[0], "a")] == [_point(1, 1, -math.inf), _point(1, 2, math.nan)]
    assert list(got)[:2] == [(runs[0], "a"), (runs[0], "b")]

    lengths[runs[1]] = _write_history(tmp_path / runs[1], ['{"key":"a","value":0.5,"timestamp":1}'])  # no step
    with pytest.raises(StoreCorruptionError):
        file_histories_arrow(runs, None, history_file)
    with pytest.raises(RunNotFound):
        file_histories_arrow([runs[0], "f" * 32], None, history_file)


@pytest.mark.parametrize("groups", [7, 70_000])
def test_history_table_order_is_the_contracts(groups: int) -> None:
    """Random points in logging order come out by (run, key, step, timestamp, logging order)."""
    import numpy as np

    rng = np.random.default_rng(groups)
    n = 200_000 if groups > 1 << 16 else 5_000
    nkeys = 7 if groups == 7 else 10
    nruns = max(1, groups // nkeys)
    run_pos = rng.integers(0, nruns, n)
    key_code = rng.integers(0, nkeys, n)
    step = rng.integers(-3, 4, n)
    stamp = rng.integers(0, 3, n)
    value = np.arange(n, dtype=np.float64)  # the logging position
    run_ids = [f"r{i}" for i in range(nruns)]
    keys = [f"k{i}" for i in range(nkeys)]
    table = history_table(run_ids, run_pos, keys, key_code, step, stamp, value)
    got = list(zip(*(table.column(c).to_numpy() for c in ("step", "timestamp", "value"))))
    order = sorted(range(n), key=lambda i: (run_pos[i], key_code[i], step[i], stamp[i], i))
    assert [(int(s), int(t), int(v)) for s, t, v in got] == [(int(step[i]), int(stamp[i]), i) for i in order]
    assert table.column("run_id").to_pylist() == [run_ids[run_pos[i]] for i in order]


def test_order_of_points_keeps_sorted_input_and_sorts_by_group_only_when_it_can() -> None:
    import numpy as np

    group = np.array([0, 0, 1, 1])
    assert order_of_points(group, np.array([0, 1, 0, 0]), np.array([0, 0, 1, 2]), 2) is None
    perm = order_of_points(np.array([1, 0, 1, 0]), np.array([0, 0, 1, 1]), np.array([0, 0, 0, 0]), 2)
    assert list(perm) == [1, 3, 0, 2]
    perm = order_of_points(np.array([0, 0, 0]), np.array([2, 1, 1]), np.array([0, 5, 4]), 1)
    assert list(perm) == [2, 1, 0]


def test_file_own_layout_reader_is_exact_and_refuses_other_field_orders(tmp_path: Path) -> None:
    """storekit's own lines go through the CSV-based reader, exactly; other field orders do not."""
    from storekit.backends.file.history_arrow import _own_layout
    from storekit.backends.file.metric_log import encode_metrics, read_points

    rng = random.Random(3)
    keys = ["a:b,c}", "loss", "ключ", "{x}", 'q,"r']  # the last one needs an escape
    values = [math.nan, math.inf, -math.inf, -0.0, 5e-324, 1e308] + [rng.uniform(-1e9, 1e9) for _ in range(200)]
    points = [Metric(keys[i % 4], v, 1_700_000_000_000 + i, i - 7) for i, v in enumerate(values)]
    data = encode_metrics(points)
    table = _own_layout(data, data.count(b"\n"))
    assert table is not None and table.num_rows == len(points)
    path = tmp_path / "h"
    path.write_bytes(data)
    expected = [(m.key, int(m.step), int(m.timestamp), repr(m.value)) for m in read_points(path, 0, len(data))]
    cols = table.to_pydict()
    got = [(k, s, t, repr(v)) for k, s, t, v in zip(cols["key"], cols["step"], cols["timestamp"], cols["value"])]
    assert got == expected

    escaped = encode_metrics([Metric(keys[4], 1.0, 1, 1)])
    assert _own_layout(escaped, 1) is None
    with_model = encode_metrics([Metric("a", 1.0, 1, 1, "m-1")])
    assert _own_layout(with_model, 1) is None
    for line in (
        b'{"key":"a","value":1.0,"step":2,"timestamp":3}\n',
        b'{"key":"a","timestamp":1,"value":2.0,"step":3}\n',
        b'{"value":1.0,"key":"a","timestamp":2,"step":3}\n',
    ):
        assert _own_layout(line, 1) is None, line


def test_max_points_keeps_evenly_spaced_points_per_history(tmp_path: Path) -> None:
    from storekit.errors import InvalidParameterError

    for uri in (str(tmp_path / "store"), f"sqlite:///{tmp_path / 'store.db'}", f"memory://mp-{uuid.uuid4().hex}"):
        with TrackingClient(uri) as c:
            eid = c.create_experiment("mp")
            run_ids = [c.create_run(eid).info.run_id for _ in range(2)]
            c.log_batch(run_ids[0], metrics=[Metric("long", float(s), s, s) for s in range(11)])
            c.log_batch(run_ids[0], metrics=[Metric("short", float(s), s, s) for s in range(2)])
            c.log_batch(run_ids[1], metrics=[Metric("long", -1.0 - s, s, s) for s in range(5)])
            for fmt in ("arrow", "pandas"):
                got = c.get_metric_histories(run_ids, None, output_format=fmt, max_points=3)
                cols = got.to_pydict() if fmt == "arrow" else {k: list(got[k]) for k in got.columns}
                groups = _groups(cols["run_id"], cols["key"], cols["step"], cols["timestamp"], cols["value"])
                assert groups == {
                    (run_ids[0], "long"): [_point(s, s, s) for s in (0, 5, 10)],
                    (run_ids[0], "short"): [_point(s, s, s) for s in (0, 1)],
                    (run_ids[1], "long"): [_point(s, s, -1.0 - s) for s in (0, 2, 4)],
                }, uri
            full = c.get_metric_histories(run_ids, None, output_format="arrow", max_points=11)
            assert full.num_rows == 11 + 2 + 5
            for bad in (1, 0, -3, 2.5, True):
                with pytest.raises(InvalidParameterError, match="max_points"):
                    c.get_metric_histories(run_ids, None, output_format="arrow", max_points=bad)  # type: ignore[arg-type]
            with pytest.raises(InvalidParameterError, match="max_points"):
                c.get_metric_histories(run_ids, None, output_format="list", max_points=3)
