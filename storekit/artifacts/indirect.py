"""Indirect artifact URIs: ``runs:/<run_id>/<path>`` and ``models:/<name>/<version or alias>``.

Each resolves, when constructed, to the repository that really holds the
files, and forwards every call to it:

* ``runs:/<run_id>/<path>``: the run's ``artifact_uri`` (from the tracking
  store) joined with ``<path>``;
* ``models:/<name>/<version>`` or ``models:/<name>/<alias>``: the model
  version's ``source`` (from the registry store), by number or by alias.

The stores are those of ``tracking_uri=`` / ``registry_uri=`` when given,
else the current default: ``storekit.set_tracking_uri()`` if it was used,
else ``STOREKIT_TRACKING_URI`` (``STOREKIT_REGISTRY_URI``), else the embedded
store.
"""

from __future__ import annotations

import os
import re
from typing import Any, ClassVar, Optional
from urllib.parse import unquote

from ..config import get_registry_uri, get_tracking_uri
from ..entities import FileInfo
from ..errors import InvalidParameterError
from ..interfaces import ArtifactRepository, Capability
from ..uri import append_path, redact_uri
from ..validation import validate_artifact_path, validate_artifact_source, validate_model_name, validate_run_id

__all__ = ["IndirectArtifactRepository", "RunsArtifactRepository", "ModelsArtifactRepository"]

_RUNS = re.compile(r"^runs:/+(?P<run_id>[^/]+)(?:/(?P<path>.*))?$", re.IGNORECASE)
_MODELS = re.compile(r"^models:/+(?P<name>[^/]+)/(?P<ref>[^/]+)/?$", re.IGNORECASE)


class IndirectArtifactRepository(ArtifactRepository):
    """Forwards every call to the repository an indirect URI resolves to (``self.target``)."""

    capabilities: ClassVar[frozenset[Capability]] = frozenset({Capability.DELETE_ARTIFACTS})

    def __init__(self, artifact_uri: str, **options: Any) -> None:
        super().__init__(artifact_uri)
        from ..plugins import resolve_artifact_repository

        self.target_uri = self._resolve_target(artifact_uri, options)
        self.target: ArtifactRepository = resolve_artifact_repository(self.target_uri, **options)
        # what the underlying repository supports is what this one supports
        self.capabilities = type(self.target).capabilities  # type: ignore[misc]

    def _resolve_target(self, artifact_uri: str, options: dict[str, Any]) -> str:
        """The URI of the repository that holds the files (pops its own options)."""
        raise NotImplementedError

    def log_artifact(self, local_file: "str | os.PathLike[str]", artifact_path: Optional[str] = None) -> None:
        """Upload one file (forwarded)."""
        self.target.log_artifact(local_file, artifact_path)

    def log_artifacts(self, local_dir: "str | os.PathLike[str]", artifact_path: Optional[str] = None) -> None:
        """Upload a directory tree (forwarded)."""
        self.target.log_artifacts(local_dir, artifact_path)

    def list_artifacts(self, path: Optional[str] = None) -> list[FileInfo]:
        """Direct children of ``path`` (forwarded)."""
        return self.target.list_artifacts(path)

    def download_artifacts(self, artifact_path: str, dst_path: "Optional[str | os.PathLike[str]]" = None) -> str:
        """Download a file or tree (forwarded)."""
        return self.target.download_artifacts(artifact_path, dst_path)

    def delete_artifacts(self, artifact_path: Optional[str] = None) -> None:
        """Delete a file or tree (forwarded; needs the target's DELETE_ARTIFACTS)."""
        self.target.delete_artifacts(artifact_path)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({redact_uri(self.artifact_uri)!r} -> {self.target!r})"


class RunsArtifactRepository(IndirectArtifactRepository):
    """``runs:/<run_id>/<path>``: the run's artifacts, under ``<path>``.

    Options: ``tracking_uri`` (default: the current tracking URI); the rest go
    to the underlying repository.
    """

    def _resolve_target(self, artifact_uri: str, options: dict[str, Any]) -> str:
        match = _RUNS.match(artifact_uri)
        if not match:
            raise InvalidParameterError(f"artifact_uri {redact_uri(artifact_uri)!r}: expected runs:/<run_id>/<path>")
        run_id = validate_run_id(match.group("run_id").lower())
        path = validate_artifact_path(unquote(match.group("path") or ""))
        from ..plugins import resolve_tracking_store

        tracking_uri = options.pop("tracking_uri", None) or get_tracking_uri()
        store = resolve_tracking_store(tracking_uri, create=False)
        try:
            run = store.get_run(run_id)
        finally:
            store.close()
        return append_path(run.info.artifact_uri, path) if path else run.info.artifact_uri


class ModelsArtifactRepository(IndirectArtifactRepository):
    """``models:/<name>/<version or alias>``: the files of a registered model version (read-only).

    Options: ``registry_uri`` (default: the current registry URI) and, for a
    ``runs:/`` source, ``tracking_uri`` (default: the registry URI); the rest
    go to the underlying repository.  Files are listed and downloaded through
    it; writing and deleting are refused (as in MLflow): a version's source
    is data anyone with write access to the registry chose, so it never
    becomes a target of writes or deletes by whoever reads the version.
    """

    def __init__(self, artifact_uri: str, **options: Any) -> None:
        super().__init__(artifact_uri, **options)
        self.capabilities = frozenset(self.capabilities - {Capability.DELETE_ARTIFACTS})  # type: ignore[misc]

    def log_artifact(self, local_file: "str | os.PathLike[str]", artifact_path: Optional[str] = None) -> None:
        """Refused: a model version's files are read-only through ``models:/``."""
        raise InvalidParameterError(f"{redact_uri(self.artifact_uri)}: models:/ URIs are read-only")

    def log_artifacts(self, local_dir: "str | os.PathLike[str]", artifact_path: Optional[str] = None) -> None:
        """Refused: a model version's files are read-only through ``models:/``."""
        raise InvalidParameterError(f"{redact_uri(self.artifact_uri)}: models:/ URIs are read-only")

    def delete_artifacts(self, artifact_path: Optional[str] = None) -> None:
        """Refused: a model version's files are read-only through ``models:/``."""
        raise InvalidParameterError(f"{redact_uri(self.artifact_uri)}: models:/ URIs are read-only")

    def _resolve_target(self, artifact_uri: str, options: dict[str, Any]) -> str:
        match = _MODELS.match(artifact_uri)
        if not match:
            raise InvalidParameterError(
                f"artifact_uri {redact_uri(artifact_uri)!r}: expected models:/<name>/<version or alias>"
            )
        name = validate_model_name(unquote(match.group("name")))
        ref = unquote(match.group("ref"))
        from ..plugins import resolve_registry_store

        registry_uri = options.pop("registry_uri", None) or get_registry_uri()
        store = resolve_registry_store(registry_uri, create=False)
        try:
            if ref.isdigit():
                version = store.get_model_version(name, ref)
            else:
                version = store.get_model_version_by_alias(name, ref)
        finally:
            store.close()
        if not version.source:
            raise InvalidParameterError(f"artifact_uri {redact_uri(artifact_uri)!r}: model version has no source")
        # a version stored before sources were checked is checked here: never followed out of its root
        validate_artifact_source(version.source, f"source of {redact_uri(artifact_uri)}")
        if _RUNS.match(version.source) and registry_uri and "tracking_uri" not in options:
            # a runs:/ source lives in the tracking store paired with this registry
            options["tracking_uri"] = registry_uri
        return version.source
