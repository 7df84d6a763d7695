"""``HttpTrackingStore``: a storekit tracking store that talks MLflow's REST API.

Everything goes through ``/api/2.0/mlflow/...`` of the server named by the
URI (``http://host:port`` or ``https://host/prefix``).  Page tokens of
server-side searches are the server's own.  Filters with ``OR``/``NOT``
(which MLflow's server rejects) and the contract's metric-history order
are handled on the client (see :mod:`storekit_http.clientside`).
"""

from __future__ import annotations

import time
from typing import Any, Mapping, Optional, Sequence
from urllib.parse import quote

from storekit import rules
from storekit.entities import (
    DatasetInput,
    Experiment,
    ExperimentTag,
    LoggedModel,
    LoggedModelStatus,
    Metric,
    PagedList,
    Param,
    Run,
    RunInfo,
    RunStatus,
    RunTag,
    ViewType,
)
from storekit.errors import (
    AlreadyExistsError,
    ExperimentNotFound,
    InvalidParameterError,
    LoggedModelNotFound,
    NotFoundError,
    RunNotFound,
)
from storekit.interfaces import DEFAULT_MAX_RESULTS, Capability, TrackingStore
from storekit.paging import decode_page_token, encode_page_token, query_fingerprint
from storekit.rules import (
    validate_experiment_id,
    validate_experiment_name,
    validate_key,
    validate_max_results,
    validate_metric,
    validate_param,
    validate_run_id,
    validate_run_name,
    validate_tag,
    validate_tags,
)
from storekit.search import EXPERIMENT_SCHEMA, LOGGED_MODEL_SCHEMA, RUN_SCHEMA, Kind, parse_filter, parse_order_by
from storekit.search.ast import Identifier
from storekit.uri import redact_uri

from .base import ServerConnection
from .batching import split_batch
from .clientside import PagedSearch
from .convert import (
    LOGGED_MODEL_STATUS_TO_JSON,
    ArtifactUriMapper,
    dataset_input_to_json,
    experiment_from_json,
    logged_model_from_json,
    metric_from_json,
    metric_to_json,
    pairs,
    run_from_json,
    run_info_from_json,
)
from .settings import HttpSettings

__all__ = ["HttpTrackingStore"]

#: Page size used when the client has to read a whole scope (client-side search, history).
_FETCH_PAGE = 50_000
_HISTORY_PAGE = 25_000


def _now_ms() -> int:
    return int(time.time() * 1000)


def _run_value(run: Run, ident: Identifier) -> object:
    """A run's value for a search identifier (storekit's evaluator conventions)."""
    if ident.kind is Kind.METRIC:
        return run.data.metrics.get(ident.key)
    if ident.kind is Kind.PARAM:
        return run.data.params.get(ident.key)
    if ident.kind is Kind.TAG:
        return run.data.tags.get(ident.key)
    if ident.kind is Kind.DATASET:
        values = []
        for item in run.inputs.dataset_inputs:
            if ident.key == "context":
                values.append(item.tags.get("context", item.tags.get("mlflow.data.context", "")))
            else:
                values.append(getattr(item.dataset, ident.key, ""))
        return tuple(values)
    return getattr(run.info, ident.key, None)


def _experiment_value(exp: Experiment, ident: Identifier) -> object:
    if ident.kind is Kind.TAG:
        return exp.tags.get(ident.key)
    return getattr(exp, ident.key, None)


def _logged_model_value(model: LoggedModel, ident: Identifier) -> object:
    if ident.kind is Kind.TAG:
        return model.tags.get(ident.key)
    if ident.kind is Kind.PARAM:
        return model.params.get(ident.key)
    if ident.kind is Kind.METRIC:
        latest: Optional[Metric] = None
        for m in model.metrics:
            if m.key == ident.key and (latest is None or (m.step, m.timestamp) >= (latest.step, latest.timestamp)):
                latest = m
        return None if latest is None else latest.value
    return getattr(model, ident.key, None)


