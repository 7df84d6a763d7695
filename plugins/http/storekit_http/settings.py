"""Connection settings of the http(s) stores: credentials, TLS, timeouts and retries.

Read once per store from the environment.  storekit's own variables win over
MLflow's, so an existing MLflow set-up works unchanged:

==================================  =====================================  ==========================
storekit                            MLflow                                 meaning
==================================  =====================================  ==========================
``STOREKIT_TRACKING_USERNAME``      ``MLFLOW_TRACKING_USERNAME``           basic-auth user
``STOREKIT_TRACKING_PASSWORD``      ``MLFLOW_TRACKING_PASSWORD``           basic-auth password
``STOREKIT_TRACKING_TOKEN``         ``MLFLOW_TRACKING_TOKEN``              bearer token
``STOREKIT_TRACKING_INSECURE_TLS``  ``MLFLOW_TRACKING_INSECURE_TLS``       ``true``: no TLS verification
``STOREKIT_TRACKING_SERVER_CERT_PATH``  ``MLFLOW_TRACKING_SERVER_CERT_PATH``  CA bundle to verify with
``STOREKIT_TRACKING_CLIENT_CERT_PATH``  ``MLFLOW_TRACKING_CLIENT_CERT_PATH``  client certificate (PEM)
``STOREKIT_HTTP_TIMEOUT``           ``MLFLOW_HTTP_REQUEST_TIMEOUT``        read timeout, seconds
``STOREKIT_HTTP_MAX_RETRIES``       ``MLFLOW_HTTP_REQUEST_MAX_RETRIES``    retries of a retryable failure
==================================  =====================================  ==========================

Credentials in the URI (``https://user:password@host``) are used too and
removed from the base URL.  Secrets are kept out of ``repr``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Mapping, Optional, Union
from urllib.parse import unquote, urlsplit, urlunsplit

from storekit.envvars import env_flag, env_float, env_int, env_text
from storekit.errors import InvalidParameterError
from storekit.uri import redact_uri

__all__ = ["HttpSettings", "split_server_uri"]


def _env(env: Mapping[str, str], name: str) -> Optional[str]:
    """``STOREKIT_<name>``, else ``MLFLOW_<name>``, else None (empty counts as unset)."""
    for prefix in ("STOREKIT_", "MLFLOW_"):
        value = env.get(prefix + name)
        if value:
            return value
    return None


def _chosen(env: Mapping[str, str], own: str, mlflow: str) -> str:
    """The variable that counts: storekit's ``own`` when it is set, else MLflow's."""
    return own if env_text(own, env) is not None else mlflow


def split_server_uri(uri: str) -> tuple[str, Optional[str], Optional[str]]:
    """``(base_url, user, password)`` of an ``http(s)://[user[:password]@]host[:port][/prefix]`` URI.

    The base URL has no credentials, no query, no fragment and no trailing ``/``.
    """
    parts = urlsplit(uri)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise InvalidParameterError(f"uri: {redact_uri(uri)!r} is not an http(s)://host[:port] URI")
    user = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password is not None else None
    netloc = parts.netloc.rpartition("@")[2]
    base = urlunsplit((parts.scheme.lower(), netloc, parts.path.rstrip("/"), "", ""))
    return base, user, password


@dataclass(frozen=True)
class HttpSettings:
    """Credentials, TLS and retry settings of one store; secrets are not in the ``repr``."""

    username: Optional[str] = None
    password: Optional[str] = field(default=None, repr=False)
    token: Optional[str] = field(default=None, repr=False)
    #: ``True`` (system CAs), ``False`` (insecure, explicit opt-in) or a CA bundle path.
    verify: Union[bool, str] = True
    client_cert: Optional[str] = None
    connect_timeout: float = 10.0
    read_timeout: float = 120.0
    #: Retries after the first attempt, for failures a retry cannot turn into a duplicate write.
    max_retries: int = 5
    #: First backoff in seconds; doubles per retry up to :attr:`max_backoff`.
    backoff: float = 0.25
    max_backoff: float = 30.0
    #: Longest ``Retry-After`` the client honours before it gives up instead.
    max_retry_after: float = 120.0

    @classmethod
    def from_env(
        cls,
        env: Optional[Mapping[str, str]] = None,
        uri_user: Optional[str] = None,
        uri_password: Optional[str] = None,
    ) -> "HttpSettings":
        """Settings from the environment (``os.environ`` by default) and the URI's userinfo."""
        env = os.environ if env is None else env
        insecure = env_flag(_chosen(env, "STOREKIT_TRACKING_INSECURE_TLS", "MLFLOW_TRACKING_INSECURE_TLS"), env=env)
        server_cert = _env(env, "TRACKING_SERVER_CERT_PATH")
        if insecure and server_cert:
            raise InvalidParameterError("TRACKING_INSECURE_TLS and TRACKING_SERVER_CERT_PATH are both set: choose one")
        verify: Union[bool, str] = False if insecure else (server_cert or True)
        retries_name = _chosen(env, "STOREKIT_HTTP_MAX_RETRIES", "MLFLOW_HTTP_REQUEST_MAX_RETRIES")
        timeout_name = _chosen(env, "STOREKIT_HTTP_TIMEOUT", "MLFLOW_HTTP_REQUEST_TIMEOUT")
        return cls(
            username=uri_user or _env(env, "TRACKING_USERNAME"),
            password=uri_password if uri_password is not None else _env(env, "TRACKING_PASSWORD"),
            token=_env(env, "TRACKING_TOKEN"),
            verify=verify,
            client_cert=_env(env, "TRACKING_CLIENT_CERT_PATH"),
            read_timeout=env_float(timeout_name, 120.0, minimum=0, unit="seconds", env=env),
            max_retries=env_int(retries_name, 5, minimum=0, env=env),
        )

    def secrets(self) -> list[str]:
        """The secret values, to scrub from any text that leaves the plugin."""
        return [s for s in (self.password, self.token) if s and len(s) >= 3]
