"""The local artifact repository: ``file:`` URIs and bare paths.

Plain ``os`` calls for speed (:func:`~storekit.artifacts.localfs.copy_to_new_file`
copies with ``copy_file_range`` where the OS has it, and a few threads each
work through a share of the files).  Every file is written under a
hidden temporary name in its target directory and ``os.replace``\\ d into
place, so a reader never sees a partly written file.  Paths are validated with
:func:`storekit.validation.validate_artifact_path`, and a symlink inside the
root that points outside it is refused for reading and writing alike.
"""

from __future__ import annotations

import contextlib
import errno
import os
import posixpath
import shutil
import threading
from typing import Callable, ClassVar, Iterator, Optional, TypeVar

from ..entities import FileInfo
from ..envvars import env_int
from ..errors import InvalidParameterError, StorekitError
from ..interfaces import ArtifactRepository, Capability
from ..uri import local_path_from_uri
from ..validation import validate_artifact_path
from .localfs import (
    copy_to_new_file,
    download_destination,
    is_temp_name,
    join_artifact_path,
    refuse_links_below,
    require_local_file,
    temp_name,
    walk_local_dir,
)
from .transfer import DEFAULT_MAX_WORKERS, run_parallel
from .translate import translate_error

__all__ = ["LocalArtifactRepository"]

T = TypeVar("T")

_O_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
#: Where an open directory descriptor can be named as a path (Linux), else None.
_PROC_FD = "/proc/self/fd" if os.path.isdir("/proc/self/fd") else None

#: Directories opened at once by ``log_artifacts`` (each holds a descriptor while its files are copied).
_DIRS_PER_CHUNK = 128
#: Local copies of many files gain little from more threads than this.
_LOCAL_WORKERS = 4
#: A thread is only worth starting for at least this many files.
_FILES_PER_WORKER = 16


