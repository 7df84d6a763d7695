"""The resume state of a transfer: which records are done, and the id map.

An append-only JSON-lines file; each finished record adds one line, flushed
and fsynced before the next record starts, so a transfer killed at any point
resumes after the last finished record when run again with the same state
file.  The first line names the source and destination (redacted); a state
file of another transfer is refused.  Lines::

    {"k": "header", "source": ..., "destination": ...}
    {"k": "experiment", "src": "1", "dst": "1"}
    {"k": "model", "src": "m-...", "dst": "m-..."}
    {"k": "run", "src": "<run id>", "dst": "<run id>"}
    {"k": "experiment_done", "src": "1"}
    {"k": "registered_model", "src": "<name>"}
    {"k": "index_deferred", "src": "<index name>"}    (dropped before the load of an empty SQL store)
    {"k": "index_built", "src": "<index name>"}       (built again after the load)
    {"k": "accounts", "src": "done"}                  (server accounts copied)

With the idempotent import hook a line is flushed, not fsynced, per
record (losing it to a power cut only means the record is written again);
with the public-API fallback every line is fsynced.  A torn last line (the process died while writing it) is ignored.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import IO, Optional

from ..errors import InvalidParameterError

__all__ = ["ResumeState", "default_state_path"]


def default_state_path(source: str, destination: str) -> Path:
    """``./.storekit-transfer-<hash of both URIs>.jsonl``."""
    digest = hashlib.sha256(f"{source}\n{destination}".encode()).hexdigest()[:16]
    return Path(f".storekit-transfer-{digest}.jsonl").absolute()


class ResumeState:
    """Done markers and the id map of one transfer, persisted in a JSON-lines file."""

    def __init__(
        self,
        path: "str | os.PathLike[str]",
        source: str,
        destination: str,
        dry_run: bool = False,
        fsync_each: bool = True,
    ) -> None:
        self.path = Path(path)
        #: fsync after every line (needed when re-writing a record could duplicate it, i.e. without
        #: the idempotent import hook); otherwise lines are flushed (they survive the process being
        #: killed) and fsynced on :meth:`close`.
        self.fsync_each = fsync_each
        self.ids: dict[str, dict[str, str]] = {"experiment": {}, "model": {}, "run": {}}
        #: records whose destination id is their source id (the usual case with the hook): a set is smaller
        self.same: dict[str, set[str]] = {"experiment": set(), "model": set(), "run": set()}
        self.done: dict[str, set[str]] = {
            "experiment_done": set(),
            "registered_model": set(),
            "index_deferred": set(),
            "index_built": set(),
            "accounts": set(),
        }
        self._file: Optional[IO[str]] = None
        self._dry_run = dry_run
        header = {"k": "header", "source": source, "destination": destination}
        if self.path.exists():
            self._load(header)
        elif not dry_run:
            self._append(header)

    def _load(self, header: dict[str, str]) -> None:
        with open(self.path, encoding="utf-8") as fh:
            lines = fh.read().split("\n")
        for number, line in enumerate(lines):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
            except ValueError:
                if number >= len(lines) - 2:
                    break  # torn last line
                raise InvalidParameterError(f"resume state {self.path}: line {number + 1} is not JSON") from None
            kind = entry.get("k")
            if kind == "header":
                if (entry.get("source"), entry.get("destination")) != (header["source"], header["destination"]):
                    raise InvalidParameterError(
                        f"resume state {self.path} belongs to a transfer from {entry.get('source')} "
                        f"to {entry.get('destination')}; use another --state file"
                    )
            elif kind in self.ids:
                self._remember(kind, entry["src"], entry["dst"])
            elif kind in self.done:
                self.done[kind].add(entry["src"])

    def _append(self, entry: dict[str, str]) -> None:
        if self._dry_run:
            return
        if self._file is None:
            self._file = open(self.path, "a", encoding="utf-8")
        self._file.write(json.dumps(entry) + "\n")
        self._file.flush()
        if self.fsync_each:
            os.fsync(self._file.fileno())

    def _remember(self, kind: str, src: str, dst: str) -> None:
        if src == dst:
            self.same[kind].add(src)
        else:
            self.ids[kind][src] = dst

    def count(self, kind: str) -> int:
        """How many experiments, logged models or runs are finished."""
        return len(self.ids[kind]) + len(self.same[kind])

    def mapped(self, kind: str, src: str) -> Optional[str]:
        """The destination id of a finished record, or None."""
        return src if src in self.same[kind] else self.ids[kind].get(src)

    def record(self, kind: str, src: str, dst: str) -> None:
        """Mark an experiment, logged model or run as written, with its destination id."""
        self._remember(kind, src, dst)
        self._append({"k": kind, "src": src, "dst": dst})

    def is_done(self, kind: str, src: str) -> bool:
        """Whether ``src`` is marked ``kind`` (``experiment_done``, ``registered_model``, ``index_*``, ``accounts``)."""
        return src in self.done[kind]

    def mark(self, kind: str, src: str) -> None:
        """Mark ``src`` as ``kind`` (see :meth:`is_done`)."""
        self.done[kind].add(src)
        self._append({"k": kind, "src": src})

    def close(self) -> None:
        """Close the state file."""
        if self._file is not None:
            os.fsync(self._file.fileno())
            self._file.close()
            self._file = None
