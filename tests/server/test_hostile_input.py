"""Hostile and malformed requests to a real ``storekit server`` get a clear 4xx in MLflow's error JSON."""

from __future__ import annotations

import http.client
import json
from typing import Any, Optional
from urllib.parse import urlsplit

import pytest

from tests.storekit_server_process import StorekitServer

API = "/api/2.0/mlflow"


def _raw(
    server: StorekitServer,
    method: str,
    path: str,
    body: Optional[bytes] = None,
    headers: Optional[dict[str, str]] = None,
) -> tuple[int, dict[str, str], bytes]:
    """One request sent as written (no client-side path normalisation)."""
    conn = http.client.HTTPConnection("127.0.0.1", urlsplit(server.url).port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def _json(server: StorekitServer, method: str, path: str, payload: Any) -> tuple[int, dict[str, Any]]:
    status, _, body = _raw(
        server, method, API + path, json.dumps(payload).encode(), {"Content-Type": "application/json"}
    )
    return status, json.loads(body)


def _error(status: int, body: bytes, expected_status: int, code: str) -> dict[str, Any]:
    assert status == expected_status, body[:500]
    data = json.loads(body)
    assert data["error_code"] == code, data
    assert isinstance(data["message"], str) and data["message"]
    return data


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b"\xff\xfe\x00", b'"text"'])
def test_malformed_json_is_400(storekit_server: StorekitServer, body: bytes) -> None:
    status, _, answer = _raw(storekit_server, "POST", API + "/experiments/create", body)
    _error(status, answer, 400, "MALFORMED_REQUEST")


def test_wrong_field_types_are_400_naming_the_field(storekit_server: StorekitServer) -> None:
    status, data = _json(storekit_server, "POST", "/experiments/search", {"max_results": "many"})
    assert status == 400 and data["error_code"] == "INVALID_PARAMETER_VALUE"
    assert "max_results" in data["message"]
    status, data = _json(storekit_server, "POST", "/experiments/create", {"name": {"nested": 1}})
    assert status == 400 and "name" in data["message"]
    status, data = _json(storekit_server, "POST", "/experiments/create", {})
    assert status == 400 and "name" in data["message"]


def test_oversized_body_is_413(storekit_server: StorekitServer) -> None:
    big = json.dumps({"name": "x" * (17 * 1024 * 1024)}).encode()
    status, _, answer = _raw(storekit_server, "POST", API + "/experiments/create", big)
    _error(status, answer, 413, "RESOURCE_LIMIT_EXCEEDED")


def test_oversized_headers_are_refused(storekit_server: StorekitServer) -> None:
    status, _, _ = _raw(storekit_server, "GET", "/health", headers={"X-Big": "a" * (70 * 1024)})
    assert status in (400, 431)
    assert _raw(storekit_server, "GET", "/health")[0] == 200  # the server is still fine


@pytest.mark.parametrize(
    "path",
    [
        "/api/2.0/mlflow-artifacts/artifacts/a/../../../etc/passwd",
        "/api/2.0/mlflow-artifacts/artifacts/a/%2e%2e/%2e%2e/etc/passwd",
        "/api/2.0/mlflow-artifacts/artifacts//etc/passwd",
        "/api/2.0/mlflow-artifacts/artifacts/%2Fetc%2Fpasswd",
        "/api/2.0/mlflow-artifacts/artifacts/a/..%5C..%5Cwindows",
        "/api/2.0/mlflow-artifacts/artifacts/C:%5Cwindows",
    ],
)
@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_artifact_path_traversal_is_400(storekit_server: StorekitServer, path: str, method: str) -> None:
    status, _, answer = _raw(storekit_server, method, path, b"owned" if method == "PUT" else None)
    _error(status, answer, 400, "INVALID_PARAMETER_VALUE")
    assert not (storekit_server.workdir / "etc").exists()


def test_listing_traversal_is_400(storekit_server: StorekitServer) -> None:
    status, _, answer = _raw(storekit_server, "GET", "/api/2.0/mlflow-artifacts/artifacts?path=../..")
    _error(status, answer, 400, "INVALID_PARAMETER_VALUE")


@pytest.mark.parametrize(
    "flt",
    [
        "metrics.x > 1; DROP TABLE runs",
        "params.a = 'x' OR 1=1 --",
        "attributes.run_id = '' UNION SELECT * FROM experiments",
        "tags.`a` = 'b' /*",
        "metrics.m >",
        "'",
    ],
)
def test_sql_like_filters_are_400(storekit_server: StorekitServer, flt: str) -> None:
    status, data = _json(storekit_server, "POST", "/experiments/create", {"name": f"sqlish-{abs(hash(flt))}"})
    assert status == 200
    exp_id = data["experiment_id"]
    status, data = _json(storekit_server, "POST", "/runs/search", {"experiment_ids": [exp_id], "filter": flt})
    assert status == 400, data
    assert data["error_code"] == "INVALID_PARAMETER_VALUE"
    status, data = _json(storekit_server, "POST", "/experiments/search", {"filter": flt})
    assert status == 400, data


def test_unknown_route_and_method(storekit_server: StorekitServer) -> None:
    status, _, answer = _raw(storekit_server, "GET", API + "/no/such/thing")
    _error(status, answer, 404, "ENDPOINT_NOT_FOUND")
    status, _, answer = _raw(storekit_server, "DELETE", API + "/experiments/create")
    _error(status, answer, 405, "ENDPOINT_NOT_FOUND")


def test_not_found_and_exists_use_mlflow_codes(storekit_server: StorekitServer) -> None:
    status, _, answer = _raw(storekit_server, "GET", API + "/runs/get?run_id=" + "0" * 32)
    _error(status, answer, 404, "RESOURCE_DOES_NOT_EXIST")
    assert _json(storekit_server, "POST", "/experiments/create", {"name": "twice"})[0] == 200
    status, data = _json(storekit_server, "POST", "/experiments/create", {"name": "twice"})
    assert (status, data["error_code"]) == (400, "RESOURCE_ALREADY_EXISTS")


def test_errors_leak_no_internals(storekit_server: StorekitServer) -> None:
    for payload in ({"experiment_ids": ["1"], "filter": "metrics.x >> 1"}, {"experiment_ids": [{"a": 1}]}):
        status, _, answer = _raw(storekit_server, "POST", API + "/runs/search", json.dumps(payload).encode())
        assert 400 <= status < 500
        text = answer.decode()
        for leak in ("Traceback", "sqlalchemy", "storekit.db", str(storekit_server.workdir), "SELECT "):
            assert leak not in text
