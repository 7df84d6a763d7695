"""The local side of every artifact transfer, shared by all repositories.

* :func:`walk_local_dir` lists the files of a directory tree to upload.
* :func:`download_destination` picks (or creates) where downloads go.
* :func:`atomic_local_write` writes a local file through a temporary name in
  the same directory and ``os.replace``\\ s it into place, so a reader never
  sees a partly written file.
* :func:`join_artifact_path` validates and joins artifact paths.
* :func:`copy_to_new_file` copies one local file with as few system calls as possible.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from dataclasses import dataclass
from typing import IO, Iterator, Optional

from ..errors import InvalidParameterError
from ..validation import validate_artifact_path

__all__ = [
    "TEMP_MARKER",
    "LocalFile",
    "walk_local_dir",
    "require_local_file",
    "download_destination",
    "atomic_local_write",
    "temp_name",
    "is_temp_name",
    "join_artifact_path",
    "copy_to_new_file",
]

#: Part of every temporary name storekit writes; listings hide such entries.
TEMP_MARKER = ".storekit-tmp-"

_COPY_CHUNK = 1 << 20  # bytes per read/write of the plain copy loop (bounded memory)
_RANGE_CHUNK = 1 << 30  # bytes per in-kernel copy_file_range call (no user-space buffer)
_O_BINARY = getattr(os, "O_BINARY", 0)
#: ``copy_file_range`` cannot copy these files (other file systems, old kernels, special files).
_NO_COPY_RANGE = frozenset(
    getattr(errno, name) for name in ("EXDEV", "ENOSYS", "EINVAL", "EOPNOTSUPP", "ENOTSUP", "EBADF", "EPERM")
    if hasattr(errno, name)
)


@dataclass(frozen=True)
class LocalFile:
    """A file of a local tree: absolute path, ``/``-separated path relative to the tree, size,
    and whether the entry itself is a symlink."""

    path: str
    relpath: str
    size: int
    is_symlink: bool = False


def require_local_file(local_file: "str | os.PathLike[str]", field: str = "local_file") -> str:
    """The absolute path of an existing regular file; InvalidParameterError otherwise."""
    path = os.path.abspath(os.fspath(local_file))
    if not os.path.isfile(path):
        raise InvalidParameterError(f"{field} {os.fspath(local_file)!r}: not an existing file")
    return path


def walk_local_dir(local_dir: "str | os.PathLike[str]", field: str = "local_dir") -> list[LocalFile]:
    """Every file under ``local_dir`` (following no directory symlinks), sorted by relative path."""
    root = os.path.abspath(os.fspath(local_dir))
    if not os.path.isdir(root):
        raise InvalidParameterError(f"{field} {os.fspath(local_dir)!r}: not an existing directory")
    files: list[LocalFile] = []
    skip = len(os.path.join(root, ""))  # entry paths are <root>/<relative path>
    stack = [root]
    while stack:
        current = stack.pop()
        with os.scandir(current) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                elif entry.is_file():
                    rel = entry.path[skip:]
                    if os.sep != "/":  # pragma: no cover - Windows
                        rel = rel.replace(os.sep, "/")
                    files.append(LocalFile(entry.path, rel, entry.stat().st_size, entry.is_symlink()))
    files.sort(key=lambda f: f.relpath)
    return files


def download_destination(dst_path: "Optional[str | os.PathLike[str]]") -> str:
    """``dst_path`` as an absolute, existing directory; a new temporary directory for None."""
    if dst_path is None:
        return tempfile.mkdtemp(prefix="storekit-download-")
    path = os.path.abspath(os.fspath(dst_path))
    if os.path.exists(path) and not os.path.isdir(path):
        raise InvalidParameterError(f"dst_path {os.fspath(dst_path)!r}: exists and is not a directory")
    os.makedirs(path, exist_ok=True)
    return path


def temp_name(final_name: str) -> str:
    """A unique hidden temporary name for ``final_name`` (same directory)."""
    return f".{final_name}{TEMP_MARKER}{os.urandom(6).hex()}"


def is_temp_name(name: str) -> bool:
    """True for a base name made by :func:`temp_name`."""
    return TEMP_MARKER in name and name.startswith(".")


@contextlib.contextmanager
def atomic_local_write(final_path: str) -> Iterator[IO[bytes]]:
    """Open a temporary file next to ``final_path``; on success move it into place.

    On any exception the temporary file is removed and ``final_path`` is
    left as it was (the old file or nothing).
    """
    directory, name = os.path.split(final_path)
    os.makedirs(directory or ".", exist_ok=True)
    tmp = os.path.join(directory, temp_name(name))
    try:
        with open(tmp, "wb") as fh:
            yield fh
        os.replace(tmp, final_path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _copy_descriptor(source: int, target: int) -> None:
    """Copy everything from the current position of ``source`` to ``target``.

    In the kernel where it can (``copy_file_range``), else in 1 MiB reads
    and writes (bounded memory).  Like :func:`shutil.copyfile`, a first
    ``copy_file_range`` that copies nothing is not trusted to mean an empty
    file (some file systems report 0 instead of an error): the plain loop
    then decides.
    """
    copy_range = getattr(os, "copy_file_range", None)
    if copy_range is not None:
        try:
            if copy_range(source, target, _RANGE_CHUNK):
                while copy_range(source, target, _RANGE_CHUNK):
                    pass
                return
        except OSError as exc:
            if exc.errno not in _NO_COPY_RANGE:
                raise
    while True:
        data = os.read(source, _COPY_CHUNK)
        if not data:
            return
        view = memoryview(data)
        while view:
            view = view[os.write(target, view):]


def copy_to_new_file(src: str, dst: str) -> None:
    """Copy the bytes of the file ``src`` into ``dst``, which must not exist yet.

    A handful of system calls per file (no ``stat`` calls, the copy done by
    the kernel where possible): with thousands of small files that is most
    of the cost.  ``dst`` is left partly written on failure; callers write
    to a :func:`temp_name` and remove it.
    """
    source = os.open(src, os.O_RDONLY | _O_BINARY)
    try:
        target = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_BINARY, 0o666)
        try:
            _copy_descriptor(source, target)
        finally:
            os.close(target)
    finally:
        os.close(source)


def join_artifact_path(*parts: Optional[str], field: str = "artifact_path") -> str:
    """Validate each part (no ``..``, absolute paths or NUL) and join them with ``/``."""
    clean = [validate_artifact_path(p, field) for p in parts if p]
    return "/".join(c for c in clean if c)
