"""The copy engine shared by ``storekit migrate`` and ``storekit import-mlflow``.

Order of work (each step resumable through :class:`~.state.ResumeState`):

1. per experiment (in id order): the experiment itself, then its logged
   models (runs name them as outputs), then its runs one by one — each run
   with its whole metric history streamed in chunks and its artifacts;
   a deleted experiment is written deleted (the fallback deletes it after
   its runs);
2. the registered models with all their versions, stages, tags and aliases.

Memory holds one run (its params, tags and a chunk of its history) and the
resume state's id sets at a time, whatever the size of the source.
"""

from __future__ import annotations

import contextlib
import re
import time
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterator, Optional, Sequence

from ..entities import Experiment, LoggedModel, Metric, ModelVersion, RegisteredModel, RunImport
from ..errors import InvalidParameterError
from ..interfaces import Capability
from ..uri import append_path
from .artifacts import ArtifactFile, copy_tree
from .destination import ApiDestination, Destination
from .records import RunRecord, Source
from .state import ResumeState

__all__ = ["TransferOptions", "TransferResult", "CopyEngine", "ARTIFACT_MODES"]

#: ``copy``: artifacts go to the destination's artifact root; ``keep``: URIs stay as they are.
ARTIFACT_MODES = ("copy", "keep")
#: Runs written as one group (one transaction with the import hook): at most this many runs...
GROUP_RUNS = 100
#: ...and at most this many metric keys among them.
GROUP_KEYS = 1000
_PARENT_TAGS = ("storekit.parentRunId", "mlflow.parentRunId")
_RUN_SOURCE = re.compile(r"/([0-9a-f]{32})/artifacts(/.*)?$")
_MODEL_SOURCE = re.compile(r"/models/(m-[0-9a-zA-Z]+)/artifacts(/.*)?$")


@dataclass(frozen=True)
class TransferOptions:
    """How a transfer runs."""

    artifacts: str = "copy"
    #: Copy the registry too (when both sides have one).
    registry: bool = True


@dataclass
class TransferResult:
    """What a transfer did (counts of records written now and skipped as already done)."""

    experiments: int = 0
    runs: int = 0
    skipped_runs: int = 0
    metric_points: int = 0
    logged_models: int = 0
    registered_models: int = 0
    model_versions: int = 0
    artifact_files: int = 0
    artifact_bytes: int = 0
    #: ``storekit server`` accounts copied (``storekit migrate`` only; see :mod:`.accounts`).
    users: int = 0
    tokens: int = 0
    grants: int = 0
    seconds: float = 0.0
    #: Seconds spent building the indexes deferred during the load (see :meth:`CopyEngine.run`).
    index_seconds: float = 0.0
    preserves_ids: bool = True
    notes: list[str] = field(default_factory=list)


