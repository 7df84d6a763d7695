"""Crash-safe file writes and strict JSON reads.

* :func:`write_json_atomic` writes a whole JSON document to a temporary file
  in the same directory, optionally fsyncs it, and ``os.replace``-s it into
  place: a reader sees the old document or the new one, never a mixture.
* :func:`read_json` parses a document and raises
  :class:`~storekit.errors.StoreCorruptionError` naming the file when it
  does not parse.
* :func:`fsync_enabled` tells whether writes should be fsynced
  (``STOREKIT_FILE_FSYNC=1``); without it data survives a process crash but
  not necessarily a power loss.
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any, Optional

from ...envvars import env_flag
from ...errors import StoreCorruptionError
from .oserrors import translated

__all__ = ["write_json_atomic", "read_json", "read_json_or_none", "fsync_enabled", "dumps"]


def fsync_enabled() -> bool:
    """Whether ``STOREKIT_FILE_FSYNC`` asks for fsync after every write."""
    return env_flag("STOREKIT_FILE_FSYNC")


def dumps(obj: Any, indent: Optional[int] = None) -> str:
    """JSON text of ``obj``; NaN and infinities are written as ``NaN``/``Infinity``/``-Infinity``."""
    return json.dumps(obj, ensure_ascii=False, indent=indent, separators=(",", ": ") if indent else (",", ":"))


def write_json_atomic(path: Path, obj: Any, fsync: Optional[bool] = None, mode: int = 0o644) -> None:
    """Replace ``path`` with the JSON document ``obj``, atomically (the new file gets ``mode``)."""
    data = (dumps(obj, indent=2) + "\n").encode("utf-8")
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.tmp")
    with translated("writing", path):
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
                if fsync if fsync is not None else fsync_enabled():
                    os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, path)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise


def read_json(path: Path) -> Any:
    """Parse the JSON document at ``path``; StoreCorruptionError if it does not parse."""
    with translated("reading", path):
        data = path.read_bytes()
    try:
        return json.loads(data)
    except ValueError as exc:
        raise StoreCorruptionError(f"file store: {path} is not valid JSON ({exc})") from None


def read_json_or_none(path: Path) -> Any:
    """Like :func:`read_json`, but None when the file does not exist."""
    try:
        return read_json(path)
    except Exception as exc:
        cause = exc.__cause__ if exc.__cause__ is not None else exc
        if isinstance(cause, FileNotFoundError):
            return None
        raise
