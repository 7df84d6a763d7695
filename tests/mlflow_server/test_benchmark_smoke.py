"""benchmarks/mlflow_bridge.py runs end to end at a tiny size (no timing asserted; figures must be there)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.mlflow
def test_the_mlflow_bridge_benchmark_reports_both_stores(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.mlflow_bridge",
            "--mode",
            "direct",
            "--runs",
            "6",
            "--search-calls",
            "1",
            "--page-size",
            "4",
            "--json",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "storekit:sqlite vs MLflow's own SQLite store" in proc.stdout
    data = json.loads(out.read_text())
    figures = {f["name"]: f for f in data["figures"]}
    assert len(figures) == 5
    for figure in figures.values():
        assert figure["workload"] == "MLflow direct"
        assert figure["value"] > 0 and figure["floor"] > 0  # storekit's and MLflow's own seconds
        assert figure["extra"]["speedup"] == pytest.approx(figure["floor"] / figure["value"])
