"""The fsspec-based artifact repository that every remote backend specialises.

:class:`FsspecArtifactRepository` implements the whole of contract section 4
on top of an ``fsspec`` file system:

* atomic uploads: on file systems with a rename, a file is written under a
  hidden temporary name in the same directory and then moved into place
  (:meth:`~FsspecArtifactRepository._commit`); on object stores, where one
  PUT or a completed multipart upload is atomic, it is written straight to
  the final key (``atomic_put = True``) and a failed upload is abandoned, never
  completed (:meth:`~FsspecArtifactRepository._abandon`);
* streaming in bounded memory: files are copied ``chunk_size`` bytes at a
  time (the multipart part size on object stores) and their size is checked
  after the transfer;
* parallel transfers of many files with a bounded thread pool;
* retries with exponential backoff on transient errors, then
  :class:`~storekit.errors.BackendUnavailableError`;
* progress bars on long transfers when attached to a terminal;
* path-escape protection (:func:`storekit.validation.validate_artifact_path`
  on every path, and on every name a remote listing returns);
* native-error translation (:mod:`storekit.artifacts.translate`).

A plugin adds only what is its own by overriding a few hooks:

=============================  ==============================================
``_make_filesystem()``         build the ``fsspec`` file system (credentials,
                               endpoints, timeouts)
``_root_path()``               the root as a path of that file system
``_is_transient(exc)``         which native errors are worth a retry
``_secrets()``                 secret values to scrub from messages
``atomic_put``                 class flag: direct writes are atomic
``needs_directories``          class flag: parents must be created
``_commit(tmp, final)``        the rename (e.g. SFTP cannot overwrite)
``_abandon(fh, path)``         drop a failed write without committing it
=============================  ==============================================

Options (keyword arguments, each with an environment default):
``retries`` (``STOREKIT_ARTIFACT_RETRIES``, attempts in total, default 5),
``max_workers`` (``STOREKIT_ARTIFACT_WORKERS``, default 8), ``chunk_size``
(``STOREKIT_ARTIFACT_CHUNK_SIZE`` bytes, default 8 MiB), ``progress``
(None: only on a terminal), ``storage_options`` (passed to the file system).
"""

from __future__ import annotations

import contextlib
import errno
import functools
import logging
import os
import posixpath
import sys
import threading
from typing import IO, Any, Callable, ClassVar, Iterable, Mapping, Optional, TypeVar

from ..entities import FileInfo
from ..envvars import env_int
from ..errors import StorekitError
from ..interfaces import ArtifactRepository, Capability
from ..uri import get_scheme, redact_uri
from ..validation import validate_artifact_path
from .localfs import (
    LocalFile,
    atomic_local_write,
    download_destination,
    is_temp_name,
    join_artifact_path,
    refuse_links_below,
    require_local_file,
    temp_name,
    walk_local_dir,
)
from .transfer import (
    DEFAULT_CHUNK_SIZE,
    DEFAULT_MAX_WORKERS,
    Progress,
    RetryPolicy,
    call_with_retries,
    copy_stream,
    run_parallel,
)
from .translate import IncompleteTransferError, translate_error

__all__ = ["FsspecArtifactRepository"]

logger = logging.getLogger(__name__)

T = TypeVar("T")

_TRANSIENT_ERRNOS = {
    errno.ECONNRESET,
    errno.ECONNREFUSED,
    errno.ECONNABORTED,
    errno.ETIMEDOUT,
    errno.EPIPE,
    errno.EHOSTUNREACH,
    errno.ENETUNREACH,
}


