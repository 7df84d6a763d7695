"""The read shape every source of a transfer exposes (storekit stores, MLflow stores)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator, Optional, Protocol, Sequence

from ..entities import DatasetInput, Experiment, LoggedModel, Metric, ModelVersion, RegisteredModel, RunInfo

__all__ = ["RunRecord", "Source", "CHUNK_POINTS"]

#: Metric points a source yields per chunk (memory stays bounded by a few chunks).
CHUNK_POINTS = 10_000


@dataclass(frozen=True)
class RunRecord:
    """A run as read from a source: everything but its metric history (streamed separately).

    ``lifecycle_stage`` in ``info`` is the run's own stage (a run of a
    deleted experiment may be active); ``metric_keys`` names the histories.
    """

    info: RunInfo
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    inputs: tuple[DatasetInput, ...] = ()
    outputs: tuple[str, ...] = ()
    metric_keys: tuple[str, ...] = ()


class Source(Protocol):
    """What the copy engine reads.  Sources never write to the store they read."""

    #: A redacted description of the source for messages and reports.
    description: str

    def experiments(self) -> Iterator[Experiment]:
        """Every experiment, active and deleted, in id order."""

    def count_runs(self, experiment_id: str) -> int:
        """How many runs (active and deleted) the experiment has."""

    def runs(self, experiment_id: str) -> Iterator[RunRecord]:
        """Every run of the experiment, active and deleted, parents before children where known."""

    def metric_chunks(self, run: RunRecord) -> Iterator[Sequence[Metric]]:
        """The run's full metric history, key by key, each key ordered by ``(step, timestamp)``."""

    def logged_models(self, experiment_id: str) -> Iterator[LoggedModel]:
        """Logged models of the experiment (empty when the source has none)."""

    def registered_models(self) -> Iterator[tuple[RegisteredModel, list[ModelVersion]]]:
        """Registered models with all their versions (empty without a registry)."""

    def close(self) -> None:
        """Release connections and handles."""


def parent_run_id(tags: "dict[str, str]") -> Optional[str]:
    """The parent run id a run's tags name (storekit's tag, else MLflow's)."""
    return tags.get("storekit.parentRunId") or tags.get("mlflow.parentRunId")
