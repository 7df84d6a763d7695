"""Entity conversion between storekit and MLflow, both ways.

Each function converts one concept.  Rules (see the README's mapping table):

* experiment ids: MLflow's ``"0"`` is storekit's ``Default`` experiment
  (:class:`ExperimentIds` swaps the two ids, every other id is unchanged);
* artifact locations and run artifact URIs are wrapped as ``storekit:`` URIs
  (:func:`storekit_mlflow.uris.wrap_artifact_uri`) on the way out and unwrapped
  on the way in;
* tags, params, input tags come as lists in MLflow and as dicts in storekit;
* dataset-input tag ``mlflow.data.context`` is storekit's ``context`` tag;
* logged-model *inputs* of a run and non-zero output *steps* (which storekit's
  contract has no field for) are kept in two reserved run tags,
  :data:`MODEL_INPUTS_TAG` and :data:`OUTPUT_STEPS_TAG`, hidden from MLflow.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Optional, Sequence, cast

from mlflow import entities as ml
from mlflow.entities.model_registry import (
    ModelVersion as MlModelVersion,
)
from mlflow.entities.model_registry import (
    ModelVersionTag as MlModelVersionTag,
)
from mlflow.entities.model_registry import (
    RegisteredModel as MlRegisteredModel,
)
from mlflow.entities.model_registry import (
    RegisteredModelAlias as MlRegisteredModelAlias,
)
from mlflow.entities.model_registry import (
    RegisteredModelTag as MlRegisteredModelTag,
)

import storekit as sk

from .uris import unwrap_optional, wrap_artifact_uri

__all__ = [
    "DEFAULT_EXPERIMENT_ID",
    "DEFAULT_EXPERIMENT_NAME",
    "MLFLOW_CONTEXT_TAG",
    "STOREKIT_CONTEXT_TAG",
    "MODEL_INPUTS_TAG",
    "OUTPUT_STEPS_TAG",
    "HIDDEN_RUN_TAGS",
    "RUN_NAME_TAG",
    "ExperimentIds",
    "tag_dict",
    "experiment_to_mlflow",
    "run_info_to_mlflow",
    "run_to_mlflow",
    "metric_to_mlflow",
    "metric_to_storekit",
    "param_to_storekit",
    "run_tag_to_storekit",
    "dataset_input_to_storekit",
    "dataset_input_to_mlflow",
    "logged_model_to_mlflow",
    "model_version_to_mlflow",
    "registered_model_to_mlflow",
    "status_name",
    "source_to_storekit",
    "model_ids_of",
]

#: MLflow's id of the default experiment.
DEFAULT_EXPERIMENT_ID = "0"
#: MLflow's name of the default experiment.
DEFAULT_EXPERIMENT_NAME = "Default"
#: MLflow's dataset-input tag holding the context (``training``, ``eval``...).
MLFLOW_CONTEXT_TAG = "mlflow.data.context"
#: storekit's dataset-input tag holding the context.
STOREKIT_CONTEXT_TAG = "context"
#: Reserved run tag: JSON list of the logged-model ids a run consumed.
MODEL_INPUTS_TAG = "mlflow.storekit.modelInputs"
#: Reserved run tag: JSON object ``{model_id: step}`` of outputs logged at a step other than 0.
OUTPUT_STEPS_TAG = "mlflow.storekit.modelOutputSteps"
#: MLflow's run-name tag.
RUN_NAME_TAG = "mlflow.runName"
#: Run tags the bridge keeps for itself and never shows to MLflow.
HIDDEN_RUN_TAGS = frozenset({MODEL_INPUTS_TAG, OUTPUT_STEPS_TAG})


@dataclass(frozen=True)
class ExperimentIds:
    """Maps experiment ids between MLflow and storekit.

    ``default`` is the storekit id of the ``Default`` experiment.  MLflow's
    ``"0"`` and that id are swapped (an involution): when storekit itself
    gave ``Default`` the id ``"0"``, the mapping is the identity.
    """

    default: str

    def _swap(self, experiment_id: Any) -> str:
        text = str(experiment_id)
        if text == DEFAULT_EXPERIMENT_ID:
            return self.default
        if text == self.default:
            return DEFAULT_EXPERIMENT_ID
        return text

    def to_mlflow(self, experiment_id: Any) -> str:
        """MLflow's id for a storekit experiment id."""
        return self._swap(experiment_id)

    def to_storekit(self, experiment_id: Any) -> str:
        """storekit's id for an MLflow experiment id."""
        return self._swap(experiment_id)

    def many_to_storekit(self, experiment_ids: Optional[Iterable[Any]]) -> list[str]:
        """:meth:`to_storekit` over a list (a single id is accepted too)."""
        if experiment_ids is None:
            return []
        if isinstance(experiment_ids, (str, int)):
            experiment_ids = [experiment_ids]
        return [self.to_storekit(e) for e in experiment_ids]


