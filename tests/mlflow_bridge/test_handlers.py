"""MLflow's server handlers (in process, Flask's test client) on the bridge: REST answers and codes.

The real ``mlflow server``/``mlflow ui`` processes and the browser are tested
elsewhere; this checks what the bridge answers to the endpoints the UI calls,
including the GenAI ones (HTTP 501, never 500) and the empty webhook listing.
"""

from __future__ import annotations

from typing import Any, Iterator

import pytest

pytestmark = pytest.mark.mlflow


@pytest.fixture
def client(store_uri: str, tmp_path) -> Iterator[Any]:
    from mlflow.server import app, handlers

    handlers.initialize_backend_stores(store_uri, store_uri, f"storekit:{tmp_path}/artifacts")
    try:
        yield app.test_client()
    finally:
        handlers._tracking_store = None
        handlers._model_registry_store = None


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_rest_endpoints_the_ui_calls(client: Any) -> None:
    def post(path: str, body: dict[str, Any]) -> Any:
        return client.post(path, json=body)

    exp = post("/api/2.0/mlflow/experiments/create", {"name": "rest"}).get_json()["experiment_id"]
    run = post("/api/2.0/mlflow/runs/create", {"experiment_id": exp, "start_time": 1}).get_json()["run"]
    run_id = run["info"]["run_id"]
    assert run["info"]["run_name"] and run["info"]["artifact_uri"].startswith("storekit:")
    response = post(
        "/api/2.0/mlflow/runs/log-batch",
        {
            "run_id": run_id,
            "metrics": [{"key": "m", "value": i / 10, "timestamp": 100 + i, "step": i} for i in range(6)],
            "params": [{"key": "p", "value": "1"}],
        },
    )
    assert response.status_code == 200
    response = post(
        "/api/2.0/mlflow/runs/log-inputs",
        {
            "run_id": run_id,
            "datasets": [
                {
                    "dataset": {"name": "d", "digest": "x1", "source_type": "local", "source": "{}"},
                    "tags": [{"key": "mlflow.data.context", "value": "train"}],
                }
            ],
        },
    )
    assert response.status_code == 200

    found = post(
        "/api/2.0/mlflow/runs/search",
        {
            "experiment_ids": [exp],
            "filter": "tags.mlflow.runName != 'x' AND params.p = '1'",
            "order_by": ["attributes.start_time DESC"],
        },
    ).get_json()["runs"]
    assert [r["info"]["run_id"] for r in found] == [run_id]
    sampled = client.get(
        "/ajax-api/2.0/mlflow/metrics/get-history-bulk-interval",
        query_string={"run_ids": run_id, "metric_key": "m", "max_results": 3},
    ).get_json()
    assert {m["step"] for m in sampled["metrics"]} >= {0, 5}
    history = client.get(
        "/api/2.0/mlflow/metrics/get-history", query_string={"run_id": run_id, "metric_key": "m"}
    ).get_json()["metrics"]
    assert [m["step"] for m in history] == list(range(6))
    summary = post("/ajax-api/2.0/mlflow/experiments/search-datasets", {"experiment_ids": [exp]}).get_json()
    assert summary["dataset_summaries"] == [{"experiment_id": exp, "name": "d", "digest": "x1", "context": "train"}]

    assert client.get("/api/2.0/mlflow/webhooks").status_code == 200
    assert client.get("/api/2.0/mlflow/registered-models/search").status_code == 200
    missing = client.get("/api/2.0/mlflow/runs/get", query_string={"run_id": "0" * 32})
    assert missing.status_code == 404 and missing.get_json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    bad = post("/api/2.0/mlflow/runs/search", {"experiment_ids": [exp], "filter": "metrics.m >"})
    assert bad.status_code == 400 and bad.get_json()["error_code"] == "INVALID_PARAMETER_VALUE"
    # the GenAI views the UI opens by default: MLflow's not-implemented answer, not a 500
    traces = post(
        "/api/3.0/mlflow/traces/search",
        {"locations": [{"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": exp}}]},
    )
    assert traces.status_code == 501 and traces.get_json()["error_code"] == "NOT_IMPLEMENTED"