class HttpTrackingStore(TrackingStore):
    """Tracking store on an MLflow-compatible tracking server (``http://`` / ``https://``).

    Not atomic across the several requests a large ``log_batch`` needs
    (``ATOMIC_BATCH`` is not declared); ``OR``/``NOT`` filters are evaluated
    on the client over the searched scope.
    """

    capabilities = frozenset(
        {
            Capability.SEARCH_OR,
            Capability.CONCURRENT_WRITERS,
            Capability.MULTIPROCESS_WRITERS,
            Capability.DURABLE,
            Capability.REGISTRY,
            Capability.DATASETS,
            Capability.LOGGED_MODELS,
        }
    )

    def __init__(
        self, uri: str, default_artifact_root: Optional[str] = None, settings: Optional[HttpSettings] = None
    ) -> None:
        self._conn = ServerConnection(uri, settings)
        self.uri = uri
        self.http = self._conn.http
        self._artifacts = ArtifactUriMapper(self._conn.base_url)
        self._searches = PagedSearch(_FETCH_PAGE)

    def __repr__(self) -> str:
        return f"HttpTrackingStore({redact_uri(self.uri)!r})"

    def close(self) -> None:
        """Close the pooled HTTP connections."""
        self.http.close()

    # -- helpers --------------------------------------------------------------
    def _post(
        self,
        endpoint: str,
        body: Mapping[str, Any],
        *,
        idempotent: bool = False,
        not_found: type[NotFoundError] = NotFoundError,
    ) -> dict[str, Any]:
        return self.http.call("POST", endpoint, json=body, idempotent=idempotent, not_found=not_found)

    def _get(
        self, endpoint: str, params: Mapping[str, Any], not_found: type[NotFoundError] = NotFoundError
    ) -> dict[str, Any]:
        return self.http.call("GET", endpoint, params=params, not_found=not_found)

    def _run_write(
        self,
        endpoint: str,
        run_id: str,
        body: Mapping[str, Any],
        otherwise: type[NotFoundError],
        *,
        idempotent: bool = False,
    ) -> dict[str, Any]:
        """A write to run ``run_id``: RunNotFound when the run does not exist, else ``otherwise``.

        The server answers ``RESOURCE_DOES_NOT_EXIST`` both for an unknown run
        and for what the write names (a tag, a logged model); a read of the run
        tells them apart.
        """
        try:
            return self._post(endpoint, {"run_id": run_id, **body}, idempotent=idempotent, not_found=NotFoundError)
        except NotFoundError as exc:
            self.get_run(run_id)  # RunNotFound if the run is unknown
            raise otherwise(str(exc)) from None

    # -- experiments ------------------------------------------------------------
    def create_experiment(
        self, name: str, artifact_location: Optional[str] = None, tags: Optional[Mapping[str, str]] = None
    ) -> str:
        """Create an experiment on the server and return its id."""
        name = validate_experiment_name(name)
        tags = validate_tags(tags, "experiment tag")
        artifact_location = rules.validate_artifact_location(artifact_location)
        data = self._post(
            "experiments/create",
            {
                "name": name,
                "artifact_location": self._artifacts.to_server(artifact_location) or None,
                "tags": pairs(tags),
            },
        )
        return str(data["experiment_id"])

    def get_experiment(self, experiment_id: str) -> Experiment:
        """Fetch an experiment by id (active or deleted)."""
        experiment_id = validate_experiment_id(experiment_id)
        data = self._get("experiments/get", {"experiment_id": experiment_id}, ExperimentNotFound)
        return experiment_from_json(data["experiment"], self._artifacts)

    def get_experiment_by_name(self, name: str) -> Optional[Experiment]:
        """Fetch an experiment by name, or None."""
        name = rules.validate_lookup_name(name)
        if not name:
            return None  # no experiment has an empty name
        try:
            data = self._get("experiments/get-by-name", {"experiment_name": name}, ExperimentNotFound)
        except ExperimentNotFound:
            return None
        return experiment_from_json(data["experiment"], self._artifacts)

    def search_experiments(
        self,
        view_type: ViewType = ViewType.ACTIVE_ONLY,
        max_results: int = DEFAULT_MAX_RESULTS,
        filter_string: Optional[str] = None,
        order_by: Optional[Sequence[str]] = None,
        page_token: Optional[str] = None,
    ) -> PagedList[Experiment]:
        """Search experiments on the server (what it cannot express, on the client)."""
        limit = validate_max_results(max_results)
        view = rules.parse_view_type(view_type)

        def server_page(
            flt: Optional[str], size: int, token: Optional[str], order: Optional[Sequence[str]]
        ) -> PagedList[Experiment]:
            data = self._post(
                "experiments/search",
                {
                    "view_type": int(view),
                    "max_results": size,
                    "filter": flt or None,
                    "order_by": list(order or ()) or None,
                    "page_token": token or None,
                },
                idempotent=True,
            )
            return PagedList(
                [experiment_from_json(e, self._artifacts) for e in data.get("experiments") or ()],
                data.get("next_page_token") or None,
            )

        return self._searches.search(
            EXPERIMENT_SCHEMA, filter_string, order_by, limit, page_token, (int(view),), server_page, _experiment_value
        )

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        """Rename an experiment."""
        experiment_id = validate_experiment_id(experiment_id)
        new_name = validate_experiment_name(new_name)
        taken = self.get_experiment_by_name(new_name)
        if taken is not None and taken.experiment_id != experiment_id:
            # MLflow's SQL store reports the clash as BAD_REQUEST (an IntegrityError), not RESOURCE_ALREADY_EXISTS
            raise AlreadyExistsError(f"new_name: an experiment named {new_name!r} exists already")
        self._post(
            "experiments/update", {"experiment_id": experiment_id, "new_name": new_name}, not_found=ExperimentNotFound
        )

    def delete_experiment(self, experiment_id: str) -> None:
        """Soft-delete an experiment (deleting a deleted one is a no-op, as storekit's semantics say)."""
        experiment_id = validate_experiment_id(experiment_id)
        try:
            self._post("experiments/delete", {"experiment_id": experiment_id}, not_found=ExperimentNotFound)
        except ExperimentNotFound:
            # MLflow reports an already deleted experiment as missing
            if str(self.get_experiment(experiment_id).lifecycle_stage) != "deleted":
                raise

    def restore_experiment(self, experiment_id: str) -> None:
        """Restore a soft-deleted experiment (restoring an active one is a no-op)."""
        experiment_id = validate_experiment_id(experiment_id)
        try:
            self._post("experiments/restore", {"experiment_id": experiment_id}, not_found=ExperimentNotFound)
        except ExperimentNotFound:
            # MLflow reports an active experiment as missing when asked to restore it
            if str(self.get_experiment(experiment_id).lifecycle_stage) != "active":
                raise

    def set_experiment_tag(self, experiment_id: str, tag: ExperimentTag) -> None:
        """Set a tag on an experiment (an idempotent write: retried like a read)."""
        experiment_id = validate_experiment_id(experiment_id)
        tag = rules.validate_experiment_tag(tag)
        self._post(
            "experiments/set-experiment-tag",
            {"experiment_id": experiment_id, "key": tag.key, "value": tag.value},
            idempotent=True,
            not_found=ExperimentNotFound,
        )

    def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        """Remove a tag from an experiment."""
        experiment_id = validate_experiment_id(experiment_id)
        key = validate_key(key, "experiment tag key")
        self._post(
            "experiments/delete-experiment-tag", {"experiment_id": experiment_id, "key": key}, not_found=NotFoundError
        )

    # -- runs ---------------------------------------------------------------
    def create_run(
        self,
        experiment_id: str,
        user_id: Optional[str] = None,
        start_time: Optional[int] = None,
        tags: Optional[Mapping[str, str]] = None,
        run_name: Optional[str] = None,
    ) -> Run:
        """Create a RUNNING run (never retried once the server may have seen it)."""
        experiment_id = validate_experiment_id(experiment_id)
        tags = rules.validate_run_tags(tags)
        run_name = validate_run_name(run_name)
        user_id = rules.validate_user_id(user_id)
        start_time = rules.validate_millis(start_time, "start_time")
        body = {
            "experiment_id": experiment_id,
            "user_id": user_id or None,
            "start_time": start_time if start_time is not None else _now_ms(),
            "tags": pairs(tags),
            "run_name": run_name,
        }
        data = self._post("runs/create", body, not_found=ExperimentNotFound)
        return run_from_json(data["run"], self._artifacts)

    def get_run(self, run_id: str) -> Run:
        """Fetch a run (active or deleted)."""
        data = self._get("runs/get", {"run_id": validate_run_id(run_id)}, RunNotFound)
        return run_from_json(data["run"], self._artifacts)

    def update_run_info(
        self,
        run_id: str,
        status: Optional[RunStatus] = None,
        end_time: Optional[int] = None,
        run_name: Optional[str] = None,
    ) -> RunInfo:
        """Change status, end time and/or name (fields left as None are not sent)."""
        run_id = validate_run_id(run_id)
        body: dict[str, Any] = {"run_id": run_id, **rules.validate_run_update(status, end_time, run_name).changes()}
        data = self._post("runs/update", body, idempotent=True, not_found=RunNotFound)
        info = data.get("run_info")
        return run_info_from_json(info, self._artifacts) if info else self.get_run(run_id).info

    def delete_run(self, run_id: str) -> None:
        """Soft-delete a run."""
        self._post("runs/delete", {"run_id": validate_run_id(run_id)}, not_found=RunNotFound)

    def restore_run(self, run_id: str) -> None:
        """Restore a soft-deleted run."""
        self._post("runs/restore", {"run_id": validate_run_id(run_id)}, not_found=RunNotFound)

    def log_batch(
        self, run_id: str, metrics: Sequence[Metric] = (), params: Sequence[Param] = (), tags: Sequence[RunTag] = ()
    ) -> None:
        """Log metrics, params and tags in as few requests as the server's limits allow.

        The whole batch is validated first; a batch that fits one request
        (up to 1000 items, under 900 kB) is as atomic as the server makes it.
        """
        run_id = validate_run_id(run_id)
        metric_list, param_list, tag_list = rules.validate_batch_args(metrics, params, tags)
        for body in split_batch(metric_list, param_list, tag_list):
            self._run_write("runs/log-batch", run_id, body, LoggedModelNotFound)

    def log_metric(self, run_id: str, metric: Metric) -> None:
        """Log one point through ``runs/log-metric`` (cheaper on the server than a one-item batch)."""
        run_id = validate_run_id(run_id)
        metric = validate_metric(metric)
        self._run_write("runs/log-metric", run_id, metric_to_json(metric), LoggedModelNotFound)

    def log_param(self, run_id: str, param: Param) -> None:
        """Log one param through ``runs/log-parameter`` (re-sending the same value is harmless)."""
        run_id = validate_run_id(run_id)
        param = validate_param(param)
        self._post(
            "runs/log-parameter",
            {"run_id": run_id, "key": param.key, "value": param.value},
            idempotent=True,
            not_found=RunNotFound,
        )

    def set_tag(self, run_id: str, tag: RunTag) -> None:
        """Set one tag through ``runs/set-tag`` (an idempotent write)."""
        run_id = validate_run_id(run_id)
        validate_tag(tag.key, tag.value)
        self._post(
            "runs/set-tag",
            {"run_id": run_id, "key": tag.key, "value": tag.value},
            idempotent=True,
            not_found=RunNotFound,
        )

    def delete_tag(self, run_id: str, key: str) -> None:
        """Remove a tag from a run."""
        run_id = validate_run_id(run_id)
        self._run_write("runs/delete-tag", run_id, {"key": validate_key(key, "tag key")}, NotFoundError)

    def get_metric_history(
        self, run_id: str, key: str, max_results: Optional[int] = None, page_token: Optional[str] = None
    ) -> PagedList[Metric]:
        """Every point of a metric in the contract's ``(step, timestamp)`` order.

        The history is read from the server in pages (the server's page tokens)
        and ordered here with a stable sort, so the server's order breaks ties:
        servers that keep logging order (storekit's) keep it.  Pages returned to
        the caller carry storekit page tokens.
        """
        run_id = validate_run_id(run_id)
        key = validate_key(key, "metric key")
        points: list[Metric] = []
        token: Optional[str] = None
        while True:
            data = self._get(
                "metrics/get-history",
                {"run_id": run_id, "metric_key": key, "max_results": _HISTORY_PAGE, "page_token": token},
                RunNotFound,
            )
            points.extend(metric_from_json(m) for m in data.get("metrics") or ())
            token = data.get("next_page_token") or None
            if not token:
                break
        points.sort(key=lambda m: (m.step, m.timestamp))
        fingerprint = query_fingerprint("http-history", run_id, key)
        start = decode_page_token(page_token, fingerprint).get("offset", 0) if page_token else 0
        if not isinstance(start, int) or start < 0:
            raise InvalidParameterError("page_token: invalid page token")
        if max_results is None:
            return PagedList(points[start:])
        limit = validate_max_results(max_results)
        end = start + limit
        return PagedList(
            points[start:end], encode_page_token({"offset": end}, fingerprint) if end < len(points) else None
        )

    def search_runs(
        self,
        experiment_ids: Sequence[str],
        filter_string: Optional[str] = None,
        view_type: ViewType = ViewType.ACTIVE_ONLY,
        max_results: int = DEFAULT_MAX_RESULTS,
        order_by: Optional[Sequence[str]] = None,
        page_token: Optional[str] = None,
    ) -> PagedList[Run]:
        """Search runs on the server with its page tokens (what it cannot express, on the client)."""
        ids = rules.validate_experiment_ids(experiment_ids)
        limit = validate_max_results(max_results)
        view = rules.parse_view_type(view_type)
        if not ids:
            parse_filter(filter_string, RUN_SCHEMA)
            parse_order_by(order_by, RUN_SCHEMA)
            return PagedList([])

        def server_page(
            flt: Optional[str], size: int, token: Optional[str], order: Optional[Sequence[str]]
        ) -> PagedList[Run]:
            data = self._post(
                "runs/search",
                {
                    "experiment_ids": ids,
                    "filter": flt or None,
                    "run_view_type": int(view),
                    "max_results": size,
                    "order_by": list(order or ()) or None,
                    "page_token": token or None,
                },
                idempotent=True,
                not_found=ExperimentNotFound,
            )
            return PagedList(
                [run_from_json(r, self._artifacts) for r in data.get("runs") or ()], data.get("next_page_token") or None
            )

        return self._searches.search(
            RUN_SCHEMA, filter_string, order_by, limit, page_token, (sorted(ids), int(view)), server_page, _run_value
        )

    # -- datasets -------------------------------------------------------------
    def log_inputs(self, run_id: str, datasets: Sequence[DatasetInput]) -> None:
        """Record datasets a run consumed (the server de-duplicates them)."""
        run_id = validate_run_id(run_id)
        items = rules.validate_dataset_inputs(datasets)
        for start in range(0, len(items), 1000):
            self._post(
                "runs/log-inputs",
                {"run_id": run_id, "datasets": [dataset_input_to_json(d) for d in items[start : start + 1000]]},
                idempotent=True,
                not_found=RunNotFound,
            )

    # -- logged models --------------------------------------------------------
    def create_logged_model(
        self,
        experiment_id: str,
        name: Optional[str] = None,
        source_run_id: Optional[str] = None,
        tags: Optional[Mapping[str, str]] = None,
        params: Optional[Mapping[str, str]] = None,
        model_type: Optional[str] = None,
    ) -> LoggedModel:
        """Create a PENDING logged model."""
        experiment_id = validate_experiment_id(experiment_id)
        tags = validate_tags(tags, "logged model tag")
        params = validate_tags(params, "logged model param")
        name = rules.validate_logged_model_text(name, "name")
        model_type = rules.validate_logged_model_text(model_type, "model_type")
        body = {
            "experiment_id": experiment_id,
            "name": name or None,
            "model_type": model_type or None,
            "source_run_id": validate_run_id(source_run_id) if source_run_id else None,
            "params": pairs(params),
            "tags": pairs(tags),
        }
        data = self._post("logged-models", body, not_found=ExperimentNotFound)
        return logged_model_from_json(data["model"], self._artifacts)

    @staticmethod
    def _model_path(model_id: str) -> str:
        return "logged-models/" + quote(rules.validate_model_id(model_id), safe="")

    def get_logged_model(self, model_id: str) -> LoggedModel:
        """Fetch a logged model."""
        data = self.http.call("GET", self._model_path(model_id), not_found=LoggedModelNotFound)
        return logged_model_from_json(data["model"], self._artifacts)

    def finalize_logged_model(self, model_id: str, status: LoggedModelStatus) -> LoggedModel:
        """Set a logged model's final status."""
        status = LoggedModelStatus.parse(status)
        data = self.http.call(
            "PATCH",
            self._model_path(model_id),
            json={"model_id": model_id, "status": LOGGED_MODEL_STATUS_TO_JSON[status]},
            idempotent=True,
            not_found=LoggedModelNotFound,
        )
        return logged_model_from_json(data["model"], self._artifacts)

    def set_logged_model_tags(self, model_id: str, tags: Mapping[str, str]) -> None:
        """Set tags on a logged model."""
        tags = validate_tags(tags, "logged model tag")
        self.http.call(
            "PATCH",
            self._model_path(model_id) + "/tags",
            json={"model_id": model_id, "tags": pairs(tags)},
            idempotent=True,
            not_found=LoggedModelNotFound,
        )

    def log_logged_model_params(self, model_id: str, params: Mapping[str, str]) -> None:
        """Add params to a logged model (``POST logged-models/{id}/params``)."""
        params = rules.new_logged_model_params({}, params)
        self.http.call(
            "POST",
            self._model_path(model_id) + "/params",
            json={"model_id": model_id, "params": pairs(params)},
            idempotent=True,
            not_found=LoggedModelNotFound,
        )

    def delete_logged_model_tag(self, model_id: str, key: str) -> None:
        """Remove a tag from a logged model."""
        key = validate_key(key, "logged model tag key")
        self.http.call(
            "DELETE",
            self._model_path(model_id) + "/tags/" + quote(key, safe=""),
            idempotent=False,
            not_found=NotFoundError,
        )

    def delete_logged_model(self, model_id: str) -> None:
        """Soft-delete a logged model."""
        self.http.call("DELETE", self._model_path(model_id), idempotent=False, not_found=LoggedModelNotFound)

    def search_logged_models(
        self,
        experiment_ids: Sequence[str],
        filter_string: Optional[str] = None,
        order_by: Optional[Sequence[str]] = None,
        max_results: int = DEFAULT_MAX_RESULTS,
        page_token: Optional[str] = None,
    ) -> PagedList[LoggedModel]:
        """Search logged models (what the server cannot express, on the client)."""
        ids = rules.validate_experiment_ids(experiment_ids)
        limit = validate_max_results(max_results)
        if not ids:
            parse_filter(filter_string, LOGGED_MODEL_SCHEMA)
            parse_order_by(order_by, LOGGED_MODEL_SCHEMA)
            return PagedList([])

        def server_page(
            flt: Optional[str], size: int, token: Optional[str], order: Optional[Sequence[str]]
        ) -> PagedList[LoggedModel]:
            server_order = None
            if order:
                keys = parse_order_by(order, LOGGED_MODEL_SCHEMA)[: len(list(order))]
                server_order = [
                    {
                        "field_name": (
                            k.ident.key if k.ident.kind is Kind.ATTRIBUTE else f"{k.ident.kind.value}.{k.ident.key}"
                        ),
                        "ascending": k.ascending,
                    }
                    for k in keys
                ]
            data = self._post(
                "logged-models/search",
                {
                    "experiment_ids": ids,
                    "filter": flt or None,
                    "order_by": server_order,
                    "max_results": size,
                    "page_token": token or None,
                },
                idempotent=True,
                not_found=ExperimentNotFound,
            )
            return PagedList(
                [logged_model_from_json(m, self._artifacts) for m in data.get("models") or ()],
                data.get("next_page_token") or None,
            )

        return self._searches.search(
            LOGGED_MODEL_SCHEMA,
            filter_string,
            order_by,
            limit,
            page_token,
            (sorted(ids),),
            server_page,
            _logged_model_value,
        )

    def log_outputs(self, run_id: str, model_ids: Sequence[str]) -> None:
        """Record logged models a run produced."""
        run_id = validate_run_id(run_id)
        models = [{"model_id": m, "step": 0} for m in rules.validate_model_ids(model_ids)]
        if models:
            self._run_write("runs/outputs", run_id, {"models": models}, LoggedModelNotFound, idempotent=True)
