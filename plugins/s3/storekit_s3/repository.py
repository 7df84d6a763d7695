"""The S3 artifact repository: URI parsing, credentials and S3 specifics only.

Everything else (atomicity, streaming, parallelism, retries, progress, path
checks, error translation) comes from
:class:`storekit.artifacts.fsspec_repository.FsspecArtifactRepository`.

* Uploads go straight to the final key: a single PUT and a completed
  multipart upload are atomic on S3, and a failed multipart upload is
  aborted, never completed.
* Credentials: the standard AWS chain (environment, shared config and
  credentials files, SSO, instance and container roles), or ``key``/
  ``secret``/``token`` keyword arguments.
* Endpoint: ``endpoint_url=``, else ``STOREKIT_S3_ENDPOINT_URL``, else
  ``AWS_ENDPOINT_URL`` (MinIO, Ceph, moto ...).
* Timeouts: ``STOREKIT_S3_CONNECT_TIMEOUT`` (default 5 s) and
  ``STOREKIT_S3_READ_TIMEOUT`` (default 60 s).
"""

from __future__ import annotations

import os
from typing import Any, ClassVar, Iterable, Optional
from urllib.parse import urlsplit

from storekit.artifacts.fsspec_repository import FsspecArtifactRepository
from storekit.envvars import env_float
from storekit.errors import BackendUnavailableError, InvalidParameterError, StorekitError
from storekit.interfaces import Capability
from storekit.uri import redact_uri

__all__ = ["S3ArtifactRepository", "parse_s3_uri"]

