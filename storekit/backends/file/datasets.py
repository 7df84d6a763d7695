"""Validation and storage form of dataset inputs (contract section 3b).

A run's inputs are stored in its run-index entry as
``{"dataset": {name, digest, source_type, source, schema, profile}, "tags": {...}}``.
The same dataset (name and digest) is recorded once per run and context.
"""

from __future__ import annotations

from typing import Any, Iterable, Sequence

from ...entities import Dataset, DatasetInput
from ...errors import InvalidParameterError
from ...validation import validate_tags

__all__ = ["dataset_records", "identity"]

#: Longest accepted value per dataset field, in characters.
LIMITS = {
    "name": 500,
    "digest": 256,
    "source_type": 256,
    "source": 65_535,
    "schema": 1_048_576,
    "profile": 1_048_576,
}
_REQUIRED = ("name", "digest", "source_type", "source")


def identity(record: dict[str, Any]) -> tuple[str, str, str]:
    """What makes a dataset input unique within a run: name, digest and context."""
    return (record["dataset"]["name"], record["dataset"]["digest"], (record.get("tags") or {}).get("context", ""))


def _record(item: Any) -> dict[str, Any]:
    if not isinstance(item, DatasetInput) or not isinstance(item.dataset, Dataset):
        raise InvalidParameterError(f"datasets: expected DatasetInput items, got {type(item).__name__}")
    fields: dict[str, Any] = {}
    for name, limit in LIMITS.items():
        value = getattr(item.dataset, name)
        if value is None and name not in _REQUIRED:
            fields[name] = None
            continue
        if not isinstance(value, str) or (name in _REQUIRED and not value):
            raise InvalidParameterError(f"dataset {name}: expected a non-empty string")
        if len(value) > limit:
            raise InvalidParameterError(
                f"dataset {name}: length {len(value)} exceeds the limit of {limit} characters"
            )
        fields[name] = value
    return {"dataset": fields, "tags": validate_tags(item.tags, "dataset input tag")}


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
