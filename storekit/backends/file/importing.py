"""The import hook of the file backend (capability ``IMPORT``): whole records with their own ids.

Used by ``storekit migrate`` and ``storekit import-mlflow`` (see
docs/migration.md).  Each method writes one record as given, keeping its id,
and is idempotent (a record with that id is replaced):

* ``import_experiment`` writes ``<id>/meta.json`` (a new directory appears
  in one ``rename``);
* ``import_run`` writes the run's metric history to a temporary file chunk
  by chunk, moves it into place and commits the run with one ``create``
  line of the experiment's run index: the run appears whole or not at all;
* ``import_logged_model`` writes ``<id>/models/<model_id>.json``;
* ``import_registered_model`` writes ``models/<name>/model.json``.
"""

from __future__ import annotations

import os
import shutil
import uuid
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Mapping, Optional, Sequence

from ... import rules
from ...entities import (
    DatasetInput,
    Experiment,
    LoggedModel,
    Metric,
    ModelVersion,
    Param,
    RegisteredModel,
    RunImport,
    RunInfo,
    RunTag,
)
from ...errors import AlreadyExistsError, InvalidParameterError
from ...uri import append_path
from ...validation import (
    validate_batch,
    validate_experiment_id,
    validate_experiment_name,
    validate_model_name,
    validate_run_id,
    validate_run_name,
    validate_tags,
    validate_version,
)
from .atomic import write_json_atomic
from .datasets import dataset_records
from .experiments import META_FILE
from .metric_log import append_committed, encode_metrics, latest_points, point_order_key, read_points
from .oserrors import translated

if TYPE_CHECKING:  # pragma: no cover
    from .experiments import ExperimentCatalog
    from .logged_models import LoggedModelCatalog
    from .run_index import ExperimentIndex

__all__ = ["FileTrackingImportOps", "FileRegistryImportOps"]

_METRIC_CHUNK, _ITEM_CHUNK = 1000, 100


def _experiment_dir_id(experiment_id: object) -> str:
    text = validate_experiment_id(experiment_id)
    if not (text.isascii() and text.isdigit()):
        raise InvalidParameterError(f"experiment_id {text!r}: the file store keeps numeric experiment ids only")
    return str(int(text))


