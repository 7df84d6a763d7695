"""Deliberately broken variants of the template plugin: each overrides ONE method to break ONE rule.

The conformance suite must catch every one of them, with at least one
failure in the contract section named in :data:`VARIANTS`.
"""

from __future__ import annotations

import math
import time
from dataclasses import replace
from typing import Any, Optional, Sequence

from storekit.entities import (
    LifecycleStage,
    Metric,
    ModelVersion,
    ModelVersionStage,
    PagedList,
    Param,
    Run,
    RunTag,
    ViewType,
)
from storekit.errors import InvalidParameterError, RunNotFound
from storekit.interfaces import Capability
from storekit.paging import decode_page_token, encode_page_token
from storekit_memory import MemoryArtifactRepository, MemoryRegistryStore, MemoryTrackingStore
from storekit_memory.artifacts import _join


# -- tracking ------------------------------------------------------------------
class CreatesDefaultExperiment(MemoryTrackingStore):
    """Creates a "Default" experiment when it opens an empty store, as MLflow's stores do."""

    def __init__(self, uri: str, default_artifact_root: Optional[str] = None) -> None:
        super().__init__(uri, default_artifact_root)
        if not self.search_experiments(view_type=ViewType.ALL):
            self.create_experiment("Default")


class NonAtomicBatch(MemoryTrackingStore):
    """Logs a batch item by item: a failure half-way leaves the first half stored."""

    def log_batch(
        self, run_id: str, metrics: Sequence[Metric] = (), params: Sequence[Param] = (), tags: Sequence[RunTag] = ()
    ) -> None:
        for m in metrics:
            super().log_batch(run_id, metrics=[m])
        for p in params:
            super().log_batch(run_id, params=[p])
        for t in tags:
            super().log_batch(run_id, tags=[t])


class LastLoggedWinsTies(MemoryTrackingStore):
    """Wrong tie rule: on equal (step, timestamp) the last logged value wins instead of the greatest."""

    def log_batch(
        self, run_id: str, metrics: Sequence[Metric] = (), params: Sequence[Param] = (), tags: Sequence[RunTag] = ()
    ) -> None:
        super().log_batch(run_id, metrics, params, tags)
        with self._lock:
            record = self._run(run_id)
            for m in metrics:
                best = record.latest[m.key]
                if (m.step, m.timestamp) == (best.step, best.timestamp):
                    record.latest[m.key] = replace(m, value=float(m.value))


class NanLost(MemoryTrackingStore):
    """Stores NaN as 0.0."""

    def log_batch(
        self, run_id: str, metrics: Sequence[Metric] = (), params: Sequence[Param] = (), tags: Sequence[RunTag] = ()
    ) -> None:
        metrics = [replace(m, value=0.0) if isinstance(m.value, float) and math.isnan(m.value) else m for m in metrics]
        super().log_batch(run_id, metrics, params, tags)


class SilentTruncation(MemoryTrackingStore):
    """Truncates over-long param and tag values instead of refusing them."""

    def log_batch(
        self, run_id: str, metrics: Sequence[Metric] = (), params: Sequence[Param] = (), tags: Sequence[RunTag] = ()
    ) -> None:
        params = [Param(p.key, p.value[:6000]) for p in params]
        tags = [RunTag(t.key, t.value[:8000]) for t in tags]
        super().log_batch(run_id, metrics, params, tags)


class ParamOverwrite(MemoryTrackingStore):
    """Overwrites a param with a new value instead of raising a conflict."""

    def log_batch(
        self, run_id: str, metrics: Sequence[Metric] = (), params: Sequence[Param] = (), tags: Sequence[RunTag] = ()
    ) -> None:
        with self._lock:
            record = self._run(run_id)
            for p in params:
                record.params.pop(p.key, None)
            super().log_batch(run_id, metrics, params, tags)


class WritesToDeletedRuns(MemoryTrackingStore):
    """Lets writes through to deleted runs."""

    def _writable_run(self, run_id: str) -> Any:
        return self._run(run_id)


