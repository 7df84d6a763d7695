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


def test_history_bulk_sqlite3_fill_gives_a_consistent_store(tmp_path: Path) -> None:
    from storekit.client import TrackingClient
    from storekit.integrity import check_store

    out, db = tmp_path / "figures.json", tmp_path / "bench.db"
    args = ["--runs", "3", "--keys", "2", "--steps", "5", "--repeats", "1", "--sample", "1"]
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.history_bulk", *args, "--fill", "sqlite3"]
        + ["--store", f"sqlite:///{db}", "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    figures = {f["name"]: f for f in json.loads(out.read_text())["figures"]}
    assert "30 points" in figures["get_metric_histories -> arrow"]["note"]
    assert figures["floor: raw sqlite3 fetchall, ordered"]["note"] == "30 rows"
    assert check_store(f"sqlite:///{db}").ok  # latest values agree with the inserted history
    with TrackingClient(f"sqlite:///{db}") as client:
        (exp,) = client.search_experiments()
        runs = client.search_runs([exp.experiment_id], output_format="list")
        history = client.get_metric_history(runs[0].info.run_id, "metric_1")
        assert [m.step for m in history] == [0, 1, 2, 3, 4]
        assert runs[0].data.metrics["metric_1"] == history[-1].value
