"""The benchmark harness runs every workload at a tiny size against file and SQLite stores (no timing asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

TINY = [
    "--runs",
    "12",
    "--params",
    "3",
    "--tags",
    "2",
    "--metric-keys",
    "3",
    "--steps",
    "5",
    "--per-call-runs",
    "2",
    "--per-call-keys",
    "2",
    "--per-call-steps",
    "3",
    "--search-calls",
    "2",
    "--read-calls",
    "3",
    "--w4-sizes",
    "15,30",
    "--w4-params",
    "2",
    "--w4-tags",
    "1",
    "--w4-keys",
    "2",
    "--w4-steps",
    "2",
    "--w5-files",
    "5",
    "--w5-file-kib",
    "1",
    "--w5-big-mib",
    "1",
]


def _run(tmp_path: Path, *extra: str) -> dict:
    out = tmp_path / "results.json"
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--workload", "all", *TINY, "--json", str(out), *extra],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "W1" in proc.stdout and "points/s" in proc.stdout  # the table was printed
    return json.loads(out.read_text())


def _figures(data: dict) -> dict[tuple[str, str], dict]:
    return {(f["workload"], f["name"]): f for f in data["figures"]}


@pytest.mark.parametrize("backend", ["sqlite", "file"])
def test_every_workload_reports_its_figures(tmp_path: Path, backend: str) -> None:
    uri = f"sqlite:///{tmp_path}/bench.db" if backend == "sqlite" else str(tmp_path / "fstore")
    data = _run(tmp_path, "--tracking-uri", uri, "--artifact-uri", (tmp_path / "artifacts").as_uri())
    figures = _figures(data)
    assert {f["workload"] for f in data["figures"]} == {"start-up", "W1", "W2", "W3", "W4", "W5"}
    for fig in data["figures"]:
        assert fig["value"] is not None and fig["value"] > 0, fig
    # the floors are measured and compared
    for key in [("W1", "points/s"), ("W5", "log_artifacts MB/s"), ("W5", "download_artifacts files/s")]:
        assert figures[key]["floor"] > 0 and figures[key]["ratio"] > 0, figures[key]
    assert figures[("W1", "points/s")]["target"] == 200_000
    # W2 paged through every run of W1's data, W3 read full histories, W4 did both sizes
    assert figures[("W2", "page through all runs, 100/page")]["extra"]["runs_seen"] == 12
    assert figures[("W3", "get_metric_history 5 points (median)")]["note"] == "5 points returned"
    for size in (15, 30):
        assert figures[("W4", f"page through all runs, 100/page @{size} runs")]["extra"]["runs_seen"] == size
    assert ("W1", "async log_metric per call (median)") in figures
    assert data["notes"] == []  # W5 downloaded exactly what it uploaded
    assert data["meta"]["sizes"]["runs"] == 12


def test_rejects_an_oversized_batch(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--batch-size", "1001"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2 and "--batch-size" in proc.stderr and "1000" in proc.stderr