# S3 error codes that say "try again later"
_TRANSIENT_CODES = {
    "InternalError",
    "ServiceUnavailable",
    "SlowDown",
    "RequestTimeout",
    "RequestTimeTooSkewed",
    "503",
    "500",
}
#: Parts of one large file transferred at once.
_PART_CONCURRENCY = 4
_CREDENTIAL_CODES = {
    "AccessDenied",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "InvalidToken",
}


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/prefix`` -> ``(bucket, prefix)``; InvalidParameterError if malformed."""
    parts = urlsplit(uri)
    if parts.scheme.lower() != "s3" or not parts.netloc:
        raise InvalidParameterError(f"artifact_uri {redact_uri(uri)!r}: expected s3://<bucket>/<prefix>")
    if parts.query or parts.fragment:
        raise InvalidParameterError(f"artifact_uri {redact_uri(uri)!r}: query strings and fragments are not supported")
    return parts.netloc, parts.path.strip("/")


class S3ArtifactRepository(FsspecArtifactRepository):
    """Artifacts under ``s3://bucket/prefix`` (capability DELETE_ARTIFACTS).

    Keyword options: ``endpoint_url``, ``key``, ``secret``, ``token``,
    ``region_name``, plus the base options (``retries``, ``max_workers``,
    ``chunk_size`` - the multipart part size, at least 5 MiB -, ``progress``,
    ``storage_options`` passed on to ``s3fs.S3FileSystem``).
    """

    capabilities: ClassVar[frozenset[Capability]] = frozenset({Capability.DELETE_ARTIFACTS})
    atomic_put: ClassVar[bool] = True
    needs_directories: ClassVar[bool] = False

    def __init__(
        self,
        artifact_uri: str,
        *,
        endpoint_url: Optional[str] = None,
        key: Optional[str] = None,
        secret: Optional[str] = None,
        token: Optional[str] = None,
        region_name: Optional[str] = None,
        **options: Any,
    ) -> None:
        self.bucket, self.prefix = parse_s3_uri(artifact_uri)
        self.endpoint_url = (
            endpoint_url or os.environ.get("STOREKIT_S3_ENDPOINT_URL") or os.environ.get("AWS_ENDPOINT_URL") or None
        )
        self._key = key
        self._secret = secret
        self._token = token
        self.region_name = region_name
        super().__init__(artifact_uri, **options)

    # ---------------------------------------------------------------- hooks
    def _root_path(self) -> str:
        return f"{self.bucket}/{self.prefix}" if self.prefix else self.bucket

    def _make_filesystem(self) -> Any:
        import s3fs

        client_kwargs: dict[str, Any] = {}
        if self.region_name:
            client_kwargs["region_name"] = self.region_name
        config_kwargs = {
            "connect_timeout": env_float("STOREKIT_S3_CONNECT_TIMEOUT", 5.0, minimum=0, unit="seconds"),
            "read_timeout": env_float("STOREKIT_S3_READ_TIMEOUT", 60.0, minimum=0, unit="seconds"),
            # storekit retries whole transfers; botocore retries each request once more
            "retries": {"max_attempts": 2, "mode": "standard"},
            "max_pool_connections": max(10, self.max_workers * 2),
        }
        options: dict[str, Any] = dict(self.storage_options)
        fs = s3fs.S3FileSystem(
            endpoint_url=self.endpoint_url,
            key=self._key,
            secret=self._secret,
            token=self._token,
            client_kwargs={**client_kwargs, **options.pop("client_kwargs", {})},
            config_kwargs={**config_kwargs, **options.pop("config_kwargs", {})},
            skip_instance_cache=True,
            use_listings_cache=False,
            # ranged parts of one large download in flight at once: memory is
            # bounded by part size x this (s3fs's default, 50 MiB x 10, is not)
            default_block_size=self.chunk_size,
            max_concurrency=_PART_CONCURRENCY,
            **options,
        )
        fs.retries = 2  # s3fs's own loop around each call; the base class does the rest
        return fs

    def _secrets(self) -> Iterable[Optional[str]]:
        return (
            self._secret,
            self._token,
            os.environ.get("AWS_SECRET_ACCESS_KEY"),
            os.environ.get("AWS_SESSION_TOKEN"),
            self.storage_options.get("secret"),
            self.storage_options.get("token"),
        )

    def _is_transient(self, exc: BaseException) -> bool:
        if super()._is_transient(exc):
            return True
        try:
            from botocore import exceptions as bx
        except ImportError:  # pragma: no cover - botocore comes with s3fs
            return False
        if isinstance(exc, (bx.ConnectionError, bx.HTTPClientError, bx.ReadTimeoutError, bx.IncompleteReadError)):
            return True
        if isinstance(exc, bx.ClientError):
            return str(exc.response.get("Error", {}).get("Code")) in _TRANSIENT_CODES
        cause = exc.__cause__ or exc.__context__
        if cause is not None and cause is not exc and isinstance(cause, bx.BotoCoreError):
            return self._is_transient(cause)
        text = str(exc)
        return any(code in text for code in ("SlowDown", "ServiceUnavailable", "InternalError"))

    def _translate(self, exc: BaseException, path: str, operation: str) -> StorekitError:
        try:
            from botocore import exceptions as bx
        except ImportError:  # pragma: no cover
            bx = None
        if bx is not None:
            if isinstance(exc, (bx.NoCredentialsError, bx.PartialCredentialsError)):
                return BackendUnavailableError(
                    f"no usable AWS credentials for {redact_uri(self.artifact_uri)} "
                    f"(set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, a profile or a role)"
                )
            code = ""
            if isinstance(exc, bx.ClientError):
                code = str(exc.response.get("Error", {}).get("Code"))
            if code in _CREDENTIAL_CODES:
                return BackendUnavailableError(
                    f"S3 refused the credentials ({code}) while trying to {operation} "
                    f"{path!r} under {redact_uri(self.artifact_uri)}"
                )
            if code == "NoSuchBucket":
                from storekit.errors import ArtifactNotFound

                return ArtifactNotFound(
                    f"artifact {path!r} under {redact_uri(self.artifact_uri)}: bucket {self.bucket!r} does not exist"
                )
        return super()._translate(exc, path, operation)

    def __repr__(self) -> str:
        endpoint = f", endpoint_url={self.endpoint_url!r}" if self.endpoint_url else ""
        return f"{type(self).__name__}({redact_uri(self.artifact_uri)!r}{endpoint})"