class FileTrackingImportOps:
    """``import_experiment``, ``import_run``, ``import_logged_model`` of :class:`FileTrackingStore`."""

    root: Any
    default_artifact_root: str
    _experiments: "ExperimentCatalog"
    _models: "LoggedModelCatalog"
    _history: Any
    _run_experiment: dict[str, str]
    _index: Callable[[str], "ExperimentIndex"]

    def import_experiment(self, experiment: Experiment, artifact_location: Optional[str] = None) -> Experiment:
        """Write ``experiment`` with its id, name, stage, times and tags (replacing one with that id).

        ``artifact_location`` None gives it this store's default location for the id.
        """
        eid = _experiment_dir_id(experiment.experiment_id)
        name = validate_experiment_name(experiment.name)
        tags = validate_tags(experiment.tags, "experiment tag")
        doc = {
            "experiment_id": eid,
            "name": name,
            "artifact_location": artifact_location or append_path(self.default_artifact_root, eid),
            "lifecycle_stage": str(experiment.lifecycle_stage),
            "creation_time": int(experiment.creation_time or 0),
            "last_update_time": int(experiment.last_update_time or experiment.creation_time or 0),
            "tags": tags,
        }
        deleted_time = rules.imported_deleted_time(experiment.lifecycle_stage)
        if deleted_time is not None:
            doc["deleted_time"] = deleted_time
        catalog = self._experiments
        with catalog.lock.hold():
            other = catalog.find_by_name(name)
            if other is not None and str(other["experiment_id"]) != eid:
                raise AlreadyExistsError(
                    f"experiment name {name!r} is already taken by experiment {other['experiment_id']!r} "
                    f"(importing experiment {eid!r})"
                )
            if catalog.load(eid) is not None:
                catalog.save(doc)
            else:
                tmp = self.root / f".tmp-exp-{uuid.uuid4().hex[:12]}"
                with translated("creating", tmp):
                    tmp.mkdir()
                    try:
                        write_json_atomic(tmp / META_FILE, doc)
                        os.rename(tmp, catalog.path(eid))
                    except BaseException:
                        shutil.rmtree(tmp, ignore_errors=True)
                        raise
        return catalog.to_entity(doc)

    def import_runs(self, runs: Sequence[RunImport]) -> None:
        """Write several whole runs, each committed on its own (see :meth:`import_run`)."""
        for item in runs:
            self.import_run(item.info, item.params, item.tags, item.metric_chunks, item.inputs, item.outputs)

    def import_run(
        self,
        info: RunInfo,
        params: Mapping[str, str],
        tags: Mapping[str, str],
        metric_chunks: Callable[[], Iterable[Sequence[Metric]]],
        inputs: Sequence[DatasetInput] = (),
        outputs: Sequence[str] = (),
    ) -> None:
        """Write a whole run with its id (replacing a run with that id); see the module docstring."""
        run_id = validate_run_id(info.run_id)
        run_name = validate_run_name(info.run_name)
        eid = _experiment_dir_id(info.experiment_id)
        if self._experiments.load(eid) is None:
            raise InvalidParameterError(f"run {run_id!r}: import experiment {eid!r} before its runs")
        plist = [Param(k, v) for k, v in params.items()]
        tlist = [RunTag(k, v) for k, v in tags.items()]
        for start in range(0, max(len(plist), len(tlist)), _ITEM_CHUNK):
            validate_batch(params=plist[start : start + _ITEM_CHUNK], tags=tlist[start : start + _ITEM_CHUNK])
        records = dataset_records(inputs, ())
        index = self._index(eid)
        run_dir = index.dir / run_id
        with translated("creating run directory in", index.dir):
            run_dir.mkdir(exist_ok=True)
        tmp = run_dir / f".import-{uuid.uuid4().hex[:12]}.jsonl"
        size = 0
        latest: dict[str, list[Any]] = {}
        try:
            for chunk in metric_chunks():
                chunk = list(chunk)
                for start in range(0, len(chunk), _METRIC_CHUNK):
                    part = chunk[start : start + _METRIC_CHUNK]
                    validate_batch(metrics=part)
                    size = append_committed(tmp, size, encode_metrics(part))
                    for key, point in latest_points(part).items():
                        old = latest.get(key)
                        if old is None or point_order_key(point) > point_order_key(old):
                            latest[key] = point
            with index.writing():
                with translated("writing", run_dir):
                    if size:
                        os.replace(tmp, run_dir / "metrics.jsonl")
                    else:
                        try:
                            os.unlink(run_dir / "metrics.jsonl")
                        except FileNotFoundError:
                            pass
                previous = index.runs.get(run_id)
                event = {
                    "op": "create",
                    "seq": previous.seq if previous is not None else index.next_seq,
                    "run": {
                        "run_id": run_id,
                        "experiment_id": eid,
                        "run_name": run_name,
                        "user_id": info.user_id,
                        "status": str(info.status),
                        "start_time": info.start_time,
                        "end_time": info.end_time,
                        "lifecycle_stage": str(info.lifecycle_stage),
                        "artifact_uri": info.artifact_uri,
                        "deleted_time": rules.imported_deleted_time(info.lifecycle_stage),
                    },
                    "params": dict(params),
                    "tags": dict(tags),
                    "metrics": latest,
                    "mo": size,
                    "inputs": records,
                    "outputs": list(dict.fromkeys(outputs)),
                }
                index.commit(event)
                self._run_experiment[run_id] = eid
                self._history.clear()
        finally:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass

    def export_metric_chunks(self, run_id: str, chunk_size: int = 10_000) -> Iterator[list[Metric]]:
        """A run's whole metric history, key by key (code-point order), each key by ``(step, timestamp)``
        then logging order, in chunks (the bulk read of a transfer; one run's history is read at once)."""
        index, state = self._locate(run_id)  # type: ignore[attr-defined]
        points = read_points(index.dir / state.run_id / "metrics.jsonl", 0, state.mo)
        points.sort(key=lambda m: (m.key, m.step, m.timestamp))  # stable: logging order within ties
        for start in range(0, len(points), chunk_size):
            yield points[start : start + chunk_size]

    def import_logged_model(self, model: LoggedModel) -> None:
        """Write a logged model with its id, tags, params and latest metrics (replacing one with that id)."""
        eid = _experiment_dir_id(model.experiment_id)
        if (
            not isinstance(model.model_id, str)
            or not model.model_id.startswith("m-")
            or not model.model_id[2:].isalnum()
        ):
            raise InvalidParameterError(f"model_id {str(model.model_id)[:80]!r}: is not a logged model id")
        doc = {
            "model_id": model.model_id,
            "experiment_id": eid,
            "name": model.name,
            "artifact_location": model.artifact_location,
            "creation_timestamp": model.creation_timestamp,
            "last_updated_timestamp": model.last_updated_timestamp,
            "model_type": model.model_type,
            "source_run_id": model.source_run_id,
            "status": str(model.status),
            "status_message": model.status_message,
            "tags": validate_tags(model.tags, "logged model tag"),
            "params": validate_tags(model.params, "logged model param"),
            "metrics": {m.key: [float(m.value), int(m.timestamp), int(m.step)] for m in model.metrics},
            "lifecycle_stage": str(model.lifecycle_stage),
        }
        path = self._models._path(eid, model.model_id)
        with self._models.lock.hold():
            with translated("creating", path.parent):
                path.parent.mkdir(exist_ok=True)
            write_json_atomic(path, doc)


