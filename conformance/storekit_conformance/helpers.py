"""Small helpers shared by the checks: unique names, clocks, assertions."""

from __future__ import annotations

import math
import time
import uuid
from typing import Iterable, Optional

import pytest

from storekit.errors import InvalidParameterError

__all__ = [
    "unique",
    "now_ms",
    "same_float",
    "assert_invalid",
    "ids_of",
]


def unique(prefix: str = "sk") -> str:
    """A name no other check (or other user of a live store) will pick: ``prefix-<12 hex>``."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def now_ms() -> int:
    """Milliseconds since the epoch."""
    return time.time_ns() // 1_000_000


def same_float(a: Optional[float], b: Optional[float]) -> bool:
    """Equality that treats NaN as equal to NaN (and keeps the sign of infinities)."""
    if a is None or b is None:
        return a is b
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == b


def assert_invalid(excinfo: pytest.ExceptionInfo[InvalidParameterError], *needles: str) -> None:
    """The error message names every one of ``needles`` (a field, a limit, a value)."""
    message = str(excinfo.value)
    for needle in needles:
        alternatives = {needle, f"{int(needle):,}"} if needle.isdigit() else {needle}
        assert any(a in message for a in alternatives), f"error message should mention {needle!r}: {message!r}"


def ids_of(runs: Iterable[object]) -> list[str]:
    """Run ids of a list of runs, in order."""
    return [r.info.run_id for r in runs]  # type: ignore[attr-defined]
