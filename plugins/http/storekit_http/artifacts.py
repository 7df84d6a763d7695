"""``HttpArtifactRepository``: files through a tracking server's artifact proxy.

The repository's URI is the proxy URL of its root,
``http(s)://host[:port][/prefix]/api/2.0/mlflow-artifacts/artifacts/<root>``; the
tracking store hands runs out with such URIs in place of the server's
``mlflow-artifacts:`` URIs.  Uploads (``PUT``) and downloads (``GET``) are
streamed in 1 MiB chunks, so memory stays bounded whatever the file size.
A download goes to a temporary file first and is renamed into place.
"""

from __future__ import annotations

import os
import posixpath
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Iterator, Optional
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import httpx

from storekit.artifacts.localfs import walk_local_dir
from storekit.artifacts.translate import IncompleteTransferError
from storekit.entities import FileInfo
from storekit.errors import ArtifactNotFound, InvalidParameterError
from storekit.interfaces import ArtifactRepository, Capability
from storekit.uri import redact_uri
from storekit.validation import validate_artifact_path

from .session import ARTIFACTS_PREFIX, HttpClient
from .settings import HttpSettings, split_server_uri

__all__ = ["HttpArtifactRepository", "CHUNK_SIZE"]

#: Bytes per streamed chunk.
CHUNK_SIZE = 1024 * 1024
_UPLOAD_THREADS = 4


def _file_chunks(path: str) -> Iterator[bytes]:
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK_SIZE):
            yield chunk


