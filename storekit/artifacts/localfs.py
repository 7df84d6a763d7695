"""The local side of every artifact transfer, shared by all repositories.

* :func:`walk_local_dir` lists the files of a directory tree to upload.
* :func:`download_destination` picks (or creates) where downloads go.
* :func:`atomic_local_write` writes a local file through a temporary name in
  the same directory and ``os.replace``\\ s it into place, so a reader never
  sees a partly written file.
* :func:`join_artifact_path` validates and joins artifact paths.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import uuid
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
]

#: Part of every temporary name storekit writes; listings hide such entries.
TEMP_MARKER = ".storekit-tmp-"


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
    stack = [root]
    while stack:
        current = stack.pop()
        with os.scandir(current) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                elif entry.is_file():
                    rel = os.path.relpath(entry.path, root).replace(os.sep, "/")
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
    return f".{final_name}{TEMP_MARKER}{uuid.uuid4().hex[:12]}"


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


def join_artifact_path(*parts: Optional[str], field: str = "artifact_path") -> str:
    """Validate each part (no ``..``, absolute paths or NUL) and join them with ``/``."""
    clean = [validate_artifact_path(p, field) for p in parts if p]
    return "/".join(c for c in clean if c)
