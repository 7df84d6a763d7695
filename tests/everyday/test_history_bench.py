"""The bulk-history benchmark runs end to end at a tiny size (no timing asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("backend", ["sqlite", "file"])
def test_history_bulk_benchmark_reports_figures(tmp_path: Path, backend: str) -> None:
    out = tmp_path / "figures.json"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.history_bulk",
            "--runs",
            "3",
            "--keys",
            "2",
            "--steps",
            "5",
            "--repeats",
            "1",
            "--sample",
            "1",
            "--backend",
            backend,
            "--json",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    figures = {f["name"]: f for f in json.loads(out.read_text())["figures"]}
    assert "30 points" in figures["get_metric_histories -> pandas"]["note"]
    assert "30 points" in figures["get_metric_histories -> arrow"]["note"]
    assert figures["get_metric_history loop (extrapolated)"]["value"] > 0


def test_system_metrics_overhead_benchmark_reports_figures(tmp_path: Path) -> None:
    out = tmp_path / "figures.json"
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.system_metrics_overhead", "--seconds", "1", "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    figures = {f["name"]: f for f in json.loads(out.read_text())["figures"]}
    assert figures["CPU per sample (sample + log)"]["value"] >= 0
    assert "overhead at 10s interval" in figures
