"""A real ``storekit server``: params added to an existing logged model, and runs whose latest
metrics carry their step and timestamp - through raw REST, storekit-http and MLflow's own client."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any, Optional

import pytest

from storekit.entities import Metric
from storekit.errors import InvalidParameterError
from tests.storekit_server_process import StorekitServer


def _call(server: StorekitServer, method: str, path: str, body: Optional[dict[str, Any]] = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(
        f"{server.url}/api/2.0/mlflow/{path}", data=data, method=method, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def _experiment(server: StorekitServer, name: str) -> str:
    status, doc = _call(server, "POST", "experiments/create", {"name": name})
    assert status == 200, doc
    return str(doc["experiment_id"])


def test_logged_model_params_over_rest(storekit_server: StorekitServer) -> None:
    exp = _experiment(storekit_server, "lm-params-rest")
    status, doc = _call(storekit_server, "POST", "logged-models", {"experiment_id": exp, "name": "m",
                        "params": [{"key": "a", "value": "1"}]})  # fmt: skip
    assert status == 200, doc
    model_id = doc["model"]["info"]["model_id"]
    params = [{"key": "b", "value": "2"}, {"key": "a", "value": "1"}]
    status, doc = _call(storekit_server, "POST", f"logged-models/{model_id}/params", {"params": params})
    assert status == 200, doc  # was 501 NOT_IMPLEMENTED
    status, doc = _call(storekit_server, "GET", f"logged-models/{model_id}")
    assert {p["key"]: p["value"] for p in doc["model"]["data"]["params"]} == {"a": "1", "b": "2"}
    # params are immutable: another value is a 400 naming the key, and nothing of the call is stored
    status, doc = _call(storekit_server, "POST", f"logged-models/{model_id}/params",
                        {"params": [{"key": "c", "value": "3"}, {"key": "b", "value": "changed"}]})  # fmt: skip
    assert status == 400 and doc["error_code"] == "INVALID_PARAMETER_VALUE" and "'b'" in doc["message"], doc
    status, doc = _call(storekit_server, "GET", f"logged-models/{model_id}")
    assert {p["key"]: p["value"] for p in doc["model"]["data"]["params"]} == {"a": "1", "b": "2"}
    status, doc = _call(storekit_server, "POST", f"logged-models/m-{'0' * 32}/params", {"params": params})
    assert status == 404 and doc["error_code"] == "RESOURCE_DOES_NOT_EXIST", doc


def test_logged_model_params_through_storekit_http(storekit_server: StorekitServer) -> None:
    from storekit.plugins import resolve_tracking_store

    store = resolve_tracking_store(storekit_server.url)
    try:
        exp = store.create_experiment("lm-params-http")
        model = store.create_logged_model(exp, name="m")
        store.log_logged_model_params(model.model_id, {"lr": "0.1"})
        assert store.get_logged_model(model.model_id).params == {"lr": "0.1"}
        with pytest.raises(InvalidParameterError):
            store.log_logged_model_params(model.model_id, {"lr": "0.2"})
    finally:
        store.close()


def test_run_json_carries_latest_step_and_timestamp(storekit_server: StorekitServer) -> None:
    from storekit.plugins import resolve_tracking_store

    exp = _experiment(storekit_server, "run-json-steps")
    status, doc = _call(storekit_server, "POST", "runs/create", {"experiment_id": exp, "start_time": 1})
    run_id = doc["run"]["info"]["run_id"]
    points = [("loss", 0.5, 1000, 0), ("loss", 0.25, 3000, 7), ("loss", 0.4, 2000, 3), ("acc", 0.9, 5000, 2)]
    metrics = [{"key": k, "value": v, "timestamp": t, "step": s} for k, v, t, s in points]
    assert _call(storekit_server, "POST", "runs/log-batch", {"run_id": run_id, "metrics": metrics})[0] == 200
    expected = {"loss": (0.25, 3000, 7), "acc": (0.9, 5000, 2)}
    for method, path, body in (
        ("GET", f"runs/get?run_id={run_id}", None),
        ("POST", "runs/search", {"experiment_ids": [exp]}),
    ):
        status, doc = _call(storekit_server, method, path, body)
        assert status == 200, doc
        run = doc["run"] if "run" in doc else doc["runs"][0]
        got = {m["key"]: (m["value"], int(m["timestamp"]), int(m["step"])) for m in run["data"]["metrics"]}
        assert got == expected, (path, got)
    store = resolve_tracking_store(storekit_server.url)
    try:
        data = store.get_run(run_id).data
        assert data.latest_metrics["loss"] == Metric("loss", 0.25, 3000, 7)
        assert data.latest_metric("acc") == Metric("acc", 0.9, 5000, 2)
    finally:
        store.close()


@pytest.mark.mlflow_server
def test_mlflow_client_reads_latest_points_and_logs_model_params(
    storekit_server: StorekitServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlflow import MlflowClient
    from mlflow.entities import LoggedModelParameter
    from mlflow.entities import Metric as MlMetric

    for name in ("MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    client = MlflowClient(storekit_server.url)
    exp = client.create_experiment("mlflow-latest-points")
    run_id = client.create_run(exp).info.run_id
    client.log_batch(run_id, metrics=[MlMetric("loss", 0.5, 1000, 0), MlMetric("loss", 0.25, 3000, 7),
                                      MlMetric("loss", 0.4, 2000, 3)])  # fmt: skip
    history = client.get_metric_history(run_id, "loss")
    latest = max(history, key=lambda m: (m.step, m.timestamp, m.value))
    for run in (client.get_run(run_id), client.search_runs([exp])[0]):
        [point] = run.data._metric_objs
        assert (point.key, point.value, point.timestamp, point.step) == (
            "loss",
            latest.value,
            latest.timestamp,
            latest.step,
        )
    model = client.create_logged_model(exp, name="clf")
    client.log_model_params(model.model_id, {"alpha": "0.5"})
    assert client.get_logged_model(model.model_id).params == {"alpha": "0.5"}
    assert LoggedModelParameter("alpha", "0.5").key == "alpha"
