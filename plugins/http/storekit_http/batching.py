"""Split a ``log_batch`` into requests within the server's limits.

MLflow's server accepts at most 1000 metrics, 100 params, 100 tags and 1000
entities in all per ``runs/log-batch`` request, and a request body of at most
1,000,000 bytes.  storekit's batches (up to 1000 metrics + 100 params + 100
tags, values up to 8000 characters) can exceed that, so they are cut into
requests here.  Params go first, then tags, then metrics (in the caller's
order), so a param conflict the server reports stops the batch before its
metrics are stored.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Iterator, Sequence

from storekit.entities import Metric, Param, RunTag

from .convert import metric_to_json

__all__ = ["RequestLimits", "MLFLOW_LIMITS", "split_batch"]


@dataclass(frozen=True)
class RequestLimits:
    """Per-request limits of a ``log-batch`` endpoint."""

    metrics: int = 1000
    params: int = 100
    tags: int = 100
    total: int = 1000
    #: Body size to stay under (bytes), with headroom below the server's 1,000,000.
    body_bytes: int = 900_000


#: MLflow 3's limits (``mlflow/utils/validation.py``).
MLFLOW_LIMITS = RequestLimits()


def split_batch(
    metrics: Sequence[Metric],
    params: Sequence[Param],
    tags: Sequence[RunTag],
    limits: RequestLimits = MLFLOW_LIMITS,
) -> Iterator[dict[str, list[dict[str, Any]]]]:
    """Yield request bodies (``{"metrics": [...], "params": [...], "tags": [...]}``) within ``limits``."""
    items: list[tuple[str, dict[str, Any]]] = []
    items += [("params", {"key": p.key, "value": p.value}) for p in params]
    items += [("tags", {"key": t.key, "value": t.value}) for t in tags]
    items += [("metrics", metric_to_json(m)) for m in metrics]
    caps = {"metrics": limits.metrics, "params": limits.params, "tags": limits.tags}
    chunk: dict[str, list[dict[str, Any]]] = {"metrics": [], "params": [], "tags": []}
    count = size = 0
    for kind, body in items:
        item_size = len(json.dumps(body, ensure_ascii=False).encode()) + 1
        if count and (count >= limits.total or len(chunk[kind]) >= caps[kind] or size + item_size > limits.body_bytes):
            yield chunk
            chunk = {"metrics": [], "params": [], "tags": []}
            count = size = 0
        chunk[kind].append(body)
        count += 1
        size += item_size
    if count:
        yield chunk