class HardDelete(MemoryTrackingStore):
    """Deletes runs for good."""

    def delete_run(self, run_id: str) -> None:
        with self._lock:
            self._run(run_id)
            del self._state.runs[run_id]

    def restore_run(self, run_id: str) -> None:
        with self._lock:
            if run_id not in self._state.runs:
                raise RunNotFound(run_id)


class OffsetPagination(MemoryTrackingStore):
    """Pages by offset over the live result: runs created meanwhile shift the pages."""

    def search_runs(
        self,
        experiment_ids: Sequence[str],
        filter_string: Optional[str] = None,
        view_type: ViewType = ViewType.ACTIVE_ONLY,
        max_results: int = 1000,
        order_by: Optional[Sequence[str]] = None,
        page_token: Optional[str] = None,
    ) -> PagedList[Run]:
        offset = decode_page_token(page_token)["offset"] if page_token else 0
        everything = super().search_runs(experiment_ids, filter_string, view_type, 50_000, order_by)
        page = everything[offset : offset + max_results]
        more = offset + max_results < len(everything)
        return PagedList(page, encode_page_token({"offset": offset + max_results}) if more else None)


class OrIgnored(MemoryTrackingStore):
    """Treats OR as AND (the old MLflow grammar)."""

    def search_runs(
        self, experiment_ids: Sequence[str], filter_string: Optional[str] = None, *args: Any, **kwargs: Any
    ) -> PagedList[Run]:
        if filter_string:
            filter_string = filter_string.replace(" OR ", " AND ").replace(" or ", " and ")
        return super().search_runs(experiment_ids, filter_string, *args, **kwargs)


class CaseInsensitiveLike(MemoryTrackingStore):
    """LIKE behaves as ILIKE (SQLite's and MySQL's default)."""

    def search_runs(
        self, experiment_ids: Sequence[str], filter_string: Optional[str] = None, *args: Any, **kwargs: Any
    ) -> PagedList[Run]:
        if filter_string:
            filter_string = filter_string.replace(" LIKE ", " ILIKE ").replace(" IILIKE ", " ILIKE ")
        return super().search_runs(experiment_ids, filter_string, *args, **kwargs)


class DurableButVolatile(MemoryTrackingStore):
    """Declares DURABLE but keeps everything in process memory: a new process finds nothing."""

    capabilities = MemoryTrackingStore.capabilities | {Capability.DURABLE}


class WritesToRunsOfDeletedExperiment(MemoryTrackingStore):
    """Checks only the run's own stage: runs of a deleted experiment stay writable (the old template)."""

    def _writable_run(self, run_id: str) -> Any:
        record = self._run(run_id)
        if record.info.lifecycle_stage is LifecycleStage.DELETED:
            raise InvalidParameterError(f"run {run_id!r} is deleted")
        return record


# -- registry ---------------------------------------------------------------------
class ReusedVersionNumbers(MemoryRegistryStore):
    """Numbers the next version max(existing) + 1, so deleted numbers come back."""

    def create_model_version(self, name: str, source: str, *args: Any, **kwargs: Any) -> ModelVersion:
        with self._lock:
            record = self._record(name)
            record.last_version = max(record.versions, default=0)
            return super().create_model_version(name, source, *args, **kwargs)


class RacyVersionNumbers(MemoryRegistryStore):
    """Reads the counter, yields, then writes: concurrent callers get the same number."""

    def create_model_version(self, name: str, source: str, *args: Any, **kwargs: Any) -> ModelVersion:
        record = self._record(name)
        number = record.last_version + 1
        time.sleep(0.002)
        with self._lock:
            record.last_version = number - 1
            return super().create_model_version(name, source, *args, **kwargs)


class ArchiveNotApplied(MemoryRegistryStore):
    """Ignores archive_existing_versions."""

    def transition_model_version_stage(
        self, name: str, version: str, stage: str, archive_existing_versions: bool = False
    ) -> ModelVersion:
        return super().transition_model_version_stage(name, version, stage, False)


