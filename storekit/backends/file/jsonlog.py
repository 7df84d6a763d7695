"""Append-only JSON-lines files, read incrementally.

A :class:`JsonLog` is one file of one JSON value per line.  Writers append
whole lines with a single ``write`` while holding the file's lock; readers
keep the file open and parse only the bytes added since their last read
("tailing" by byte offset).

Crash safety: a line is committed once its terminating newline is on disk.
A torn last line (a writer died mid-write) has no newline: readers leave it
alone, and the next writer cuts it off before appending (:meth:`JsonLog.append`).
A complete line that does not parse raises
:class:`~storekit.errors.StoreCorruptionError` naming the file and offset.

A log may be rewritten whole (compaction) with :meth:`JsonLog.replace`;
readers notice the new file by its inode and start over.
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any, Iterable, Optional

from ...errors import StoreCorruptionError
from .atomic import fsync_enabled
from .gcpause import gc_paused
from .oserrors import translated

__all__ = ["JsonLog", "parse_lines"]

#: Reads above this many bytes are parsed with the cyclic garbage collector paused.
_LARGE_READ = 1 << 18


def parse_lines(data: bytes, path: Path, base_offset: int) -> list[Any]:
    """Parse complete JSON lines (``data`` ends with a newline)."""
    if not data:
        return []
    try:
        return json.loads(b"[" + data.rstrip(b"\n").replace(b"\n", b",") + b"]")
    except ValueError:
        pass
    values = []
    offset = base_offset
    for line in data.split(b"\n")[:-1]:
        try:
            values.append(json.loads(line))
        except ValueError as exc:
            raise StoreCorruptionError(
                f"file store: {path} has a line that is not valid JSON at byte {offset} ({exc})"
            ) from None
        offset += len(line) + 1
    return values


class JsonLog:
    """One JSON-lines file: incremental reads, whole-line appends, atomic rewrites.

    Not thread-safe by itself; the owner serialises access.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: Optional[int] = None
        self._ino: Optional[int] = None
        #: Bytes of the current file that have been returned by :meth:`read_new`.
        self.offset = 0
        self._size: Optional[int] = None  # size seen by the last _open(), when it kept the file

    # --- reading -----------------------------------------------------
    def _open(self) -> bool:
        """(Re)open the file if it was replaced; True when reading must start over."""
        with translated("opening", self.path):
            try:
                st = os.stat(self.path)
            except FileNotFoundError:
                if self._fd is not None:
                    self._close()
                    return True
                return False
            if self._fd is not None and st.st_ino == self._ino:
                self._size = st.st_size  # the file we hold open: no fstat needed
                return False
            restart = self._fd is not None
            self._close()
            try:
                self._fd = os.open(self.path, os.O_RDONLY)
            except FileNotFoundError:
                return restart
            self._ino = os.fstat(self._fd).st_ino
            self.offset = 0
            return restart

    def _close(self) -> None:
        if self._fd is not None:
            try:
                os.close(self._fd)
            except OSError:
                pass
        self._fd = None
        self._ino = None
        self.offset = 0

    def read_new(self) -> tuple[bool, list[Any]]:
        """``(restarted, values)``: the lines committed since the last call.

        ``restarted`` is True when the file was replaced (or removed) since
        the last call: the caller must drop what it built and apply
        ``values``, which then hold the whole new file.
        """
        self._size = None
        restarted = self._open()
        if self._fd is None:
            return restarted, []
        with translated("reading", self.path):
            size = self._size if self._size is not None else os.fstat(self._fd).st_size
            if size < self.offset:
                raise StoreCorruptionError(f"file store: {self.path} shrank from {self.offset} to {size} bytes")
            if size == self.offset:
                return restarted, []
            data = os.pread(self._fd, size - self.offset, self.offset)
        end = data.rfind(b"\n") + 1
        with gc_paused(end > _LARGE_READ):
            values = parse_lines(data[:end], self.path, self.offset)
        self.offset += end
        return restarted, values

    # --- writing (caller holds the log's lock and has called read_new) ---
    def append(self, lines: Iterable[str]) -> None:
        """Append JSON lines (already serialised, without newlines) in one write.

        Cuts off a torn tail left by a crashed writer first.  The caller must
        hold the lock and have read everything up to the end.
        """
        data = "".join(line + "\n" for line in lines).encode("utf-8")
        with translated("appending to", self.path):
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            try:
                size = os.fstat(fd).st_size
                if self._fd is None:
                    # the file did not exist when last read
                    if size:
                        raise StoreCorruptionError(f"file store: {self.path} appeared unexpectedly")
                elif size != self.offset:
                    if size < self.offset:
                        raise StoreCorruptionError(f"file store: {self.path} shrank from {self.offset} to {size} bytes")
                    os.ftruncate(fd, self.offset)  # a torn line of a crashed writer
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
                if fsync_enabled():
                    os.fsync(fd)
            finally:
                os.close(fd)
        if self._fd is None:
            self._open()
        self.offset += len(data)

    def replace(self, lines: Iterable[str]) -> None:
        """Rewrite the whole log atomically (temp file + ``os.replace``)."""
        data = "".join(line + "\n" for line in lines).encode("utf-8")
        tmp = self.path.with_name(f".{self.path.name}.{uuid.uuid4().hex[:12]}.tmp")
        with translated("rewriting", self.path):
            try:
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
                try:
                    view = memoryview(data)
                    while view:
                        view = view[os.write(fd, view) :]
                    if fsync_enabled():
                        os.fsync(fd)
                finally:
                    os.close(fd)
                os.replace(tmp, self.path)
            except BaseException:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass
                raise
        self._close()
        self._open()
        self.offset = len(data)

    def version(self) -> tuple[Optional[int], int]:
        """Identifies the content read so far: (inode, offset); changes with every append or rewrite."""
        return (self._ino, self.offset)

    def size(self) -> int:
        """Bytes committed and read so far."""
        return self.offset

    def close(self) -> None:
        """Close the file handle."""
        self._close()
