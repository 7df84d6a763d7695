"""Logged models (contract section 3b): ``<root>/<experiment_id>/models/<model_id>.json``.

One JSON document per model, replaced atomically under the store's
logged-model lock.  Metrics that name a model (``Metric.model_id``) are
added to its document after the run's batch is committed, keeping the
latest point per key (:func:`storekit.entities.metric_order_key`).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, Optional, Sequence

from ... import rules
from ...entities import LifecycleStage, LoggedModel, LoggedModelStatus, Metric, PagedList, metric_order_key
from ...errors import LoggedModelNotFound, NotFoundError, StoreCorruptionError
from ...ids import new_model_id, now_ms
from ...interfaces import DEFAULT_MAX_RESULTS
from ...rules import validate_key, validate_logged_model_text, validate_model_id, validate_tags
from ...search.inprocess import creation_bound, search_page
from .atomic import read_json, write_json_atomic
from .locking import StoreLock
from .oserrors import translated

if TYPE_CHECKING:
    from .experiments import ExperimentCatalog
    from .run_index import ExperimentIndex, RunState

__all__ = ["FileLoggedModelOps", "LoggedModelCatalog", "to_entity"]

_DIR = "models"


def to_entity(doc: dict[str, Any]) -> LoggedModel:
    """A :class:`LoggedModel` from its document."""
    return LoggedModel(
        model_id=doc["model_id"],
        experiment_id=doc["experiment_id"],
        name=doc["name"],
        artifact_location=doc["artifact_location"],
        creation_timestamp=doc["creation_timestamp"],
        last_updated_timestamp=doc["last_updated_timestamp"],
        model_type=doc.get("model_type"),
        source_run_id=doc.get("source_run_id"),
        status=LoggedModelStatus(doc["status"]),
        status_message=doc.get("status_message"),
        tags=dict(doc.get("tags") or {}),
        params=dict(doc.get("params") or {}),
        metrics=tuple(
            Metric(k, v[0], v[1], v[2], doc["model_id"]) for k, v in sorted((doc.get("metrics") or {}).items())
        ),
        lifecycle_stage=LifecycleStage(doc.get("lifecycle_stage", "active")),
    )


class LoggedModelCatalog:
    """Reads and writes logged-model documents of a file store."""

    def __init__(self, root: Path, experiment_ids: Callable[[], list[str]]) -> None:
        self.root = root
        self._experiment_ids = experiment_ids
        self.lock = StoreLock(root / ".logged_models.lock")
        self._where: dict[str, str] = {}
        self._mutex = threading.Lock()

    def _path(self, experiment_id: str, model_id: str) -> Path:
        return self.root / experiment_id / _DIR / f"{model_id}.json"

    def _find(self, model_id: Any) -> Path:
        validate_model_id(model_id)
        eid = self._where.get(model_id)
        candidates = [eid] if eid else self._experiment_ids()
        for e in candidates:
            path = self._path(e, model_id)
            if path.exists():
                with self._mutex:
                    self._where[model_id] = e
                return path
        raise LoggedModelNotFound(f"no logged model with id {model_id!r}")

    def load(self, model_id: str) -> dict[str, Any]:
        """The document of a model; LoggedModelNotFound if there is none."""
        path = self._find(model_id)
        doc = read_json(path)
        if not isinstance(doc, dict) or doc.get("model_id") != model_id:
            raise StoreCorruptionError(f"file store: {path} is not a logged model document")
        return doc

    def create(
        self,
        experiment_id: str,
        artifact_root: str,
        name: Optional[str],
        source_run_id: Optional[str],
        tags: Optional[Mapping[str, str]],
        params: Optional[Mapping[str, str]],
        model_type: Optional[str],
    ) -> dict[str, Any]:
        """Write a new PENDING model in ``experiment_id`` and return its document."""
        from ...uri import append_path

        tags = validate_tags(tags, "logged model tag")
        params = validate_tags(params, "logged model param")
        name = validate_logged_model_text(name, "name")
        model_type = validate_logged_model_text(model_type, "model_type")
        model_id = new_model_id()
        now = now_ms()
        doc = {
            "model_id": model_id,
            "experiment_id": experiment_id,
            "name": name or f"model-{model_id[2:10]}",
            "artifact_location": append_path(artifact_root, _DIR, model_id, "artifacts"),
            "creation_timestamp": now,
            "last_updated_timestamp": now,
            "model_type": model_type,
            "source_run_id": source_run_id,
            "status": LoggedModelStatus.PENDING.value,
            "status_message": None,
            "tags": tags,
            "params": params,
            "metrics": {},
            "lifecycle_stage": LifecycleStage.ACTIVE.value,
        }
        path = self._path(experiment_id, model_id)
        with translated("creating", path.parent):
            path.parent.mkdir(exist_ok=True)
        write_json_atomic(path, doc)
        with self._mutex:
            self._where[model_id] = experiment_id
        return doc

    def change(self, model_id: str, apply: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
        """Apply ``apply`` to a model's document under the lock and save it."""
        with self.lock.hold():
            doc = self.load(model_id)
            apply(doc)
            doc["last_updated_timestamp"] = max(now_ms(), doc["last_updated_timestamp"])
            write_json_atomic(self._find(model_id), doc)
            return doc

    def record_metrics(self, metrics: Iterable[Metric]) -> None:
        """Keep the latest point per key of metrics that name a model."""
        by_model: dict[str, dict[str, Metric]] = {}
        for m in metrics:
            if m.model_id is not None:
                best = by_model.setdefault(m.model_id, {})
                if m.key not in best or metric_order_key(m) > metric_order_key(best[m.key]):
                    best[m.key] = m
        for model_id, latest in by_model.items():

            def apply(doc: dict[str, Any], latest: dict[str, Metric] = latest) -> None:
                stored = doc.setdefault("metrics", {})
                for key, m in latest.items():
                    old = stored.get(key)
                    if old is None or metric_order_key(m) > metric_order_key(Metric(key, old[0], old[1], old[2])):
                        stored[key] = [float(m.value), int(m.timestamp), int(m.step)]

            self.change(model_id, apply)

    def all_in(self, experiment_id: str) -> list[dict[str, Any]]:
        """Every model document of an experiment."""
        directory = self.root / experiment_id / _DIR
        with translated("listing", directory):
            try:
                names = sorted(n for n in os.listdir(directory) if n.endswith(".json") and not n.startswith("."))
            except FileNotFoundError:
                return []
        return [read_json(directory / n) for n in names]

    @staticmethod
    def delete_tag(doc: dict[str, Any], key: str) -> None:
        """Remove a tag from a document; NotFoundError if it is not set."""
        validate_key(key, "logged model tag key")
        if key not in doc["tags"]:
            raise NotFoundError(f"logged model {doc['model_id']} has no tag {key!r}")
        del doc["tags"][key]


