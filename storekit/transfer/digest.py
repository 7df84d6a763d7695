"""Per-run checksums compared by the verification: info, params, tags and metric histories.

Histories are hashed in the order the stores return them — key by key,
each ordered by ``(step, timestamp)`` — as ``key, step, timestamp,
repr(value)`` lines, so NaN and ±inf count as the values they are.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator, Mapping, Optional, Sequence

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


class HistoryHasher:
    """Accumulates the checksum of a metric history fed chunk by chunk."""

    def __init__(self) -> None:
        self._h = hashlib.sha256()
        self.points = 0

    def update(self, chunk: Sequence[Metric]) -> None:
        """Add the next points."""
        self._h.update("".join([f"{m.key}\t{m.step}\t{m.timestamp}\t{float(m.value)!r}\n" for m in chunk]).encode())
        self.points += len(chunk)

    def hexdigest(self) -> str:
        """The checksum so far."""
        return self._h.hexdigest()


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