class FsspecArtifactRepository(ArtifactRepository):
    """An artifact repository on any ``fsspec`` file system (see the module docs for hooks).

    Constructed as ``Cls(artifact_uri, *, retries=None, max_workers=None,
    chunk_size=None, progress=None, storage_options=None)``.  Used directly,
    the file system is ``fsspec.filesystem(<scheme of the URI>, **storage_options)``.
    """

    capabilities: ClassVar[frozenset[Capability]] = frozenset({Capability.DELETE_ARTIFACTS})
    #: A direct write to the final name is atomic (object stores); else temp name + rename.
    atomic_put: ClassVar[bool] = False
    #: Parent directories must exist before a file is written (not so on object stores).
    needs_directories: ClassVar[bool] = True

    def __init__(
        self,
        artifact_uri: str,
        *,
        retries: Optional[int] = None,
        max_workers: Optional[int] = None,
        chunk_size: Optional[int] = None,
        progress: Optional[bool] = None,
        storage_options: Optional[Mapping[str, Any]] = None,
    ) -> None:
        super().__init__(artifact_uri)
        self.retry_policy = RetryPolicy.from_env(retries)
        self.max_workers = max(1, max_workers or env_int("STOREKIT_ARTIFACT_WORKERS", DEFAULT_MAX_WORKERS, minimum=1))
        self.chunk_size = max(
            5 * 1024 * 1024 if self.atomic_put else 64 * 1024,
            chunk_size or env_int("STOREKIT_ARTIFACT_CHUNK_SIZE", DEFAULT_CHUNK_SIZE, minimum=1, unit="bytes"),
        )
        self.progress = progress
        self.storage_options: dict[str, Any] = dict(storage_options or {})
        self._fs: Any = None
        self._fs_lock = threading.Lock()
        self.root = self._root_path().rstrip("/")

    # ------------------------------------------------------------------ hooks
    def _make_filesystem(self) -> Any:
        """Build the ``fsspec.AbstractFileSystem`` (override for credentials and endpoints)."""
        import fsspec

        return fsspec.filesystem(get_scheme(self.artifact_uri), skip_instance_cache=True, **self.storage_options)

    def _root_path(self) -> str:
        """The repository root as a path of the file system (no protocol)."""
        import fsspec

        cls = fsspec.get_filesystem_class(get_scheme(self.artifact_uri))
        return str(cls._strip_protocol(self.artifact_uri))

    def _is_transient(self, exc: BaseException) -> bool:
        """Whether ``exc`` is worth a retry (connection trouble, timeouts, short transfers and reads)."""
        if isinstance(exc, (FileNotFoundError, PermissionError, StorekitError)) and not isinstance(
            exc, IncompleteTransferError
        ):
            return False
        if isinstance(exc, (ConnectionError, TimeoutError, IncompleteTransferError)):
            return True
        aiohttp = sys.modules.get("aiohttp")  # the HTTP client of s3fs and adlfs, when loaded
        if aiohttp is not None and isinstance(
            exc, (aiohttp.ClientPayloadError, aiohttp.ClientConnectionError, aiohttp.ServerTimeoutError)
        ):
            return True  # a body that broke off (short read), a dropped connection, a timeout
        return isinstance(exc, OSError) and exc.errno in _TRANSIENT_ERRNOS

    def _secrets(self) -> Iterable[Optional[str]]:
        """Secret values (keys, passwords, tokens) to scrub from every message."""
        return ()

    def _commit(self, tmp_path: str, final_path: str) -> None:
        """Move a fully written temporary file onto its final name."""
        self.fs.mv(tmp_path, final_path)

    def _abandon(self, fh: Any, remote_path: str) -> None:
        """Drop a remote file opened for writing without committing what was written."""
        with contextlib.suppress(Exception):
            fh.discard()
        # fsspec's close() would commit: mark the file closed instead
        with contextlib.suppress(Exception):
            fh.closed = True
        if not self.atomic_put:
            with contextlib.suppress(Exception):
                self.fs.rm_file(remote_path)

    def _open_local(self, path: str) -> IO[bytes]:
        """Open a local source file for reading (tests substitute failing readers here)."""
        return open(path, "rb")

    def _open_remote_write(self, remote_path: str) -> Any:
        """Open ``remote_path`` for a streaming write in ``chunk_size`` parts."""
        return self.fs.open(remote_path, "wb", block_size=self.chunk_size)

    def _translate(self, exc: BaseException, path: str, operation: str) -> StorekitError:
        """The storekit error for a native error (override to recognise service errors)."""
        return translate_error(
            exc,
            uri=self.artifact_uri,
            path=path,
            operation=operation,
            transient=self._is_transient(exc),
            secrets=self._secrets(),
        )

    # ------------------------------------------------------------- plumbing
    @property
    def fs(self) -> Any:
        """The file system, built on first use."""
        if self._fs is None:
            with self._fs_lock:
                if self._fs is None:
                    try:
                        self._fs = self._make_filesystem()
                    except StorekitError:
                        raise
                    except Exception as exc:
                        raise self._translate(exc, "", "connect to") from None
        return self._fs

    def _remote(self, rel: str) -> str:
        if not rel:
            return self.root
        return f"{self.root}/{rel}" if self.root else rel

    def _relative(self, remote_name: str, base: str) -> str:
        name = remote_name.rstrip("/")
        if name.strip("/") == base.strip("/"):
            return ""
        prefix = base.rstrip("/") + "/" if base else ""
        if prefix and not name.startswith(prefix):
            # some file systems return names with a leading slash, others without
            stripped = name.lstrip("/")
            if stripped.startswith(prefix.lstrip("/")):
                name, prefix = stripped, prefix.lstrip("/")
            else:
                raise StorekitError(f"listing returned {name!r} outside {redact_uri(self.artifact_uri)}")
        return name[len(prefix) :]

    def _call(self, fn: Callable[[], T], path: str, operation: str) -> T:
        try:
            return call_with_retries(fn, self._is_transient, self.retry_policy, operation)
        except StorekitError as exc:
            if isinstance(exc, IncompleteTransferError):
                raise self._translate(exc, path, operation) from None
            raise
        except Exception as exc:
            raise self._translate(exc, path, operation) from None

    def _progress(self, description: str, total: int) -> Progress:
        return Progress(description, total, enabled=self.progress)

    # --------------------------------------------------------------- upload
    def _write_remote(self, local_path: str, target: str, progress: Progress) -> int:
        size = os.path.getsize(local_path)
        if size < self.chunk_size:
            with self._open_local(local_path) as src:
                data = src.read()
            self.fs.pipe_file(target, data)
            progress.advance(len(data))
            return len(data)
        fh = self._open_remote_write(target)
        try:
            with self._open_local(local_path) as src:
                sent = copy_stream(src, fh, self.chunk_size, progress.advance)
        except BaseException:
            self._abandon(fh, target)
            raise
        fh.close()
        return sent

    def _upload(self, local_path: str, rel: str, progress: Progress) -> None:
        final = self._remote(rel)

        def attempt() -> None:
            if self.atomic_put:
                sent = self._write_remote(local_path, final, progress)
            else:
                parent, name = posixpath.split(final)
                tmp = posixpath.join(parent, temp_name(name))
                sent = self._write_remote(local_path, tmp, progress)
                try:
                    self._commit(tmp, final)
                except BaseException:
                    with contextlib.suppress(Exception):
                        self.fs.rm_file(tmp)
                    raise
            if sent >= self.chunk_size:
                self.fs.invalidate_cache(final)
                remote_size = self.fs.size(final)
                if remote_size != sent:
                    raise IncompleteTransferError(f"artifact {rel!r}: {remote_size} bytes stored, {sent} sent")

        self._call(attempt, rel, "upload")

    def _make_parents(self, rels: Iterable[str]) -> None:
        if not self.needs_directories:
            return
        parents = sorted({posixpath.dirname(self._remote(r)) for r in rels})
        for parent in parents:
            if parent:
                self._call(functools.partial(self.fs.makedirs, parent, exist_ok=True), parent, "create directory")

    def log_artifact(self, local_file: "str | os.PathLike[str]", artifact_path: Optional[str] = None) -> None:
        """Upload one file into ``artifact_path`` (a directory under the root), atomically."""
        path = require_local_file(local_file)
        rel = join_artifact_path(artifact_path, os.path.basename(path))
        self._make_parents([rel])
        with self._progress(f"upload {os.path.basename(path)}", os.path.getsize(path)) as progress:
            self._upload(path, rel, progress)

    def log_artifacts(self, local_dir: "str | os.PathLike[str]", artifact_path: Optional[str] = None) -> None:
        """Upload a local directory tree into ``artifact_path``, files in parallel."""
        files = walk_local_dir(local_dir, refuse_outside_links=True)
        base = validate_artifact_path(artifact_path)
        jobs = [(f, join_artifact_path(base, f.relpath)) for f in files]
        self._make_parents(rel for _, rel in jobs)
        total = sum(f.size for f in files)
        with self._progress(f"upload {len(files)} files", total) as progress:

            def one(job: tuple[LocalFile, str]) -> None:
                self._upload(job[0].path, job[1], progress)

            run_parallel(one, jobs, self.max_workers)

    # ----------------------------------------------------------------- list
    def list_artifacts(self, path: Optional[str] = None) -> list[FileInfo]:
        """Direct children of ``path``, sorted by path, with sizes for files; [] if absent."""
        rel = validate_artifact_path(path, "path")
        remote = self._remote(rel)

        def ls() -> list[dict[str, Any]]:
            self.fs.invalidate_cache(remote)
            try:
                return list(self.fs.ls(remote, detail=True))
            except FileNotFoundError:
                return []

        entries = self._call(ls, rel, "list")
        infos: list[FileInfo] = []
        for entry in entries:
            name = self._relative(entry["name"], remote)
            if not name:  # the path itself: a file, or a directory listing itself
                continue
            if "/" in name or is_temp_name(name):
                continue
            child = join_artifact_path(rel, name, field="listed name")
            is_dir = entry.get("type") == "directory"
            infos.append(FileInfo(child, is_dir, None if is_dir else int(entry.get("size") or 0)))
        infos.sort(key=lambda i: i.path)
        return infos

    # ------------------------------------------------------------- download
    def _fetch_large(self, remote: str, local_tmp: str, progress: Progress) -> None:
        """Stream ``remote`` into the new local file ``local_tmp`` (the library's own
        streaming download: one request, bounded memory)."""
        from fsspec.callbacks import Callback

        class _Advance(Callback):
            def relative_update(self, inc: int = 1) -> None:
                progress.advance(inc)

        self.fs.get_file(remote, local_tmp, callback=_Advance())

    def _download(self, remote: str, local: str, size: Optional[int], progress: Progress) -> None:
        def attempt() -> None:
            if size is not None and size < self.chunk_size:
                with atomic_local_write(local) as out:
                    data = self.fs.cat_file(remote)
                    out.write(data)
                    progress.advance(len(data))
                    if len(data) != size:
                        raise IncompleteTransferError(f"{len(data)} bytes received, {size} expected")
                return
            directory, name = os.path.split(local)
            os.makedirs(directory, exist_ok=True)
            tmp = os.path.join(directory, temp_name(name))
            try:
                self._fetch_large(remote, tmp, progress)
                got = os.path.getsize(tmp)
                if size is not None and got != size:
                    raise IncompleteTransferError(f"{got} bytes received, {size} expected")
                os.replace(tmp, local)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise

        self._call(attempt, self._relative(remote, self.root), "download")

    def download_artifacts(self, artifact_path: str, dst_path: "Optional[str | os.PathLike[str]]" = None) -> str:
        """Download a file or a directory tree to ``dst_path``/``artifact_path``; return that path."""
        rel = validate_artifact_path(artifact_path)
        remote = self._remote(rel)

        def info() -> dict[str, Any]:
            self.fs.invalidate_cache(remote)
            return dict(self.fs.info(remote))

        meta = self._call(info, rel, "download")
        dst = download_destination(dst_path)
        local_root = os.path.join(dst, *rel.split("/")) if rel else dst
        if meta.get("type") != "directory":
            refuse_links_below(dst, [local_root])
            size = meta.get("size")
            with self._progress(f"download {posixpath.basename(rel)}", int(size or 0)) as progress:
                self._download(remote, local_root, None if size is None else int(size), progress)
            return local_root

        found = self._call(lambda: dict(self.fs.find(remote, detail=True)), rel, "list")
        jobs: list[tuple[str, str, Optional[int]]] = []
        for name, entry in sorted(found.items()):
            sub = self._relative(name, remote)
            if not sub or entry.get("type") == "directory" or is_temp_name(posixpath.basename(sub)):
                continue
            sub = validate_artifact_path(sub, "listed name")
            size = entry.get("size")
            jobs.append((name, os.path.join(local_root, *sub.split("/")), None if size is None else int(size)))
        refuse_links_below(dst, [local_root] + [j[1] for j in jobs])
        os.makedirs(local_root, exist_ok=True)
        for parent in sorted({os.path.dirname(j[1]) for j in jobs}):
            os.makedirs(parent, exist_ok=True)
        total = sum(j[2] or 0 for j in jobs)
        with self._progress(f"download {len(jobs)} files", total) as progress:
            run_parallel(lambda j: self._download(j[0], j[1], j[2], progress), jobs, self.max_workers)
        return local_root

    # --------------------------------------------------------------- delete
    def delete_artifacts(self, artifact_path: Optional[str] = None) -> None:
        """Delete a file or tree (the whole root's contents for None); absent paths are a no-op."""
        rel = validate_artifact_path(artifact_path)
        remote = self._remote(rel)

        def rm() -> None:
            self.fs.invalidate_cache(remote)
            if rel:
                targets = [remote]
            else:  # never remove the root itself (it may be a bucket or container)
                try:
                    targets = [e["name"] for e in self.fs.ls(remote, detail=True)]
                except FileNotFoundError:
                    return
            for target in targets:
                try:
                    self.fs.rm(target, recursive=True)
                except FileNotFoundError:
                    pass
            self.fs.invalidate_cache(remote)

        self._call(rm, rel, "delete")
