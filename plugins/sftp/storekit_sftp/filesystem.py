"""A minimal ``fsspec`` file system over a pool of paramiko SFTP connections.

Only what :class:`storekit.artifacts.fsspec_repository.FsspecArtifactRepository`
uses is implemented, but fast: writes are pipelined (paramiko does not wait
for each 32 KiB packet's acknowledgement), reads of a large block are issued
as one pipelined ``readv`` window (bounded by the block asked for), renames
use OpenSSH's atomic ``posix-rename``, and every call borrows a live
connection from :class:`~storekit_sftp.connection.SftpPool`, so a server
restart between calls costs one reconnect instead of a dead file system.
"""

from __future__ import annotations

import errno
import logging
import posixpath
import stat
from typing import Any, Optional

import paramiko
from fsspec import AbstractFileSystem

from .connection import SftpConnection, SftpPool, dead_connection_or

__all__ = ["PooledSftpFileSystem", "PooledSftpFile"]

logger = logging.getLogger(__name__)


#: Bytes per SFTP read request (paramiko's maximum).
_REQUEST = 32768


def _pipelined_read(fh: paramiko.SFTPFile, offset: int, size: int) -> bytes:
    """``size`` bytes at ``offset``, fetched as concurrent 32 KiB requests (one ``readv``)."""
    chunks = [(pos, min(_REQUEST, offset + size - pos)) for pos in range(offset, offset + size, _REQUEST)]
    return b"".join(fh.readv(chunks))


def _entry(path: str, attr: paramiko.SFTPAttributes) -> dict[str, Any]:
    is_dir = stat.S_ISDIR(attr.st_mode or 0)
    return {
        "name": path,
        "type": "directory" if is_dir else "file",
        "size": 0 if is_dir else int(attr.st_size or 0),
        "mtime": attr.st_mtime,
    }


class PooledSftpFile:
    """A remote file opened through the pool; holds its connection until closed.

    Binary only.  ``read(n)`` fetches ``n`` bytes with pipelined requests;
    ``write`` pipelines; ``close`` waits for the server's acknowledgements.
    """

    def __init__(self, pool: SftpPool, path: str, mode: str) -> None:
        self._pool = pool
        self.path = path
        self.mode = mode
        self.closed = False
        conn = pool.acquire()
        self._conn: Optional[SftpConnection] = conn
        try:
            self._fh = conn.sftp.open(path, mode)
            if "w" in mode or "a" in mode:
                self._fh.set_pipelined(True)
                self._size = 0
            else:
                self._size = int(self._fh.stat().st_size or 0)
        except BaseException as exc:
            self._release(exc)
            raise dead_connection_or(exc, conn)
        self._pos = 0

    def _release(self, failed: Optional[BaseException] = None) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            self._pool.release(conn, failed)

    def _guard(self, exc: BaseException) -> BaseException:
        conn = self._conn
        self.discard()
        return dead_connection_or(exc, conn) if conn is not None else exc

    def write(self, data: bytes) -> int:
        """Queue ``data`` for writing (pipelined)."""
        try:
            self._fh.write(data)
        except Exception as exc:
            raise self._guard(exc)
        self._pos += len(data)
        return len(data)

    def read(self, size: int = -1) -> bytes:
        """Read up to ``size`` bytes (all that is left for -1) with pipelined requests."""
        remaining = self._size - self._pos
        if size is None or size < 0 or size > remaining:
            size = remaining
        if size <= 0:
            return b""
        try:
            data = _pipelined_read(self._fh, self._pos, size)
        except Exception as exc:
            raise self._guard(exc)
        self._pos += len(data)
        return data

    def tell(self) -> int:
        """Current position."""
        return self._pos

    def close(self) -> None:
        """Flush, wait for acknowledgements, give the connection back."""
        if self.closed:
            return
        try:
            self._fh.close()
        except Exception as exc:
            raise self._guard(exc)
        self.closed = True
        self._release()

    def discard(self) -> None:
        """Close without caring whether pending writes landed (after a failure)."""
        if self.closed:
            return
        self.closed = True
        conn = self._conn
        try:
            if conn is not None and conn.alive:
                self._fh.close()
        except Exception as exc:
            self._release(exc)
            return
        self._release(ConnectionError("discarded") if conn is not None and not conn.alive else None)

    def __enter__(self) -> "PooledSftpFile":
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc is None:
            self.close()
        else:
            self.discard()


