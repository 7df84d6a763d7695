"""PostgreSQL binary ``COPY`` data for metric points, built column by column (the bulk path of a transfer).

psycopg's ``Copy.write_row`` formats every field of every row in Python
code: at a million points that was a quarter of ``storekit migrate``'s
time.  Here the points of one run that share a key and a model id (a
*segment*; a run's history comes key by key) share every field but four,
so :func:`metric_copy_data` packs only ``value, kind, timestamp, step`` per
point, with one precompiled :class:`struct.Struct` driven from C
(``itertools.starmap`` over ``zip``, no Python code per point), and joins
the packed points with the segment's shared bytes as the separator.

The bytes follow PostgreSQL's binary ``COPY`` format: :data:`COPY_HEADER`
once, then per tuple a 16-bit field count and per field a 32-bit length
(-1: NULL) followed by the value in network byte order, then
:data:`COPY_TRAILER`.  The fields are :data:`.metrics.TUPLE_COLUMNS`:
``run_row`` int8, ``key`` varchar, ``value`` float8, ``kind`` int2,
``timestamp`` int8, ``step`` int8, ``model_id`` varchar or NULL.  A float8
travels as its IEEE-754 bits, so ``-0.0`` and every double arrive exactly.

The columns must be valid already (:func:`storekit.validation.plain_metric_columns_valid`
and the kinds of :mod:`.metrics`); a value :mod:`struct` cannot pack raises
InvalidParameterError naming the run row.
"""

from __future__ import annotations

import struct
from itertools import groupby, repeat, starmap
from typing import Optional, Sequence

from ...errors import InvalidParameterError

__all__ = ["COPY_HEADER", "COPY_TRAILER", "metric_copy_data"]

#: Signature, flags (0) and header-extension length (0) of a binary COPY stream.
COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
#: The end of a binary COPY stream: a field count of -1.
COPY_TRAILER = struct.pack(">h", -1)
#: Fields per tuple (``TUPLE_COLUMNS``).
_FIELDS = 7
#: ``value`` (float8), then ``kind`` (int2), ``timestamp`` and ``step`` (int8), each after its length
_POINT = struct.Struct(">dihiqiq")
_NULL = struct.pack(">i", -1)
_LEN = struct.Struct(">i")


def _segment_bytes(run_row: int, key: bytes, model_id: Optional[bytes]) -> tuple[bytes, bytes]:
    """The bytes before each point of a segment (up to the value's length) and after it (the model id)."""
    head = struct.pack(">hiqi", _FIELDS, 8, run_row, len(key)) + key + _LEN.pack(8)
    tail = _NULL if model_id is None else _LEN.pack(len(model_id)) + model_id
    return head, tail


def metric_copy_data(
    run_row: int,
    keys: Sequence[str],
    values: Sequence[float],
    kinds: Sequence[int],
    timestamps: Sequence[int],
    steps: Sequence[int],
    model_ids: Sequence[Optional[str]],
    encoding: str = "utf-8",
) -> bytes:
    """The binary COPY tuples (without header or trailer) of one run's points, given as columns.

    ``encoding`` is the connection's client encoding (a Python codec name),
    in which the server expects ``key`` and ``model_id``.
    """
    parts: list[bytes] = []
    start = 0
    pack = _POINT.pack
    try:
        for (key, model_id), group in groupby(zip(keys, model_ids)):
            end = start + len(list(group))
            head, tail = _segment_bytes(
                run_row, key.encode(encoding), None if model_id is None else model_id.encode(encoding)
            )
            packed = starmap(
                pack,
                zip(
                    values[start:end],
                    repeat(2),
                    kinds[start:end],
                    repeat(8),
                    timestamps[start:end],
                    repeat(8),
                    steps[start:end],
                ),
            )
            parts.append(head + (tail + head).join(packed) + tail)
            start = end
    except (struct.error, OverflowError, TypeError) as exc:
        raise InvalidParameterError(f"metric points of run row {run_row}: cannot encode for COPY ({exc})") from None
    return b"".join(parts)
