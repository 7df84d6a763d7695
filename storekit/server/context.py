"""What every handler of one server process shares: its stores and the artifact root.

One store instance of each kind per process (stores are thread-safe and pool
their own connections); handlers run in the server's thread pool.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Optional

from ..interfaces import ArtifactRepository, RegistryStore, TrackingStore
from ..plugins import resolve_artifact_repository, resolve_registry_store, resolve_tracking_store
from ..uri import append_path
from .settings import ServerSettings

if TYPE_CHECKING:
    from ..accounts.store import AccountStore

__all__ = ["ServerContext", "ArtifactUris", "PROXY_SCHEME"]

#: The scheme of the artifact URIs the server hands out (resolved by clients to its artifact proxy).
PROXY_SCHEME = "mlflow-artifacts:"


class ArtifactUris:
    """Stored artifact URIs under the artifacts destination <-> ``mlflow-artifacts:/<path>`` URIs.

    Experiments created without an artifact location keep their artifacts
    under the destination; the server hands their URIs out as
    ``mlflow-artifacts:/...`` so clients upload and download through its proxy.
    Other URIs (an explicit ``s3://`` location) pass through unchanged.
    """

    def __init__(self, destination: str) -> None:
        self.destination = destination.rstrip("/")

    def to_client(self, uri: str) -> str:
        """The URI a client is given for a stored URI."""
        if uri == self.destination:
            return PROXY_SCHEME + "/"
        if uri.startswith(self.destination + "/"):
            return PROXY_SCHEME + "/" + uri[len(self.destination) + 1 :]
        return uri

    def to_store(self, uri: Optional[str]) -> Optional[str]:
        """The stored URI for one a client sent (``mlflow-artifacts:/x`` -> ``<destination>/x``)."""
        if uri and uri.lower().startswith(PROXY_SCHEME):
            rest = uri[len(PROXY_SCHEME) :]
            if rest.startswith("//"):  # mlflow-artifacts://host:port/path: the path on this server
                rest = rest[2:].partition("/")[2]
            rest = rest.strip("/")
            return append_path(self.destination, rest) if rest else self.destination
        return uri


class ServerContext:
    """The stores and artifact root of one server process (opened lazily, once)."""

    def __init__(self, settings: ServerSettings) -> None:
        self.settings = settings
        self.uris = ArtifactUris(settings.artifacts_destination)
        self._lock = threading.Lock()
        self._tracking: Optional[TrackingStore] = None
        self._registry: Optional[RegistryStore] = None
        self._artifacts: Optional[ArtifactRepository] = None
        self._accounts: Optional["AccountStore"] = None

    @property
    def tracking(self) -> TrackingStore:
        """The tracking store (experiments land under the artifacts destination)."""
        if self._tracking is None:
            with self._lock:
                if self._tracking is None:
                    self._tracking = resolve_tracking_store(
                        self.settings.backend_store_uri, default_artifact_root=self.settings.artifacts_destination
                    )
        return self._tracking

    @property
    def registry(self) -> RegistryStore:
        """The registry store."""
        if self._registry is None:
            with self._lock:
                if self._registry is None:
                    self._registry = resolve_registry_store(self.settings.registry_store_uri)
        return self._registry

    @property
    def artifacts(self) -> ArtifactRepository:
        """The artifact repository at the artifacts destination (what the proxy serves)."""
        if self._artifacts is None:
            with self._lock:
                if self._artifacts is None:
                    self._artifacts = resolve_artifact_repository(self.settings.artifacts_destination)
        return self._artifacts

    @property
    def accounts(self) -> "AccountStore":
        """The account store kept in the backend store (``--auth basic``; opened on first use)."""
        if self._accounts is None:
            with self._lock:
                if self._accounts is None:
                    from ..accounts.opening import open_account_store

                    self._accounts = open_account_store(self.settings.backend_store_uri)
        return self._accounts

    def open(self) -> None:
        """Open every store now (at start-up), so a bad URI fails the start, not the first request."""
        _ = self.tracking, self.registry, self.artifacts

    def close(self) -> None:
        """Close the stores."""
        with self._lock:
            for store in (self._tracking, self._registry, self._artifacts, self._accounts):
                close = getattr(store, "close", None)
                if close is not None:
                    try:
                        close()
                    except Exception:  # closing at shutdown must not fail the shutdown
                        pass
            self._tracking = self._registry = self._artifacts = self._accounts = None
