"""MemoryArtifactRepository: files under ``memory://<name>/<root>`` kept in process memory.

Atomicity is simple here: a file is read completely before it is stored,
so a failing read stores nothing and leaves the old file in place.
"""

from __future__ import annotations

import os
import posixpath
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from storekit.artifacts.localfs import walk_local_dir
from storekit.entities import FileInfo
from storekit.errors import ArtifactNotFound
from storekit.interfaces import ArtifactRepository, Capability
from storekit.validation import validate_artifact_path

from .state import parse_memory_uri, shared

__all__ = ["MemoryArtifactRepository"]

_CHUNK = 1 << 20


@dataclass
class _FileSystem:
    """One named in-memory file system: full path -> contents."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    files: dict[str, bytes] = field(default_factory=dict)


def _join(*parts: str) -> str:
    return "/".join(p for p in parts if p)


class MemoryArtifactRepository(ArtifactRepository):
    """An artifact repository in process memory (scheme ``memory``)."""

    capabilities = frozenset({Capability.DELETE_ARTIFACTS})

    def __init__(self, artifact_uri: str) -> None:
        super().__init__(artifact_uri)
        name, root = parse_memory_uri(artifact_uri)
        self._root = validate_artifact_path(root, "artifact_uri path")
        self._fs = shared("artifacts", name, _FileSystem)

    # -- helpers --------------------------------------------------------------------
    def _full(self, path: Optional[str]) -> str:
        return _join(self._root, validate_artifact_path(path))

    def _under(self, full: str) -> dict[str, bytes]:
        """Files at or below ``full`` (a file path or a directory prefix)."""
        prefix = full + "/" if full else ""
        return {p: data for p, data in self._fs.files.items() if p == full or p.startswith(prefix)}

    def _relative(self, full: str) -> str:
        return full[len(self._root) + 1 :] if self._root else full

    # -- interface -----------------------------------------------------------------------
    def log_artifact(self, local_file: "str | os.PathLike[str]", artifact_path: Optional[str] = None) -> None:
        """Read the whole file, then store it in one step."""
        target = _join(self._full(artifact_path), Path(local_file).name)
        chunks = []
        with open(local_file, "rb") as f:
            for chunk in iter(lambda: f.read(_CHUNK), b""):
                chunks.append(chunk)
        data = b"".join(chunks)
        with self._fs.lock:
            self._fs.files[target] = data

    def log_artifacts(self, local_dir: "str | os.PathLike[str]", artifact_path: Optional[str] = None) -> None:
        """Upload every file of a directory tree, keeping its layout."""
        base = validate_artifact_path(artifact_path)  # validated before anything is read
        # storekit's walk: links leading outside local_dir are refused before anything is read
        for f in walk_local_dir(local_dir, refuse_outside_links=True):
            sub = posixpath.dirname(f.relpath)
            self.log_artifact(f.path, _join(base, sub))

    def list_artifacts(self, path: Optional[str] = None) -> list[FileInfo]:
        """Direct children of ``path``, sorted, with sizes for files."""
        full = self._full(path)
        prefix = full + "/" if full else ""
        children: dict[str, Optional[int]] = {}
        with self._fs.lock:
            for p, data in self._fs.files.items():
                if p.startswith(prefix):
                    head, sep, _ = p[len(prefix) :].partition("/")
                    children[head] = None if sep else len(data)
        return [FileInfo(self._relative(prefix + name), size is None, size) for name, size in sorted(children.items())]

    def download_artifacts(self, artifact_path: str, dst_path: "Optional[str | os.PathLike[str]]" = None) -> str:
        """Write a file or a whole tree below ``dst_path`` (a new temporary directory by default)."""
        relative = validate_artifact_path(artifact_path)
        full = _join(self._root, relative)
        with self._fs.lock:
            files = self._under(full)
        if not files:
            raise ArtifactNotFound(f"no artifact at {artifact_path!r}")
        dst = Path(dst_path) if dst_path is not None else Path(tempfile.mkdtemp(prefix="storekit-memory-"))
        name = relative.rsplit("/", 1)[-1]  # "" for the root
        for p, data in files.items():
            rel = p[len(full) :].lstrip("/") if full else p
            local = dst / name / rel if rel else dst / name
            local.parent.mkdir(parents=True, exist_ok=True)
            local.write_bytes(data)
        return str(dst / name) if name else str(dst)

    def delete_artifacts(self, artifact_path: Optional[str] = None) -> None:
        """Delete a file or a tree (everything when ``artifact_path`` is None)."""
        full = self._full(artifact_path)
        with self._fs.lock:
            for p in self._under(full):
                del self._fs.files[p]