class FileLoggedModelOps:
    """The logged-model operations of :class:`~storekit.backends.file.FileTrackingStore` (a mix-in)."""

    _experiments: "ExperimentCatalog"
    _models: LoggedModelCatalog
    _token_key: Optional[bytes]

    if TYPE_CHECKING:  # provided by FileExperimentOps and FileRunOps

        def _experiment_doc(self, experiment_id: Any) -> dict[str, Any]: ...

        def _locate(self, run_id: Any, fresh: bool = True) -> "tuple[ExperimentIndex, RunState]": ...

        def _check_writable(self, state: "RunState") -> None: ...

    def create_logged_model(
        self,
        experiment_id: str,
        name: Optional[str] = None,
        source_run_id: Optional[str] = None,
        tags: Optional[Mapping[str, str]] = None,
        params: Optional[Mapping[str, str]] = None,
        model_type: Optional[str] = None,
    ) -> LoggedModel:
        """Create a PENDING logged model at ``<experiment location>/models/<model_id>/artifacts``."""
        doc = self._experiment_doc(experiment_id)
        rules.check_experiment_active(doc["experiment_id"], doc["lifecycle_stage"], "a model")
        if source_run_id is not None:
            self._locate(source_run_id)
        return to_entity(
            self._models.create(
                str(doc["experiment_id"]), doc["artifact_location"], name, source_run_id, tags, params, model_type
            )
        )

    def get_logged_model(self, model_id: str) -> LoggedModel:
        """A logged model (active or deleted); LoggedModelNotFound if there is none."""
        return to_entity(self._models.load(model_id))

    def finalize_logged_model(self, model_id: str, status: LoggedModelStatus) -> LoggedModel:
        """Set a logged model's final status."""
        value = LoggedModelStatus.parse(status).value
        return to_entity(self._models.change(model_id, lambda d: d.__setitem__("status", value)))

    def set_logged_model_tags(self, model_id: str, tags: Mapping[str, str]) -> None:
        """Set (or overwrite) tags on a logged model."""
        tags = validate_tags(tags, "logged model tag")
        self._models.change(model_id, lambda d: d["tags"].update(tags))

    def log_logged_model_params(self, model_id: str, params: Mapping[str, str]) -> None:
        """Add params to a logged model (immutable: another value for a key raises)."""
        rules.new_logged_model_params({}, params)  # validate before taking the lock

        def add(doc: dict[str, Any]) -> None:
            stored = doc.setdefault("params", {})
            stored.update(rules.new_logged_model_params(stored, params))

        self._models.change(model_id, add)

    def delete_logged_model_tag(self, model_id: str, key: str) -> None:
        """Remove a tag from a logged model; NotFoundError if it is not set."""
        self._models.change(model_id, lambda d: self._models.delete_tag(d, key))

    def delete_logged_model(self, model_id: str) -> None:
        """Soft-delete a logged model: hidden from searches, still readable."""
        self._models.change(model_id, lambda d: d.__setitem__("lifecycle_stage", LifecycleStage.DELETED.value))

    def search_logged_models(
        self,
        experiment_ids: Sequence[str],
        filter_string: Optional[str] = None,
        order_by: Optional[Sequence[str]] = None,
        max_results: int = DEFAULT_MAX_RESULTS,
        page_token: Optional[str] = None,
    ) -> PagedList[LoggedModel]:
        """Active logged models of the experiments matching the filter."""
        from ...search import LOGGED_MODEL_SCHEMA, Kind

        ids = sorted(rules.validate_experiment_ids(experiment_ids))
        docs = [
            d
            for e in ids
            if e.isdigit() and self._experiments.load(e) is not None
            for d in self._models.all_in(e)
            if d.get("lifecycle_stage") != LifecycleStage.DELETED.value
        ]

        def accessor(ident: Any) -> Callable[[dict[str, Any]], object]:
            key = ident.key
            if ident.kind is Kind.METRIC:

                def metric(doc: dict[str, Any]) -> object:
                    point = (doc.get("metrics") or {}).get(key)
                    return None if point is None else point[0]

                return metric
            if ident.kind is Kind.PARAM:
                return lambda doc: doc["params"].get(key)
            if ident.kind is Kind.TAG:
                return lambda doc: doc["tags"].get(key)
            return lambda doc: doc.get(key)

        page = search_page(
            docs,
            accessor,
            schema=LOGGED_MODEL_SCHEMA,
            filter_string=filter_string,
            order_by=order_by,
            max_results=max_results,
            page_token=page_token,
            key=self._token_key,
            query=["logged-models", ids],
            bound=now_ms(),
            within_bound=creation_bound(lambda d: d["creation_timestamp"]),
        )
        return PagedList([to_entity(d) for d in page], page.token)

    def log_outputs(self, run_id: str, model_ids: Sequence[str]) -> None:
        """Record logged models a run produced (each once)."""
        model_ids = rules.validate_model_ids(model_ids)
        for model_id in model_ids:
            self._models.load(model_id)  # must exist
        index, state = self._locate(run_id, fresh=False)
        with index.writing():
            state = index.runs[state.run_id]
            self._check_writable(state)
            new = [m for m in model_ids if m not in state.outputs]
            if new:
                index.commit({"op": "outputs", "id": state.run_id, "add": new})
