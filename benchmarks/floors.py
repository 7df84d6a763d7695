"""Physical floors for W5: ``cp -r`` on the same disk, and a plain client upload per remote service.

A remote floor uploads the same files with the service's own library and
default settings, reading connection settings from the same environment
variables the storekit plugins read:

* ``s3://bucket/prefix``: boto3 ``upload_file`` (its managed, multipart and
  threaded transfer); endpoint from ``STOREKIT_S3_ENDPOINT_URL`` or
  ``AWS_ENDPOINT_URL``, credentials from the standard AWS chain.
* ``wasbs://container@account.../path`` (also ``abfs``/``abfss``/``az``):
  azure-storage-blob ``upload_blob(max_concurrency=4)`` with
  ``AZURE_STORAGE_CONNECTION_STRING``.
* ``sftp://user@host:port/path``: paramiko ``SFTPClient.put`` with the URI's
  user/password or ``STOREKIT_SFTP_PASSWORD`` / ``STOREKIT_SFTP_KEY_FILE``.
"""

from __future__ import annotations

import os
import posixpath
import shutil
import subprocess
import time
import uuid
from pathlib import Path
from typing import Callable, Optional
from urllib.parse import unquote, urlsplit

from storekit.uri import get_scheme

__all__ = ["cp_r_seconds", "remote_upload_seconds", "REMOTE_FLOOR_LIBRARIES"]


def cp_r_seconds(src: Path, dst: Path) -> float:
    """Seconds ``cp -r src dst`` takes (``dst`` is removed afterwards)."""
    start = time.perf_counter()
    subprocess.run(["cp", "-r", str(src), str(dst)], check=True)
    seconds = time.perf_counter() - start
    shutil.rmtree(dst, ignore_errors=True)
    return seconds


def _files(src: Path) -> list[tuple[Path, str]]:
    return [(p, p.relative_to(src).as_posix()) for p in sorted(src.rglob("*")) if p.is_file()]


def _s3(uri: str, src: Path) -> float:
    import boto3

    parts = urlsplit(uri)
    prefix = posixpath.join(parts.path.strip("/"), f"floor-{uuid.uuid4().hex}")
    endpoint = os.environ.get("STOREKIT_S3_ENDPOINT_URL") or os.environ.get("AWS_ENDPOINT_URL") or None
    client = boto3.client("s3", endpoint_url=endpoint)
    start = time.perf_counter()
    for path, rel in _files(src):
        client.upload_file(str(path), parts.netloc, f"{prefix}/{rel}")
    return time.perf_counter() - start


def _azure(uri: str, src: Path) -> float:
    from azure.storage.blob import BlobServiceClient

    parts = urlsplit(uri)
    container = parts.netloc.split("@", 1)[0]
    prefix = posixpath.join(parts.path.strip("/"), f"floor-{uuid.uuid4().hex}")
    service = BlobServiceClient.from_connection_string(os.environ["AZURE_STORAGE_CONNECTION_STRING"])
    client = service.get_container_client(container)
    start = time.perf_counter()
    for path, rel in _files(src):
        with open(path, "rb") as fh:
            client.upload_blob(f"{prefix}/{rel}", fh, overwrite=True, max_concurrency=4)
    return time.perf_counter() - start


def _sftp(uri: str, src: Path) -> float:
    import paramiko

    parts = urlsplit(uri)
    transport = paramiko.Transport((parts.hostname or "localhost", parts.port or 22))
    password = unquote(parts.password) if parts.password else os.environ.get("STOREKIT_SFTP_PASSWORD")
    key_file = os.environ.get("STOREKIT_SFTP_KEY_FILE")
    pkey = paramiko.PKey.from_path(key_file) if key_file and hasattr(paramiko.PKey, "from_path") else None
    if key_file and pkey is None:
        pkey = paramiko.RSAKey.from_private_key_file(key_file)
    transport.connect(username=unquote(parts.username or ""), password=password, pkey=pkey)
    sftp = paramiko.SFTPClient.from_transport(transport)
    assert sftp is not None
    root = posixpath.join(unquote(parts.path) or "/", f"floor-{uuid.uuid4().hex}")
    try:
        start = time.perf_counter()
        made = set()
        for path, rel in _files(src):
            target = posixpath.join(root, rel)
            parent = posixpath.dirname(target)
            missing = []
            while parent not in made and parent not in ("", "/"):
                missing.append(parent)
                parent = posixpath.dirname(parent)
            for d in reversed(missing):
                try:
                    sftp.mkdir(d)
                except OSError:
                    pass  # exists already
                made.add(d)
            sftp.put(str(path), target)
        return time.perf_counter() - start
    finally:
        sftp.close()
        transport.close()


_REMOTE: dict[str, tuple[str, Callable[[str, Path], float]]] = {
    "s3": ("boto3 upload_file", _s3),
    "wasbs": ("azure-storage-blob upload_blob", _azure),
    "wasb": ("azure-storage-blob upload_blob", _azure),
    "abfs": ("azure-storage-blob upload_blob", _azure),
    "abfss": ("azure-storage-blob upload_blob", _azure),
    "sftp": ("paramiko put", _sftp),
}

#: Scheme -> the plain client the remote floor uses.
REMOTE_FLOOR_LIBRARIES = {scheme: lib for scheme, (lib, _) in _REMOTE.items()}


def remote_upload_seconds(uri: str, src: Path) -> Optional[float]:
    """Seconds a plain client upload of ``src`` to ``uri``'s service takes; None for local or unknown schemes."""
    entry = _REMOTE.get(get_scheme(uri))
    return None if entry is None else entry[1](uri, src)
