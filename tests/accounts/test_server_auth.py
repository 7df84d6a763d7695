"""A REAL ``storekit server --auth basic`` process: every route of its OpenAPI document is enumerated.

Each route refuses an anonymous caller (401), and user B - authenticated, with no
grant, on a server whose default permission is ``private`` - can neither read nor
change user A's experiment, runs, artifacts, logged model or registered model
through any route; search routes do not show them to B either.  The owner's own
reads through the same routes succeed (so the refusals are not blanket ones), and
A's data is unchanged afterwards.
"""

from __future__ import annotations

import base64
import json
import os
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any, Iterator, Optional

import pytest

from storekit.accounts import open_account_store
from storekit.accounts.routes import PUBLIC_PATHS, UNLISTED, match_route
from tests.storekit_server_process import StorekitServer

PASSWORD = "password-for-tests"
PUBLIC = set(PUBLIC_PATHS)


def _auth(user: Optional[str]) -> dict[str, str]:
    if user is None:
        return {}
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{PASSWORD}".encode()).decode()}


def call(server: StorekitServer, method: str, path: str, user: Optional[str] = None, query: Any = None,
         body: Any = None, data: Optional[bytes] = None, headers: Optional[dict[str, str]] = None):  # fmt: skip
    """(status, headers, parsed JSON or bytes) of one request."""
    url = server.url + urllib.parse.quote(path)
    if query:
        url += "?" + urllib.parse.urlencode(query, doseq=True)
    hdrs = {**_auth(user), **(headers or {})}
    if body is not None:
        data = json.dumps(body).encode()
        hdrs["Content-Type"] = "application/json"
    req = urllib.request.Request(url, data=data, method=method, headers=hdrs)
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            status, got, raw = resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as exc:
        status, got, raw = exc.code, dict(exc.headers), exc.read()
    try:
        return status, got, json.loads(raw) if raw else {}
    except ValueError:
        return status, got, raw


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Iterator[dict[str, Any]]:
    """The server, and A's private experiment, run, artifact, logged model and registered model."""
    workdir = Path(tmp_path_factory.mktemp("auth-server"))
    uri = f"sqlite:///{workdir / 'storekit.db'}"
    accounts = open_account_store(uri)
    accounts.create_user("root", PASSWORD, is_admin=True)
    accounts.create_user("alice", PASSWORD)
    accounts.create_user("bob", PASSWORD)
    _, bob_token = accounts.create_token("bob", "ci")
    accounts.close()
    saved = os.environ.get("STOREKIT_SERVER_DEFAULT_PERMISSION")
    os.environ["STOREKIT_SERVER_DEFAULT_PERMISSION"] = "private"
    try:
        server = StorekitServer.start(workdir, backend_store_uri=uri, extra_args=["--auth", "basic"])
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)
    finally:
        if saved is None:
            os.environ.pop("STOREKIT_SERVER_DEFAULT_PERMISSION", None)
        else:
            os.environ["STOREKIT_SERVER_DEFAULT_PERMISSION"] = saved
    try:
        a = "alice"
        st, _, doc = call(server, "POST", "/api/2.0/mlflow/experiments/create", a, body={"name": "alice-private"})
        assert st == 200, doc
        exp = doc["experiment_id"]
        st, _, doc = call(server, "POST", "/api/2.0/mlflow/runs/create", a, body={"experiment_id": exp})
        assert st == 200, doc
        run = doc["run"]["info"]["run_id"]
        metric = {"run_id": run, "key": "loss", "value": 0.5, "timestamp": 1, "step": 0}
        assert call(server, "POST", "/api/2.0/mlflow/runs/log-metric", a, body=metric)[0] == 200
        art = f"{exp}/{run}/artifacts/notes.txt"
        st, _, doc = call(server, "PUT", f"/api/2.0/mlflow-artifacts/artifacts/{art}", a, data=b"secret notes")
        assert st == 200, doc
        st, _, doc = call(server, "POST", "/api/2.0/mlflow/logged-models", a, body={"experiment_id": exp, "name": "lm"})
        assert st == 200, doc
        logged = doc["model"]["info"]["model_id"]
        st, _, doc = call(server, "POST", "/api/2.0/mlflow/registered-models/create", a, body={"name": "alice-model"})
        assert st == 200, doc
        version_body = {"name": "alice-model", "source": f"runs:/{run}/model", "run_id": run}
        st, _, doc = call(server, "POST", "/api/2.0/mlflow/model-versions/create", a, body=version_body)
        assert st == 200, doc
        alias = {"name": "alice-model", "alias": "champion", "version": "1"}
        assert call(server, "POST", "/api/2.0/mlflow/registered-models/alias", a, body=alias)[0] == 200
        yield {"server": server, "exp": exp, "run": run, "logged": logged, "art": art, "bob_token": bob_token}
    finally:
        server.stop()