class CopyEngine:
    """Copies everything a :class:`Source` holds into a :class:`Destination`."""

    def __init__(
        self,
        source: Source,
        destination: Destination,
        state: ResumeState,
        options: TransferOptions = TransferOptions(),
        on_run: Optional[Callable[[int], None]] = None,
    ) -> None:
        if options.artifacts not in ARTIFACT_MODES:
            raise InvalidParameterError(f"artifacts: {options.artifacts!r} is not one of {', '.join(ARTIFACT_MODES)}")
        if options.artifacts == "keep" and isinstance(destination, ApiDestination):
            raise InvalidParameterError(
                "artifacts: 'keep' needs a destination with the import hook (capability IMPORT); "
                "this destination assigns its own artifact locations, use 'copy'"
            )
        self.source = source
        self.dest = destination
        self.state = state
        self.options = options
        self.on_run = on_run or (lambda points: None)
        self.result = TransferResult(preserves_ids=destination.preserves_ids)
        #: Whether the destination can hold logged models (capability LOGGED_MODELS).
        self.dest_has_models = Capability.LOGGED_MODELS in destination.tracking.capabilities
        self._noted_datasets = False
        self._pending: list[tuple[RunImport, str, list[int]]] = []
        self._pending_keys = 0

    # --- id and URI mapping ------------------------------------------------
    def _run_id(self, src: Optional[str]) -> Optional[str]:
        return None if src is None else self.state.mapped("run", src) or src

    def _model_id(self, src: Optional[str]) -> Optional[str]:
        return None if src is None else self.state.mapped("model", src) or src

    def target_tags(self, record: RunRecord) -> dict[str, str]:
        """A run's tags as written: parent run ids mapped to the destination's ids."""
        tags = dict(record.tags)
        for key in _PARENT_TAGS:
            if key in tags:
                tags[key] = self._run_id(tags[key]) or tags[key]
        return tags

    def _rewrite_source(self, source: Optional[str]) -> Optional[str]:
        """A model version's source pointing into a copied run's or model's artifacts, pointed at the copy."""
        if not source or self.options.artifacts == "keep":
            return source
        match = _RUN_SOURCE.search(source)
        if match and self.state.mapped("run", match.group(1)):
            run = self.dest.tracking.get_run(self.state.mapped("run", match.group(1)) or "")
            return run.info.artifact_uri + (match.group(2) or "")
        match = _MODEL_SOURCE.search(source)
        if match and self.state.mapped("model", match.group(1)):
            model = self.dest.tracking.get_logged_model(self.state.mapped("model", match.group(1)) or "")
            return model.artifact_location + (match.group(2) or "")
        return source

    # --- the work ------------------------------------------------------------
    def run(self) -> TransferResult:
        """Copy everything not yet done; return the counts."""
        started = time.perf_counter()
        self._begin_load()
        try:
            for experiment in self.source.experiments():
                self._experiment(experiment)
        except BaseException:
            with contextlib.suppress(Exception):  # the original error matters more
                self._finish_load()
            raise
        self._finish_load()
        if self.options.registry and self.dest.registry is not None:
            for model, versions in self.source.registered_models():
                self._registered_model(model, versions)
        self.result.seconds = time.perf_counter() - started
        if not self.dest.preserves_ids:
            self.result.notes.append(
                "the destination has no import hook: experiments, runs and logged models got new ids "
                f"(the id map is in {self.state.path})"
            )
        return self.result

    def _begin_load(self) -> None:
        """Let an empty destination defer its metric indexes; the resume state records it (``index_deferred``)."""
        for name in self.dest.begin_bulk_load():
            self.state.mark("index_deferred", name)

    def _finish_load(self) -> None:
        """Build every deferred index that is missing — this attempt's or an interrupted one's — before
        anything else (registry, verification) runs; the resume state records it (``index_built``)."""
        started = time.perf_counter()
        built = self.dest.finish_bulk_load()
        for name in built:
            self.state.mark("index_built", name)
        if built:
            self.result.index_seconds = time.perf_counter() - started
            self.result.notes.append(
                f"built index {', '.join(built)} after the load ({self.result.index_seconds:.1f} s)"
            )

    def _experiment(self, experiment: Experiment) -> None:
        src_id = experiment.experiment_id
        dst_id = self.state.mapped("experiment", src_id)
        if self.state.is_done("experiment_done", src_id):
            return
        location = experiment.artifact_location if self.options.artifacts == "keep" else None
        stored = self.dest.experiment(experiment, location, dst_id)
        if dst_id is None:
            self.state.record("experiment", src_id, stored.experiment_id)
            self.result.experiments += 1
        if dst_id is None and stored.experiment_id != src_id:
            self.result.notes.append(
                f"experiment {src_id} got id {stored.experiment_id} "
                "(the destination cannot keep that id; runs keep theirs)"
            )
        dst_id = stored.experiment_id
        for model in self.source.logged_models(src_id):
            if not self.dest_has_models:
                self.result.notes.append(
                    f"logged model {model.model_id} not copied: the destination "
                    "does not declare LOGGED_MODELS (runs lose their outputs)"
                )
            elif self.state.mapped("model", model.model_id) is None:
                self._logged_model(model, stored)
        for record in self.source.runs(src_id):
            if self.state.mapped("run", record.info.run_id) is not None:
                self.result.skipped_runs += 1
                self.on_run(0)
                continue
            self._run(record, stored)
        self._flush()
        self.dest.finish_experiment(experiment, dst_id)
        self.state.mark("experiment_done", src_id)

    def _logged_model(self, model: LoggedModel, experiment: Experiment) -> None:
        copy = self.options.artifacts == "copy"
        location = (
            append_path(experiment.artifact_location, "models", model.model_id, "artifacts")
            if copy
            else model.artifact_location
        )
        metrics = tuple(replace(m, model_id=None) for m in model.metrics)
        source_run = self._run_id(model.source_run_id)
        unmapped = model.source_run_id is not None and self.state.mapped("run", model.source_run_id) is None
        if not self.dest.preserves_ids and unmapped:
            # without the hook the source run gets its new id only later (runs name their models as
            # outputs, so models come first): the model is written without it; the run's outputs keep the link
            source_run = None
            self.result.notes.append(
                f"logged model {model.model_id}: written without its source run "
                f"{model.source_run_id} (the destination assigns new ids; the run names it as an output)"
            )
        target = replace(
            model,
            experiment_id=experiment.experiment_id,
            artifact_location=location,
            source_run_id=source_run,
            metrics=metrics,
        )
        new_id = self.dest.logged_model(target)
        if copy:
            if new_id != model.model_id:
                location = self.dest.tracking.get_logged_model(new_id).artifact_location
            self._count_files(copy_tree(model.artifact_location, location))
        self.state.record("model", model.model_id, new_id)
        self.result.logged_models += 1

    def _count_files(self, files: Sequence[ArtifactFile]) -> None:
        self.result.artifact_files += len(files)
        self.result.artifact_bytes += sum(f.size for f in files)

    def _run(self, record: RunRecord, experiment: Experiment) -> None:
        """Queue a run; the queue is written as one group (one transaction with the import hook)."""
        info = record.info
        copy = self.options.artifacts == "copy"
        artifact_uri = (
            append_path(experiment.artifact_location, info.run_id, "artifacts") if copy else info.artifact_uri
        )
        target = replace(info, experiment_id=experiment.experiment_id, artifact_uri=artifact_uri)
        points = [0]
        remap = not self.dest.preserves_ids

        def chunks() -> Iterator[Sequence[Metric]]:
            points[0] = 0
            for chunk in self.source.metric_chunks(record):
                if (remap or not self.dest_has_models) and any(m.model_id for m in chunk):
                    chunk = [
                        replace(m, model_id=self._model_id(m.model_id) if self.dest_has_models else None) for m in chunk
                    ]
                points[0] += len(chunk)
                yield chunk

        outputs = [self._model_id(m) or m for m in record.outputs] if self.dest_has_models else []
        inputs = record.inputs
        if inputs and Capability.DATASETS not in self.dest.tracking.capabilities:
            inputs = ()
            if not self._noted_datasets:
                self._noted_datasets = True
                self.result.notes.append("dataset inputs not copied: the destination does not declare DATASETS")
        self._pending.append(
            (
                RunImport(target, record.params, self.target_tags(record), chunks, inputs, outputs),
                info.artifact_uri,
                points,
            )
        )
        self._pending_keys += len(record.metric_keys)
        # without the hook, ids change: a child's parent must be written (and mapped) first
        if len(self._pending) >= GROUP_RUNS or self._pending_keys >= GROUP_KEYS or not self.dest.preserves_ids:
            self._flush()

    def _flush(self) -> None:
        """Write the queued runs, copy their artifacts, then mark them done."""
        pending, self._pending, self._pending_keys = self._pending, [], 0
        if not pending:
            return
        new_ids = self.dest.runs([item for item, _, _ in pending])
        for (item, source_uri, points), new_id in zip(pending, new_ids):
            if self.options.artifacts == "copy":
                target_uri = item.info.artifact_uri
                if new_id != item.info.run_id:
                    target_uri = self.dest.tracking.get_run(new_id).info.artifact_uri
                self._count_files(copy_tree(source_uri, target_uri))
            self.state.record("run", item.info.run_id, new_id)
            self.result.runs += 1
            self.result.metric_points += points[0]
            self.on_run(points[0])

    def _registered_model(self, model: RegisteredModel, versions: list[ModelVersion]) -> None:
        if self.state.is_done("registered_model", model.name):
            return
        mapped = [
            replace(
                v,
                run_id=self._run_id(v.run_id),
                model_id=self._model_id(v.model_id),
                source=self._rewrite_source(v.source),
            )
            for v in versions
        ]
        self.dest.registered_model(model, mapped)
        self.state.mark("registered_model", model.name)
        self.result.registered_models += 1
        self.result.model_versions += len(versions)


def count_plan(source: Source) -> list[dict[str, Any]]:
    """Per experiment: id, name, stage, runs and logged models (what a dry run prints)."""
    rows = []
    for experiment in source.experiments():
        rows.append(
            {
                "experiment_id": experiment.experiment_id,
                "name": experiment.name,
                "lifecycle_stage": str(experiment.lifecycle_stage),
                "runs": source.count_runs(experiment.experiment_id),
                "logged_models": sum(1 for _ in source.logged_models(experiment.experiment_id)),
            }
        )
    return rows


__all__.append("count_plan")
