"""How MLflow's stored values become storekit's entities (shared by both MLflow readers).

* Run statuses: MLflow's file store keeps them as integers (``RunStatus``
  enum numbers), its databases as names.
* Logged-model statuses are integers in both (1 pending, 2 ready, 3 failed).
* Metric values: MLflow's SQL stores keep ±inf as ±1.7976931348623157e308
  (the largest double) and NaN as ``is_nan``; the importer turns those back
  into ±inf and NaN (an actual value of exactly ±max double therefore
  arrives as ±inf — MLflow cannot tell them apart either).
* Parent runs: MLflow's tag ``mlflow.parentRunId`` is kept, and storekit's
  ``storekit.parentRunId`` is added with the same value so that storekit's
  client sees the nesting.
* Dataset inputs keep MLflow's input tags; ``mlflow.data.context`` is also
  given as storekit's ``context`` tag.
"""

from __future__ import annotations

import math
import sys
from typing import Any, Mapping, Optional

from ..entities import Dataset, DatasetInput, LoggedModelStatus, RunStatus

__all__ = [
    "run_status",
    "logged_model_status",
    "metric_value",
    "run_tags",
    "dataset_input",
    "MLFLOW_PARENT_TAG",
    "STOREKIT_PARENT_TAG",
    "CONTEXT_TAG",
]

MLFLOW_PARENT_TAG = "mlflow.parentRunId"
STOREKIT_PARENT_TAG = "storekit.parentRunId"
CONTEXT_TAG = "mlflow.data.context"
_STATUS_NUMBERS = {
    1: RunStatus.RUNNING,
    2: RunStatus.SCHEDULED,
    3: RunStatus.FINISHED,
    4: RunStatus.FAILED,
    5: RunStatus.KILLED,
}
_MODEL_STATUS = {1: LoggedModelStatus.PENDING, 2: LoggedModelStatus.READY, 3: LoggedModelStatus.FAILED}
_MAX = sys.float_info.max


def run_status(value: Any) -> RunStatus:
    """A run status from MLflow's integer or name."""
    if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
        return _STATUS_NUMBERS.get(int(value), RunStatus.FINISHED)
    return RunStatus(str(value).upper())


def logged_model_status(value: Any) -> LoggedModelStatus:
    """A logged-model status from MLflow's integer (unknown: PENDING)."""
    if isinstance(value, str) and not value.isdigit():
        return LoggedModelStatus.parse(value.replace("LOGGED_MODEL_", "").replace("UPLOAD_", ""))
    return _MODEL_STATUS.get(int(value or 0), LoggedModelStatus.PENDING)


def metric_value(value: Any, is_nan: Any = False) -> float:
    """A metric value as logged: NaN from ``is_nan``, ±max double as ±inf."""
    if is_nan:
        return math.nan
    value = float(value)
    if value >= _MAX:
        return math.inf
    if value <= -_MAX:
        return -math.inf
    return value


def run_tags(tags: Mapping[str, str]) -> dict[str, str]:
    """A run's tags with storekit's parent tag added next to MLflow's."""
    out = dict(tags)
    parent = out.get(MLFLOW_PARENT_TAG)
    if parent and STOREKIT_PARENT_TAG not in out:
        out[STOREKIT_PARENT_TAG] = parent
    return out


def dataset_input(
    name: str,
    digest: str,
    source_type: str,
    source: Optional[str],
    schema: Optional[str],
    profile: Optional[str],
    tags: Mapping[str, str],
) -> DatasetInput:
    """A storekit dataset input from MLflow's dataset record and input tags."""
    out = dict(tags)
    if CONTEXT_TAG in out and "context" not in out:
        out["context"] = out[CONTEXT_TAG]
    return DatasetInput(
        Dataset(
            name=name,
            digest=digest,
            source_type=source_type or "unknown",
            source=source or "",
            schema=schema,
            profile=profile,
        ),
        out,
    )