def _values(w: dict[str, Any]) -> dict[str, Any]:
    exp, run = w["exp"], w["run"]
    return {
        "experiment_id": exp,
        "experiment_ids": [exp],
        "experiment_name": "alice-private",
        "run_id": run,
        "run_uuid": run,
        "run_ids": [run],
        "name": "alice-model",
        "new_name": "bob-took-it",
        "version": "1",
        "alias": "champion",
        "path": f"{exp}/{run}/artifacts",
        "model_id": w["logged"],
        "key": "loss",
        "metric_key": "loss",
        "value": "x",
        "stage": "Archived",
        "description": "changed by bob",
    }


def _dummy(schema: dict[str, Any]) -> Any:
    kind = schema.get("type")
    return {"array": [], "integer": 1, "number": 1.0, "boolean": False, "object": {}}.get(kind, "x")


def _request(w: dict[str, Any], template: str, method: str, op: dict[str, Any]) -> dict[str, Any]:
    """Path, query and body of a request to ``op`` naming A's resources (new names for creations)."""
    values = _values(w)
    if op.get("x-storekit-access") == "create":
        values["name"] = f"bob-new-{abs(hash((template, method))) % 10**8}"
    path = template.replace("{artifact_path}", w["art"]).replace("{model_id}", w["logged"]).replace("{tag_key}", "k")
    query: dict[str, Any] = {}
    for p in op.get("parameters", []):
        if p["in"] == "query" and (p["name"] in values or p.get("required")):
            query[p["name"]] = values.get(p["name"], _dummy(p.get("schema", {})))
    body = None
    content = op.get("requestBody", {}).get("content", {})
    if "application/json" in content:
        schema = content["application/json"]["schema"]
        required = set(schema.get("required", []))
        body = {
            name: values.get(name, _dummy(prop))
            for name, prop in schema.get("properties", {}).items()
            if name in values or name in required
        }
    data = b"bob was here" if "application/octet-stream" in content else None
    return {"path": path, "query": query, "body": body, "data": data}


def _operations(server: StorekitServer) -> list[tuple[str, str, dict[str, Any]]]:
    status, _, doc = call(server, "GET", "/openapi.json")
    assert status == 200
    ops = [(path, method.upper(), op) for path, item in doc["paths"].items() for method, op in item.items()]
    assert len(ops) > 100  # both prefixes of every route
    return ops


def test_every_route_refuses_anonymous_callers(world):
    server = world["server"]
    for template, method, op in _operations(server):
        req = _request(world, template, method, op)
        status, headers, doc = call(server, method, req["path"], None, req["query"], req["body"], req["data"])
        if template in PUBLIC:
            assert status == 200, (method, template, doc)
            continue
        assert status == 401, (method, template, status, doc)
        assert doc["error_code"] == "UNAUTHENTICATED"
        assert headers.get("www-authenticate", headers.get("WWW-Authenticate", "")).startswith("Basic")
        wrong = {"Authorization": "Basic " + base64.b64encode(b"alice:wrong-password").decode()}
        assert call(server, method, req["path"], None, req["query"], req["body"], req["data"], wrong)[0] == 401


