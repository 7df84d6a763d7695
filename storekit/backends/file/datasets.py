"""Storage form of dataset inputs (contract section 3b).

A run's inputs are stored in its run-index entry as
``{"dataset": {name, digest, source_type, source, schema, profile}, "tags": {...}}``.
The same dataset (name and digest) is recorded once per run and context.
"""

from __future__ import annotations

from typing import Any, Iterable, Sequence

from ...entities import DatasetInput
from ...rules import validate_dataset_input

__all__ = ["dataset_records", "identity"]

_FIELDS = ("name", "digest", "source_type", "source", "schema", "profile")


def identity(record: dict[str, Any]) -> tuple[str, str, str]:
    """What makes a dataset input unique within a run: name, digest and context."""
    return (record["dataset"]["name"], record["dataset"]["digest"], (record.get("tags") or {}).get("context", ""))


def _record(item: Any) -> dict[str, Any]:
    item = validate_dataset_input(item)
    return {"dataset": {name: getattr(item.dataset, name) for name in _FIELDS}, "tags": dict(item.tags)}


def dataset_records(datasets: Sequence[DatasetInput], existing: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The storage records of ``datasets`` not yet recorded in ``existing`` (validated, de-duplicated)."""
    seen = {identity(r) for r in existing}
    out = []
    for item in datasets or ():
        record = _record(item)
        key = identity(record)
        if key not in seen:
            seen.add(key)
            out.append(record)
    return out
