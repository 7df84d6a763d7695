"""The column-wise binary ``COPY`` encoder of the bulk path (``storekit migrate`` into PostgreSQL).

Points written through :class:`~storekit.backends.sql.bulk.PostgresCopy`
(built by :func:`~storekit.backends.sql.copy_binary.metric_copy_data`) must
arrive exactly as psycopg's own ``write_row`` would have written them:
every double bit for bit (NaN and ±inf as their kinds, -0.0, the smallest
subnormal, the largest double), 64-bit steps and timestamps at both ends of
their range, NULL and set model ids, unicode keys, several keys and model
ids within one run.  The latest point per key follows the rule of the bulk
path: the largest ``(step, timestamp, kind, value)``, the first of equals.
"""

from __future__ import annotations

import math
import random
import struct
from typing import Any

import pytest

from storekit.backends.sql import SqlTrackingStore
from storekit.backends.sql.bulk import Columns, PostgresCopy, _encoded_columns, _latest_at
from storekit.backends.sql.copy_binary import COPY_HEADER, COPY_TRAILER, metric_copy_data
from storekit.backends.sql.metrics import TUPLE_COLUMNS, encode_value
from storekit.entities import Metric
from tests.databases import DatabaseFactory

_BIG = 2**63 - 1
_VALUES = [1.5, math.nan, math.inf, -math.inf, -0.0, 0.0, 1e308, -1e308, 5e-324, 1 / 3]
_MODELS = [None, "m-1", "m-ü", None]


def _points() -> list[Metric]:
    """Two unicode keys, each point's value, step, timestamp and model id at an edge."""
    points = []
    for key in ("acc ü", "loss/train:0"):
        for i, value in enumerate(_VALUES):
            step = (_BIG, -_BIG - 1, 0, -1, i)[i % 5]
            timestamp = (-_BIG - 1, _BIG, 1_700_000_000_000 + i)[i % 3]
            points.append(Metric(key, value, timestamp, step, _MODELS[i % len(_MODELS)]))
    return points


def _bits(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """A metrics row with its value as the double's bytes (so -0.0 and 0.0 differ)."""
    return (*row[:2], struct.pack(">d", row[2]), *row[3:])


def _read(cur: Any, run_row: int) -> list[tuple[Any, ...]]:
    columns = ", ".join(f'"{c}"' for c in TUPLE_COLUMNS)
    cur.execute(f"SELECT {columns} FROM metrics WHERE run_row = %s ORDER BY id", (run_row,))
    return [_bits(r) for r in cur.fetchall()]


@pytest.mark.postgres
def test_binary_copy_equals_psycopg_write_row_bit_for_bit(postgres_factory: DatabaseFactory) -> None:
    import psycopg

    uri = postgres_factory.create()
    SqlTrackingStore(uri).close()  # the schema
    points = _points()
    columns = _encoded_columns(points)
    with psycopg.connect(uri) as conn, conn.cursor() as cur:
        with PostgresCopy(cur) as copy:  # two runs in one COPY, the second in two chunks
            copy.write(7, columns)
            copy.write(8, tuple(c[:5] for c in columns))  # type: ignore[arg-type]
            copy.write(8, tuple(c[5:] for c in columns))  # type: ignore[arg-type]
        names = ", ".join(f'"{c}"' for c in TUPLE_COLUMNS)
        with cur.copy(f"COPY metrics ({names}) FROM STDIN (FORMAT BINARY)") as copy:  # psycopg's own rows
            copy.set_types(["int8", "varchar", "float8", "int2", "int8", "int8", "varchar"])
            for row in zip([9] * len(points), *columns):
                copy.write_row(row)
        ours, second, theirs = _read(cur, 7), _read(cur, 8), _read(cur, 9)
    expected = [_bits((7, m.key, *encode_value(m.value), m.timestamp, m.step, m.model_id)) for m in points]
    assert ours == expected
    assert [r[1:] for r in second] == [r[1:] for r in ours]
    assert [r[1:] for r in theirs] == [r[1:] for r in ours]


def test_copy_data_is_postgresql_binary_tuples() -> None:
    """One point, byte by byte: 7 fields, each with its 32-bit length, NULL model id as length -1."""
    data = metric_copy_data(3, ["k"], [-0.0], [1], [-2], [2**40], [None])
    expected = (
        struct.pack(">h", 7)
        + struct.pack(">iq", 8, 3)
        + struct.pack(">i", 1)
        + b"k"
        + struct.pack(">id", 8, -0.0)
        + struct.pack(">ih", 2, 1)
        + struct.pack(">iq", 8, -2)
        + struct.pack(">iq", 8, 2**40)
        + struct.pack(">i", -1)
    )
    assert data == expected
    assert COPY_HEADER == b"PGCOPY\n\xff\r\n\x00" + bytes(8) and COPY_TRAILER == b"\xff\xff"
    # a model id in another segment: its bytes after its length
    two = metric_copy_data(3, ["k", "k"], [1.0, 2.0], [1, 1], [1, 1], [1, 2], [None, "mü"])
    assert two.endswith(struct.pack(">i", 3) + "mü".encode())


def _reference_latest(columns: Columns, start: int, end: int) -> int:
    """The rule spelled out: the first index with the largest (step, timestamp, kind, value)."""
    _, values, kinds, timestamps, steps, _ = columns
    best = start
    for i in range(start, end):
        if (steps[i], timestamps[i], kinds[i], values[i]) > (steps[best], timestamps[best], kinds[best], values[best]):
            best = i
    return best


def test_latest_point_is_the_largest_order_first_of_equals() -> None:
    rng = random.Random(11)
    for _ in range(300):
        n = rng.randint(1, 12)
        steps = tuple(rng.choice((0, 1, 2)) for _ in range(n))
        timestamps = tuple(rng.choice((5, 6)) for _ in range(n))
        kinds = tuple(rng.choice((0, 1, 1, 2, 3)) for _ in range(n))
        values = tuple(rng.choice((0.0, 1.0, 2.5)) if k == 1 else 0.0 for k in kinds)
        columns: Columns = (("k",) * n, values, kinds, timestamps, steps, tuple(f"m{i}" for i in range(n)))
        start = rng.randint(0, n - 1)
        end = rng.randint(start + 1, n)
        assert _latest_at(columns, start, end) == _reference_latest(columns, start, end), columns