class PooledSftpFileSystem(AbstractFileSystem):
    """The fsspec file system of one SFTP server, over :class:`SftpPool`."""

    protocol = ("sftp",)
    cachable = False  # instances hold credentials: never keep them in fsspec's global cache

    def __init__(self, pool: SftpPool, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.pool = pool

    def __repr__(self) -> str:
        return f"PooledSftpFileSystem({self.pool.settings.address!r})"

    @classmethod
    def _strip_protocol(cls, path: Any) -> str:
        return str(path)

    def _call(self, fn: Any) -> Any:
        with self.pool.sftp() as sftp:
            return fn(sftp)

    # --- metadata -------------------------------------------------------------
    def info(self, path: str, **kwargs: Any) -> dict[str, Any]:
        """Type and size of ``path``; FileNotFoundError if missing."""
        return _entry(path, self._call(lambda s: s.stat(path)))

    def ls(self, path: str, detail: bool = True, **kwargs: Any) -> list[Any]:
        """Children of a directory (or the file itself), sorted by name."""

        def listing(sftp: paramiko.SFTPClient) -> list[dict[str, Any]]:
            attr = sftp.stat(path)
            if not stat.S_ISDIR(attr.st_mode or 0):
                return [_entry(path, attr)]
            base = path.rstrip("/")
            return [_entry(f"{base}/{a.filename}", a) for a in sftp.listdir_attr(path)]

        entries = sorted(self._call(listing), key=lambda e: e["name"])
        return entries if detail else [e["name"] for e in entries]

    def find(
        self, path: str, maxdepth: Optional[int] = None, withdirs: bool = False, detail: bool = False, **kwargs: Any
    ) -> Any:
        """Every file under ``path`` (recursively), walked on one connection."""

        def walk(sftp: paramiko.SFTPClient) -> dict[str, dict[str, Any]]:
            found: dict[str, dict[str, Any]] = {}
            attr = sftp.stat(path)
            if not stat.S_ISDIR(attr.st_mode or 0):
                return {path: _entry(path, attr)}
            stack = [path.rstrip("/")]
            while stack:
                current = stack.pop()
                for a in sftp.listdir_attr(current):
                    full = f"{current}/{a.filename}"
                    entry = _entry(full, a)
                    if entry["type"] == "directory":
                        stack.append(full)
                        if withdirs:
                            found[full] = entry
                    else:
                        found[full] = entry
            return found

        found = dict(sorted(self._call(walk).items()))
        return found if detail else list(found)

    # --- directories -----------------------------------------------------------
    def makedirs(self, path: str, exist_ok: bool = False) -> None:
        """Create ``path`` and its missing parents."""

        def mk(sftp: paramiko.SFTPClient) -> None:
            missing: list[str] = []
            probe = path.rstrip("/")
            while probe and probe not in ("/", "."):
                try:
                    attr = sftp.stat(probe)
                except FileNotFoundError:
                    missing.append(probe)
                    probe = posixpath.dirname(probe)
                    continue
                if not stat.S_ISDIR(attr.st_mode or 0):
                    raise NotADirectoryError(errno.ENOTDIR, f"{probe} is not a directory")
                if probe == path.rstrip("/") and not exist_ok:
                    raise FileExistsError(errno.EEXIST, f"{path} exists")
                break
            for directory in reversed(missing):
                try:
                    sftp.mkdir(directory)
                except OSError:
                    # created meanwhile by a parallel upload?
                    if not stat.S_ISDIR(sftp.stat(directory).st_mode or 0):
                        raise

        self._call(mk)

    def mkdir(self, path: str, create_parents: bool = True, **kwargs: Any) -> None:
        """Create a directory (and its parents)."""
        self.makedirs(path, exist_ok=True)

    # --- files --------------------------------------------------------------------
    def _open(
        self,
        path: str,
        mode: str = "rb",
        block_size: Any = None,
        autocommit: bool = True,
        cache_options: Any = None,
        **kwargs: Any,
    ) -> PooledSftpFile:
        return PooledSftpFile(self.pool, path, mode.replace("t", ""))

    def open(self, path: str, mode: str = "rb", block_size: Any = None, **kwargs: Any) -> PooledSftpFile:
        """Open a binary remote file (``rb``, ``wb`` or ``ab``)."""
        if "b" not in mode:
            raise ValueError("PooledSftpFileSystem opens files in binary mode only")
        return self._open(path, mode)

    def pipe_file(self, path: str, value: bytes, mode: str = "overwrite", **kwargs: Any) -> None:
        """Write ``value`` as the whole content of ``path`` (one pipelined write)."""

        def put(sftp: paramiko.SFTPClient) -> None:
            with sftp.open(path, "wb") as fh:
                fh.set_pipelined(True)
                fh.write(value)

        self._call(put)

    def cat_file(self, path: str, start: Optional[int] = None, end: Optional[int] = None, **kwargs: Any) -> bytes:
        """The content of ``path`` (prefetched in parallel requests)."""

        def get(sftp: paramiko.SFTPClient) -> bytes:
            with sftp.open(path, "rb") as fh:
                size = int(fh.stat().st_size or 0)
                lo = start or 0
                hi = size if end is None else min(end, size)
                if hi <= lo:
                    return b""
                return _pipelined_read(fh, lo, hi - lo)

        return self._call(get)

    def mv(self, path1: str, path2: str, **kwargs: Any) -> None:
        """Atomically rename ``path1`` onto ``path2`` (replacing it), with OpenSSH's posix-rename."""

        def rename(sftp: paramiko.SFTPClient) -> None:
            try:
                sftp.posix_rename(path1, path2)
            except OSError as exc:
                if "unsupported" not in str(exc).lower() and exc.errno not in (errno.EOPNOTSUPP, errno.ENOSYS):
                    raise
                # servers without the posix-rename extension: plain rename cannot replace
                logger.warning("sftp server lacks posix-rename; replacing %s non-atomically", path2)
                try:
                    sftp.remove(path2)
                except FileNotFoundError:
                    pass
                sftp.rename(path1, path2)

        self._call(rename)

    def rm_file(self, path: str) -> None:
        """Remove one file."""
        self._call(lambda s: s.remove(path))

    def rm(self, path: Any, recursive: bool = False, maxdepth: Optional[int] = None) -> None:
        """Remove a file, or a directory tree when ``recursive``."""

        def remove(sftp: paramiko.SFTPClient) -> None:
            attr = sftp.stat(path)
            if not stat.S_ISDIR(attr.st_mode or 0):
                sftp.remove(path)
                return
            if not recursive:
                raise IsADirectoryError(errno.EISDIR, f"{path} is a directory")
            # depth first: children before their directory
            order: list[tuple[str, bool]] = []
            stack = [path.rstrip("/")]
            while stack:
                current = stack.pop()
                order.append((current, True))
                for a in sftp.listdir_attr(current):
                    full = f"{current}/{a.filename}"
                    if stat.S_ISDIR(a.st_mode or 0):
                        stack.append(full)
                    else:
                        order.append((full, False))
            for name, is_dir in reversed(order):
                try:
                    sftp.rmdir(name) if is_dir else sftp.remove(name)
                except FileNotFoundError:
                    pass

        self._call(remove)

    def invalidate_cache(self, path: Optional[str] = None) -> None:
        """Nothing is cached."""
