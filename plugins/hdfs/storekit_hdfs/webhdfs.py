"""fsspec's WebHDFS client, with Hadoop's errors kept typed and two WebHDFS specifics.

* :meth:`StorekitWebHDFS._call` maps Hadoop ``RemoteException`` names to Python
  exceptions (``FileNotFoundException`` -> ``FileNotFoundError``,
  ``AccessControlException`` -> ``PermissionError``, ...) and marks the
  retriable ones (``RetriableException``, ``StandbyException``, HTTP 5xx,
  connection failures) as :class:`WebHdfsUnavailable`, a ``ConnectionError``.
* :meth:`~StorekitWebHDFS.replace` renames with ``renameoptions=OVERWRITE``,
  which HDFS performs atomically, and checks the returned boolean (a plain
  WebHDFS ``RENAME`` onto an existing file silently returns ``false``).
* :meth:`~StorekitWebHDFS.pipe_file` writes a small file in one ``CREATE``
  (namenode redirect + one datanode PUT) instead of CREATE + APPEND.
"""

from __future__ import annotations

import logging
import re
from typing import Any, Optional
from urllib.parse import quote

import requests
from fsspec.implementations.webhdfs import WebHDFile, WebHDFS

from storekit.artifacts.translate import scrub

__all__ = ["StorekitWebHDFS", "StorekitWebHDFile", "WebHdfsUnavailable", "WebHdfsRemoteError"]

_RETRIABLE = {"RetriableException", "StandbyException", "SafeModeException", "ConnectTimeoutException"}


_DELEGATION = re.compile(r"(delegation=)[^&\s'\"]+")


class _RedactDelegation(logging.Filter):
    """Masks ``delegation=`` tokens in urllib3's request log lines."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args and any("delegation=" in str(a) for a in record.args):
            record.args = tuple(_DELEGATION.sub(r"\1***", str(a)) for a in record.args)
        if "delegation=" in str(record.msg):
            record.msg = _DELEGATION.sub(r"\1***", str(record.msg))
        return True


def redact_delegation_in_logs() -> None:
    """Install (once) the filter that keeps delegation tokens out of urllib3's debug log."""
    logger = logging.getLogger("urllib3.connectionpool")
    if not any(isinstance(f, _RedactDelegation) for f in logger.filters):
        logger.addFilter(_RedactDelegation())


class WebHdfsUnavailable(ConnectionError):
    """The namenode or a datanode is unreachable or asked to retry later."""


class WebHdfsRemoteError(RuntimeError):
    """A Hadoop ``RemoteException`` with no closer Python equivalent."""


def raise_for_hadoop(response: requests.Response) -> None:
    """Raise the Python error for a failed WebHDFS response (nothing for 2xx/3xx)."""
    if response.status_code < 400:
        return
    exception, message = "", response.reason or ""
    try:
        remote = response.json()["RemoteException"]
        exception, message = str(remote.get("exception", "")), str(remote.get("message", ""))
    except (ValueError, KeyError, TypeError):
        pass
    text = f"{exception}: {message}" if exception else f"HTTP {response.status_code} {message}"
    if exception in _RETRIABLE or response.status_code >= 500 and exception not in ("FileNotFoundException",):
        raise WebHdfsUnavailable(text)
    if exception == "FileNotFoundException" or (not exception and response.status_code == 404):
        raise FileNotFoundError(text)
    if (
        exception in ("AccessControlException", "SecurityException", "AuthorizationException")
        or response.status_code == 401
    ):
        raise PermissionError(text)
    if exception == "FileAlreadyExistsException":
        raise FileExistsError(text)
    if exception in ("ParentNotDirectoryException",):
        raise NotADirectoryError(text)
    if exception in ("IllegalArgumentException", "UnsupportedOperationException", "InvalidPathException"):
        raise ValueError(text)
    raise WebHdfsRemoteError(text)


