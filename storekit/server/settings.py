"""What one ``storekit server`` serves and its limits, passed to every worker process.

uvicorn starts each worker by importing :func:`storekit.server.app.app_from_env`;
the settings travel to the workers as JSON in the environment variable
``STOREKIT_SERVER_SETTINGS`` (never on a command line that ``ps`` shows, since
the store URIs may hold passwords).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, fields
from typing import Optional

from ..config import default_registry_uri, default_tracking_uri
from ..errors import InvalidParameterError
from ..uri import get_scheme, path_to_file_uri

__all__ = ["ServerSettings", "SETTINGS_ENV", "AUTH_MODES"]

#: Environment variable that carries the settings to uvicorn's worker processes.
SETTINGS_ENV = "STOREKIT_SERVER_SETTINGS"
#: The values ``--auth`` accepts.
AUTH_MODES = ("none", "basic")


def _absolute(uri: str) -> str:
    """A bare relative path as an absolute ``file:`` URI (workers may run elsewhere); other URIs unchanged."""
    if get_scheme(uri) == "file" and not uri.lower().startswith("file:"):
        return path_to_file_uri(uri)
    return uri


@dataclass(frozen=True)
class ServerSettings:
    """The stores, the network address and the limits of one server.

    ``max_request_bytes`` bounds the body of every JSON request; artifact
    uploads are streamed to a temporary file and bounded by
    ``max_artifact_bytes`` (0: no limit).  ``max_header_bytes`` bounds the
    request line plus headers.  ``retry_after`` is the ``Retry-After`` (seconds)
    of a 503 answered while the backend is unavailable.
    """

    backend_store_uri: str
    registry_store_uri: str
    artifacts_destination: str
    host: str = "127.0.0.1"
    port: int = 5000
    workers: int = 1
    auth: str = "none"
    max_request_bytes: int = 16 * 1024 * 1024
    max_artifact_bytes: int = 0
    max_header_bytes: int = 64 * 1024
    retry_after: int = 2
    graceful_timeout: int = 30

    @classmethod
    def create(
        cls,
        backend_store_uri: Optional[str] = None,
        registry_store_uri: Optional[str] = None,
        artifacts_destination: Optional[str] = None,
        **options: object,
    ) -> "ServerSettings":
        """Settings with storekit's defaults for what is not given (the embedded default store)."""
        backend = _absolute(backend_store_uri or default_tracking_uri())
        registry = _absolute(
            registry_store_uri or (default_registry_uri(backend) if not backend_store_uri else backend)
        )
        artifacts = _absolute(artifacts_destination or os.environ.get("STOREKIT_ARTIFACT_URI") or "storekit-artifacts")
        settings = cls(backend, registry, artifacts.rstrip("/"), **options)  # type: ignore[arg-type]
        settings.check()
        return settings

    def check(self) -> None:
        """Raise InvalidParameterError naming the first setting out of its range."""
        if self.auth not in AUTH_MODES:
            raise InvalidParameterError(f"auth: {self.auth!r} is not one of {', '.join(AUTH_MODES)}")
        for name, low in (("port", 0), ("workers", 1), ("max_request_bytes", 1024), ("max_header_bytes", 1024)):
            if int(getattr(self, name)) < low:
                raise InvalidParameterError(f"{name}: must be at least {low}")
        if self.port > 65535:
            raise InvalidParameterError("port: must be at most 65535")

    def to_env(self) -> str:
        """The settings as the JSON value of :data:`SETTINGS_ENV`."""
        return json.dumps(asdict(self))

    @classmethod
    def from_env(cls, environ: Optional[dict[str, str]] = None) -> "ServerSettings":
        """The settings a worker was started with (or storekit's defaults when none were passed)."""
        raw = (environ if environ is not None else os.environ).get(SETTINGS_ENV)
        if not raw:
            return cls.create()
        data = json.loads(raw)
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def __repr__(self) -> str:
        from ..uri import redact_uri

        return (
            f"ServerSettings(backend_store_uri={redact_uri(self.backend_store_uri)!r}, "
            f"registry_store_uri={redact_uri(self.registry_store_uri)!r}, "
            f"artifacts_destination={redact_uri(self.artifacts_destination)!r}, host={self.host!r}, "
            f"port={self.port}, workers={self.workers}, auth={self.auth!r})"
        )
