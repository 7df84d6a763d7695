"""MLflow tracking store (``mlflow.store.tracking.AbstractStore``) on any storekit tracking store.

Registered under MLflow's entry-point group ``mlflow.tracking_store`` as
``storekit``: ``MLFLOW_TRACKING_URI=storekit:sqlite:////abs/x.db`` (or any
``storekit:<storekit URI>``) is all a user sets.  MLflow builds it as
``StorekitTrackingStore(store_uri=..., artifact_uri=...)``; ``mlflow server``
builds one per worker process.

What MLflow expects beyond storekit's contract is done here (README, "Mappings"):
the ``Default`` experiment as id ``"0"``, invented run names and the
``mlflow.runName`` tag, metric history in MLflow's order, truncation of long
values under ``MLFLOW_TRUNCATE_LONG_VALUES``, the UI's dataset summary,
logged-model inputs and output steps.
"""

from __future__ import annotations

import json
import logging
import math
import numbers
from typing import Any, Optional, Sequence

from mlflow.entities import LoggedModelStatus as MlLoggedModelStatus
from mlflow.entities import ViewType as MlViewType
from mlflow.entities.dataset_summary import _DatasetSummary
from mlflow.environment_variables import MLFLOW_TRUNCATE_LONG_VALUES
from mlflow.exceptions import MlflowException
from mlflow.store.entities.paged_list import PagedList
from mlflow.store.tracking.abstract_store import AbstractStore
from mlflow.utils.mlflow_tags import MLFLOW_LOGGED_MODELS, MLFLOW_RUN_NAME
from mlflow.utils.name_utils import _generate_random_name

import storekit as sk
from storekit.envvars import env_int
from storekit.paging import decode_page_token, encode_page_token, query_fingerprint
from storekit.validation import MAX_PARAM_VALUE_LENGTH, MAX_TAG_VALUE_LENGTH, validate_max_results

from . import conversion as cv
from .errors import not_implemented, translate_errors, translating_methods
from .filters import (
    EXPERIMENT_ALIASES,
    LOGGED_MODEL_ALIASES,
    RUN_ALIASES,
    logged_model_order_by,
    rewrite,
    rewrite_order_by,
)
from .genai import install_not_implemented
from .paging import collect
from .uris import unwrap, unwrap_location

__all__ = [
    "StorekitTrackingStore",
    "mlflow_history_order",
    "exact_metrics_max_runs",
    "EXACT_METRICS_MAX_RUNS",
    "MAX_DATASET_SUMMARIES",
]

_log = logging.getLogger(__name__)

#: ``search_runs`` pages of at most this many runs carry each metric's exact latest step and
#: timestamp (one history read per run and metric); larger pages carry the latest values with
#: step 0 and timestamp 0.  ``STOREKIT_MLFLOW_EXACT_METRICS_MAX_RUNS`` overrides it.
EXACT_METRICS_MAX_RUNS = 100
#: At most this many dataset summaries are returned to the UI (as MLflow's own stores do).
MAX_DATASET_SUMMARIES = 1000
# Rows read per page where the bridge walks a whole search (dataset summaries).
_WALK_PAGE = 1000


def exact_metrics_max_runs() -> int:
    """The page size up to which ``search_runs`` reads exact latest metric points (see :data:`EXACT_METRICS_MAX_RUNS`)."""
    return max(0, env_int("STOREKIT_MLFLOW_EXACT_METRICS_MAX_RUNS", EXACT_METRICS_MAX_RUNS))


def mlflow_history_order(metric: sk.Metric) -> tuple[int, int, int, float]:
    """Sort key of MLflow's SQL store for a metric history: ``(timestamp, step, value)``, NaN last."""
    value = float(metric.value)
    nan = math.isnan(value)
    return (int(metric.timestamp), int(metric.step), 1 if nan else 0, 0.0 if nan else value)


def _truncated(value: Any, limit: int, what: str) -> Any:
    """MLflow's ``MLFLOW_TRUNCATE_LONG_VALUES`` rule for param and run-tag values."""
    if isinstance(value, str) and len(value) > limit and MLFLOW_TRUNCATE_LONG_VALUES.get():
        _log.warning(
            "%s '%s...' (%d characters) is truncated to %d characters to meet the length limit.",
            what,
            value[:100],
            len(value),
            limit,
        )
        return value[:limit]
    return value


