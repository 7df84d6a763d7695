"""What a transfer prints: the dry-run plan, a progress bar, the result and the verification tables."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Optional, Sequence

from ..cli._output import print_table
from .engine import TransferResult
from .verify import Verification

__all__ = ["print_plan", "print_result", "print_verification", "progress", "plan_json", "result_json"]


def print_plan(
    rows: Sequence[dict[str, Any]], registry: Optional[tuple[int, int]], summary: Sequence[tuple[str, Any]]
) -> None:
    """The dry-run table: per experiment, then the registry, then how the transfer would run."""
    print_table(
        ("experiment", "name", "stage", "runs", "logged models"),
        [(r["experiment_id"], r["name"], r["lifecycle_stage"], r["runs"], r["logged_models"]) for r in rows],
        title="Would copy (dry run: nothing is written)",
    )
    total = (sum(r["runs"] for r in rows), sum(r["logged_models"] for r in rows))
    lines = [("experiments", len(rows)), ("runs", total[0]), ("logged models", total[1])]
    if registry is not None:
        lines += [("registered models", registry[0]), ("model versions", registry[1])]
    print_table(("what", "value"), [*lines, *summary], title="Summary")


def print_result(result: TransferResult) -> None:
    """Counts of what this invocation wrote."""
    rate = result.metric_points / result.seconds if result.seconds else 0.0
    print_table(
        ("copied", "count"),
        [
            ("experiments", result.experiments),
            ("runs", result.runs),
            ("runs already done (resumed)", result.skipped_runs),
            ("metric points", result.metric_points),
            ("logged models", result.logged_models),
            ("registered models", result.registered_models),
            ("model versions", result.model_versions),
            ("artifact files", result.artifact_files),
            ("artifact bytes", result.artifact_bytes),
            ("server accounts: users, tokens, grants", f"{result.users}, {result.tokens}, {result.grants}"),
            ("seconds", round(result.seconds, 2)),
            ("metric points per second", int(rate)),
            ("ids", "preserved (import hook)" if result.preserves_ids else "new (public API; see the id map)"),
        ],
        title="Transfer",
    )
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)


def print_verification(check: Verification) -> None:
    """The verification table and the differences, if any."""
    print_table(
        ("check", "source", "destination", "status"),
        [(kind, s, d, "ok" if s == d else "DIFFERENT") for kind, (s, d) in check.counts.items()],
        title="Verification",
    )
    if check.differences:
        print_table(("difference",), [(d,) for d in check.differences], title=f"Differences ({check.difference_count})")
    print("verification: " + ("OK" if check.ok else f"FAILED ({check.difference_count} differences)"))


def plan_json(
    rows: Sequence[dict[str, Any]], registry: Optional[tuple[int, int]], summary: Sequence[tuple[str, Any]]
) -> dict[str, Any]:
    """The dry-run plan as JSON."""
    out: dict[str, Any] = {"experiments": list(rows), **{k.replace(" ", "_"): v for k, v in summary}}
    if registry is not None:
        out["registered_models"], out["model_versions"] = registry
    return out


def result_json(result: Optional[TransferResult], check: Optional[Verification]) -> dict[str, Any]:
    """The transfer and verification as JSON."""
    from dataclasses import asdict

    out: dict[str, Any] = {}
    if result is not None:
        out["transfer"] = asdict(result)
    if check is not None:
        out["verification"] = {
            "ok": check.ok,
            "counts": {k: {"source": s, "destination": d} for k, (s, d) in check.counts.items()},
            "differences": check.differences,
            "difference_count": check.difference_count,
        }
    return out


@contextmanager
def progress(total: Optional[int], label: str) -> Iterator[Callable[[int], None]]:
    """A rich progress bar (runs done, rate, ETA) on a terminal; a no-op callback otherwise.

    The callback takes the metric points of the run just finished.
    """
    if total is None or not sys.stderr.isatty():
        yield lambda points: None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        ProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )
    from rich.text import Text

    class RateColumn(ProgressColumn):
        def render(self, task: Any) -> Text:
            return Text(f"{task.speed:.1f} runs/s" if task.speed else "- runs/s")

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        RateColumn(),
        TextColumn("{task.fields[points]} points"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=Console(stderr=True), transient=False) as bar:
        task = bar.add_task(label, total=total, points=0)
        counted = [0]

        def advance(points: int) -> None:
            counted[0] += points
            bar.update(task, advance=1, points=counted[0])

        yield advance
