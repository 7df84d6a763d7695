"""HDFS artifact repositories: ``webhdfs://``/``swebhdfs://`` over HTTP, ``hdfs://``/``viewfs://`` native."""

from __future__ import annotations

import contextlib
import os
import posixpath
import uuid
import warnings
from typing import Any, ClassVar, Iterable, Optional
from urllib.parse import unquote, urlsplit

from storekit.artifacts.fsspec_repository import FsspecArtifactRepository
from storekit.errors import InvalidParameterError
from storekit.interfaces import STOREKIT_API, Capability
from storekit.uri import redact_uri

from .native import make_native_filesystem
from .webhdfs import StorekitWebHDFS, WebHdfsUnavailable, redact_delegation_in_logs

__all__ = ["WebHdfsArtifactRepository", "HdfsArtifactRepository", "InsecureWebHdfsWarning"]


class InsecureWebHdfsWarning(UserWarning):
    """A WebHDFS password or delegation token is about to travel over plain ``http``."""


#: Default namenode HTTP(S) ports of Hadoop 3.
_WEBHDFS_PORTS = {"webhdfs": 9870, "swebhdfs": 9871}


def _split(uri: str, schemes: tuple[str, ...]) -> Any:
    parts = urlsplit(uri)
    if parts.scheme.lower() not in schemes:
        raise InvalidParameterError(f"artifact_uri {redact_uri(uri)!r}: expected a {'/'.join(schemes)}:// URI")
    try:
        parts.port
    except ValueError:
        raise InvalidParameterError(f"artifact_uri {redact_uri(uri)!r}: the port must be 1-65535") from None
    if parts.query or parts.fragment:
        raise InvalidParameterError(
            f"artifact_uri {redact_uri(uri)!r}: takes no query or fragment; pass options as keywords"
        )
    return parts


def _root(parts: Any) -> str:
    return "/" + unquote(parts.path).strip("/")


def _env(name: str) -> Optional[str]:
    return os.environ.get(name) or None


class _HdfsBase(FsspecArtifactRepository):
    storekit_api: ClassVar[int] = STOREKIT_API
    capabilities: ClassVar[frozenset[Capability]] = frozenset({Capability.DELETE_ARTIFACTS})
    atomic_put: ClassVar[bool] = False
    needs_directories: ClassVar[bool] = False  # HDFS creates missing parents on CREATE


class WebHdfsArtifactRepository(_HdfsBase):
    """Artifacts in HDFS through the WebHDFS REST API (``webhdfs://host:port/path``; TLS: ``swebhdfs://``).

    Keywords (environment fallbacks): ``user`` (the URI's user, ``STOREKIT_HDFS_USER``,
    ``HADOOP_USER_NAME``), ``password`` for HTTP basic auth behind a gateway
    (the URI's, ``STOREKIT_WEBHDFS_PASSWORD``), ``token`` a delegation token
    (``STOREKIT_WEBHDFS_TOKEN``), ``kerberos`` (SPNEGO; needs requests-kerberos),
    ``verify`` a CA bundle for swebhdfs (``STOREKIT_WEBHDFS_CA_BUNDLE``),
    ``data_proxy`` (datanode address mapping); plus the base's options.
    Uploads are written under a temporary name and renamed with
    ``renameoptions=OVERWRITE``, which the namenode performs atomically.
    """

    def __init__(
        self,
        artifact_uri: str,
        *,
        user: Optional[str] = None,
        password: Optional[str] = None,
        token: Optional[str] = None,
        kerberos: bool = False,
        verify: "bool | str | None" = None,
        data_proxy: Any = None,
        **options: Any,
    ) -> None:
        parts = _split(artifact_uri, ("webhdfs", "swebhdfs"))
        if not parts.hostname:
            raise InvalidParameterError(f"artifact_uri {redact_uri(artifact_uri)!r}: the namenode host is missing")
        self._https = parts.scheme.lower() == "swebhdfs"
        self._host = parts.hostname
        self._port = parts.port or _WEBHDFS_PORTS[parts.scheme.lower()]
        self._password = (
            password or (unquote(parts.password) if parts.password else None) or _env("STOREKIT_WEBHDFS_PASSWORD")
        )
        self._token = token or _env("STOREKIT_WEBHDFS_TOKEN")
        self._user = (
            user
            or (unquote(parts.username) if parts.username else None)
            or _env("STOREKIT_HDFS_USER")
            or _env("HADOOP_USER_NAME")
        )
        if self._token and (self._user or self._password):
            # a delegation token carries the user; WebHDFS refuses both
            self._user = None
        if self._password and not self._user:
            raise InvalidParameterError("password: WebHDFS basic auth needs a user as well (webhdfs://user@host/...)")
        if not self._https and (self._password or self._token):
            warnings.warn(
                f"webhdfs {self._host}:{self._port}: the "
                f"{'password' if self._password else 'delegation token'} is sent over plain HTTP, "
                "readable by anyone on the network path; use swebhdfs:// (TLS)",
                InsecureWebHdfsWarning,
                stacklevel=2,
            )
        self._kerberos = kerberos
        self._verify = verify if verify is not None else (_env("STOREKIT_WEBHDFS_CA_BUNDLE") or True)
        self._data_proxy = data_proxy
        self._path = _root(parts)
        super().__init__(artifact_uri, **options)

    def _make_filesystem(self) -> StorekitWebHDFS:
        if self._token:
            redact_delegation_in_logs()
        return StorekitWebHDFS(
            self._host,
            port=self._port,
            kerberos=self._kerberos,
            token=self._token,
            user=None if self._kerberos else self._user,
            password=self._password,
            data_proxy=self._data_proxy,
            use_https=self._https,
            session_verify=self._verify,
            skip_instance_cache=True,
        )

    def _root_path(self) -> str:
        return self._path

    def _secrets(self) -> Iterable[Optional[str]]:
        return (self._password, self._token)

    def _is_transient(self, exc: BaseException) -> bool:
        return isinstance(exc, WebHdfsUnavailable) or super()._is_transient(exc)

    def _commit(self, tmp_path: str, final_path: str) -> None:
        self.fs.replace(tmp_path, final_path)

    def close(self) -> None:
        """Close the HTTP session."""
        if self._fs is not None:
            self._fs.session.close()


