"""The file store's packed histories: ``<run>/metrics.arrow`` beside ``metrics.jsonl``, never served stale.

Parsing a run's JSON-lines history costs far more than reading the same
points as Arrow columns, so the bulk history read
(:mod:`.history_arrow`) keeps each run's whole history, in the contract's
order (key, then ``(step, timestamp)``, then logging order), in an Arrow IPC
file beside the history, written by the bulk read itself.

The side file names what it was built from in its schema metadata: the
history file's committed length (``mo`` in the run index) and its inode.
The history is append-only -- its first ``mo`` bytes never change while the
file lives -- so the side file is used only while both still match; one more
logged batch (a longer ``mo``) or a replaced history file (an import) makes
it stale, and the next bulk read rebuilds it.  The importer removes it right
after replacing a history, and a bulk read that finds the history replaced
while it wrote a side file removes its own (the inode it read from cannot be
reused while it holds that file open).

Writing is crash-safe: a temporary file in the run directory, fsynced when
``STOREKIT_FILE_FSYNC`` asks for it, then ``os.replace``; a side file that
does not open, or whose metadata or length disagree, is ignored and rebuilt.
A store the process cannot write to is read as before, without side files.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any, Optional

from .atomic import fsync_enabled

__all__ = ["SIDE_NAME", "side_path", "read_side", "write_side", "remove_side"]

#: the side file's name in the run directory
SIDE_NAME = "metrics.arrow"
_FORMAT = b"storekit-history-1"


def side_path(history: Path) -> Path:
    """The side file of a run's history file."""
    return history.with_name(SIDE_NAME)


def _metadata(committed: int, inode: int, points: int) -> dict[bytes, bytes]:
    return {
        b"format": _FORMAT,
        b"committed": str(committed).encode(),
        b"inode": str(inode).encode(),
        b"points": str(points).encode(),
    }


def read_side(history: Path, committed: int, inode: int) -> Optional[Any]:
    """The run's ordered history (``key``..``value`` columns) from its side file, or None if not current."""
    import pyarrow as pa

    try:
        with pa.memory_map(str(side_path(history)), "r") as source:
            table = pa.ipc.open_file(source).read_all()
    except (OSError, pa.ArrowException, ValueError):
        return None
    meta = table.schema.metadata or {}
    if meta.get(b"format") != _FORMAT or meta.get(b"committed") != str(committed).encode():
        return None
    if meta.get(b"inode") != str(inode).encode() or meta.get(b"points") != str(table.num_rows).encode():
        return None
    if table.schema.names != ["key", "step", "timestamp", "value"]:
        return None
    return table


def write_side(history: Path, table: Any, committed: int, fd: int) -> bool:
    """Write the side file of ``history`` from its ordered ``table``; False if it could not (or was undone).

    ``fd`` is the open history file the points were read from (its first
    ``committed`` bytes); it must stay open until this returns.
    """
    import pyarrow as pa

    inode = os.fstat(fd).st_ino
    part = table.select(["key", "step", "timestamp", "value"])
    part = part.replace_schema_metadata(_metadata(committed, inode, part.num_rows))
    target = side_path(history)
    tmp = target.with_name(f".{SIDE_NAME}.{uuid.uuid4().hex[:12]}.tmp")
    try:
        with pa.OSFile(str(tmp), "wb") as sink:
            with pa.ipc.new_file(sink, part.schema) as writer:
                writer.write_table(part)
        if fsync_enabled():
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
        os.replace(tmp, target)
    except (OSError, pa.ArrowException):
        try:
            os.unlink(tmp)
        except OSError:
            pass
        return False
    try:
        replaced = os.stat(history).st_ino != inode
    except OSError:
        replaced = True
    if replaced:  # the history was replaced meanwhile: this side file describes the old one
        remove_side(history)
        return False
    return True


def remove_side(history: Path) -> None:
    """Remove the side file of ``history`` if there is one (after the history file was replaced)."""
    try:
        os.unlink(side_path(history))
    except FileNotFoundError:
        pass