class LocalArtifactRepository(ArtifactRepository):
    """Artifacts in a local directory, given as a bare path or a ``file:`` URI.

    Options: ``max_workers`` (files copied at once by ``log_artifacts`` and
    ``download_artifacts``; ``STOREKIT_ARTIFACT_WORKERS``, default 4).
    """

    capabilities: ClassVar[frozenset[Capability]] = frozenset({Capability.DELETE_ARTIFACTS})

    def __init__(self, artifact_uri: str, *, max_workers: Optional[int] = None) -> None:
        super().__init__(artifact_uri)
        try:
            path = local_path_from_uri(artifact_uri)
        except ValueError as exc:
            raise InvalidParameterError(f"artifact_uri: {exc}") from None
        self.root = os.path.abspath(os.fspath(path))
        default = min(DEFAULT_MAX_WORKERS, _LOCAL_WORKERS)
        self.max_workers = max(1, max_workers or env_int("STOREKIT_ARTIFACT_WORKERS", default, minimum=1))

    # ------------------------------------------------------------ plumbing
    def _real_root(self) -> str:
        return os.path.realpath(self.root)

    def _local(self, rel: str, field: str = "artifact_path") -> str:
        """The local path of ``rel``; refuses symlinks that lead outside the root."""
        path = os.path.join(self.root, *rel.split("/")) if rel else self.root
        real_root = self._real_root()
        # check the deepest existing ancestor: that is where a symlink could lead us astray
        probe = path
        while not os.path.lexists(probe) and probe != self.root and len(probe) > len(self.root):
            probe = os.path.dirname(probe)
        real = os.path.realpath(probe)
        if real != real_root and not real.startswith(real_root.rstrip(os.sep) + os.sep):
            raise InvalidParameterError(f"{field} {rel!r}: leads outside the artifact root through a symlink")
        return path

    @contextlib.contextmanager
    def _write_dirs(self, rel_dirs: "set[str]") -> Iterator[dict[str, str]]:
        """Each directory of ``rel_dirs`` created and opened under the root without following links.

        Yields ``{rel_dir: path}`` where ``path`` names the opened directory
        through its descriptor (``/proc/self/fd/N`` on Linux), so the files
        written there land in the directory that was checked even if someone
        swaps a component for a symlink meanwhile (no check-then-write race).
        A symlink anywhere below the root on the way raises
        InvalidParameterError.  Elsewhere the checked path itself is used.
        """
        fds: list[int] = []
        paths: dict[str, str] = {}
        if rel_dirs:
            os.makedirs(self.root, exist_ok=True)  # the root itself is configured: created like before
        try:
            for rel_dir in sorted(rel_dirs):
                fd = os.open(self.root, os.O_RDONLY | _O_DIRECTORY)  # the root itself is configured
                walked = ""
                try:
                    for part in rel_dir.split("/") if rel_dir else []:
                        walked = f"{walked}/{part}" if walked else part
                        with contextlib.suppress(FileExistsError):
                            os.mkdir(part, dir_fd=fd)
                        try:
                            child = os.open(part, os.O_RDONLY | _O_DIRECTORY | _O_NOFOLLOW, dir_fd=fd)
                        except OSError as exc:
                            if exc.errno in (errno.ELOOP, errno.ENOTDIR) and os.path.islink(
                                os.path.join(self.root, *walked.split("/"))
                            ):
                                raise InvalidParameterError(
                                    f"artifact_path {walked!r}: is a symlink; artifacts are never written "
                                    "through symlinks"
                                ) from None
                            raise
                        os.close(fd)
                        fd = child
                except BaseException:
                    os.close(fd)
                    raise
                fds.append(fd)
                if _PROC_FD is not None:
                    paths[rel_dir] = f"{_PROC_FD}/{fd}"
                else:  # pragma: no cover - no /proc: the checked path
                    paths[rel_dir] = self._local(rel_dir)
            yield paths
        finally:
            for fd in fds:
                os.close(fd)

    def _guard(self, fn: Callable[[], T], rel: str, operation: str) -> T:
        try:
            return fn()
        except StorekitError:
            raise
        except OSError as exc:
            raise translate_error(exc, uri=self.artifact_uri, path=rel, operation=operation) from None

    def _copy_into(self, src: str, dst: str) -> None:
        """Copy the bytes of ``src`` to the new file ``dst`` (a temporary name)."""
        copy_to_new_file(src, dst)

    def _copy_all(self, jobs: list[tuple[str, str]]) -> None:
        """Copy every ``(source, final path)`` atomically, on up to :attr:`max_workers` threads.

        Each thread takes a share of the files and works through it (no
        task per file); after a failure the others stop at their next file,
        and the first failure is raised once all have stopped.
        """
        workers = min(self.max_workers, max(1, len(jobs) // _FILES_PER_WORKER))
        failed = threading.Event()

        def copy_share(share: list[tuple[str, str]]) -> None:
            for src, final in share:
                if failed.is_set():
                    return
                try:
                    self._atomic_copy(src, final)
                except BaseException:
                    failed.set()
                    raise

        run_parallel(copy_share, [jobs[i::workers] for i in range(workers)], workers)

    def _atomic_copy(self, src: str, final: str) -> None:
        directory, name = os.path.split(final)
        tmp = os.path.join(directory, temp_name(name))
        try:
            self._copy_into(src, tmp)
            os.replace(tmp, final)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    # -------------------------------------------------------------- upload
    def log_artifact(self, local_file: "str | os.PathLike[str]", artifact_path: Optional[str] = None) -> None:
        """Copy one file into ``artifact_path`` (a directory under the root), atomically."""
        src = require_local_file(local_file)
        rel = join_artifact_path(artifact_path, os.path.basename(src))

        def run() -> None:
            self._local(rel)
            directory, name = posixpath.split(rel)
            with self._write_dirs({directory}) as dirs:
                self._atomic_copy(src, os.path.join(dirs[directory], name))

        self._guard(run, rel, "upload")

    def log_artifacts(self, local_dir: "str | os.PathLike[str]", artifact_path: Optional[str] = None) -> None:
        """Copy a local directory tree into ``artifact_path``, each file atomically."""
        files = walk_local_dir(local_dir, refuse_outside_links=True)
        base = validate_artifact_path(artifact_path)
        jobs = [(f.path, join_artifact_path(base, f.relpath)) for f in files]

        def run() -> None:
            parents = {posixpath.dirname(rel) for _, rel in jobs}
            for parent in parents:
                self._local(parent)
            # in chunks of directories, so a tree of many directories never holds too many descriptors
            chunk: list[tuple[str, str]] = []
            chunk_dirs: set[str] = set()
            for job in jobs + [("", "")]:
                parent = posixpath.dirname(job[1])
                if job[0] == "" or (parent not in chunk_dirs and len(chunk_dirs) >= _DIRS_PER_CHUNK):
                    with self._write_dirs(chunk_dirs) as dirs:
                        self._copy_all(
                            [
                                (src, os.path.join(dirs[posixpath.dirname(rel)], posixpath.basename(rel)))
                                for src, rel in chunk
                            ]
                        )
                    chunk, chunk_dirs = [], set()
                chunk.append(job)
                chunk_dirs.add(parent)

        self._guard(run, base, "upload")

    # ---------------------------------------------------------------- list
    def list_artifacts(self, path: Optional[str] = None) -> list[FileInfo]:
        """Direct children of ``path``, sorted by path, with sizes for files; [] if absent."""
        rel = validate_artifact_path(path, "path")

        def run() -> list[FileInfo]:
            target = self._local(rel, "path")
            if not os.path.isdir(target):
                return []
            infos = []
            with os.scandir(target) as entries:
                for entry in entries:
                    if is_temp_name(entry.name):
                        continue
                    child = join_artifact_path(rel, entry.name, field="path")
                    if entry.is_symlink():
                        try:
                            self._local(child, "path")
                        except InvalidParameterError:
                            continue  # never show what lies outside the root
                    if entry.is_dir():
                        infos.append(FileInfo(child, True, None))
                    elif entry.is_file():
                        infos.append(FileInfo(child, False, entry.stat().st_size))
            infos.sort(key=lambda i: i.path)
            return infos

        return self._guard(run, rel, "list")

    # ------------------------------------------------------------ download
    def download_artifacts(self, artifact_path: str, dst_path: "Optional[str | os.PathLike[str]]" = None) -> str:
        """Copy a file or tree to ``dst_path``/``artifact_path`` (a temp dir for None); return it."""
        rel = validate_artifact_path(artifact_path)

        def run() -> str:
            src = self._local(rel)
            if not os.path.exists(src):
                raise FileNotFoundError(f"no artifact at {rel!r}")
            dst = download_destination(dst_path)
            out = os.path.join(dst, *rel.split("/")) if rel else dst
            if os.path.isfile(src):
                refuse_links_below(dst, [out])
                os.makedirs(os.path.dirname(out), exist_ok=True)
                self._atomic_copy(src, out)
                return out
            jobs = []
            for f in walk_local_dir(src):
                if is_temp_name(os.path.basename(f.relpath)):
                    continue
                if f.is_symlink:  # a symlinked file must not lead outside the root
                    self._local(join_artifact_path(rel, f.relpath))
                jobs.append((f.path, os.path.join(out, *f.relpath.split("/"))))
            refuse_links_below(dst, [out] + [d for _, d in jobs])
            os.makedirs(out, exist_ok=True)
            for parent in sorted({os.path.dirname(d) for _, d in jobs}):
                os.makedirs(parent, exist_ok=True)
            self._copy_all(jobs)
            return out

        return self._guard(run, rel, "download")

    # -------------------------------------------------------------- delete
    def delete_artifacts(self, artifact_path: Optional[str] = None) -> None:
        """Delete a file or tree (the root's contents for None); absent paths are a no-op."""
        rel = validate_artifact_path(artifact_path)

        def run() -> None:
            target = self._local(rel)
            if not rel:
                if os.path.isdir(target):
                    for entry in os.scandir(target):
                        _remove(entry.path)
                return
            _remove(target)

        self._guard(run, rel, "delete")


def _remove(path: str) -> None:
    if os.path.islink(path) or os.path.isfile(path):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
    elif os.path.isdir(path):
        shutil.rmtree(path, ignore_errors=False)
