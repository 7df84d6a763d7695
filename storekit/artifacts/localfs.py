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
from typing import IO, Iterable, Iterator, Optional

from ..errors import InvalidParameterError
from ..validation import validate_artifact_path

__all__ = [
    "TEMP_MARKER",
    "LocalFile",
    "walk_local_dir",
    "refuse_links_below",
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
    getattr(errno, name)
    for name in ("EXDEV", "ENOSYS", "EINVAL", "EOPNOTSUPP", "ENOTSUP", "EBADF", "EPERM")
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


def walk_local_dir(
    local_dir: "str | os.PathLike[str]", field: str = "local_dir", refuse_outside_links: bool = False
) -> list[LocalFile]:
    """Every file under ``local_dir`` (following no directory symlinks), sorted by relative path.

    With ``refuse_outside_links`` (what every ``log_artifacts`` uses), a
    symbolic link - to a file or a directory - whose target lies outside
    ``local_dir`` (or is dangling) raises InvalidParameterError naming the
    links, before anything is read: a link to ``~/.ssh/id_rsa`` dropped into a
    directory is never uploaded as its target's contents.  Links to files
    inside ``local_dir`` are uploaded as those files' contents; links to
    directories are never followed.
    """
    root = os.path.abspath(os.fspath(local_dir))
    if not os.path.isdir(root):
        raise InvalidParameterError(f"{field} {os.fspath(local_dir)!r}: not an existing directory")
    real_root = os.path.join(os.path.realpath(root), "")
    files: list[LocalFile] = []
    outside: list[str] = []
    skip = len(os.path.join(root, ""))  # entry paths are <root>/<relative path>
    stack = [root]
    while stack:
        current = stack.pop()
        with os.scandir(current) as entries:
            for entry in entries:
                if refuse_outside_links and entry.is_symlink():
                    target = os.path.realpath(entry.path)
                    if not target.startswith(real_root) or not os.path.exists(target):
                        outside.append(entry.path[skip:].replace(os.sep, "/"))
                        continue
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                elif entry.is_file():
                    rel = entry.path[skip:]
                    if os.sep != "/":  # pragma: no cover - Windows
                        rel = rel.replace(os.sep, "/")
                    files.append(LocalFile(entry.path, rel, entry.stat().st_size, entry.is_symlink()))
    if outside:
        outside.sort()
        shown = ", ".join(repr(o) for o in outside[:10]) + (
            f" and {len(outside) - 10} more" if len(outside) > 10 else ""
        )
        raise InvalidParameterError(
            f"{field} {os.fspath(local_dir)!r}: symbolic links leading outside the directory are not "
            f"uploaded: {shown}; nothing was uploaded"
        )
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


def refuse_links_below(dst: str, paths: "Iterable[str]") -> None:
    """InvalidParameterError when a directory on the way from ``dst`` to any of ``paths`` is a symlink.

    A download writes below its destination only: a symbolic link already
    present below ``dst_path`` (say ``dst/model -> /etc``) is never written
    through.  ``dst`` itself may be a link (the caller chose it).
    """
    base = os.path.join(os.path.abspath(dst), "")
    checked: set[str] = set()
    for path in paths:
        rel = os.path.abspath(path)[len(base) :] if os.path.abspath(path).startswith(base) else ""
        current = base.rstrip(os.sep)
        parts = [p for p in rel.split(os.sep) if p]
        for part in parts:
            current = os.path.join(current, part)
            if current in checked:
                continue
            checked.add(current)
            if os.path.islink(current):
                raise InvalidParameterError(
                    f"dst_path: {current!r} is a symbolic link; downloads never write through links "
                    "below their destination (remove it or choose another destination)"
                )


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
            view = view[os.write(target, view) :]


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
