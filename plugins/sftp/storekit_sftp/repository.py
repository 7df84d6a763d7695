"""``sftp://`` artifact repository: the shared fsspec base over pooled paramiko connections."""

from __future__ import annotations

from typing import Any, ClassVar, Iterable, Optional

import paramiko

from storekit.artifacts.fsspec_repository import FsspecArtifactRepository
from storekit.interfaces import STOREKIT_API, Capability

from .connection import DeadConnectionError, SftpPool
from .filesystem import PooledSftpFileSystem
from .settings import SftpSettings, parse_sftp_uri

__all__ = ["SftpArtifactRepository"]


class SftpArtifactRepository(FsspecArtifactRepository):
    """Artifacts on an SSH server, at ``sftp://[user[:password]@]host[:port]/path``.

    Uploads go to a hidden temporary name and are moved into place with
    OpenSSH's atomic ``posix-rename``.  Keywords (each also read from the
    environment, see :mod:`storekit_sftp.settings`): ``password``,
    ``key_filename``, ``passphrase``, ``known_hosts``,
    ``insecure_accept_host_key`` (UNSAFE), ``ssh_config``, ``timeout``; and the
    base's ``retries``, ``max_workers``, ``chunk_size``, ``progress``.
    """

    storekit_api: ClassVar[int] = STOREKIT_API
    capabilities: ClassVar[frozenset[Capability]] = frozenset({Capability.DELETE_ARTIFACTS})
    atomic_put: ClassVar[bool] = False
    needs_directories: ClassVar[bool] = True

    def __init__(
        self,
        artifact_uri: str,
        *,
        password: Optional[str] = None,
        key_filename: Optional[str] = None,
        passphrase: Optional[str] = None,
        known_hosts: Optional[str] = None,
        insecure_accept_host_key: Optional[bool] = None,
        ssh_config: Optional[str] = None,
        timeout: Optional[float] = None,
        **options: Any,
    ) -> None:
        self.settings: SftpSettings = parse_sftp_uri(
            artifact_uri,
            password=password,
            key_filename=key_filename,
            passphrase=passphrase,
            known_hosts=known_hosts,
            insecure_accept_host_key=insecure_accept_host_key,
            ssh_config=ssh_config,
            timeout=timeout,
        )
        super().__init__(artifact_uri, **options)
        self._pool = SftpPool(self.settings, max_idle=self.max_workers)

    def _make_filesystem(self) -> PooledSftpFileSystem:
        return PooledSftpFileSystem(self._pool)

    def _root_path(self) -> str:
        return self.settings.root

    def _secrets(self) -> Iterable[Optional[str]]:
        return self.settings.secrets

    def _is_transient(self, exc: BaseException) -> bool:
        if isinstance(exc, (DeadConnectionError, EOFError, paramiko.ssh_exception.NoValidConnectionsError)):
            return True
        if isinstance(exc, paramiko.SSHException) and not isinstance(
            exc, (paramiko.AuthenticationException, paramiko.BadHostKeyException)
        ):
            return True
        return super()._is_transient(exc)

    def close(self) -> None:
        """Close the pooled SSH connections."""
        self._pool.close()

    def __del__(self) -> None:
        pool = getattr(self, "_pool", None)
        if pool is not None:
            pool.close()