class HdfsArtifactRepository(_HdfsBase):
    """Artifacts in HDFS through pyarrow's libhdfs (``hdfs://namenode:port/path``, ``viewfs://cluster/path``).

    Needs a JVM and Hadoop's native client (``JAVA_HOME``, ``libhdfs.so`` via
    ``ARROW_LIBHDFS_DIR`` or ``HADOOP_HOME``, Hadoop jars on ``CLASSPATH``);
    without them every operation raises BackendUnavailableError naming what is
    missing.  ``hdfs:///path`` uses the cluster's ``fs.defaultFS``.  Keywords:
    ``user`` (or the URI's, ``STOREKIT_HDFS_USER``, ``HADOOP_USER_NAME``),
    ``kerb_ticket`` (a Kerberos ticket cache path, ``KRB5CCNAME``),
    ``replication`` (default 3), ``extra_conf`` (Hadoop settings); plus the base's.
    """

    def __init__(
        self,
        artifact_uri: str,
        *,
        user: Optional[str] = None,
        kerb_ticket: Optional[str] = None,
        replication: int = 3,
        extra_conf: Optional[dict[str, str]] = None,
        **options: Any,
    ) -> None:
        parts = _split(artifact_uri, ("hdfs", "viewfs"))
        self._scheme = parts.scheme.lower()
        if self._scheme == "viewfs":
            self._host, self._port = f"viewfs://{parts.hostname or ''}", 0
        else:
            self._host, self._port = (parts.hostname or "default"), (parts.port or 0)
        self._user = (
            user
            or (unquote(parts.username) if parts.username else None)
            or _env("STOREKIT_HDFS_USER")
            or _env("HADOOP_USER_NAME")
        )
        self._kerb_ticket = kerb_ticket or _env("KRB5CCNAME")
        self._replication = replication
        self._extra_conf = extra_conf
        self._path = _root(parts)
        super().__init__(artifact_uri, **options)

    def _make_filesystem(self) -> Any:
        return make_native_filesystem(
            self._scheme,
            self._host,
            self._port,
            self._user,
            self._kerb_ticket,
            self._replication,
            self._extra_conf,
            where=redact_uri(self.artifact_uri),
        )

    def _root_path(self) -> str:
        return self._path

    def _commit(self, tmp_path: str, final_path: str) -> None:
        # libhdfs's rename cannot replace: move the old file aside, rename, then drop it;
        # if the rename fails the old file is put back.
        backup = None
        if self.fs.exists(final_path):
            backup = posixpath.join(posixpath.dirname(final_path), f".{uuid.uuid4().hex}.storekit-old")
            self.fs.mv(final_path, backup)
        try:
            self.fs.mv(tmp_path, final_path)
        except BaseException:
            if backup is not None:
                with contextlib.suppress(Exception):
                    self.fs.mv(backup, final_path)
            raise
        if backup is not None:
            with contextlib.suppress(Exception):
                self.fs.rm_file(backup)