class HttpArtifactRepository(ArtifactRepository):
    """Artifacts under one root of a tracking server's ``mlflow-artifacts`` proxy."""

    capabilities = frozenset(
        {
            Capability.DELETE_ARTIFACTS,
            Capability.DURABLE,
            Capability.CONCURRENT_WRITERS,
            Capability.MULTIPROCESS_WRITERS,
        }
    )

    def __init__(self, artifact_uri: str, settings: Optional[HttpSettings] = None, **_options: Any) -> None:
        super().__init__(artifact_uri)
        server_uri, root = self._split(artifact_uri)
        base, user, password = split_server_uri(server_uri)
        self.http = HttpClient(base, settings or HttpSettings.from_env(uri_user=user, uri_password=password))
        self._endpoint = f"{base}{ARTIFACTS_PREFIX}"
        self._root = root

    @staticmethod
    def _split(uri: str) -> tuple[str, str]:
        """``(server URI, root path)`` of a proxy URI."""
        parts = urlsplit(uri)
        path = parts.path
        index = path.find(ARTIFACTS_PREFIX)
        if index < 0 or (len(path) > index + len(ARTIFACTS_PREFIX) and path[index + len(ARTIFACTS_PREFIX)] != "/"):
            raise InvalidParameterError(
                f"artifact_uri: {redact_uri(uri)!r} is not a tracking server's artifact proxy URI "
                f"(http(s)://host{ARTIFACTS_PREFIX}/<path>)"
            )
        server = urlunsplit((parts.scheme, parts.netloc, path[:index], "", ""))
        root = unquote(path[index + len(ARTIFACTS_PREFIX) :]).strip("/")
        return server, root

    def close(self) -> None:
        """Close the pooled HTTP connections."""
        self.http.close()

    # -- paths ------------------------------------------------------------------
    def _rel(self, path: Optional[str]) -> str:
        if path is None or path in ("", "."):
            return ""
        return validate_artifact_path(path).strip("/")

    def _full(self, rel: str) -> str:
        return posixpath.join(self._root, rel) if rel else self._root

    def _url(self, rel: str) -> str:
        return f"{self._endpoint}/{quote(self._full(rel), safe='/')}"

    # -- writes -------------------------------------------------------------------
    def _put(self, local_file: str, rel: str) -> None:
        size = os.path.getsize(local_file)
        self.http.send_factory(
            "PUT",
            self._url(rel),
            lambda: {
                "content": _file_chunks(local_file),
                "headers": {"Content-Length": str(size), "Content-Type": "application/octet-stream"},
            },
            idempotent=True,  # the same bytes to the same path: a retry cannot duplicate anything
        ).close()

    def log_artifact(self, local_file: "str | os.PathLike[str]", artifact_path: Optional[str] = None) -> None:
        """Upload one file (streamed) into ``artifact_path``."""
        local = os.fspath(local_file)
        if not os.path.isfile(local):
            raise InvalidParameterError(f"local_file: {local!r} is not a file")
        directory = self._rel(artifact_path)
        self._put(local, posixpath.join(directory, os.path.basename(local)) if directory else os.path.basename(local))

    def log_artifacts(self, local_dir: "str | os.PathLike[str]", artifact_path: Optional[str] = None) -> None:
        """Upload a directory tree (a few files at a time).

        The tree is walked by storekit's shared walker: symbolic links that lead outside
        ``local_dir`` (or nowhere) are refused before anything is uploaded.
        """
        root = os.fspath(local_dir)
        if not os.path.isdir(root):
            raise InvalidParameterError(f"local_dir: {root!r} is not a directory")
        directory = self._rel(artifact_path)
        jobs = [
            (f.path, self._rel("/".join(p for p in (directory, f.relpath) if p)))
            for f in walk_local_dir(root, refuse_outside_links=True)
        ]
        if len(jobs) <= 1:
            for local, rel in jobs:
                self._put(local, rel)
            return
        with ThreadPoolExecutor(max_workers=_UPLOAD_THREADS) as pool:
            for future in [pool.submit(self._put, local, rel) for local, rel in jobs]:
                future.result()

    def delete_artifacts(self, artifact_path: Optional[str] = None) -> None:
        """Delete a file or a tree (the whole root when ``artifact_path`` is None)."""
        rel = self._rel(artifact_path)
        self.http.send("DELETE", self._url(rel), idempotent=True, not_found=ArtifactNotFound).close()

    # -- reads --------------------------------------------------------------------
    def list_artifacts(self, path: Optional[str] = None) -> list[FileInfo]:
        """Direct children of ``path``, sorted by path."""
        rel = self._rel(path)
        params = {"path": self._full(rel)} if self._full(rel) else {}
        response = self.http.send("GET", self._endpoint, idempotent=True, not_found=ArtifactNotFound, params=params)
        files = response.json().get("files") or ()
        infos = []
        for f in files:
            name = str(f["path"]).rsplit("/", 1)[-1]
            is_dir = bool(f.get("is_dir", False))
            size = None if is_dir else int(f.get("file_size", 0) or 0)
            infos.append(FileInfo(posixpath.join(rel, name) if rel else name, is_dir, size))
        return sorted(infos, key=lambda i: i.path)

    def _download_file(self, rel: str, dst: Path, listed_size: Optional[int] = None) -> None:
        """Stream one file to ``dst`` through a temporary file.

        Fewer (or more) bytes than the listing said, or than the answer's
        ``Content-Length`` declared, or a body that breaks off, is an
        :class:`~storekit.artifacts.translate.IncompleteTransferError`: never a
        short file reported as success.
        """
        dst.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=dst.parent, prefix=f".{dst.name}.", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as out, self.http.stream("GET", self._url(rel), not_found=ArtifactNotFound) as r:
                expected = listed_size
                declared = r.headers.get("Content-Length", "")
                if expected is None and declared.isdigit() and not r.headers.get("Content-Encoding"):
                    expected = int(declared)
                received = 0
                try:
                    for chunk in r.iter_bytes(CHUNK_SIZE):
                        out.write(chunk)
                        received += len(chunk)
                except httpx.TransportError as exc:
                    raise IncompleteTransferError(
                        f"artifact {rel!r}: the download broke off after {received} bytes ({type(exc).__name__})"
                    ) from None
                if expected is not None and received != expected:
                    raise IncompleteTransferError(f"artifact {rel!r}: {received} bytes received, {expected} expected")
            os.replace(tmp, dst)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise

    def download_artifacts(self, artifact_path: str, dst_path: "Optional[str | os.PathLike[str]]" = None) -> str:
        """Download a file or a tree (streamed); returns the local path."""
        rel = self._rel(artifact_path)
        base = Path(os.fspath(dst_path)) if dst_path is not None else Path(tempfile.mkdtemp(prefix="storekit-http-"))
        entries = self.list_artifacts(rel) if rel else self.list_artifacts(None)
        if not rel or entries:
            target = base / rel if rel else base
            target.mkdir(parents=True, exist_ok=True)
            self._download_tree(rel, entries, base)
            return str(target)
        target = base / rel
        self._download_file(rel, target)
        return str(target)

    def _download_tree(self, rel: str, entries: list[FileInfo], base: Path) -> None:
        files: list[tuple[str, Optional[int]]] = []
        stack = [entries]
        while stack:
            for entry in stack.pop():
                if entry.is_dir:
                    (base / entry.path).mkdir(parents=True, exist_ok=True)
                    stack.append(self.list_artifacts(entry.path))
                else:
                    files.append((entry.path, entry.file_size))
        if len(files) <= 1:
            for f, size in files:
                self._download_file(f, base / f, size)
            return
        with ThreadPoolExecutor(max_workers=_UPLOAD_THREADS) as pool:
            for future in [pool.submit(self._download_file, f, base / f, size) for f, size in files]:
                future.result()