def test_every_route_is_in_the_permission_table(world):
    for template, method, _ in _operations(world["server"]):
        if template not in PUBLIC:
            assert match_route(method, template)[0] is not UNLISTED, f"{method} {template} has no permission rule"


def test_bob_cannot_read_or_change_alices_private_resources_through_any_route(world):
    server = world["server"]
    refused = owner_reads = 0
    for template, method, op in _operations(server):
        if template in PUBLIC:
            continue
        access = op.get("x-storekit-access")
        req = _request(world, template, method, op)
        args = (req["path"], "bob", req["query"], req["body"], req["data"])
        status, _, doc = call(server, method, *args)
        rule = match_route(method, template)[0]
        if access == "create" or rule.filter is not None or not rule.checks:
            assert status not in (401, 500), (method, template, status, doc)
            text = json.dumps(doc)
            for secret in (
                f'"experiment_id": "{world["exp"]}"',
                "alice-private",
                "alice-model",
                world["run"],
                world["logged"],
            ):
                if rule.filter is not None or "search" in template:
                    assert secret not in text, (method, template, secret, doc)
            continue
        assert status == 403, (method, template, status, doc)
        assert doc["error_code"] == "PERMISSION_DENIED" and PASSWORD not in json.dumps(doc)
        refused += 1
        if access == "read":  # the owner's same request is not refused
            status, _, doc = call(server, method, req["path"], "alice", req["query"], req["body"], req["data"])
            assert status not in (401, 403), (method, template, status, doc)
            owner_reads += 1
    assert refused > 60 and owner_reads > 20
    # alice's data is intact
    a, exp, run = "alice", world["exp"], world["run"]
    status, _, doc = call(server, "GET", "/api/2.0/mlflow/experiments/get", a, {"experiment_id": exp})
    assert status == 200 and doc["experiment"]["name"] == "alice-private"
    assert doc["experiment"]["lifecycle_stage"] == "active"
    status, _, doc = call(server, "GET", "/api/2.0/mlflow/runs/get", a, {"run_id": run})
    assert status == 200 and doc["run"]["info"]["lifecycle_stage"] == "active"
    assert [m["value"] for m in doc["run"]["data"]["metrics"]] == [0.5]
    status, _, data = call(server, "GET", f"/api/2.0/mlflow-artifacts/artifacts/{world['art']}", a)
    assert status == 200 and data == b"secret notes"
    status, _, doc = call(server, "GET", "/api/2.0/mlflow/registered-models/get", a, {"name": "alice-model"})
    assert status == 200 and doc["registered_model"]["name"] == "alice-model"


