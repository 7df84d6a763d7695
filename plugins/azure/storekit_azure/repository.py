"""The Azure artifact repository: URI parsing, credentials and Azure specifics only.

Everything else (atomicity, streaming, parallelism, retries, progress, path
checks, error translation) comes from
:class:`storekit.artifacts.fsspec_repository.FsspecArtifactRepository`.

* Uploads go straight to the final blob: a single ``Put Blob`` and a
  ``Put Block List`` commit are atomic, and staged blocks of a failed upload
  are never committed (Azure discards them).
* Credentials, first match wins: the ``connection_string`` option or
  ``AZURE_STORAGE_CONNECTION_STRING``; the ``account_key`` option or
  ``AZURE_STORAGE_KEY``; the ``sas_token`` option or
  ``AZURE_STORAGE_SAS_TOKEN``; else ``azure.identity.DefaultAzureCredential``.
* ``endpoint_url`` (or ``STOREKIT_AZURE_ENDPOINT_URL``) points an account key
  or SAS token at another blob endpoint (an emulator, a sovereign cloud).
* ADLS Gen2 (``abfss://``) is reached through its blob endpoint, which every
  hierarchical-namespace account also serves.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, ClassVar, Iterable, Optional
from urllib.parse import unquote, urlsplit

from storekit.artifacts.fsspec_repository import FsspecArtifactRepository
from storekit.envvars import env_int
from storekit.errors import BackendUnavailableError, InvalidParameterError, StorekitError
from storekit.interfaces import Capability
from storekit.uri import redact_uri

__all__ = ["AzureArtifactRepository", "AzureLocation", "parse_azure_uri"]

_SCHEMES = {"wasbs", "wasb", "abfss", "abfs", "az"}
_HOST_SUFFIXES = (".blob.", ".dfs.")


@dataclass(frozen=True)
class AzureLocation:
    """Where a repository lives: account (None for ``az://``), container and path."""

    account: Optional[str]
    container: str
    path: str


def parse_azure_uri(uri: str) -> AzureLocation:
    """Parse a ``wasbs``/``abfss``/``az`` URI; InvalidParameterError if malformed."""
    parts = urlsplit(uri)
    scheme = parts.scheme.lower()
    shown = redact_uri(uri)
    if scheme not in _SCHEMES:
        raise InvalidParameterError(f"artifact_uri {shown!r}: not an Azure URI ({sorted(_SCHEMES)})")
    if parts.query or parts.fragment:
        raise InvalidParameterError(
            f"artifact_uri {shown!r}: query strings (e.g. SAS tokens) do not belong in the URI; "
            "set AZURE_STORAGE_SAS_TOKEN instead"
        )
    path = unquote(parts.path).strip("/")
    if scheme == "az":
        if not parts.netloc or "@" in parts.netloc:
            raise InvalidParameterError(f"artifact_uri {shown!r}: expected az://<container>/<path>")
        return AzureLocation(None, parts.netloc, path)
    container, at, host = parts.netloc.partition("@")
    if not at or not container or not host:
        raise InvalidParameterError(
            f"artifact_uri {shown!r}: expected {scheme}://<container>@<account>.<blob|dfs>.<suffix>/<path>"
        )
    account = host.split(".", 1)[0]
    if not account or not any(s in host for s in _HOST_SUFFIXES):
        raise InvalidParameterError(
            f"artifact_uri {shown!r}: host must be <account>.blob.<suffix> or <account>.dfs.<suffix>"
        )
    return AzureLocation(account, container, path)


def _connection_string_account(connection_string: str) -> Optional[str]:
    for part in connection_string.split(";"):
        key, _, value = part.partition("=")
        if key.strip().lower() == "accountname":
            return value.strip()
    return None


class AzureArtifactRepository(FsspecArtifactRepository):
    """Artifacts in an Azure Blob container (capability DELETE_ARTIFACTS).

    Keyword options: ``connection_string``, ``account_key``, ``sas_token``,
    ``credential`` (any azure-identity credential), ``endpoint_url``, plus the
    base options (``retries``, ``max_workers``, ``chunk_size`` - the block
    size -, ``progress``, ``storage_options`` passed to ``adlfs``).
    """

    capabilities: ClassVar[frozenset[Capability]] = frozenset({Capability.DELETE_ARTIFACTS})
    atomic_put: ClassVar[bool] = True
    needs_directories: ClassVar[bool] = False

    def __init__(
        self,
        artifact_uri: str,
        *,
        connection_string: Optional[str] = None,
        account_key: Optional[str] = None,
        sas_token: Optional[str] = None,
        credential: Any = None,
        endpoint_url: Optional[str] = None,
        **options: Any,
    ) -> None:
        self.location = parse_azure_uri(artifact_uri)
        env = os.environ.get
        self._connection_string = connection_string or env("AZURE_STORAGE_CONNECTION_STRING") or None
        self._account_key = account_key or env("AZURE_STORAGE_KEY") or None
        self._sas_token = sas_token or env("AZURE_STORAGE_SAS_TOKEN") or None
        self._credential = credential
        self.endpoint_url = endpoint_url or env("STOREKIT_AZURE_ENDPOINT_URL") or None
        self.account = (
            self.location.account
            or env("AZURE_STORAGE_ACCOUNT_NAME")
            or env("AZURE_STORAGE_ACCOUNT")
            or (self._connection_string and _connection_string_account(self._connection_string))
            or None
        )
        if self.account is None and not self._connection_string:
            raise InvalidParameterError(
                f"artifact_uri {redact_uri(artifact_uri)!r}: az:// URIs need the account from "
                "AZURE_STORAGE_ACCOUNT_NAME or AZURE_STORAGE_CONNECTION_STRING"
            )
        super().__init__(artifact_uri, **options)

    # ---------------------------------------------------------------- hooks
    def _root_path(self) -> str:
        loc = self.location
        return f"{loc.container}/{loc.path}" if loc.path else loc.container

    def _auth_kwargs(self) -> dict[str, Any]:
        """adlfs keyword arguments for the first credential that is set."""
        if self._credential is not None:
            return {"account_name": self.account, "credential": self._credential}
        if self._connection_string:
            return {"connection_string": self._connection_string}
        if self.endpoint_url and (self._account_key or self._sas_token):
            # adlfs builds https://<account host>; an explicit endpoint goes in a connection string
            secret = (
                f"AccountKey={self._account_key}"
                if self._account_key
                else f"SharedAccessSignature={self._sas_token.lstrip('?')}"  # type: ignore[union-attr]
            )
            proto = urlsplit(self.endpoint_url).scheme or "https"
            return {
                "connection_string": f"DefaultEndpointsProtocol={proto};AccountName={self.account};"
                f"{secret};BlobEndpoint={self.endpoint_url.rstrip('/')};"
            }
        if self._account_key:
            return {"account_name": self.account, "account_key": self._account_key}
        if self._sas_token:
            return {"account_name": self.account, "sas_token": self._sas_token}
        from azure.identity import DefaultAzureCredential

        return {"account_name": self.account, "credential": DefaultAzureCredential()}

    def _client_options(self) -> dict[str, Any]:
        """Azure SDK pipeline options: short SDK retries (the base class retries whole
        transfers with backoff) and the connect/read timeouts."""
        from azure.storage.blob.aio import ExponentialRetry

        return {
            "retry_policy": ExponentialRetry(
                # the SDK annotates these as int but computes with floats
                initial_backoff=0.5,  # type: ignore[arg-type]
                increment_base=1,
                retry_total=1,
                random_jitter_range=0.2,  # type: ignore[arg-type]
            ),
            "connection_timeout": env_int("STOREKIT_AZURE_CONNECT_TIMEOUT", 10, minimum=0, unit="seconds"),
            "read_timeout": env_int("STOREKIT_AZURE_READ_TIMEOUT", 60, minimum=0, unit="seconds"),
        }

    def _make_filesystem(self) -> Any:
        import adlfs
        from azure.storage.blob.aio import BlobServiceClient

        auth = self._auth_kwargs()
        kwargs: dict[str, Any] = {
            "blocksize": self.chunk_size,
            "max_concurrency": 1,  # parallelism is the base class's thread pool
            "skip_instance_cache": True,
            "use_listings_cache": False,
            "assume_container_exists": True,
        }
        kwargs.update(auth)
        kwargs.update(self.storage_options)
        fs = adlfs.AzureBlobFileSystem(**kwargs)
        # adlfs offers no way to pass pipeline options: give it a client that has them
        options = self._client_options()
        if "connection_string" in auth:
            fs.service_client = BlobServiceClient.from_connection_string(auth["connection_string"], **options)
        else:
            credential: Any = auth.get("credential")
            if "account_key" in auth:
                credential = {"account_name": self.account, "account_key": auth["account_key"]}
            elif "sas_token" in auth:
                from azure.core.credentials import AzureSasCredential

                credential = AzureSasCredential(auth["sas_token"].lstrip("?"))
            fs.service_client = BlobServiceClient(
                f"https://{self.account}.blob.core.windows.net", credential=credential, **options
            )
        return fs

    def _secrets(self) -> Iterable[Optional[str]]:
        sas = self._sas_token
        return (
            self._connection_string,
            self._account_key,
            sas,
            sas.lstrip("?") if sas else None,
            os.environ.get("AZURE_STORAGE_CONNECTION_STRING"),
            os.environ.get("AZURE_STORAGE_KEY"),
            os.environ.get("AZURE_STORAGE_SAS_TOKEN"),
            os.environ.get("AZURE_CLIENT_SECRET"),
        )

    def _is_transient(self, exc: BaseException) -> bool:
        if super()._is_transient(exc):
            return True
        try:
            from azure.core import exceptions as ax
        except ImportError:  # pragma: no cover - comes with adlfs
            return False
        if isinstance(exc, (ax.ServiceRequestError, ax.ServiceResponseError, ax.IncompleteReadError)):
            return True  # IncompleteReadError: a short read, an HttpResponseError without a status
        status = getattr(exc, "status_code", None) if isinstance(exc, ax.HttpResponseError) else None
        if status:
            return status >= 500 or status in (408, 429)
        inner = getattr(exc, "inner_exception", None)  # azure-core wraps the transport's error
        if inner is not None and inner is not exc and self._is_transient(inner):
            return True
        cause = exc.__cause__ or exc.__context__
        if cause is not None and cause is not exc and not isinstance(cause, StorekitError):
            return self._is_transient(cause)
        return False

    def _translate(self, exc: BaseException, path: str, operation: str) -> StorekitError:
        try:
            from azure.core import exceptions as ax
        except ImportError:  # pragma: no cover
            ax = None  # type: ignore[assignment]
        if ax is not None and isinstance(exc, ax.ClientAuthenticationError):
            return BackendUnavailableError(
                f"Azure refused the credentials while trying to {operation} {path!r} under "
                f"{redact_uri(self.artifact_uri)}"
            )
        if ax is not None and isinstance(exc, ax.ResourceNotFoundError):
            from storekit.errors import ArtifactNotFound

            return ArtifactNotFound(
                f"artifact {path!r} under {redact_uri(self.artifact_uri)}: not found "
                f"(container {self.location.container!r} or blob missing)"
            )
        return super()._translate(exc, path, operation)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({redact_uri(self.artifact_uri)!r})"
