"""The lean dispatch of JSON routes (``storekit.server.dispatch``) answers as Starlette's routing did.

Real server on loopback: bodies streamed in chunks past the limit, JSON that
only the stdlib reads (``NaN`` literals), non-finite values in answers, fields
from the query string, and methods the route does not serve.
"""

from __future__ import annotations

import http.client
import json
from typing import Any, Iterator
from urllib.parse import urlsplit

from storekit.server.dispatch import fast_routes
from storekit.server.routes import ROUTES
from tests.storekit_server_process import StorekitServer

API = "/api/2.0/mlflow"


def _conn(server: StorekitServer) -> http.client.HTTPConnection:
    return http.client.HTTPConnection("127.0.0.1", urlsplit(server.url).port, timeout=60)


def _post(server: StorekitServer, path: str, body: bytes) -> tuple[int, Any]:
    conn = _conn(server)
    try:
        conn.request("POST", API + path, body=body, headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        return resp.status, json.loads(resp.read())
    finally:
        conn.close()


def _get(server: StorekitServer, path: str) -> tuple[int, Any]:
    conn = _conn(server)
    try:
        conn.request("GET", API + path)
        resp = conn.getresponse()
        return resp.status, json.loads(resp.read())
    finally:
        conn.close()


def test_fast_routes_are_the_json_routes_without_path_parameters() -> None:
    table = fast_routes(ROUTES)
    names = {route.name for route in table.values()}
    assert {"runs.log_batch", "runs.get", "runs.search", "metrics.get_history", "runs.create", "runs.update"} <= names
    assert ("POST", API + "/runs/log-batch") in table and ("POST", "/ajax-api/2.0/mlflow/runs/log-batch") in table
    assert ("GET", API + "/runs/log-batch") not in table
    for route in table.values():
        assert route.raw is None and not any(f.in_path for f in route.fields)
    served = {r.name for r in ROUTES if r.raw is None and r.handler and not any(f.in_path for f in r.fields)}
    assert names == served


def test_a_chunked_body_past_the_limit_is_413(storekit_server: StorekitServer) -> None:
    """No Content-Length: the limit is enforced while the body streams in."""

    def chunks() -> Iterator[bytes]:
        yield b'{"name": "'
        for _ in range(17):
            yield b"x" * (1024 * 1024)
        yield b'"}'

    conn = _conn(storekit_server)
    try:
        conn.request(
            "POST",
            API + "/experiments/create",
            body=chunks(),
            headers={"Content-Type": "application/json"},
            encode_chunked=True,
        )
        resp = conn.getresponse()
        status, data = resp.status, json.loads(resp.read())
    finally:
        conn.close()
    assert status == 413 and data["error_code"] == "RESOURCE_LIMIT_EXCEEDED", data
    assert "limit" in data["message"]


def test_non_finite_values_both_ways(storekit_server: StorekitServer) -> None:
    """``NaN`` literals (what Python's json writes) are read; answers carry protobuf JSON's strings."""
    status, exp = _post(storekit_server, "/experiments/create", b'{"name": "dispatch-nan"}')
    assert status == 200, exp
    status, created = _post(
        storekit_server, "/runs/create", json.dumps({"experiment_id": exp["experiment_id"]}).encode()
    )
    run_id = created["run"]["info"]["run_id"]
    body = (
        '{"run_id": "%s", "metrics": [{"key": "a", "value": NaN, "timestamp": 1, "step": 0}, '
        '{"key": "b", "value": "Infinity", "timestamp": 1, "step": 0}, '
        '{"key": "c", "value": -Infinity, "timestamp": 1, "step": 0}]}' % run_id
    ).encode()
    status, data = _post(storekit_server, "/runs/log-batch", body)
    assert status == 200, data
    values = {}
    for key in "abc":
        status, data = _get(storekit_server, f"/metrics/get-history?run_id={run_id}&metric_key={key}")
        assert status == 200, data
        values[key] = data["metrics"][0]["value"]
    assert values == {"a": "NaN", "b": "Infinity", "c": "-Infinity"}
    status, data = _get(storekit_server, f"/runs/get?run_id={run_id}")  # fields from the query string
    assert status == 200 and data["run"]["info"]["run_id"] == run_id
    assert {m["key"]: m["value"] for m in data["run"]["data"]["metrics"]} == values


def test_methods_a_route_does_not_serve_go_to_starlette(storekit_server: StorekitServer) -> None:
    status, data = _get(storekit_server, "/runs/log-batch")
    assert status == 405 and data["error_code"] == "ENDPOINT_NOT_FOUND"
    conn = _conn(storekit_server)
    try:
        conn.request("HEAD", API + "/runs/get?run_id=" + "0" * 32)
        resp = conn.getresponse()
        resp.read()
        assert resp.status == 404  # HEAD of a GET route: served by Starlette's routing, as before
    finally:
        conn.close()
