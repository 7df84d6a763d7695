"""SSH connections for the SFTP repository: host-key checks, authentication, a pool.

* :func:`connect` opens one authenticated SSH connection and its SFTP
  channel.  Host keys are verified against ``known_hosts`` (refusing unknown
  and changed keys) unless the unsafe ``insecure_accept_host_key`` is on.
  A configured ``known_hosts`` file is the only source of host keys; without
  one, the system's and ``~/.ssh/known_hosts`` are used.
* :class:`SftpPool` keeps idle connections for reuse.  A connection whose
  transport died (the server restarted, the network dropped) is never handed
  out: it is detected on checkout, every idle connection of the same
  generation is dropped, and a fresh one is opened.  An operation that fails
  because its connection died raises :class:`DeadConnectionError` (a
  ``ConnectionError``), which the repository retries on a new connection.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
from dataclasses import dataclass
from typing import Iterator, Optional

import paramiko

from storekit.errors import BackendUnavailableError

from .settings import SftpSettings

__all__ = ["DeadConnectionError", "SftpConnection", "SftpPool", "connect"]

logger = logging.getLogger(__name__)


class DeadConnectionError(ConnectionError):
    """The SSH connection died during an operation (worth a retry on a new one)."""


class _InsecureAcceptPolicy(paramiko.MissingHostKeyPolicy):
    """Accept any unknown host key, in memory only, with a warning (UNSAFE)."""

    def missing_host_key(self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey) -> None:
        logger.warning(
            "accepting the unverified %s host key of %s because insecure_accept_host_key is on "
            "(STOREKIT_SFTP_INSECURE_ACCEPT_HOST_KEY): this is unsafe outside test setups",
            key.get_name(),
            hostname,
        )


@dataclass
class SftpConnection:
    """One SSH connection with its SFTP channel."""

    client: paramiko.SSHClient
    sftp: paramiko.SFTPClient
    generation: int

    @property
    def alive(self) -> bool:
        """Whether the transport is still up."""
        transport = self.client.get_transport()
        return transport is not None and transport.is_active()

    def close(self) -> None:
        """Close the channel and the connection, ignoring errors."""
        with contextlib.suppress(Exception):
            self.sftp.close()
        with contextlib.suppress(Exception):
            self.client.close()


def _refused(settings: SftpSettings, why: str) -> BackendUnavailableError:
    return BackendUnavailableError(f"sftp server {settings.address}: {why}")


def connect(settings: SftpSettings, generation: int = 0) -> SftpConnection:
    """Open an authenticated SSH connection and SFTP channel for ``settings``.

    Connection-level failures (refused, reset, timed out) are raised as they
    are, for the caller's retries; refused credentials and host-key problems
    raise :class:`BackendUnavailableError` at once (retrying cannot help).
    """
    client = paramiko.SSHClient()
    if settings.insecure_accept_host_key:
        client.set_missing_host_key_policy(_InsecureAcceptPolicy())
    else:
        if settings.known_hosts is None:
            # a configured known_hosts file (STOREKIT_SFTP_KNOWN_HOSTS, the known_hosts option,
            # UserKnownHostsFile) is the only source of host keys: ~/.ssh is not consulted then,
            # so a stale or planted key there can neither refuse nor admit a server
            with contextlib.suppress(OSError):
                client.load_system_host_keys()
        known = settings.known_hosts or os.path.expanduser("~/.ssh/known_hosts")
        if os.path.isfile(known):
            try:
                client.get_host_keys().load(known)
            except (OSError, paramiko.SSHException) as exc:
                raise _refused(settings, f"cannot read known_hosts file {known!r} ({type(exc).__name__})") from None
        elif settings.known_hosts:
            raise _refused(settings, f"known_hosts file {known!r} does not exist")
        client.set_missing_host_key_policy(paramiko.RejectPolicy())
    sock = paramiko.ProxyCommand(settings.proxy_command) if settings.proxy_command else None
    try:
        client.connect(
            settings.host,
            port=settings.port,
            username=settings.username,
            password=settings.password,
            key_filename=settings.key_filename,
            passphrase=settings.passphrase,
            allow_agent=True,
            look_for_keys=settings.key_filename is None,
            timeout=settings.timeout,
            banner_timeout=settings.timeout,
            auth_timeout=settings.timeout,
            channel_timeout=settings.timeout,
            sock=sock,
        )
        sftp = client.open_sftp()
        sftp.get_channel().settimeout(max(settings.timeout, 60.0))
    except paramiko.BadHostKeyException:
        client.close()
        raise _refused(
            settings,
            "the server's host key does not match the one in known_hosts "
            "(possible man-in-the-middle attack; if the key changed on purpose, update known_hosts)",
        ) from None
    except paramiko.PasswordRequiredException:
        client.close()
        raise _refused(
            settings,
            "the private key is encrypted: pass its passphrase (passphrase option or STOREKIT_SFTP_KEY_PASSPHRASE)",
        ) from None
    except paramiko.AuthenticationException as exc:
        client.close()
        raise _refused(settings, f"authentication failed (credentials refused: {type(exc).__name__})") from None
    except paramiko.SSHException as exc:
        client.close()
        if "not found in known_hosts" in str(exc):
            raise _refused(
                settings,
                f"host key of [{settings.host}]:{settings.port} is not in known_hosts "
                f"({settings.known_hosts or '~/.ssh/known_hosts'}); add it (ssh-keyscan) or point "
                "STOREKIT_SFTP_KNOWN_HOSTS at a file that has it",
            ) from None
        raise
    except BaseException:
        client.close()
        raise
    return SftpConnection(client, sftp, generation)


class SftpPool:
    """Reusable SFTP connections; dead ones are replaced transparently."""

    def __init__(self, settings: SftpSettings, max_idle: int = 8) -> None:
        self.settings = settings
        self.max_idle = max(1, max_idle)
        self._idle: list[SftpConnection] = []
        self._lock = threading.Lock()
        self._generation = 0

    def __repr__(self) -> str:
        return f"SftpPool({self.settings.address!r})"

    def _checkout(self) -> SftpConnection:
        with self._lock:
            while self._idle:
                conn = self._idle.pop()
                if conn.alive:
                    return conn
                # one dead connection means the server (or network) went away:
                # every connection opened before is suspect, so start afresh
                logger.info("sftp connection to %s died; reconnecting", self.settings.address)
                stale, self._idle = self._idle, []
                for other in stale + [conn]:
                    other.close()
                self._generation += 1
            generation = self._generation
        return connect(self.settings, generation)

    def _checkin(self, conn: SftpConnection) -> None:
        with self._lock:
            if conn.alive and conn.generation == self._generation and len(self._idle) < self.max_idle:
                self._idle.append(conn)
                return
        conn.close()

    def acquire(self) -> SftpConnection:
        """Check out a live connection; give it back with :meth:`release`."""
        return self._checkout()

    def release(self, conn: SftpConnection, failed: Optional[BaseException] = None) -> None:
        """Return a connection; one that failed with a connection-level error is closed."""
        if failed is not None and (not conn.alive or _is_connection_error(failed)):
            conn.close()
            return
        self._checkin(conn)

    @contextlib.contextmanager
    def sftp(self) -> Iterator[paramiko.SFTPClient]:
        """A live SFTP client for the duration of the block.

        If the block fails because the connection died, :class:`DeadConnectionError`
        is raised (chained to the native error) so that the caller retries.
        """
        conn = self.acquire()
        try:
            yield conn.sftp
        except BaseException as exc:
            self.release(conn, exc)
            raise dead_connection_or(exc, conn)
        self.release(conn)

    def close(self) -> None:
        """Close every idle connection."""
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()


def _is_connection_error(exc: BaseException) -> bool:
    if isinstance(exc, (EOFError, socket.timeout, ConnectionError)):
        return True
    if isinstance(exc, paramiko.SSHException) and not isinstance(exc, paramiko.AuthenticationException):
        return True
    return isinstance(exc, OSError) and exc.errno is None and "closed" in str(exc).lower()


def dead_connection_or(exc: BaseException, conn: SftpConnection) -> BaseException:
    """``exc`` as a :class:`DeadConnectionError` if the connection died under it, else ``exc``."""
    if isinstance(exc, DeadConnectionError) or not isinstance(exc, Exception):
        return exc
    if not conn.alive or _is_connection_error(exc):
        dead = DeadConnectionError(f"connection lost ({type(exc).__name__})")
        dead.__cause__ = exc
        return dead
    return exc