class AliasKeptOnDelete(MemoryRegistryStore):
    """Deletes a version but leaves the aliases that pointed at it."""

    def delete_model_version(self, name: str, version: str) -> None:
        with self._lock:
            record, mv = self._version(name, version)
            del record.versions[int(mv.version)]


class ArchivesOnAnyStage(MemoryRegistryStore):
    """Archives the other versions on every transition but to Archived, ``None`` included (the old template)."""

    def transition_model_version_stage(
        self, name: str, version: str, stage: str, archive_existing_versions: bool = False
    ) -> ModelVersion:
        target = ModelVersionStage.parse(stage).value
        with self._lock:
            record, mv = self._version(name, version)
            if archive_existing_versions and target != ModelVersionStage.ARCHIVED.value:
                for other in list(record.versions.values()):
                    if other.version != mv.version and other.current_stage == target:
                        self._update_version(name, other.version, current_stage=ModelVersionStage.ARCHIVED.value)
            return self._update_version(name, version, current_stage=target)


class DurableRegistryButVolatile(MemoryRegistryStore):
    """Declares DURABLE but keeps the registry in process memory: a new process finds no model."""

    capabilities = MemoryRegistryStore.capabilities | {Capability.DURABLE}


class StagesReadAsLetters(MemoryRegistryStore):
    """Iterates over ``stages`` as given: ``"Production"`` becomes the letters P, r, o..."""

    def get_latest_versions(self, name: str, stages: Optional[Sequence[str]] = None) -> list[ModelVersion]:
        wanted = None if stages is None else [ModelVersionStage.parse(s).value for s in stages]
        return super().get_latest_versions(name, wanted)


# -- artifacts -------------------------------------------------------------------------
class PathEscapeAllowed(MemoryArtifactRepository):
    """Joins artifact paths without checking them."""

    def _full(self, path: Optional[str]) -> str:
        return _join(self._root, (path or "").replace("\\", "/"))


class PartialArtifactVisible(MemoryArtifactRepository):
    """Stores each chunk as it is read: a failing read leaves a partial file."""

    def log_artifact(self, local_file: Any, artifact_path: Optional[str] = None) -> None:
        from pathlib import Path

        target = _join(self._full(artifact_path), Path(local_file).name)
        with self._fs.lock:
            self._fs.files[target] = b""
        with open(local_file, "rb") as f:
            for chunk in iter(lambda: f.read(4096), b""):
                with self._fs.lock:
                    self._fs.files[target] += chunk


#: variant class -> (interface, contract section where the suite must report a failure)
VARIANTS: dict[type, tuple[str, str]] = {
    CreatesDefaultExperiment: ("tracking", "3"),
    NonAtomicBatch: ("tracking", "3"),
    LastLoggedWinsTies: ("tracking", "3"),
    NanLost: ("tracking", "3"),
    SilentTruncation: ("tracking", "3"),
    ParamOverwrite: ("tracking", "3"),
    WritesToDeletedRuns: ("tracking", "3"),
    HardDelete: ("tracking", "3"),
    OffsetPagination: ("tracking", "3-paging"),
    OrIgnored: ("tracking", "3-search"),
    CaseInsensitiveLike: ("tracking", "3-search"),
    DurableButVolatile: ("tracking", "8"),
    WritesToRunsOfDeletedExperiment: ("tracking", "3"),
    ReusedVersionNumbers: ("registry", "5"),
    RacyVersionNumbers: ("registry", "5"),
    ArchiveNotApplied: ("registry", "5"),
    AliasKeptOnDelete: ("registry", "5"),
    ArchivesOnAnyStage: ("registry", "5"),
    StagesReadAsLetters: ("registry", "5"),
    DurableRegistryButVolatile: ("registry", "8"),
    PathEscapeAllowed: ("artifacts", "4"),
    PartialArtifactVisible: ("artifacts", "4"),
}