def test_searches_hide_private_resources_and_tokens_work(world):
    server, token = world["server"], world["bob_token"]
    bearer = {"Authorization": f"Bearer {token}"}
    status, _, doc = call(server, "POST", "/api/2.0/mlflow/experiments/search", body={"max_results": 100},
                          headers=bearer)  # fmt: skip
    assert status == 200 and "alice-private" not in json.dumps(doc)
    status, _, doc = call(server, "POST", "/api/2.0/mlflow/experiments/search", "alice", body={"max_results": 100})
    assert status == 200 and "alice-private" in json.dumps(doc)
    status, _, doc = call(server, "GET", "/api/2.0/mlflow/registered-models/search", "bob")
    assert status == 200 and "alice-model" not in json.dumps(doc)
    status, _, doc = call(server, "GET", "/api/2.0/mlflow/model-versions/search", "bob")
    assert status == 200 and "alice-model" not in json.dumps(doc)
    status, _, doc = call(server, "GET", "/api/2.0/mlflow/model-versions/search", "root")
    assert status == 200 and "alice-model" in json.dumps(doc)
    # bob creates his own experiment (creator gets MANAGE) and alice cannot see it
    status, _, doc = call(server, "POST", "/api/2.0/mlflow/experiments/create", headers=bearer, body={"name": "bobs"})
    assert status == 200, doc
    bobs = doc["experiment_id"]
    assert call(server, "POST", "/api/2.0/mlflow/runs/create", headers=bearer, body={"experiment_id": bobs})[0] == 200
    assert call(server, "GET", "/api/2.0/mlflow/experiments/get", "alice", {"experiment_id": bobs})[0] == 403
    # a grant opens alice's experiment to bob, read-only
    store = open_account_store(f"sqlite:///{world['server'].workdir / 'storekit.db'}")
    store.grant("bob", "experiment", world["exp"], "READ")
    query = {"experiment_id": world["exp"]}
    assert call(server, "GET", "/api/2.0/mlflow/experiments/get", "bob", query)[0] == 200
    tag = {"experiment_id": world["exp"], "key": "k", "value": "v"}
    assert call(server, "POST", "/api/2.0/mlflow/experiments/set-experiment-tag", "bob", body=tag)[0] == 403
    store.revoke("bob", "experiment", world["exp"])
    assert call(server, "GET", "/api/2.0/mlflow/experiments/get", "bob", query)[0] == 403
    for t in store.list_tokens("bob"):
        store.revoke_token(t.token_id)
    store.close()
    assert call(server, "POST", "/api/2.0/mlflow/experiments/search", body={}, headers=bearer)[0] == 401


@pytest.mark.mlflow
def test_mlflow_client_logs_with_a_password_and_is_refused_without_permission(world, monkeypatch):
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "alice")
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", PASSWORD)
    client = MlflowClient(tracking_uri=world["server"].url)
    exp = client.create_experiment("alice-through-mlflow")
    run = client.create_run(exp)
    client.log_metric(run.info.run_id, "acc", 0.9)
    assert client.get_run(run.info.run_id).data.metrics == {"acc": 0.9}
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "bob")
    with pytest.raises(MlflowException) as refused:
        client.get_run(run.info.run_id)
    assert refused.value.error_code == "PERMISSION_DENIED"
    assert exp not in [e.experiment_id for e in client.search_experiments()]
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", "not-the-password")
    with pytest.raises(MlflowException):
        client.search_experiments()


def test_tricks_that_hide_the_resource_from_the_check_are_refused(world):
    server, run = world["server"], world["run"]
    metric = {"run_id": run, "key": "loss", "value": 9.0, "timestamp": 2, "step": 1}
    # a body sent as text/plain is still parsed by the server: the check reads it too
    status, _, doc = call(server, "POST", "/api/2.0/mlflow/runs/log-metric", "bob", data=json.dumps(metric).encode(),
                          headers={"Content-Type": "text/plain"})  # fmt: skip
    assert status == 403, doc
    # a JSON null in the body does not hide the query's run id
    status, _, doc = call(server, "POST", "/api/2.0/mlflow/runs/log-metric", "bob", query={"run_id": run},
                          body={**metric, "run_id": None})  # fmt: skip
    assert status == 403, doc
    # the older field name, and traversal in artifact paths
    status, _, doc = call(server, "GET", "/api/2.0/mlflow/runs/get", "bob", {"run_uuid": run})
    assert status == 403, doc
    bobs = call(server, "POST", "/api/2.0/mlflow/experiments/create", "bob", body={"name": "bob-trick"})[2]
    sneaky = f"{bobs['experiment_id']}/../{world['art']}"
    status, _, doc = call(server, "GET", f"/api/2.0/mlflow-artifacts/artifacts/{sneaky}", "bob")
    assert status in (400, 403, 404) and doc != b"secret notes", doc
    status, _, doc = call(server, "GET", "/api/2.0/mlflow/runs/get", "alice", {"run_id": run})
    assert [m["value"] for m in doc["run"]["data"]["metrics"]] == [0.5]