class FileRegistryImportOps:
    """``import_registered_model`` of :class:`FileRegistryStore`."""

    root: Any
    lock: Any
    _dir: Callable[[str], Any]
    _read: Callable[[Any], Optional[dict[str, Any]]]
    _save: Callable[[dict[str, Any]], None]

    def import_registered_model(self, model: RegisteredModel, versions: Sequence[ModelVersion]) -> None:
        """Write a registered model with all its versions (numbers, stages, tags) and aliases, replacing it."""
        name = validate_model_name(model.name)
        numbers = [str(int(validate_version(v.version))) for v in versions]
        aliases = dict(model.aliases)
        for number, v in zip(numbers, versions):
            for alias in v.aliases:
                aliases.setdefault(alias, number)
        doc = {
            "name": name,
            "creation_timestamp": model.creation_timestamp,
            "last_updated_timestamp": model.last_updated_timestamp,
            "description": model.description,
            "tags": validate_tags(model.tags, "registered model tag"),
            "aliases": aliases,
            "next_version": max((int(n) for n in numbers), default=0) + 1,
            "versions": {
                number: {
                    "creation_timestamp": v.creation_timestamp,
                    "last_updated_timestamp": v.last_updated_timestamp,
                    "description": v.description,
                    "user_id": v.user_id,
                    "current_stage": v.current_stage,
                    "source": v.source,
                    "run_id": v.run_id,
                    "status": v.status,
                    "tags": validate_tags(v.tags, "model version tag"),
                    "model_id": v.model_id,
                }
                for number, v in zip(numbers, versions)
            },
        }
        with self.lock.hold():
            target = self._dir(name)
            if self._read(target) is not None:
                self._save(doc)
                return
            tmp = self.root / f".tmp-{uuid.uuid4().hex[:12]}"
            with translated("creating", target):
                tmp.mkdir()
                try:
                    write_json_atomic(tmp / "model.json", doc)
                    os.rename(tmp, target)
                except BaseException:
                    shutil.rmtree(tmp, ignore_errors=True)
                    raise
