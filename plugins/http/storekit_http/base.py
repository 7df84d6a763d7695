"""What the three http(s) implementations share: parsing the URI and owning one client."""

from __future__ import annotations

from typing import Optional

from storekit.uri import redact_uri

from .session import HttpClient
from .settings import HttpSettings, split_server_uri

__all__ = ["ServerConnection"]


class ServerConnection:
    """The server's base URL and the store's pooled :class:`HttpClient`."""

    def __init__(self, uri: str, settings: Optional[HttpSettings] = None) -> None:
        base, user, password = split_server_uri(uri)
        self.uri = uri
        self.base_url = base
        self.settings = settings or HttpSettings.from_env(uri_user=user, uri_password=password)
        self.http = HttpClient(base, self.settings)

    def __repr__(self) -> str:
        return f"ServerConnection({redact_uri(self.uri)!r})"
