"""``storekit server`` serves MLflow's REST API without MLflow: a real server process in which
``import mlflow`` fails logs, reads and stores artifacts through its routes."""

from __future__ import annotations

import json
import os
import urllib.request
from pathlib import Path
from typing import Any, Optional

import pytest

from tests.storekit_server_process import StorekitServer


def _call(server: StorekitServer, method: str, path: str, body: Optional[Any] = None, data: Optional[bytes] = None):
    if body is not None:
        data = json.dumps(body).encode()
    req = urllib.request.Request(
        server.url + path, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=60) as resp:
        raw = resp.read()
    return json.loads(raw) if raw and raw[:1] in b"{[" else raw


def test_server_runs_with_mlflow_unimportable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "no-mlflow"
    (blocker / "mlflow").mkdir(parents=True)
    (blocker / "mlflow" / "__init__.py").write_text("raise ImportError('mlflow is not installed here')\n")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(blocker), os.environ.get("PYTHONPATH")])))
    try:
        server = StorekitServer.start(tmp_path / "server")
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        api = "/api/2.0/mlflow"
        exp = _call(server, "POST", f"{api}/experiments/create", {"name": "no-mlflow"})["experiment_id"]
        run = _call(server, "POST", f"{api}/runs/create", {"experiment_id": exp})["run"]
        run_id = run["info"]["run_id"]
        metric = {"run_id": run_id, "key": "loss", "value": 0.5, "timestamp": 10, "step": 2}
        _call(server, "POST", f"{api}/runs/log-metric", metric)
        got = _call(server, "GET", f"{api}/runs/get?run_id={run_id}")["run"]["data"]["metrics"]
        assert [(m["key"], m["step"], int(m["timestamp"])) for m in got] == [("loss", 2, 10)]
        model = _call(server, "POST", f"{api}/logged-models", {"experiment_id": exp})["model"]["info"]["model_id"]
        _call(server, "POST", f"{api}/logged-models/{model}/params", {"params": [{"key": "a", "value": "1"}]})
        artifact_uri = run["info"]["artifact_uri"]
        assert artifact_uri.startswith("mlflow-artifacts:/")
        path = artifact_uri[len("mlflow-artifacts:/") :].strip("/") + "/notes.txt"
        _call(server, "PUT", f"/api/2.0/mlflow-artifacts/artifacts/{path}", data=b"hello")
        assert _call(server, "GET", f"/api/2.0/mlflow-artifacts/artifacts/{path}") == b"hello"
        assert "mlflow is not installed here" not in server.log_tail(1_000_000)
    finally:
        server.stop()
    # the blocker works: the same interpreter cannot import mlflow with it on the path
    import subprocess
    import sys

    probe = subprocess.run(
        [sys.executable, "-c", "import mlflow"], capture_output=True, text=True, env=dict(os.environ)
    )
    assert probe.returncode != 0 and "mlflow is not installed here" in probe.stderr
