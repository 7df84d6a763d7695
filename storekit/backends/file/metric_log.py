"""Per-run metric history files (``<run>/metrics.jsonl``).

One JSON object per logged point, in logging order::

    {"key": "loss", "value": 0.25, "timestamp": 1700000000000, "step": 3}

NaN and infinities are written ``NaN``, ``Infinity``, ``-Infinity`` (read
back exactly).  A batch's points are appended in one write, *before* the
batch is committed in the experiment's run index, which records the file's
committed length (``mo``).  Bytes past that length belong to a batch that
was never committed (a crash): readers ignore them and the next writer cuts
them off, so a batch is stored whole or not at all.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Sequence

from ...entities import Metric
from ...errors import StoreCorruptionError
from .atomic import fsync_enabled
from .jsonlog import parse_lines
from .oserrors import translated

__all__ = ["encode_float", "encode_metrics", "append_committed", "read_points"]

_SPECIAL = {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}


def encode_float(value: float) -> str:
    """JSON token of a float that reads back to exactly the same value."""
    text = float.__repr__(float(value))
    return _SPECIAL.get(text, text)


def encode_metrics(metrics: Sequence[Metric]) -> bytes:
    """The history lines of ``metrics``, in order, as one UTF-8 blob."""
    keys: dict[str, str] = {}
    parts = []
    for m in metrics:
        jkey = keys.get(m.key)
        if jkey is None:
            jkey = keys[m.key] = json.dumps(m.key, ensure_ascii=False)
        if m.model_id is None:
            parts.append(
                '{"key":%s,"value":%s,"timestamp":%d,"step":%d}\n'
                % (jkey, encode_float(m.value), m.timestamp, m.step)
            )
        else:
            parts.append(
                '{"key":%s,"value":%s,"timestamp":%d,"step":%d,"model_id":%s}\n'
                % (jkey, encode_float(m.value), m.timestamp, m.step, json.dumps(m.model_id))
            )
    return "".join(parts).encode("utf-8")


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
                raise StoreCorruptionError(
                    f"file store: {path} has {size} bytes but {committed} were committed"
                )
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


def read_points(path: Path, start: int, end: int) -> list[Metric]:
    """The points stored in bytes ``[start, end)`` of a history file."""
    if end <= start:
        return []
    with translated("reading", path):
        try:
            with open(path, "rb") as fh:
                fh.seek(start)
                data = fh.read(end - start)
        except FileNotFoundError:
            raise StoreCorruptionError(f"file store: {path} is missing") from None
    if len(data) != end - start or not data.endswith(b"\n"):
        raise StoreCorruptionError(f"file store: {path} is shorter than its committed length {end}")
    out = []
    for d in parse_lines(data, path, start):
        try:
            out.append(Metric(d["key"], float(d["value"]), int(d["timestamp"]), int(d["step"]),
                              d.get("model_id")))
        except (KeyError, TypeError, ValueError):
            raise StoreCorruptionError(f"file store: {path} has a malformed metric line") from None
    return out