def tag_dict(tags: Any) -> dict[str, str]:
    """MLflow tags (a list of tag entities, a dict, or None) as a storekit dict; later keys win."""
    if not tags:
        return {}
    if isinstance(tags, Mapping):
        return {str(k): v for k, v in tags.items()}
    return {t.key: t.value for t in tags}


def status_name(status: Any) -> Optional[str]:
    """A run status (MLflow's int enum or a name) as its name, or None."""
    if status is None:
        return None
    if isinstance(status, int) and not isinstance(status, bool):
        return ml.RunStatus.to_string(status)
    return str(status)


# --------------------------------------------------------------------- experiments


def experiment_to_mlflow(exp: sk.Experiment, ids: ExperimentIds) -> ml.Experiment:
    """A storekit experiment as an MLflow one."""
    return ml.Experiment(
        experiment_id=ids.to_mlflow(exp.experiment_id),
        name=exp.name,
        artifact_location=wrap_artifact_uri(exp.artifact_location),
        lifecycle_stage=str(exp.lifecycle_stage),
        tags=[ml.ExperimentTag(k, v) for k, v in exp.tags.items()],
        creation_time=exp.creation_time,
        last_update_time=exp.last_update_time,
    )


# --------------------------------------------------------------------- runs


def metric_to_mlflow(metric: sk.Metric, run_id: Optional[str] = None) -> ml.Metric:
    """A storekit metric point as an MLflow one."""
    return ml.Metric(
        key=metric.key,
        value=metric.value,
        timestamp=metric.timestamp,
        step=metric.step,
        model_id=metric.model_id,
        run_id=run_id,
    )


def metric_to_storekit(metric: ml.Metric) -> sk.Metric:
    """An MLflow metric point as a storekit one (``dataset_name``/``digest`` are not kept)."""
    return sk.Metric(
        key=metric.key,
        value=metric.value,
        timestamp=int(metric.timestamp) if metric.timestamp is not None else metric.timestamp,
        step=int(metric.step or 0),
        model_id=getattr(metric, "model_id", None),
    )


def param_to_storekit(param: ml.Param) -> sk.Param:
    """An MLflow param as a storekit one."""
    return sk.Param(key=param.key, value=param.value)


def run_tag_to_storekit(tag: ml.RunTag) -> sk.RunTag:
    """An MLflow run tag as a storekit one."""
    return sk.RunTag(key=tag.key, value=tag.value)


def run_info_to_mlflow(info: sk.RunInfo, ids: ExperimentIds) -> ml.RunInfo:
    """storekit run metadata as MLflow's."""
    return ml.RunInfo(
        run_id=info.run_id,
        experiment_id=ids.to_mlflow(info.experiment_id),
        user_id=info.user_id or "",
        status=str(info.status),
        start_time=cast(int, info.start_time),
        end_time=info.end_time,
        lifecycle_stage=str(info.lifecycle_stage),
        artifact_uri=wrap_artifact_uri(info.artifact_uri),
        run_name=info.run_name,
    )


def dataset_input_to_storekit(item: ml.DatasetInput) -> sk.DatasetInput:
    """An MLflow dataset input as storekit's (``mlflow.data.context`` becomes ``context``)."""
    ds = item.dataset
    tags = {(STOREKIT_CONTEXT_TAG if t.key == MLFLOW_CONTEXT_TAG else t.key): t.value for t in (item.tags or [])}
    return sk.DatasetInput(
        dataset=sk.Dataset(
            name=ds.name,
            digest=ds.digest,
            source_type=ds.source_type,
            source=ds.source,
            schema=ds.schema,
            profile=ds.profile,
        ),
        tags=tags,
    )


def dataset_input_to_mlflow(item: sk.DatasetInput) -> ml.DatasetInput:
    """A storekit dataset input as MLflow's (``context`` becomes ``mlflow.data.context``)."""
    ds = item.dataset
    return ml.DatasetInput(
        dataset=ml.Dataset(
            name=ds.name,
            digest=ds.digest,
            source_type=ds.source_type,
            source=ds.source,
            schema=ds.schema,
            profile=ds.profile,
        ),
        tags=[
            ml.InputTag(key=MLFLOW_CONTEXT_TAG if k == STOREKIT_CONTEXT_TAG else k, value=v)
            for k, v in item.tags.items()
        ],
    )


def _json_tag(tags: Mapping[str, str], key: str, default: Any) -> Any:
    try:
        return json.loads(tags[key]) if key in tags else default
    except ValueError:
        return default


