"""benchmarks/http_store.py runs at a tiny size against the session's mlflow server (no timing asserted)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.mlflow_server.processes import MlflowServer

ROOT = Path(__file__).resolve().parents[2]


def test_http_benchmark_reports_both_clients(mlflow_server: MlflowServer, tmp_path: Path) -> None:
    out = tmp_path / "http.json"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.http_store",
            "--url",
            mlflow_server.url,
            "--runs",
            "3",
            "--steps",
            "5",
            "--per-call-runs",
            "1",
            "--search-calls",
            "2",
            "--read-calls",
            "3",
            "--json",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true"},
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    figures = {f["name"]: f for f in json.loads(out.read_text())["figures"]}
    assert figures["W1 points/s"]["value"] > 0 and figures["W1 points/s"]["extra"]["mlflow"] > 0
    assert figures["W3 get_run (median)"]["floor"] is not None  # MLflow's client measured on the same server
    assert figures["W2 OR filter (median)"]["floor"] is None  # MLflow's server cannot run an OR filter
