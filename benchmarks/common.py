"""Shared helpers of the benchmarks: figures, timing statistics, resident memory, the table and JSON."""

from __future__ import annotations

import json
import math
import os
import resource
import statistics
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Iterable, Optional, Sequence, TypeVar

__all__ = [
    "Figure",
    "Timer",
    "median",
    "p95",
    "time_calls",
    "reset_peak_rss",
    "peak_rss_mib",
    "current_rss_mib",
    "print_table",
    "write_json",
]

T = TypeVar("T")


@dataclass
class Figure:
    """One measured number with its unit, target and (optionally) the floor it is compared with.

    ``higher_is_better`` decides how ``target`` is read (``value >= target``
    or ``value <= target``).  ``ratio`` is ``value / floor`` when a floor was
    measured, with its own optional ``ratio_target`` (read the same way).
    """

    workload: str
    name: str
    value: float
    unit: str
    target: Optional[float] = None
    higher_is_better: bool = False
    floor: Optional[float] = None
    ratio_target: Optional[float] = None
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> Optional[float]:
        """``value / floor``, or None without a floor."""
        if self.floor is None or self.floor == 0:
            return None
        return self.value / self.floor

    def _meets(self, value: Optional[float], target: Optional[float]) -> Optional[bool]:
        if value is None or target is None:
            return None
        return value >= target if self.higher_is_better else value <= target

    @property
    def ok(self) -> Optional[bool]:
        """True when every target given is met, False when one is missed, None without targets."""
        checks = [
            c
            for c in (self._meets(self.value, self.target), self._meets(self.ratio, self.ratio_target))
            if c is not None
        ]
        return all(checks) if checks else None

    def to_dict(self) -> dict[str, Any]:
        """The figure as JSON-ready data (ratio and verdict included)."""
        data = asdict(self)
        data.update(ratio=self.ratio, ok=self.ok)
        return data


class Timer:
    """``with Timer() as t: ...`` then ``t.seconds``; ``t.add()`` accumulates several timed sections."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._start = 0.0

    def __enter__(self) -> "Timer":
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds += time.perf_counter() - self._start


def median(samples: Sequence[float]) -> float:
    """The median of ``samples``."""
    return float(statistics.median(samples))


def p95(samples: Sequence[float]) -> float:
    """The 95th percentile of ``samples`` (nearest rank)."""
    ordered = sorted(samples)
    rank = max(1, math.ceil(0.95 * len(ordered)))
    return float(ordered[rank - 1])


def time_calls(fn: Callable[[], T], calls: int) -> tuple[list[float], T]:
    """Call ``fn`` ``calls`` times; return each call's seconds and the last result."""
    samples: list[float] = []
    result: Any = None
    for _ in range(calls):
        start = time.perf_counter()
        result = fn()
        samples.append(time.perf_counter() - start)
    return samples, result


def _status_kib(field_name: str) -> Optional[int]:
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith(field_name + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def reset_peak_rss() -> bool:
    """Reset the process's peak resident size (Linux ``clear_refs``); False where unsupported."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def peak_rss_mib() -> float:
    """Peak resident memory of this process in MiB since start or the last :func:`reset_peak_rss`."""
    kib = _status_kib("VmHWM")
    if kib is None:
        kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return kib / 1024


def current_rss_mib() -> float:
    """Current resident memory of this process in MiB."""
    kib = _status_kib("VmRSS")
    return (kib or 0) / 1024


def _fmt(value: Optional[float]) -> str:
    if value is None:
        return "-"
    if value == 0 or abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 1:
        return f"{value:,.2f}"
    return f"{value:.3g}"


def _target_text(fig: Figure, value: Optional[float]) -> str:
    if value is None:
        return "-"
    return (">= " if fig.higher_is_better else "<= ") + _fmt(value)


def print_table(figures: Iterable[Figure], title: str, peak_rss: dict[str, float]) -> None:
    """Print the figures as a rich table: figure, value, target, floor, ratio (and its target), verdict."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for col in ("workload", "figure", "value", "unit", "target", "floor", "ratio", "ratio target", "ok"):
        table.add_column(col, justify="right" if col not in ("workload", "figure", "unit") else "left")
    for fig in figures:
        verdict = {True: "[green]yes[/]", False: "[red]NO[/]", None: ""}[fig.ok]
        table.add_row(
            fig.workload,
            fig.name,
            _fmt(fig.value),
            fig.unit,
            _target_text(fig, fig.target),
            _fmt(fig.floor),
            _fmt(fig.ratio),
            _target_text(fig, fig.ratio_target),
            verdict,
        )
    console = Console(width=160)
    console.print(table)
    if peak_rss:
        console.print("peak resident memory (MiB): " + ", ".join(f"{k} {v:.0f}" for k, v in peak_rss.items()))


def write_json(path: "str | os.PathLike[str]", payload: dict[str, Any]) -> None:
    """Write ``payload`` as indented JSON (NaN written as null)."""

    def clean(obj: Any) -> Any:
        if isinstance(obj, float) and not math.isfinite(obj):
            return None
        if isinstance(obj, dict):
            return {k: clean(v) for k, v in obj.items()}
        if isinstance(obj, (list, tuple)):
            return [clean(v) for v in obj]
        return obj

    with open(path, "w", encoding="utf-8") as fh:
        json.dump(clean(payload), fh, indent=2)
        fh.write("\n")
