"""MLflow artifact repository on any storekit artifact repository.

Registered under ``mlflow.artifact_repository`` as ``storekit``: MLflow builds
``StorekitArtifactRepository("storekit:<storekit artifact URI>", tracking_uri=..., registry_uri=...)``
for run and model artifact URIs the bridge hands out, for
``mlflow server --artifacts-destination storekit:...`` and for
``--default-artifact-root storekit:...``.  Paths are relative and
``/``-separated in both; MLflow appends sub-paths to the URI itself
(``storekit:/abs`` and ``storekit:///abs`` both work).
"""

from __future__ import annotations

import inspect
import os
import shutil
import tempfile
from typing import Any, Optional

from mlflow.entities import FileInfo as MlFileInfo
from mlflow.store.artifact.artifact_repo import ArtifactRepository

import storekit as sk

from .errors import translate_errors, translating_methods
from .uris import unwrap

__all__ = ["StorekitArtifactRepository"]

_BASE_PARAMS = frozenset(inspect.signature(ArtifactRepository.__init__).parameters)


@translating_methods
class StorekitArtifactRepository(ArtifactRepository):
    """An MLflow artifact repository backed by the storekit repository of the wrapped URI."""

    def __init__(
        self, artifact_uri: str, tracking_uri: Optional[str] = None, registry_uri: Optional[str] = None
    ) -> None:
        extra = {k: v for k, v in (("tracking_uri", tracking_uri), ("registry_uri", registry_uri)) if k in _BASE_PARAMS}
        super().__init__(artifact_uri, **extra)
        with translate_errors():
            native = unwrap(artifact_uri)
            if native is None:
                raise sk.InvalidParameterError(
                    "artifact_uri: 'storekit:' needs a storekit artifact URI after it, e.g. storekit:/abs/dir"
                )
            self._repo: sk.ArtifactRepository = sk.resolve_artifact_repository(native)

    @property
    def storekit_repository(self) -> sk.ArtifactRepository:
        """The underlying storekit artifact repository."""
        return self._repo

    def log_artifact(self, local_file: str, artifact_path: Optional[str] = None) -> None:
        """Upload one file into ``artifact_path``."""
        self._repo.log_artifact(local_file, artifact_path or None)

    def log_artifacts(self, local_dir: str, artifact_path: Optional[str] = None) -> None:
        """Upload a directory tree into ``artifact_path``."""
        self._repo.log_artifacts(local_dir, artifact_path or None)

    def list_artifacts(self, path: Optional[str] = None) -> list[MlFileInfo]:
        """Direct children of ``path`` (paths relative to the root, sizes for files)."""
        path = (path or "").strip("/") or None
        infos = self._repo.list_artifacts(path)
        return [MlFileInfo(i.path, i.is_dir, None if i.is_dir else i.file_size) for i in infos]

    def _is_directory(self, artifact_path: str) -> bool:
        return bool(self.list_artifacts(artifact_path))

    def _download_file(self, remote_file_path: str, local_path: str) -> None:
        """Download one file to exactly ``local_path``."""
        parent = os.path.dirname(os.path.abspath(local_path))
        os.makedirs(parent, exist_ok=True)
        scratch = tempfile.mkdtemp(prefix=".storekit-download-", dir=parent)
        try:
            downloaded = self._repo.download_artifacts(remote_file_path, scratch)
            os.replace(downloaded, local_path)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    def download_artifacts(self, artifact_path: str, dst_path: Optional[str] = None) -> str:
        """Download a file or tree with storekit (in parallel); returns ``dst_path/<artifact_path>`` as MLflow does."""
        rel = (artifact_path or "").strip("/")
        return self._repo.download_artifacts(rel, os.path.abspath(dst_path) if dst_path is not None else None)

    def delete_artifacts(self, artifact_path: Optional[str] = None) -> None:
        """Delete a file or tree (when the storekit repository supports it)."""
        self._repo.delete_artifacts((artifact_path or "").strip("/") or None)

    def get_local_path(self, artifact_path: str) -> Optional[str]:
        """Never a direct local path: files are always read through storekit."""
        return None

    def flush_async_logging(self) -> Any:
        """Wait for MLflow's async artifact queue (built on :meth:`log_artifact`)."""
        return super().flush_async_logging()