class StorekitWebHDFS(WebHDFS):
    """fsspec's ``WebHDFS`` with typed Hadoop errors, atomic replace and one-shot small writes."""

    cachable = False  # instances hold credentials: keep them out of fsspec's global cache

    def __repr__(self) -> str:
        return f"StorekitWebHDFS({self.url!r})"

    def _call(
        self,
        op: str,
        method: str = "get",
        path: Optional[str] = None,
        data: Any = None,
        redirect: bool = True,
        **kwargs: Any,
    ) -> requests.Response:
        """One WebHDFS request; follows a datanode redirect unless ``redirect`` is False."""
        path = self._strip_protocol(path) if path is not None else ""
        url = self._apply_proxy(self.url + quote(path, safe="/="))
        params = {**kwargs, **self.pars, "op": op.upper()}
        try:
            out = self.session.request(
                method.upper(), url, params=params, data=None if redirect else data, allow_redirects=False
            )
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise self._unavailable(op, exc) from None
        raise_for_hadoop(out)
        if redirect and out.status_code in (301, 302, 303, 307, 308) and "Location" in out.headers:
            return self._datanode(method, out.headers["Location"], data)
        return out

    def _unavailable(self, what: str, exc: BaseException) -> WebHdfsUnavailable:
        """A connection failure, described without the URL's delegation token or the password."""
        text = scrub(str(exc), (self.pars.get("delegation"), self.password))
        text = _DELEGATION.sub(r"\1***", text)
        return WebHdfsUnavailable(f"{what}: {type(exc).__name__}: {text[:300]}")

    def _open(
        self,
        path: str,
        mode: str = "rb",
        block_size: Optional[int] = None,
        autocommit: bool = True,
        replication: Optional[int] = None,
        permissions: Optional[int] = None,
        **kwargs: Any,
    ) -> "StorekitWebHDFile":
        return StorekitWebHDFile(
            self,
            path,
            mode=mode,
            block_size=block_size or self.blocksize,
            tempdir=self.tempdir,
            autocommit=autocommit,
            replication=replication,
            permissions=permissions,
        )

    def _datanode(self, method: str, location: str, data: Any = None) -> requests.Response:
        """Follow a namenode redirect to the datanode, with typed errors."""
        try:
            out = self.session.request(
                method.upper(),
                self._apply_proxy(location),
                data=data,
                headers={"content-type": "application/octet-stream"},
            )
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise self._unavailable("datanode transfer", exc) from None
        raise_for_hadoop(out)
        return out

    def pipe_file(self, path: str, value: bytes, mode: str = "overwrite", **kwargs: Any) -> None:
        """Write ``value`` as the whole of ``path`` in one CREATE."""
        self._call("CREATE", "put", path, data=value, overwrite="true")

    def replace(self, src: str, dst: str) -> None:
        """Atomically rename ``src`` onto ``dst``, replacing an existing file."""
        out = self._call("RENAME", "put", path=src, destination=dst, renameoptions="OVERWRITE")
        if not out.json().get("boolean", False):
            raise WebHdfsRemoteError(f"RENAME {src} -> {dst} was refused by the namenode")

    def rm(self, path: str, recursive: bool = False, **kwargs: Any) -> None:
        """Delete ``path``; FileNotFoundError when it did not exist."""
        out = self._call("DELETE", "delete", path=path, recursive="true" if recursive else "false")
        if not out.json().get("boolean", False):
            raise FileNotFoundError(f"{path} does not exist")


class StorekitWebHDFile(WebHDFile):
    """fsspec's WebHDFS file, with every datanode response checked and errors typed."""

    fs: StorekitWebHDFS

    def _initiate_upload(self) -> None:
        op, method = ("APPEND", "post") if "a" in self.mode else ("CREATE", "put")
        extra = {} if "a" in self.mode else {"overwrite": "true"}
        out = self.fs._call(op, method, self.path, redirect=False, **self.kwargs, **extra)
        if "w" in self.mode:
            # create the (empty) file, then append each block to it
            self.fs._datanode("put", out.headers["Location"])
            out = self.fs._call("APPEND", "post", self.path, redirect=False, **self.kwargs)
        self.location = out.headers["Location"]

    def _upload_chunk(self, final: bool = False) -> bool:
        self.fs._datanode("post", self.location, self.buffer.getvalue())
        return True

    def _fetch_range(self, start: int, end: int) -> bytes:
        start = max(start, 0)
        end = min(self.size, end)
        if start >= end:
            return b""
        return self.fs._call("OPEN", path=self.path, offset=start, length=end - start).content
