"""Reads an MLflow ``mlruns/`` tree directly (no MLflow needed), never writing to it.

The layout MLflow's file store writes (observed with MLflow 3.17)::

    mlruns/<experiment_id>/meta.yaml            experiment (name, artifact_location, times, stage)
    mlruns/<experiment_id>/tags/<key>           experiment tags (keys with '/' are subdirectories)
    mlruns/<experiment_id>/<run_id>/meta.yaml   run info (status as an integer)
    .../<run_id>/params/<key>, tags/<key>       one file per param / tag, the value as content
    .../<run_id>/metrics/<key>                  "timestamp value step" lines (NaN, inf as text)
    .../<run_id>/inputs/<id>/meta.yaml          dataset inputs (source_id names a dataset)
    .../<run_id>/outputs/<model_id>/meta.yaml   logged models the run produced
    mlruns/<experiment_id>/datasets/<id>/meta.yaml
    mlruns/<experiment_id>/models/<model_id>/   logged models (meta.yaml, params/, tags/, metrics/)
    mlruns/.trash/<experiment_id>/              deleted experiments (with their runs)
    mlruns/models/<name>/meta.yaml, tags/, aliases/, version-<n>/meta.yaml, version-<n>/tags/

Each metric key's history is read, ordered by ``(step, timestamp)`` and
yielded in chunks: memory holds one key's history of one run at a time.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterator, Optional, Sequence

from ..entities import (
    Experiment,
    LifecycleStage,
    LoggedModel,
    Metric,
    ModelVersion,
    RegisteredModel,
    RunInfo,
    metric_order_key,
)
from ..errors import InvalidParameterError, StoreCorruptionError
from ..uri import local_path_from_uri, path_to_file_uri
from .mlflow_common import dataset_input, logged_model_status, metric_value, run_status, run_tags
from .records import CHUNK_POINTS, RunRecord

__all__ = ["MlrunsSource", "looks_like_mlruns"]

_META = "meta.yaml"


def _yaml(path: Path) -> dict[str, Any]:
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        with open(path, encoding="utf-8") as fh:
            doc = yaml.load(fh, Loader=loader)
    except (OSError, yaml.YAMLError) as exc:
        raise StoreCorruptionError(f"mlruns: cannot read {path}: {exc}") from None
    return doc if isinstance(doc, dict) else {}


def _key_files(directory: Path) -> dict[str, Path]:
    """``{key: file}`` under ``directory``; keys with '/' live in subdirectories."""
    out: dict[str, Path] = {}
    if not directory.is_dir():
        return out
    for base, _dirs, files in os.walk(directory):
        for name in files:
            path = Path(base) / name
            out[path.relative_to(directory).as_posix()] = path
    return out


def _values(directory: Path) -> dict[str, str]:
    return {k: p.read_text(encoding="utf-8") for k, p in _key_files(directory).items()}


def _is_run_id(name: str) -> bool:
    return len(name) == 32 and all(c in "0123456789abcdef" for c in name)


def looks_like_mlruns(path: Path) -> bool:
    """Whether ``path`` holds an MLflow file store (an experiment directory with a meta.yaml)."""
    if not path.is_dir():
        return False
    for entry in os.scandir(path):
        if entry.is_dir() and (entry.name.isdigit() or entry.name == ".trash") and (Path(entry.path) / _META).exists():
            return True
    return (path / "0" / _META).exists() or (path / ".trash").is_dir() or (path / "models").is_dir()


class MlrunsSource:
    """An MLflow ``mlruns/`` directory as a transfer source (read-only)."""

    def __init__(self, uri: str) -> None:
        root = Path(os.path.abspath(local_path_from_uri(uri)))
        if (root / "storekit-file-store.json").exists():
            raise InvalidParameterError(f"import-mlflow: {root} is a storekit file store: use `storekit migrate`")
        if not looks_like_mlruns(root) and looks_like_mlruns(root / "mlruns"):
            root = root / "mlruns"
        if not looks_like_mlruns(root):
            raise InvalidParameterError(
                f"import-mlflow: {root} is not an MLflow mlruns/ directory (no <experiment id>/meta.yaml found)"
            )
        self.root = root
        self.description = str(root)
        self._dirs: dict[str, Path] = {}
        self._datasets: dict[str, dict[str, Any]] = {}
        self._datasets_of: Optional[str] = None

    # --- experiments ----------------------------------------------------
    def experiments(self) -> Iterator[Experiment]:
        """Active experiments, then the deleted ones in ``.trash``, by id."""
        found: list[tuple[int, str, Path]] = []
        for base in (self.root, self.root / ".trash"):
            if not base.is_dir():
                continue
            for entry in os.scandir(base):
                if entry.is_dir() and entry.name.isdigit() and (Path(entry.path) / _META).exists():
                    found.append((int(entry.name), entry.name, Path(entry.path)))
        for _, eid, path in sorted(found):
            meta = _yaml(path / _META)
            self._dirs[eid] = path
            deleted = path.parent.name == ".trash" or meta.get("lifecycle_stage") == "deleted"
            yield Experiment(
                experiment_id=eid,
                name=str(meta.get("name", eid)),
                artifact_location=str(meta.get("artifact_location") or path_to_file_uri(path)),
                lifecycle_stage=LifecycleStage.DELETED if deleted else LifecycleStage.ACTIVE,
                tags=_values(path / "tags"),
                creation_time=meta.get("creation_time"),
                last_update_time=meta.get("last_update_time"),
            )

    def _dir(self, experiment_id: str) -> Path:
        if experiment_id not in self._dirs:
            for _ in self.experiments():
                pass
        return self._dirs[experiment_id]

    def _run_dirs(self, experiment_id: str) -> list[Path]:
        base = self._dir(experiment_id)
        return sorted(
            Path(e.path)
            for e in os.scandir(base)
            if e.is_dir() and _is_run_id(e.name) and (Path(e.path) / _META).exists()
        )

    def count_runs(self, experiment_id: str) -> int:
        """How many run directories the experiment has."""
        return len(self._run_dirs(experiment_id))

    # --- runs -------------------------------------------------------------
    def _dataset(self, experiment_id: str, dataset_id: str) -> Optional[dict[str, Any]]:
        if self._datasets_of != experiment_id:
            self._datasets, self._datasets_of = {}, experiment_id
            directory = self._dir(experiment_id) / "datasets"
            if directory.is_dir():
                for entry in os.scandir(directory):
                    if (Path(entry.path) / _META).exists():
                        self._datasets[entry.name] = _yaml(Path(entry.path) / _META)
        return self._datasets.get(dataset_id)

    def _artifact_uri(self, meta_uri: str, experiment_id: str, run_dir: Path) -> str:
        """The run's artifact URI; a deleted experiment's artifacts moved with it to ``.trash``."""
        try:
            original = local_path_from_uri(meta_uri)
        except ValueError:
            return meta_uri
        moved = run_dir / "artifacts"
        if not original.exists() and moved.exists() and run_dir.parent.parent.name == ".trash":
            return path_to_file_uri(moved)
        return meta_uri

    def runs(self, experiment_id: str) -> Iterator[RunRecord]:
        """Every run directory of the experiment, by run id."""
        for run_dir in self._run_dirs(experiment_id):
            meta = _yaml(run_dir / _META)
            run_id = str(meta.get("run_id") or meta.get("run_uuid") or run_dir.name)
            tags = _values(run_dir / "tags")
            inputs = []
            for entry in sorted(_subdirs(run_dir / "inputs")):
                doc = _yaml(entry / _META)
                if doc.get("source_type") != "DATASET":
                    continue
                ds = self._dataset(experiment_id, str(doc.get("source_id")))
                if ds is None:
                    continue
                inputs.append(
                    dataset_input(
                        str(ds.get("name")),
                        str(ds.get("digest")),
                        str(ds.get("source_type")),
                        ds.get("source"),
                        ds.get("schema"),
                        ds.get("profile"),
                        {str(k): str(v) for k, v in (doc.get("tags") or {}).items()},
                    )
                )
            outputs = tuple(p.name for p in sorted(_subdirs(run_dir / "outputs")))
            info = RunInfo(
                run_id=run_id,
                experiment_id=experiment_id,
                run_name=meta.get("run_name") or tags.get("mlflow.runName"),
                user_id=meta.get("user_id"),
                status=run_status(meta.get("status", 3)),
                start_time=meta.get("start_time"),
                end_time=meta.get("end_time"),
                lifecycle_stage=LifecycleStage(meta.get("lifecycle_stage") or "active"),
                artifact_uri=self._artifact_uri(str(meta.get("artifact_uri") or ""), experiment_id, run_dir),
            )
            yield RunRecord(
                info=info,
                params=_values(run_dir / "params"),
                tags=run_tags(tags),
                inputs=tuple(inputs),
                outputs=outputs,
                metric_keys=tuple(sorted(_key_files(run_dir / "metrics"))),
            )

    def _run_dir(self, run: RunRecord) -> Path:
        return self._dir(run.info.experiment_id) / run.info.run_id

    def metric_chunks(self, run: RunRecord) -> Iterator[Sequence[Metric]]:
        """Each key's history ordered by ``(step, timestamp)``, in chunks."""
        base = self._run_dir(run) / "metrics"
        for key in run.metric_keys:
            points = _read_metric_file(base / key, key)
            points.sort(key=metric_order_key)
            for start in range(0, len(points), CHUNK_POINTS):
                yield points[start : start + CHUNK_POINTS]

    # --- logged models and registry ---------------------------------------
    def logged_models(self, experiment_id: str) -> Iterator[LoggedModel]:
        """The experiment's ``models/<model_id>`` directories."""
        for path in sorted(_subdirs(self._dir(experiment_id) / "models")):
            if not (path / _META).exists():
                continue
            meta = _yaml(path / _META)
            latest: dict[str, Metric] = {}
            for key, file in _key_files(path / "metrics").items():
                for m in _read_metric_file(file, key):
                    if key not in latest or metric_order_key(m) > metric_order_key(latest[key]):
                        latest[key] = m
            yield LoggedModel(
                model_id=str(meta.get("model_id") or path.name),
                experiment_id=experiment_id,
                name=str(meta.get("name") or path.name),
                artifact_location=str(meta.get("artifact_location") or path_to_file_uri(path / "artifacts")),
                creation_timestamp=int(meta.get("creation_timestamp") or 0),
                last_updated_timestamp=int(meta.get("last_updated_timestamp") or meta.get("creation_timestamp") or 0),
                model_type=meta.get("model_type"),
                source_run_id=meta.get("source_run_id"),
                status=logged_model_status(meta.get("status")),
                status_message=meta.get("status_message"),
                tags=_values(path / "tags"),
                params=_values(path / "params"),
                metrics=tuple(latest[k] for k in sorted(latest)),
                lifecycle_stage=LifecycleStage(meta.get("lifecycle_stage") or "active"),
            )

    def registered_models(self) -> Iterator[tuple[RegisteredModel, list[ModelVersion]]]:
        """``mlruns/models/<name>`` with its versions, by name."""
        models = [p for p in _subdirs(self.root / "models") if (p / _META).exists()]
        for path in sorted(models, key=lambda p: str(_yaml(p / _META).get("name", p.name))):
            meta = _yaml(path / _META)
            name = str(meta.get("name", path.name))
            aliases = {k: v.strip() for k, v in _values(path / "aliases").items()}
            versions = []
            for vdir in _subdirs(path):
                if not vdir.name.startswith("version-") or not (vdir / _META).exists():
                    continue
                vm = _yaml(vdir / _META)
                if str(vm.get("current_stage")) == "Deleted_Internal":
                    continue
                number = str(vm.get("version") or vdir.name.split("-", 1)[1])
                versions.append(
                    ModelVersion(
                        name=name,
                        version=number,
                        creation_timestamp=int(vm.get("creation_timestamp") or 0),
                        last_updated_timestamp=int(
                            vm.get("last_updated_timestamp") or vm.get("creation_timestamp") or 0
                        ),
                        description=vm.get("description"),
                        user_id=vm.get("user_id"),
                        current_stage=str(vm.get("current_stage") or "None"),
                        source=vm.get("source"),
                        run_id=vm.get("run_id") or None,
                        status=str(vm.get("status") or "READY"),
                        tags=_values(vdir / "tags"),
                        aliases=tuple(sorted(a for a, v in aliases.items() if v == number)),
                        model_id=vm.get("model_id"),
                    )
                )
            versions.sort(key=lambda v: int(v.version))
            yield (
                RegisteredModel(
                    name=name,
                    creation_timestamp=int(meta.get("creation_timestamp") or 0),
                    last_updated_timestamp=int(
                        meta.get("last_updated_timestamp") or meta.get("creation_timestamp") or 0
                    ),
                    description=meta.get("description"),
                    tags=_values(path / "tags"),
                    aliases=aliases,
                ),
                versions,
            )

    def close(self) -> None:
        """Nothing to release."""


def _subdirs(path: Path) -> list[Path]:
    if not path.is_dir():
        return []
    return [Path(e.path) for e in os.scandir(path) if e.is_dir()]


def _read_metric_file(path: Path, key: str) -> list[Metric]:
    """Points of an MLflow metric file: ``timestamp value [step [run_id ...]]`` per line."""
    out = []
    with open(path, encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            parts = line.split()
            if not parts:
                continue
            try:
                out.append(Metric(key, metric_value(parts[1]), int(parts[0]), int(parts[2]) if len(parts) > 2 else 0))
            except (ValueError, IndexError):
                raise StoreCorruptionError(f"mlruns: {path} line {number} is not 'timestamp value step'") from None
    return out
