"""Per-run checksums compared by the verification: info, params, tags and metric histories.

Histories are hashed in the order the stores return them — key by key,
each ordered by ``(step, timestamp)``, then logging order — column by column,
in one canonical encoding whatever the store: the keys (UTF-8, each ended by
a newline), steps and timestamps (signed 64-bit little-endian), the value
kinds (one byte: -inf 0, finite 1, +inf 2, NaN 3, as the SQL stores keep
them) and the values (IEEE-754 doubles, 0.0 for the non-finite kinds), each
column streamed into a sha256 of its own; the checksum is the sha256 of the
five.  So NaN and ±inf count as the values they are, the checksum does not
depend on how a history is cut into chunks, and rows read from a SQL store
(:class:`~storekit.backends.sql.bulk.EncodedMetrics`) are hashed as the rows
they are, without building a :class:`Metric` per point.
"""

from __future__ import annotations

import hashlib
import sys
from array import array
from dataclasses import dataclass
from operator import itemgetter
from typing import Callable, Iterable, Iterator, Mapping, Optional, Sequence

from ..backends.sql.metrics import KIND_FINITE, encode_value
from ..entities import Metric, RunInfo

__all__ = ["RunDigest", "HistoryHasher", "mapping_digest", "info_digest", "hashed"]


@dataclass(frozen=True)
class RunDigest:
    """Checksums (sha256 hex) of one run's parts, and its counts."""

    info: str
    params: str
    tags: str
    metrics: str
    points: int
    n_params: int
    n_tags: int


def mapping_digest(items: Mapping[str, str]) -> str:
    """sha256 of a mapping's sorted ``key, value`` pairs."""
    h = hashlib.sha256()
    for key in sorted(items):
        h.update(f"{key}\x00{items[key]}\x01".encode())
    return h.hexdigest()


def info_digest(info: RunInfo, deleted: bool) -> str:
    """sha256 of a run's name, user, status, times and (effective) lifecycle stage."""
    parts = (
        info.run_name,
        info.user_id,
        str(info.status),
        info.start_time,
        info.end_time,
        "deleted" if deleted else "active",
    )
    return hashlib.sha256(repr(parts).encode()).hexdigest()


_KEY, _VALUE, _KIND, _TS, _STEP = (itemgetter(i) for i in range(5))


def _columns(chunk: Sequence[Metric]) -> tuple[list[str], list[int], list[int], list[int], list[float]]:
    """``(keys, steps, timestamps, kinds, values)`` of a chunk in the canonical encoding."""
    rows = getattr(chunk, "rows", None)  # EncodedMetrics: (key, value, kind, timestamp, step, ...)
    if rows is not None:
        kinds = list(map(_KIND, rows))
        values = list(map(_VALUE, rows))
        if kinds.count(KIND_FINITE) != len(kinds):
            values = [v if k == KIND_FINITE else 0.0 for v, k in zip(values, kinds)]
        return list(map(_KEY, rows)), list(map(_STEP, rows)), list(map(_TS, rows)), kinds, values
    encoded = [encode_value(m.value) for m in chunk]
    return (
        [m.key for m in chunk],
        [int(m.step) for m in chunk],
        [int(m.timestamp) for m in chunk],
        [kind for _, kind in encoded],
        [value for value, _ in encoded],
    )


class HistoryHasher:
    """Accumulates the checksum of a metric history fed chunk by chunk (see the module docstring)."""

    def __init__(self) -> None:
        self._parts = [hashlib.sha256() for _ in range(5)]
        self.points = 0

    def update(self, chunk: Sequence[Metric]) -> None:
        """Add the next points (:class:`Metric` objects or encoded SQL rows)."""
        keys, steps, timestamps, kinds, values = _columns(chunk)
        h_keys, h_steps, h_ts, h_kinds, h_values = self._parts
        if keys:
            h_keys.update(("\n".join(keys) + "\n").encode())
        h_steps.update(_le(array("q", steps)))
        h_ts.update(_le(array("q", timestamps)))
        h_kinds.update(bytes(kinds))
        h_values.update(_le(array("d", values)))
        self.points += len(keys)

    def hexdigest(self) -> str:
        """The checksum so far."""
        return hashlib.sha256("".join(h.hexdigest() for h in self._parts).encode()).hexdigest()


def _le(data: array) -> bytes:
    """The array's bytes, little-endian whatever the machine."""
    if sys.byteorder != "little":
        data.byteswap()
    return data.tobytes()


def hashed(
    factory: Callable[[], Iterable[Sequence[Metric]]], hasher_box: list
) -> Callable[[], Iterator[Sequence[Metric]]]:
    """Wrap a chunk factory so each pass through it also hashes the chunks into a fresh hasher (``hasher_box[0]``)."""

    def chunks() -> Iterator[Sequence[Metric]]:
        hasher = HistoryHasher()
        hasher_box[:] = [hasher]
        for chunk in factory():
            hasher.update(chunk)
            yield chunk

    return chunks


def run_digest(
    info: RunInfo, deleted: bool, params: Mapping[str, str], tags: Mapping[str, str], history: Optional[HistoryHasher]
) -> RunDigest:
    """The :class:`RunDigest` of a run's parts."""
    history = history or HistoryHasher()
    return RunDigest(
        info_digest(info, deleted),
        mapping_digest(params),
        mapping_digest(tags),
        history.hexdigest(),
        history.points,
        len(params),
        len(tags),
    )


__all__.append("run_digest")
