"""Copying and hashing artifacts between repositories resolved by URI."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from typing import Any, Iterator, Optional

from ..errors import NotFoundError, StorekitError
from ..interfaces import ArtifactRepository
from ..plugins import resolve_artifact_repository
from ..uri import candidate_schemes

__all__ = ["ArtifactFile", "copy_tree", "manifest", "manifest_digest"]


@dataclass(frozen=True)
class ArtifactFile:
    """One artifact file: path under the root, size in bytes, sha256 hex."""

    path: str
    size: int
    sha256: str


_FACTORIES: dict[tuple[str, ...], Any] = {}


def _repo(uri: str) -> ArtifactRepository:
    """The repository at ``uri``; the implementation is looked up once per scheme (thousands of runs)."""
    key = tuple(candidate_schemes(uri))
    factory = _FACTORIES.get(key)
    if factory is None:
        repo = resolve_artifact_repository(uri)
        _FACTORIES[key] = type(repo)
        return repo
    return factory(uri)


def _files(repo: ArtifactRepository) -> Iterator[str]:
    pending: list[Optional[str]] = [None]
    while pending:
        try:
            entries = repo.list_artifacts(pending.pop())
        except NotFoundError:
            continue
        for info in entries:
            if info.is_dir:
                pending.append(info.path)
            else:
                yield info.path


def _hash_file(path: str) -> tuple[int, str]:
    h = hashlib.sha256()
    size = 0
    with open(path, "rb") as fh:
        while True:
            block = fh.read(1 << 20)
            if not block:
                return size, h.hexdigest()
            size += len(block)
            h.update(block)


def _each_local(uri: str) -> Iterator[tuple[str, str]]:
    """``(artifact path, local copy)`` for every file under ``uri``, one file on disk at a time."""
    repo = _repo(uri)
    work = ""
    try:
        for path in _files(repo):
            work = work or tempfile.mkdtemp(prefix="storekit-transfer-")
            local = repo.download_artifacts(path, work)
            try:
                yield path, local
            finally:
                if os.path.isdir(local):
                    shutil.rmtree(local, ignore_errors=True)
                elif os.path.exists(local):
                    os.unlink(local)
    finally:
        if work:
            shutil.rmtree(work, ignore_errors=True)


def copy_tree(src_uri: str, dst_uri: str) -> list[ArtifactFile]:
    """Copy every file under ``src_uri`` to the same path under ``dst_uri``; return what was copied."""
    if src_uri.rstrip("/") == dst_uri.rstrip("/"):
        return manifest(src_uri)
    dst: Optional[ArtifactRepository] = None
    copied = []
    for path, local in _each_local(src_uri):
        size, digest = _hash_file(local)
        if dst is None:
            dst = _repo(dst_uri)
        parent = path.rsplit("/", 1)[0] if "/" in path else None
        dst.log_artifact(local, parent)
        copied.append(ArtifactFile(path, size, digest))
    return copied


def manifest(uri: str) -> list[ArtifactFile]:
    """Path, size and sha256 of every file under ``uri`` (an unreachable root counts as empty)."""
    try:
        return [ArtifactFile(path, *_hash_file(local)) for path, local in _each_local(uri)]
    except StorekitError:
        raise


def manifest_digest(files: list[ArtifactFile]) -> str:
    """sha256 over a manifest's sorted ``path, size, sha256`` lines."""
    h = hashlib.sha256()
    for f in sorted(files, key=lambda f: f.path):
        h.update(f"{f.path}\t{f.size}\t{f.sha256}\n".encode())
    return h.hexdigest()
