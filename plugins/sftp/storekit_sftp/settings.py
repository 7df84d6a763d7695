"""Connection settings of an ``sftp://`` artifact URI.

``sftp://[user[:password]@]host[:port]/absolute/path`` (``/~/path`` is relative
to the login directory).  Each setting comes from, in order: a constructor
keyword, the URI, the environment, ``~/.ssh/config`` for the host, a default.

============================  =====================================  ==========================
setting                       environment                            default
============================  =====================================  ==========================
``password``                  ``STOREKIT_SFTP_PASSWORD``             none (URI password wins)
``key_filename``              ``STOREKIT_SFTP_KEY_FILE``             ``IdentityFile``, ~/.ssh/id_*
``passphrase``                ``STOREKIT_SFTP_KEY_PASSPHRASE``       none
``known_hosts``               ``STOREKIT_SFTP_KNOWN_HOSTS``          ``UserKnownHostsFile``, ~/.ssh/known_hosts
``insecure_accept_host_key``  ``STOREKIT_SFTP_INSECURE_ACCEPT_HOST_KEY=1``  off
``ssh_config``                ``STOREKIT_SFTP_SSH_CONFIG``           ~/.ssh/config
``timeout`` (seconds)         ``STOREKIT_SFTP_TIMEOUT``              15
============================  =====================================  ==========================

``insecure_accept_host_key`` trusts whatever host key the server shows, so a
man-in-the-middle can read and change every artifact: it is UNSAFE and meant
only for throw-away test servers.  Secrets (password, passphrase) are kept out
of ``repr`` and of every message.
"""

from __future__ import annotations

import getpass
import os
from dataclasses import dataclass, field
from typing import Optional
from urllib.parse import unquote, urlsplit

from storekit.envvars import env_flag, env_float, parse_flag
from storekit.errors import InvalidParameterError
from storekit.uri import redact_uri

__all__ = ["SftpSettings", "parse_sftp_uri"]


@dataclass(frozen=True)
class SftpSettings:
    """Everything needed to open an SFTP session and find the root directory."""

    host: str
    port: int
    username: str
    root: str
    key_filename: Optional[str] = None
    known_hosts: Optional[str] = None
    insecure_accept_host_key: bool = False
    timeout: float = 15.0
    proxy_command: Optional[str] = None
    password: Optional[str] = field(default=None, repr=False)
    passphrase: Optional[str] = field(default=None, repr=False)

    @property
    def secrets(self) -> tuple[Optional[str], ...]:
        """Values that must never be shown (scrubbed from native messages)."""
        return (self.password, self.passphrase)

    @property
    def address(self) -> str:
        """``user@host:port``, for messages."""
        return f"{self.username}@{self.host}:{self.port}"


def _env(name: str) -> Optional[str]:
    value = os.environ.get(name)
    return value if value else None


def _ssh_config(path: Optional[str], host: str) -> dict[str, object]:
    """The ``~/.ssh/config`` entries for ``host`` (empty when there is no config file)."""
    import paramiko

    config_path = os.path.expanduser(path or "~/.ssh/config")
    if not os.path.isfile(config_path):
        if path:
            raise InvalidParameterError(f"ssh_config {path!r}: no such file")
        return {}
    try:
        return dict(paramiko.SSHConfig.from_path(config_path).lookup(host))
    except (OSError, paramiko.ConfigParseError) as exc:
        raise InvalidParameterError(f"ssh_config {config_path!r}: cannot be read ({exc})") from None


def parse_sftp_uri(
    uri: str,
    *,
    password: Optional[str] = None,
    key_filename: Optional[str] = None,
    passphrase: Optional[str] = None,
    known_hosts: Optional[str] = None,
    insecure_accept_host_key: Optional[bool] = None,
    ssh_config: Optional[str] = None,
    timeout: Optional[float] = None,
) -> SftpSettings:
    """Settings for ``uri`` from keywords, the URI, the environment and ``~/.ssh/config``."""
    parts = urlsplit(uri)
    if parts.scheme.lower() != "sftp":
        raise InvalidParameterError(f"artifact_uri {redact_uri(uri)!r}: expected an sftp:// URI")
    if not parts.hostname:
        raise InvalidParameterError(f"artifact_uri {redact_uri(uri)!r}: the host is missing (sftp://user@host/path)")
    try:
        uri_port = parts.port
    except ValueError:
        raise InvalidParameterError(f"artifact_uri {redact_uri(uri)!r}: the port must be 1-65535") from None
    if parts.query or parts.fragment:
        raise InvalidParameterError(
            f"artifact_uri {redact_uri(uri)!r}: sftp URIs take no query or fragment; pass options as keywords"
        )

    cfg = _ssh_config(ssh_config or _env("STOREKIT_SFTP_SSH_CONFIG"), parts.hostname)
    identity = cfg.get("identityfile")
    cfg_key = os.path.expanduser(str(identity[0])) if isinstance(identity, list) and identity else None
    cfg_known = cfg.get("userknownhostsfile")
    cfg_known = os.path.expanduser(str(cfg_known).split()[0]) if cfg_known else None

    path = unquote(parts.path) or "/"
    if path.startswith("/~/") or path == "/~":
        root = path[3:].rstrip("/") or "."
    else:
        root = "/" + path.strip("/") if path.strip("/") else "/"

    if timeout is None:
        timeout = env_float("STOREKIT_SFTP_TIMEOUT", 15.0, unit="seconds")
    if timeout <= 0:
        raise InvalidParameterError(f"timeout: must be more than 0 seconds, got {timeout}")

    key = key_filename or _env("STOREKIT_SFTP_KEY_FILE") or cfg_key
    if key is not None:
        key = os.path.expanduser(os.fspath(key))
        if not os.path.isfile(key):
            raise InvalidParameterError(f"key_filename {key!r}: no such file")
    known = known_hosts or _env("STOREKIT_SFTP_KNOWN_HOSTS") or cfg_known
    if known is not None:
        known = os.path.expanduser(os.fspath(known))
    insecure = (
        parse_flag(insecure_accept_host_key, "insecure_accept_host_key")
        if insecure_accept_host_key is not None
        else env_flag("STOREKIT_SFTP_INSECURE_ACCEPT_HOST_KEY")
    )
    port = uri_port or int(str(cfg.get("port", 22)))
    return SftpSettings(
        host=str(cfg.get("hostname", parts.hostname)),
        port=port,
        username=unquote(parts.username) if parts.username else str(cfg.get("user") or getpass.getuser()),
        root=root,
        key_filename=key,
        known_hosts=known,
        insecure_accept_host_key=insecure,
        timeout=float(timeout),
        proxy_command=str(cfg["proxycommand"]) if cfg.get("proxycommand") else None,
        password=password or (unquote(parts.password) if parts.password else None) or _env("STOREKIT_SFTP_PASSWORD"),
        passphrase=passphrase or _env("STOREKIT_SFTP_KEY_PASSPHRASE"),
    )