def _metric_value(value: Any) -> Any:
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return float(value)
    return value


@translating_methods
class StorekitTrackingStore(AbstractStore):
    """An MLflow tracking store backed by the storekit store named by ``storekit:<uri>``."""

    def __init__(self, store_uri: Optional[str] = None, artifact_uri: Optional[str] = None) -> None:
        super().__init__()
        self.store_uri = store_uri
        #: The server's default artifact root as MLflow gave it (handlers read this attribute).
        self.artifact_root_uri = artifact_uri
        options: dict[str, Any] = {}
        root = unwrap_location(artifact_uri)
        if root:
            options["default_artifact_root"] = root
        with translate_errors():
            native = unwrap(store_uri) if store_uri else None
            self._store: sk.TrackingStore = sk.resolve_tracking_store(native, **options)
            self._ids = cv.ExperimentIds(self._ensure_default_experiment())

    # ------------------------------------------------------------------ helpers
    def _ensure_default_experiment(self) -> str:
        """The storekit id of ``Default``, creating it once (safe when several processes race)."""
        store = self._store
        exp = store.get_experiment_by_name(cv.DEFAULT_EXPERIMENT_NAME)
        if exp is not None:
            return exp.experiment_id
        try:
            return store.create_experiment(cv.DEFAULT_EXPERIMENT_NAME)
        except sk.AlreadyExistsError:
            exp = store.get_experiment_by_name(cv.DEFAULT_EXPERIMENT_NAME)
            if exp is None:  # pragma: no cover - renamed between the two calls
                raise
            return exp.experiment_id

    @property
    def storekit_store(self) -> sk.TrackingStore:
        """The underlying storekit tracking store."""
        return self._store

    def _latest_points(self, run: sk.Run) -> dict[str, sk.Metric]:
        """The latest point (value, step, timestamp) of each metric of a run.

        The run's own ``latest_metrics`` when it has every key (the built-in
        stores fill it); otherwise read from the histories.
        """
        if run.data.latest_metrics.keys() >= run.data.metrics.keys():
            return dict(run.data.latest_metrics)
        latest: dict[str, sk.Metric] = {}
        for key in run.data.metrics:
            best: Optional[sk.Metric] = None
            for point in self._store.get_metric_history(run.info.run_id, key):
                best = sk.latest_metric(best, point)
            if best is not None:
                latest[key] = best
        return latest

    def _run(self, run_id: str) -> Any:
        run = self._store.get_run(run_id)
        return cv.run_to_mlflow(run, self._ids, self._latest_points(run))

    def _set_json_run_tag(self, run_id: str, key: str, update: Any) -> None:
        """Read-modify-write of one of the bridge's reserved JSON run tags."""
        tags = self._store.get_run(run_id).data.tags
        try:
            current = json.loads(tags[key]) if key in tags else None
        except ValueError:
            current = None
        new = update(current)
        if new != current:
            self._store.set_tag(run_id, sk.RunTag(key, json.dumps(new, separators=(",", ":"))))

    # ------------------------------------------------------------------ experiments
    def search_experiments(
        self,
        view_type: int = MlViewType.ACTIVE_ONLY,
        max_results: Optional[int] = None,
        filter_string: Optional[str] = None,
        order_by: Optional[Sequence[str]] = None,
        page_token: Optional[str] = None,
    ) -> PagedList:
        """Experiments matching an MLflow filter (``name``, ``tags.<key>``, times)."""
        view = sk.ViewType(int(view_type or MlViewType.ACTIVE_ONLY))
        filter_text = rewrite(filter_string, EXPERIMENT_ALIASES)
        order = rewrite_order_by(order_by, EXPERIMENT_ALIASES)
        items, token = collect(
            lambda limit, token: self._store.search_experiments(
                view_type=view, max_results=limit, filter_string=filter_text, order_by=order, page_token=token
            ),
            max_results,
            page_token,
        )
        return PagedList([cv.experiment_to_mlflow(e, self._ids) for e in items], token)

    def create_experiment(self, name: str, artifact_location: Optional[str] = None, tags: Any = None) -> str:
        """Create an experiment; returns its MLflow id."""
        experiment_id = self._store.create_experiment(
            name, artifact_location=unwrap_location(artifact_location), tags=cv.tag_dict(tags)
        )
        return self._ids.to_mlflow(experiment_id)

    def get_experiment(self, experiment_id: str) -> Any:
        """The experiment with this MLflow id (``"0"`` is ``Default``)."""
        return cv.experiment_to_mlflow(self._store.get_experiment(self._ids.to_storekit(experiment_id)), self._ids)

    def get_experiment_by_name(self, experiment_name: str) -> Any:
        """The experiment with this name, or None."""
        exp = self._store.get_experiment_by_name(experiment_name)
        return None if exp is None else cv.experiment_to_mlflow(exp, self._ids)

    def delete_experiment(self, experiment_id: str) -> None:
        """Soft-delete an experiment."""
        self._store.delete_experiment(self._ids.to_storekit(experiment_id))

    def restore_experiment(self, experiment_id: str) -> None:
        """Restore a deleted experiment."""
        self._store.restore_experiment(self._ids.to_storekit(experiment_id))

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        """Rename an experiment."""
        self._store.rename_experiment(self._ids.to_storekit(experiment_id), new_name)

    def set_experiment_tag(self, experiment_id: str, tag: Any) -> None:
        """Set a tag on an experiment."""
        self._store.set_experiment_tag(self._ids.to_storekit(experiment_id), sk.ExperimentTag(tag.key, tag.value))

    def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        """Remove a tag from an experiment."""
        self._store.delete_experiment_tag(self._ids.to_storekit(experiment_id), key)

    def filter_active_experiment_ids(self, experiment_ids: Sequence[str]) -> list[str]:
        """The ids (of those given) whose experiments exist and are active."""
        active = []
        for experiment_id in experiment_ids or ():
            try:
                exp = self._store.get_experiment(self._ids.to_storekit(experiment_id))
            except sk.NotFoundError:
                continue
            if exp.lifecycle_stage == sk.LifecycleStage.ACTIVE:
                active.append(str(experiment_id))
        return active

    # ------------------------------------------------------------------ runs
    def create_run(
        self,
        experiment_id: Optional[str],
        user_id: Optional[str],
        start_time: Optional[int],
        tags: Any,
        run_name: Optional[str],
    ) -> Any:
        """Create a run; invents a run name when none is given and sets ``mlflow.runName``."""
        tag_map = {k: _truncated(v, MAX_TAG_VALUE_LENGTH, "Tag value") for k, v in cv.tag_dict(tags).items()}
        tag_name = tag_map.get(MLFLOW_RUN_NAME)
        if run_name and tag_name and run_name != tag_name:
            raise MlflowException.invalid_parameter_value(
                "Both 'run_name' argument and 'mlflow.runName' tag are specified, but with "
                f"different values (run_name='{run_name}', mlflow.runName='{tag_name}')."
            )
        run_name = run_name or tag_name or _generate_random_name()
        tag_map[MLFLOW_RUN_NAME] = run_name
        experiment = cv.DEFAULT_EXPERIMENT_ID if experiment_id is None else experiment_id
        run = self._store.create_run(
            self._ids.to_storekit(experiment),
            user_id=user_id,
            start_time=start_time,
            tags=tag_map,
            run_name=run_name,
        )
        return cv.run_to_mlflow(run, self._ids)

    def get_run(self, run_id: str) -> Any:
        """The run, with its latest metric points (value, step and timestamp)."""
        return self._run(run_id)

    def update_run_info(self, run_id: str, run_status: Any, end_time: Optional[int], run_name: Optional[str]) -> Any:
        """Change status, end time and/or name (a new name also updates ``mlflow.runName``)."""
        status = cv.status_name(run_status)
        info = self._store.update_run_info(
            run_id,
            status=sk.RunStatus(status) if status is not None else None,
            end_time=end_time,
            run_name=run_name or None,
        )
        if run_name:
            self._store.set_tag(run_id, sk.RunTag(MLFLOW_RUN_NAME, run_name))
        return cv.run_info_to_mlflow(info, self._ids)

    def delete_run(self, run_id: str) -> None:
        """Soft-delete a run."""
        self._store.delete_run(run_id)

    def restore_run(self, run_id: str) -> None:
        """Restore a deleted run."""
        self._store.restore_run(run_id)

    def log_batch(self, run_id: str, metrics: Sequence[Any], params: Sequence[Any], tags: Sequence[Any]) -> None:
        """Log metrics, params and tags atomically; a ``mlflow.runName`` tag renames the run."""
        sk_metrics = [
            sk.Metric(
                key=m.key,
                value=_metric_value(m.value),
                timestamp=m.timestamp,
                step=m.step if m.step is not None else 0,
                model_id=getattr(m, "model_id", None),
            )
            for m in metrics or ()
        ]
        sk_params = [sk.Param(p.key, _truncated(p.value, MAX_PARAM_VALUE_LENGTH, "Param value")) for p in params or ()]
        sk_tags = [sk.RunTag(t.key, _truncated(t.value, MAX_TAG_VALUE_LENGTH, "Tag value")) for t in tags or ()]
        self._store.log_batch(run_id, metrics=sk_metrics, params=sk_params, tags=sk_tags)
        names = [t.value for t in sk_tags if t.key == MLFLOW_RUN_NAME]
        if names and names[-1]:
            self._store.update_run_info(run_id, run_name=names[-1])

    def log_metric(self, run_id: str, metric: Any) -> None:
        """Log one metric point."""
        self.log_batch(run_id, metrics=[metric], params=[], tags=[])

    def log_param(self, run_id: str, param: Any) -> None:
        """Log one param."""
        self.log_batch(run_id, metrics=[], params=[param], tags=[])

    def set_tag(self, run_id: str, tag: Any) -> None:
        """Set one run tag (``mlflow.runName`` renames the run)."""
        self.log_batch(run_id, metrics=[], params=[], tags=[tag])

    def delete_tag(self, run_id: str, key: str) -> None:
        """Remove a tag from a run."""
        self._store.delete_tag(run_id, key)

    def log_batch_async(self, run_id: str, metrics: Any, params: Any, tags: Any) -> Any:
        """MLflow's async queue over :meth:`log_batch`."""
        return super().log_batch_async(run_id, metrics, params, tags)

    def log_metric_async(self, run_id: str, metric: Any) -> Any:
        """MLflow's async queue over :meth:`log_batch`."""
        return super().log_metric_async(run_id, metric)

    def log_param_async(self, run_id: str, param: Any) -> Any:
        """MLflow's async queue over :meth:`log_batch`."""
        return super().log_param_async(run_id, param)

    def set_tag_async(self, run_id: str, tag: Any) -> Any:
        """MLflow's async queue over :meth:`log_batch`."""
        return super().set_tag_async(run_id, tag)

    def end_async_logging(self) -> None:
        """Stop MLflow's async queue from accepting data."""
        super().end_async_logging()

    def flush_async_logging(self) -> None:
        """Store everything MLflow's async queue holds."""
        super().flush_async_logging()

    def shut_down_async_logging(self) -> None:
        """Shut MLflow's async queue down."""
        super().shut_down_async_logging()

    # ------------------------------------------------------------------ metric history
    def get_metric_history(
        self, run_id: str, metric_key: str, max_results: Optional[int] = None, page_token: Optional[str] = None
    ) -> PagedList:
        """Every point of a metric in MLflow's order ``(timestamp, step, value)``; paged when asked."""
        points = sorted(self._store.get_metric_history(run_id, metric_key), key=mlflow_history_order)
        metrics = [cv.metric_to_mlflow(p, run_id) for p in points]
        if max_results is None and not page_token:
            return PagedList(metrics, None)
        limit = validate_max_results(max_results)
        fingerprint = query_fingerprint("mlflow-metric-history", run_id, metric_key, limit)
        start = 0
        if page_token:
            start = decode_page_token(page_token, fingerprint).get("i", 0)
            if not isinstance(start, int) or start < 0:
                raise sk.InvalidParameterError("page_token: invalid page token (bad position)")
        end = start + limit
        token = encode_page_token({"i": end}, fingerprint) if end < len(metrics) else None
        return PagedList(metrics[start:end], token)

    def get_metric_history_bulk_interval_from_steps(
        self, run_id: str, metric_key: str, steps: Sequence[int], max_results: int
    ) -> list[Any]:
        """Points of the given steps (MLflow's algorithm over :meth:`get_metric_history`)."""
        return super().get_metric_history_bulk_interval_from_steps(run_id, metric_key, steps, max_results)

    def get_metric_history_bulk_interval(
        self,
        run_ids: list[str],
        metric_key: str,
        max_results: int,
        start_step: Optional[int],
        end_step: Optional[int],
    ) -> list[Any]:
        """Sampled histories of several runs (MLflow's algorithm over :meth:`get_metric_history`)."""
        return super().get_metric_history_bulk_interval(run_ids, metric_key, max_results, start_step, end_step)

    # ------------------------------------------------------------------ search
    def search_runs(
        self,
        experiment_ids: Sequence[str],
        filter_string: Optional[str],
        run_view_type: int,
        max_results: Optional[int] = None,
        order_by: Optional[Sequence[str]] = None,
        page_token: Optional[str] = None,
    ) -> PagedList:
        """Runs matching an MLflow filter and order (MLflow's syntax, see the README)."""
        runs, token = self._search_runs(experiment_ids, filter_string, run_view_type, max_results, order_by, page_token)
        return PagedList(runs, token)

    def _search_runs(
        self,
        experiment_ids: Sequence[str],
        filter_string: Optional[str],
        run_view_type: int,
        max_results: Optional[int],
        order_by: Optional[Sequence[str]],
        page_token: Optional[str],
    ) -> tuple[list[Any], Optional[str]]:
        ids = self._ids.many_to_storekit(experiment_ids)
        filter_text = rewrite(filter_string, RUN_ALIASES)
        view = sk.ViewType(int(run_view_type or MlViewType.ACTIVE_ONLY))
        order = rewrite_order_by(order_by, RUN_ALIASES)
        runs, token = collect(
            lambda limit, token: self._store.search_runs(
                ids, filter_string=filter_text, view_type=view, max_results=limit, order_by=order, page_token=token
            ),
            max_results,
            page_token,
        )
        exact = len(runs) <= exact_metrics_max_runs()
        return [cv.run_to_mlflow(r, self._ids, self._latest_points(r) if exact else None) for r in runs], token

    # ------------------------------------------------------------------ datasets
    def log_inputs(
        self, run_id: str, datasets: Optional[Sequence[Any]] = None, models: Optional[Sequence[Any]] = None
    ) -> None:
        """Record datasets (storekit ``log_inputs``) and logged-model inputs (a reserved run tag)."""
        if datasets:
            self._store.log_inputs(run_id, [cv.dataset_input_to_storekit(d) for d in datasets])
        model_ids = cv.model_ids_of(models or ())
        if model_ids:
            for model_id in model_ids:
                self._store.get_logged_model(model_id)  # must exist
            self._set_json_run_tag(
                run_id,
                cv.MODEL_INPUTS_TAG,
                lambda current: list(dict.fromkeys([*(current or []), *model_ids])),
            )

    def _search_datasets(self, experiment_ids: Sequence[str]) -> list[Any]:
        """The UI's dataset summary: distinct (experiment, name, digest, context) of active runs."""
        seen: dict[tuple[str, str, str, Optional[str]], None] = {}
        for experiment_id in experiment_ids or ():
            token: Optional[str] = None
            while True:
                page = self._store.search_runs(
                    [self._ids.to_storekit(experiment_id)],
                    filter_string="datasets.name IS NOT NULL",  # only runs with dataset inputs
                    max_results=_WALK_PAGE,
                    page_token=token,
                )
                for run in page:
                    for item in run.inputs.dataset_inputs:
                        context = item.tags.get(cv.STOREKIT_CONTEXT_TAG)
                        seen[(str(experiment_id), item.dataset.name, item.dataset.digest, context)] = None
                        if len(seen) >= MAX_DATASET_SUMMARIES:
                            return [_DatasetSummary(*key) for key in seen]
                token = page.token
                if not token:
                    break
        return [_DatasetSummary(*key) for key in seen]

    # ------------------------------------------------------------------ logged models
    def create_logged_model(
        self,
        experiment_id: str,
        name: Optional[str] = None,
        source_run_id: Optional[str] = None,
        tags: Any = None,
        params: Any = None,
        model_type: Optional[str] = None,
    ) -> Any:
        """Create a PENDING logged model (a random name when none is given, as MLflow does)."""
        model = self._store.create_logged_model(
            self._ids.to_storekit(experiment_id),
            name=name or _generate_random_name(),
            source_run_id=source_run_id or None,  # "" is the REST API's "not given"
            tags=cv.tag_dict(tags),
            params=cv.tag_dict(params),
            model_type=model_type or None,
        )
        return cv.logged_model_to_mlflow(model, self._ids)

    def get_logged_model(self, model_id: str, allow_deleted: bool = False) -> Any:
        """A logged model; a deleted one only with ``allow_deleted``."""
        model = self._store.get_logged_model(model_id)
        if model.lifecycle_stage == sk.LifecycleStage.DELETED and not allow_deleted:
            raise sk.LoggedModelNotFound(f"logged model {model_id!r} is deleted")
        return cv.logged_model_to_mlflow(model, self._ids)

    def finalize_logged_model(self, model_id: str, status: Any) -> Any:
        """Set a logged model's final status (READY or FAILED)."""
        if isinstance(status, int) and not isinstance(status, bool):
            status = MlLoggedModelStatus.from_int(status)
        name = getattr(status, "value", status)
        model = self._store.finalize_logged_model(model_id, sk.LoggedModelStatus.parse(str(name)))
        return cv.logged_model_to_mlflow(model, self._ids)

    def set_logged_model_tags(self, model_id: str, tags: Any) -> None:
        """Set tags on a logged model."""
        self._store.set_logged_model_tags(model_id, cv.tag_dict(tags))

    def log_logged_model_params(self, model_id: str, params: Any) -> None:
        """Add params (MLflow ``LoggedModelParameter`` items) to a logged model."""
        self._store.log_logged_model_params(model_id, cv.tag_dict(params))

    def delete_logged_model_tag(self, model_id: str, key: str) -> None:
        """Remove a tag from a logged model."""
        self._store.delete_logged_model_tag(model_id, key)

    def delete_logged_model(self, model_id: str) -> None:
        """Soft-delete a logged model."""
        self._store.delete_logged_model(model_id)

    def search_logged_models(
        self,
        experiment_ids: Sequence[str],
        filter_string: Optional[str] = None,
        datasets: Optional[list[dict[str, Any]]] = None,
        max_results: Optional[int] = None,
        order_by: Optional[list[Any]] = None,
        page_token: Optional[str] = None,
    ) -> PagedList:
        """Logged models matching an MLflow filter (``source_run_id = '…' AND name = '…'`` resolves ``runs:/``).

        storekit's model metrics are not per dataset: ``datasets`` does not narrow them.
        """
        ids = self._ids.many_to_storekit(experiment_ids)
        filter_text = rewrite(filter_string, LOGGED_MODEL_ALIASES)
        order = logged_model_order_by(order_by)
        items, token = collect(
            lambda limit, token: self._store.search_logged_models(
                ids, filter_string=filter_text, order_by=order, max_results=limit, page_token=token
            ),
            max_results,
            page_token,
        )
        return PagedList([cv.logged_model_to_mlflow(m, self._ids) for m in items], token)

    def log_outputs(self, run_id: str, models: Sequence[Any]) -> None:
        """Record logged models a run produced (a step other than 0 in a reserved run tag)."""
        model_ids = cv.model_ids_of(models)
        self._store.log_outputs(run_id, model_ids)
        steps: dict[str, int] = {}
        for output in models or ():
            step = 0 if isinstance(output, str) else int(getattr(output, "step", 0) or 0)
            if step:
                steps[output.model_id] = step
        if steps:
            self._set_json_run_tag(run_id, cv.OUTPUT_STEPS_TAG, lambda current: {**(current or {}), **steps})

    def record_logged_model(self, run_id: str, mlflow_model: Any) -> None:
        """Append a model's description to the run's ``mlflow.log-model.history`` tag (as MLflow does)."""
        from mlflow.models import Model

        if not isinstance(mlflow_model, Model):
            raise TypeError(f"Argument 'mlflow_model' should be mlflow.models.Model, got '{type(mlflow_model)}'")
        model_dict = mlflow_model.get_tags_dict()
        self._set_json_run_tag(run_id, MLFLOW_LOGGED_MODELS, lambda current: [*(current or []), model_dict])

    def set_model_versions_tags(self, name: str, version: str, model_id: str) -> None:
        """Record a registered version on its logged model (MLflow's ``mlflow.modelVersions`` tag)."""
        super().set_model_versions_tags(name, version, model_id)

    def link_traces_to_run(self, trace_ids: list[str], run_id: str) -> None:
        """Not supported: traces are MLflow's GenAI surface."""
        raise not_implemented("link_traces_to_run()")


install_not_implemented(StorekitTrackingStore, AbstractStore)
