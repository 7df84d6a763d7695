"""Per-run metric history files (``<run>/metrics.jsonl``).

One JSON object per logged point, in logging order::

    {"key": "loss", "value": 0.25, "timestamp": 1700000000000, "step": 3}

NaN and infinities are written ``NaN``, ``Infinity``, ``-Infinity`` (read
back exactly).  A batch's points are appended in one write, *before* the
batch is committed in the experiment's run index, which records the file's
committed length (``mo``).  Bytes past that length belong to a batch that
was never committed (a crash): readers ignore them and the next writer cuts
them off, so a batch is stored whole or not at all.

Reading one key's history (:func:`read_points` with ``key``) selects that
key's lines by their prefix (``{"key":<JSON string>,``, unique per key)
and parses only those; a file with lines spelt any other way is parsed
whole and filtered.
"""

from __future__ import annotations

import json
import operator
import os
from pathlib import Path
from typing import Optional, Sequence

from ...entities import Metric
from ...errors import StoreCorruptionError
from .atomic import fsync_enabled
from .jsonlog import parse_lines
from .oserrors import translated

__all__ = [
    "encode_float",
    "encode_metrics",
    "append_committed",
    "read_points",
    "point_order_key",
    "latest_points",
]

_SPECIAL = {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}
_dumps = json.dumps
_get_value = operator.attrgetter("value")
_get_fields = operator.attrgetter("key", "timestamp", "step", "model_id")
_get_point = operator.attrgetter("key", "value", "timestamp", "step")


def encode_float(value: float) -> str:
    """JSON token of a float that reads back to exactly the same value."""
    text = float.__repr__(float(value))
    return _SPECIAL.get(text, text)


def encode_metrics(metrics: Sequence[Metric]) -> bytes:
    """The history lines of ``metrics``, in order, as one UTF-8 blob.

    The values are encoded in one C-level ``json.dumps`` of the whole column
    (exactly :func:`encode_float` of each: ``float.__repr__``, or
    ``NaN``/``Infinity``/``-Infinity``); each key's JSON prefix once per batch.
    """
    values = _dumps([float(v) for v in map(_get_value, metrics)])[1:-1].split(", ")
    prefixes: dict[str, str] = {}
    parts: list[str] = []
    append = parts.append
    for (key, timestamp, step, model_id), value in zip(map(_get_fields, metrics), values):
        prefix = prefixes.get(key)
        if prefix is None:
            prefix = prefixes[key] = '{"key":%s,"value":' % _dumps(key, ensure_ascii=False)
        if model_id is None:
            append('%s%s,"timestamp":%d,"step":%d}\n' % (prefix, value, timestamp, step))
        else:
            append(
                '%s%s,"timestamp":%d,"step":%d,"model_id":%s}\n' % (prefix, value, timestamp, step, _dumps(model_id))
            )
    return "".join(parts).encode("utf-8")


def point_order_key(point: Sequence) -> tuple:
    """:func:`storekit.entities.metric_order_key` of a ``[value, timestamp, step]`` point."""
    value = float(point[0])
    if value != value:  # NaN is greater than every number
        return (int(point[2]), int(point[1]), 1, 0.0)
    return (int(point[2]), int(point[1]), 0, value)


def latest_points(metrics: Sequence[Metric]) -> dict[str, list]:
    """The latest point of each key of ``metrics`` as ``[value, timestamp, step]``.

    Latest by :func:`storekit.entities.metric_order_key`: greatest
    ``(step, timestamp)``, ties to the greatest value (NaN greatest); the
    full key is only computed for ties.
    """
    latest: dict[str, list] = {}
    for key, value, timestamp, step in map(_get_point, metrics):
        old = latest.get(key)
        if old is not None:
            new_pos, old_pos = (step, timestamp), (old[2], old[1])
            if new_pos < old_pos or (
                new_pos == old_pos and point_order_key((value, timestamp, step)) <= point_order_key(old)
            ):
                continue
        latest[key] = [float(value), int(timestamp), int(step)]
    return latest


def append_committed(path: Path, committed: int, data: bytes) -> int:
    """Append ``data`` after the first ``committed`` bytes; return the new length.

    Anything past ``committed`` (an uncommitted batch of a crashed writer) is
    cut off first.  The caller holds the run's lock.
    """
    with translated("appending to", path):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
        try:
            size = os.fstat(fd).st_size
            if size < committed:
                raise StoreCorruptionError(f"file store: {path} has {size} bytes but {committed} were committed")
            if size > committed:
                os.ftruncate(fd, committed)
            view = memoryview(data)
            pos = committed
            while view:
                n = os.pwrite(fd, view, pos)
                view = view[n:]
                pos += n
            if fsync_enabled():
                os.fsync(fd)
        finally:
            os.close(fd)
    return committed + len(data)


def _read_committed(path: Path, start: int, end: int) -> bytes:
    """Bytes ``[start, end)`` of a history file, which must all be there and end a line."""
    with translated("reading", path):
        try:
            with open(path, "rb") as fh:
                fh.seek(start)
                data = fh.read(end - start)
        except FileNotFoundError:
            raise StoreCorruptionError(f"file store: {path} is missing") from None
    if len(data) != end - start or not data.endswith(b"\n"):
        raise StoreCorruptionError(f"file store: {path} is shorter than its committed length {end}")
    return data


_LINE_START = b'{"key":"'


def _lines_of_key(data: bytes, key: str) -> Optional[bytes]:
    """The lines of ``data`` whose key is ``key``, when that can be told without parsing.

    Lines as :func:`encode_metrics` writes them start with ``{"key":<JSON
    string>,``; a key's JSON string is unique, so the lines of one key are
    those starting with its prefix.  None when some line might spell its key
    differently (escapes, other layouts): the caller parses everything.
    """
    lines = data.count(b"\n")
    if (
        b"\\" in data
        or data.count(b'"key":') != lines
        or data.count(b"\n" + _LINE_START) + data.startswith(_LINE_START) != lines
    ):
        return None  # escapes, a "key" field twice or elsewhere, or another layout
    prefix = b'\n{"key":' + json.dumps(key, ensure_ascii=False).encode("utf-8") + b","
    data = b"\n" + data
    parts = []
    pos = data.find(prefix)
    while pos >= 0:
        end = data.index(b"\n", pos + 1)
        parts.append(data[pos + 1 : end + 1])
        pos = data.find(prefix, end)
    return b"".join(parts)


def read_points(path: Path, start: int, end: int, key: Optional[str] = None) -> list[Metric]:
    """The points stored in bytes ``[start, end)`` of a history file (only ``key``'s if given)."""
    if end <= start:
        return []
    data = _read_committed(path, start, end)
    values = None
    if key is not None:
        selected = _lines_of_key(data, key)
        if selected is not None:
            try:
                values = parse_lines(selected, path, start)
            except StoreCorruptionError:
                pass  # parse everything below, for an error naming the right offset
            else:
                key = None
    out = []
    for d in parse_lines(data, path, start) if values is None else values:
        try:
            if key is not None and d["key"] != key:
                continue
            out.append(Metric(d["key"], float(d["value"]), int(d["timestamp"]), int(d["step"]), d.get("model_id")))
        except (KeyError, TypeError, ValueError):
            raise StoreCorruptionError(f"file store: {path} has a malformed metric line") from None
    return out
