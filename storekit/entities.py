"""Entities of storekit: frozen dataclasses and enums (contract section 2).

Times are integer milliseconds since the epoch.  Experiment ids are strings;
run ids are 32 lowercase hexadecimal characters.  Entities hold plain
``dict`` values for tags/params/metrics, so they compare by value but are
not hashable.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field
from typing import Callable, Iterable, Mapping, Optional, Sequence, TypeVar

__all__ = [
    "RunStatus",
    "LifecycleStage",
    "ViewType",
    "ModelVersionStage",
    "ModelVersionStatus",
    "LoggedModelStatus",
    "Experiment",
    "ExperimentTag",
    "RunInfo",
    "RunData",
    "RunInputs",
    "RunOutputs",
    "Run",
    "Metric",
    "Param",
    "RunTag",
    "Dataset",
    "DatasetInput",
    "FileInfo",
    "RegisteredModel",
    "ModelVersion",
    "LoggedModel",
    "PagedList",
    "metric_order_key",
    "latest_metric",
    "MetricChunks",
    "RunImport",
    "DeletedEntity",
]

T = TypeVar("T")


class RunStatus(str, enum.Enum):
    """Status of a run."""

    RUNNING = "RUNNING"
    SCHEDULED = "SCHEDULED"
    FINISHED = "FINISHED"
    FAILED = "FAILED"
    KILLED = "KILLED"

    def __str__(self) -> str:
        return self.value

    @property
    def is_terminated(self) -> bool:
        """True for FINISHED, FAILED and KILLED."""
        return self in (RunStatus.FINISHED, RunStatus.FAILED, RunStatus.KILLED)


class LifecycleStage(str, enum.Enum):
    """Soft-delete state of experiments, runs and logged models."""

    ACTIVE = "active"
    DELETED = "deleted"

    def __str__(self) -> str:
        return self.value


class ViewType(enum.IntEnum):
    """Which lifecycle stages a search returns."""

    ACTIVE_ONLY = 1
    DELETED_ONLY = 2
    ALL = 3

    def admits(self, stage: "LifecycleStage | str") -> bool:
        """Whether an entity in ``stage`` is visible under this view type."""
        stage = LifecycleStage(stage)
        if self is ViewType.ALL:
            return True
        if self is ViewType.ACTIVE_ONLY:
            return stage is LifecycleStage.ACTIVE
        return stage is LifecycleStage.DELETED


class ModelVersionStage(str, enum.Enum):
    """Registry stages.  Input is accepted case-insensitively via :meth:`parse`."""

    NONE = "None"
    STAGING = "Staging"
    PRODUCTION = "Production"
    ARCHIVED = "Archived"

    def __str__(self) -> str:
        return self.value

    @classmethod
    def parse(cls, value: "str | ModelVersionStage | None") -> "ModelVersionStage":
        """Parse a stage name case-insensitively; ``None`` means :attr:`NONE`."""
        from .errors import InvalidParameterError

        if value is None:
            return cls.NONE
        if isinstance(value, cls):
            return value
        for member in cls:
            if str(value).lower() == member.value.lower():
                return member
        raise InvalidParameterError(
            f"stage: {value!r} is not one of {', '.join(m.value for m in cls)} (case-insensitive)"
        )


class ModelVersionStatus(str, enum.Enum):
    """Registration status of a model version."""

    PENDING_REGISTRATION = "PENDING_REGISTRATION"
    FAILED_REGISTRATION = "FAILED_REGISTRATION"
    READY = "READY"

    def __str__(self) -> str:
        return self.value


class LoggedModelStatus(str, enum.Enum):
    """Status of a logged model."""

    PENDING = "PENDING"
    READY = "READY"
    FAILED = "FAILED"

    def __str__(self) -> str:
        return self.value

    @classmethod
    def parse(cls, value: "str | LoggedModelStatus") -> "LoggedModelStatus":
        """Parse a status case-insensitively; InvalidParameterError naming the allowed ones."""
        from .errors import InvalidParameterError

        if isinstance(value, cls):
            return value
        try:
            return cls(str(value).upper())
        except ValueError:
            raise InvalidParameterError(f"status: {value!r} is not one of {', '.join(m.value for m in cls)}") from None


@dataclass(frozen=True)
class ExperimentTag:
    """A tag on an experiment."""

    key: str
    value: str


@dataclass(frozen=True)
class Experiment:
    """An experiment: a named group of runs with an artifact location."""

    experiment_id: str
    name: str
    artifact_location: str
    lifecycle_stage: LifecycleStage
    tags: dict[str, str] = field(default_factory=dict)
    creation_time: Optional[int] = None
    last_update_time: Optional[int] = None


@dataclass(frozen=True)
class Metric:
    """One logged point of a metric.

    ``model_id`` optionally names the logged model the metric measures.
    Equality is field-wise, so two NaN metrics are *not* equal; compare
    with :func:`math.isnan` where that matters.
    """

    key: str
    value: float
    timestamp: int
    step: int = 0
    model_id: Optional[str] = None


@dataclass(frozen=True)
class Param:
    """A run parameter: set once, immutable."""

    key: str
    value: str


@dataclass(frozen=True)
class RunTag:
    """A mutable tag on a run."""

    key: str
    value: str


@dataclass(frozen=True)
class RunInfo:
    """Metadata of a run."""

    run_id: str
    experiment_id: str
    run_name: Optional[str]
    user_id: Optional[str]
    status: RunStatus
    start_time: Optional[int]
    end_time: Optional[int]
    lifecycle_stage: LifecycleStage
    artifact_uri: str


@dataclass(frozen=True)
class RunData:
    """Latest metric values, params and tags of a run.

    ``latest_metrics`` holds, per key, the latest point itself (value, step,
    timestamp, model id), as MLflow's ``RunData`` does; every built-in backend
    fills it.  A run built by hand may leave it empty: :meth:`latest_metric`
    then answers a point with step and timestamp 0.
    """

    metrics: dict[str, float] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    latest_metrics: dict[str, Metric] = field(default_factory=dict, compare=False, repr=False)

    def latest_metric(self, key: str) -> Metric:
        """The latest point of metric ``key`` (step and timestamp 0 when only its value is known)."""
        point = self.latest_metrics.get(key)
        if point is not None:
            return point
        return Metric(key, self.metrics[key], 0, 0)


@dataclass(frozen=True)
class Dataset:
    """A data set a run consumed, identified by ``name`` and ``digest``."""

    name: str
    digest: str
    source_type: str
    source: str
    schema: Optional[str] = None
    profile: Optional[str] = None


@dataclass(frozen=True)
class DatasetInput:
    """A dataset as used by a run; tag ``context`` (e.g. ``training``) by convention."""

    dataset: Dataset
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RunInputs:
    """What a run consumed."""

    dataset_inputs: tuple[DatasetInput, ...] = ()


@dataclass(frozen=True)
class RunOutputs:
    """What a run produced: the ids of logged models."""

    model_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class Run:
    """A run: its info, its data, and (for stores with DATASETS/LOGGED_MODELS) inputs and outputs."""

    info: RunInfo
    data: RunData
    inputs: RunInputs = field(default_factory=RunInputs)
    outputs: RunOutputs = field(default_factory=RunOutputs)


@dataclass(frozen=True)
class FileInfo:
    """An entry of an artifact listing; ``path`` is relative to the repository root."""

    path: str
    is_dir: bool
    file_size: Optional[int] = None


@dataclass(frozen=True)
class ModelVersion:
    """One version of a registered model."""

    name: str
    version: str
    creation_timestamp: int
    last_updated_timestamp: int
    description: Optional[str] = None
    user_id: Optional[str] = None
    current_stage: str = ModelVersionStage.NONE.value
    source: Optional[str] = None
    run_id: Optional[str] = None
    status: str = ModelVersionStatus.READY.value
    tags: dict[str, str] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()
    model_id: Optional[str] = None


@dataclass(frozen=True)
class RegisteredModel:
    """A registered model; ``latest_versions`` holds the newest version per stage."""

    name: str
    creation_timestamp: int
    last_updated_timestamp: int
    description: Optional[str] = None
    tags: dict[str, str] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)
    latest_versions: tuple[ModelVersion, ...] = ()


@dataclass(frozen=True)
class LoggedModel:
    """A model a run produced, as a first-class record (capability LOGGED_MODELS)."""

    model_id: str
    experiment_id: str
    name: str
    artifact_location: str
    creation_timestamp: int
    last_updated_timestamp: int
    model_type: Optional[str] = None
    source_run_id: Optional[str] = None
    status: LoggedModelStatus = LoggedModelStatus.PENDING
    status_message: Optional[str] = None
    tags: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    metrics: tuple[Metric, ...] = ()
    lifecycle_stage: LifecycleStage = LifecycleStage.ACTIVE


class PagedList(list[T]):
    """A list of results with ``token``: pass it as ``page_token`` for the next page, ``None`` at the end."""

    def __init__(self, items: Iterable[T] = (), token: Optional[str] = None) -> None:
        super().__init__(items)
        self.token = token

    def __repr__(self) -> str:
        return f"PagedList({list.__repr__(self)}, token={self.token!r})"


def metric_order_key(metric: Metric) -> tuple[int, int, int, float]:
    """The total order that picks a metric's latest value (contract section 3).

    The latest point has the greatest ``(step, timestamp)``; ties go to the
    greatest value, where NaN counts as greater than every number.
    """
    value = float(metric.value)
    if math.isnan(value):
        return (int(metric.step), int(metric.timestamp), 1, 0.0)
    return (int(metric.step), int(metric.timestamp), 0, value)


def latest_metric(a: Optional[Metric], b: Metric) -> Metric:
    """Return whichever of ``a`` and ``b`` is the latest by :func:`metric_order_key`."""
    if a is None or metric_order_key(b) > metric_order_key(a):
        return b
    return a


#: A callable returning a run's metric history as chunks of points (the import hook's input);
#: it is called again when a transaction is retried, so it must start from the beginning each time.
MetricChunks = Callable[[], Iterable[Sequence[Metric]]]


@dataclass(frozen=True)
class RunImport:
    """One whole run for the import hook (capability IMPORT): its info (with its id), data and history."""

    info: RunInfo
    params: Mapping[str, str]
    tags: Mapping[str, str]
    metric_chunks: MetricChunks
    inputs: Sequence[DatasetInput] = ()
    outputs: Sequence[str] = ()


@dataclass(frozen=True)
class DeletedEntity:
    """A deleted run or experiment as ``storekit gc`` sees it (capability PURGE).

    ``kind`` is ``"run"`` or ``"experiment"``; ``entity_id`` the run or
    experiment id.  ``artifact_uri`` is a run's artifact URI or an
    experiment's artifact location.  ``deleted_time`` is when it was deleted
    (ms), ``None`` when it was deleted before the store recorded deletion
    times.  ``purging`` is true once gc has started removing it: from then
    on it can no longer be restored, only purged.
    """

    kind: str
    entity_id: str
    experiment_id: str
    name: Optional[str]
    artifact_uri: str
    deleted_time: Optional[int]
    purging: bool = False