def run_to_mlflow(run: sk.Run, ids: ExperimentIds, latest: Optional[Mapping[str, sk.Metric]] = None) -> ml.Run:
    """A storekit run as an MLflow one.

    ``latest`` gives the latest metric *points* (with step and timestamp) by
    key; without it they come from the run's ``RunData.latest_metrics`` (a
    value without its point carries step 0 and timestamp 0).
    """
    latest = latest or run.data.latest_metrics
    metrics = []
    for key, value in run.data.metrics.items():
        point = latest.get(key)
        if point is not None:
            metrics.append(ml.Metric(key, value, point.timestamp, point.step, model_id=point.model_id))
        else:
            metrics.append(ml.Metric(key, value, 0, 0))
    tags = run.data.tags
    run_tags = [ml.RunTag(k, v) for k, v in tags.items() if k not in HIDDEN_RUN_TAGS]
    if RUN_NAME_TAG not in tags and run.info.run_name:
        # runs created through storekit's own API have a name but no tag; MLflow reads the tag
        run_tags.append(ml.RunTag(RUN_NAME_TAG, run.info.run_name))
    data = ml.RunData(
        metrics=metrics,
        params=[ml.Param(k, v) for k, v in run.data.params.items()],
        tags=run_tags,
    )
    model_inputs = [ml.LoggedModelInput(model_id=m) for m in _json_tag(tags, MODEL_INPUTS_TAG, [])]
    steps = _json_tag(tags, OUTPUT_STEPS_TAG, {})
    inputs = ml.RunInputs(
        dataset_inputs=[dataset_input_to_mlflow(d) for d in run.inputs.dataset_inputs],
        model_inputs=model_inputs,
    )
    outputs = ml.RunOutputs(
        model_outputs=[ml.LoggedModelOutput(model_id=m, step=int(steps.get(m, 0))) for m in run.outputs.model_ids]
    )
    return ml.Run(run_info_to_mlflow(run.info, ids), data, run_inputs=inputs, run_outputs=outputs)


# --------------------------------------------------------------------- logged models


def logged_model_to_mlflow(model: sk.LoggedModel, ids: ExperimentIds) -> ml.LoggedModel:
    """A storekit logged model as MLflow's."""
    return ml.LoggedModel(
        experiment_id=ids.to_mlflow(model.experiment_id),
        model_id=model.model_id,
        name=model.name,
        artifact_location=wrap_artifact_uri(model.artifact_location),
        creation_timestamp=model.creation_timestamp,
        last_updated_timestamp=model.last_updated_timestamp,
        model_type=model.model_type,
        source_run_id=model.source_run_id,
        status=ml.LoggedModelStatus(str(model.status)),
        status_message=model.status_message,
        tags=dict(model.tags),
        params=dict(model.params),
        metrics=[metric_to_mlflow(m, model.source_run_id) for m in model.metrics],
    )


# --------------------------------------------------------------------- registry


def _source_to_mlflow(source: Optional[str]) -> Optional[str]:
    return wrap_artifact_uri(source)


def model_version_to_mlflow(mv: sk.ModelVersion) -> MlModelVersion:
    """A storekit model version as MLflow's."""
    return MlModelVersion(
        name=mv.name,
        version=str(mv.version),
        creation_timestamp=mv.creation_timestamp,
        last_updated_timestamp=mv.last_updated_timestamp,
        description=mv.description,
        user_id=mv.user_id,
        current_stage=str(mv.current_stage),
        source=_source_to_mlflow(mv.source),
        run_id=mv.run_id,
        status=str(mv.status),
        tags=[MlModelVersionTag(k, v) for k, v in mv.tags.items()],
        aliases=list(mv.aliases),
        model_id=mv.model_id,
    )


def registered_model_to_mlflow(rm: sk.RegisteredModel) -> MlRegisteredModel:
    """A storekit registered model as MLflow's."""
    return MlRegisteredModel(
        name=rm.name,
        creation_timestamp=rm.creation_timestamp,
        last_updated_timestamp=rm.last_updated_timestamp,
        description=rm.description,
        latest_versions=[model_version_to_mlflow(v) for v in rm.latest_versions],
        tags=[MlRegisteredModelTag(k, v) for k, v in rm.tags.items()],
        aliases=[MlRegisteredModelAlias(alias, str(version)) for alias, version in rm.aliases.items()],
    )


def source_to_storekit(source: Optional[str]) -> Optional[str]:
    """A model-version source as storekit keeps it (bridge URIs unwrapped)."""
    return unwrap_optional(source)


def model_ids_of(outputs: Sequence[Any]) -> list[str]:
    """The model ids of MLflow ``LoggedModelOutput``/``LoggedModelInput`` objects (or plain ids)."""
    return [o if isinstance(o, str) else o.model_id for o in outputs or ()]
