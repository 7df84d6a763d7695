"""A REAL ``storekit server --auth basic``: account administration over REST at MLflow's basic-auth
paths (administrators only, MLflow's ``AuthServiceClient`` unchanged), and experiments whose
``artifact_location`` points into the proxied artifact area (refused to non-administrators)."""

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
from tests.storekit_server_process import StorekitServer

PASSWORD = "password-for-tests"
API = "/api/2.0/mlflow"


def call(server: StorekitServer, method: str, path: str, user: Optional[str] = "root", body: Any = None,
         query: Optional[dict[str, str]] = None) -> tuple[int, Any]:  # fmt: skip
    """(status, parsed JSON) of one request as ``user`` (None: anonymous)."""
    url = server.url + path + ("?" + urllib.parse.urlencode(query) if query else "")
    headers = {"Content-Type": "application/json"}
    if user is not None:
        headers["Authorization"] = "Basic " + base64.b64encode(f"{user}:{PASSWORD}".encode()).decode()
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            status, raw = resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    return status, json.loads(raw) if raw else {}


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[StorekitServer]:
    """A server with an administrator ``root`` and a user ``alice`` (default permission READ)."""
    workdir = Path(tmp_path_factory.mktemp("admin-rest"))
    uri = f"sqlite:///{workdir / 'storekit.db'}"
    accounts = open_account_store(uri)
    accounts.create_user("root", PASSWORD, is_admin=True)
    accounts.create_user("alice", PASSWORD)
    accounts.close()
    saved = os.environ.pop("STOREKIT_SERVER_DEFAULT_PERMISSION", None)
    try:
        srv = StorekitServer.start(workdir, backend_store_uri=uri, extra_args=["--auth", "basic"])
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)
    finally:
        if saved is not None:
            os.environ["STOREKIT_SERVER_DEFAULT_PERMISSION"] = saved
    yield srv
    srv.stop()


def test_users_over_rest(server: StorekitServer) -> None:
    status, doc = call(server, "POST", f"{API}/users/create", body={"username": "carol", "password": "carol-pass-1"})
    assert status == 200, doc
    assert doc["user"]["username"] == "carol" and doc["user"]["is_admin"] is False
    assert isinstance(doc["user"]["id"], int) and "password" not in json.dumps(doc)
    status, doc = call(server, "POST", f"{API}/users/create", body={"username": "carol", "password": "carol-pass-1"})
    assert status == 400 and doc["error_code"] == "RESOURCE_ALREADY_EXISTS", doc
    status, doc = call(server, "POST", f"{API}/users/create", body={"username": "dave", "password": "short"})
    assert status == 400 and "password" in doc["message"] and "short" not in doc["message"], doc
    # carol's password is not PASSWORD until an administrator sets it; it takes effect at once
    assert call(server, "POST", f"{API}/experiments/search", "carol", body={})[0] == 401
    body = {"username": "carol", "password": PASSWORD}
    assert call(server, "PATCH", f"{API}/users/update-password", body=body)[0] == 200
    assert call(server, "POST", f"{API}/experiments/search", "carol", body={})[0] == 200
    assert call(server, "PATCH", f"{API}/users/update-admin", body={"username": "carol", "is_admin": True})[0] == 200
    status, doc = call(server, "GET", f"{API}/users/get", query={"username": "carol"})
    assert status == 200 and doc["user"]["is_admin"] is True, doc
    assert call(server, "DELETE", f"{API}/users/delete", body={"username": "carol"})[0] == 200
    status, doc = call(server, "GET", f"{API}/users/get", query={"username": "carol"})
    assert status == 404 and doc["error_code"] == "RESOURCE_DOES_NOT_EXIST", doc
    assert call(server, "POST", f"{API}/experiments/search", "carol", body={})[0] == 401


def test_permissions_over_rest(server: StorekitServer) -> None:
    status, doc = call(server, "POST", f"{API}/experiments/create", body={"name": "root-exp"})
    assert status == 200, doc
    exp = doc["experiment_id"]
    tag = {"experiment_id": exp, "key": "k", "value": "v"}
    assert call(server, "POST", f"{API}/experiments/set-experiment-tag", "alice", body=tag)[0] == 403
    grant = {"experiment_id": exp, "username": "alice", "permission": "EDIT"}
    status, doc = call(server, "POST", f"{API}/experiments/permissions/create", body=grant)
    assert status == 200 and doc["experiment_permission"]["permission"] == "EDIT", doc
    assert call(server, "POST", f"{API}/experiments/permissions/create", body=grant)[0] == 400
    assert call(server, "POST", f"{API}/experiments/set-experiment-tag", "alice", body=tag)[0] == 200
    query = {"experiment_id": exp, "username": "alice"}
    status, doc = call(server, "GET", f"{API}/experiments/permissions/get", query=query)
    assert status == 200 and doc["experiment_permission"]["experiment_id"] == exp, doc
    body = {**query, "permission": "NO_PERMISSIONS"}
    assert call(server, "PATCH", f"{API}/experiments/permissions/update", body=body)[0] == 200
    assert call(server, "GET", f"{API}/experiments/get", "alice", query={"experiment_id": exp})[0] == 403
    assert call(server, "DELETE", f"{API}/experiments/permissions/delete", body=query)[0] == 200
    assert call(server, "GET", f"{API}/experiments/get", "alice", query={"experiment_id": exp})[0] == 200
    assert call(server, "GET", f"{API}/experiments/permissions/get", query=query)[0] == 404
    status, doc = call(server, "POST", f"{API}/experiments/permissions/create",
                       body={**grant, "experiment_id": "987654"})  # fmt: skip
    assert status == 404, doc
    assert call(server, "POST", f"{API}/experiments/permissions/create", body={**grant, "permission": "ALL"})[0] == 400
    # registered models
    assert call(server, "POST", f"{API}/registered-models/create", body={"name": "rm"})[0] == 200
    rm = {"name": "rm", "username": "alice", "permission": "MANAGE"}
    status, doc = call(server, "POST", f"{API}/registered-models/permissions/create", body=rm)
    assert status == 200 and doc["registered_model_permission"]["name"] == "rm", doc
    status, doc = call(server, "GET", f"{API}/users/get", query={"username": "alice"})
    assert [p["name"] for p in doc["user"]["registered_model_permissions"]] == ["rm"], doc
    body = {"name": "rm", "username": "alice", "permission": "READ"}
    assert call(server, "PATCH", f"{API}/registered-models/permissions/update", body=body)[0] == 200
    status, doc = call(server, "GET", f"{API}/registered-models/permissions/get",
                       query={"name": "rm", "username": "alice"})  # fmt: skip
    assert doc["registered_model_permission"]["permission"] == "READ", doc
    assert call(server, "DELETE", f"{API}/registered-models/permissions/delete",
                body={"name": "rm", "username": "alice"})[0] == 200  # fmt: skip


def test_account_routes_are_for_administrators_only(server: StorekitServer) -> None:
    requests = [
        ("POST", "users/create", {"username": "eve", "password": "eve-password"}),
        ("GET", "users/get", None),
        ("PATCH", "users/update-password", {"username": "root", "password": "taken-over!"}),
        ("PATCH", "users/update-admin", {"username": "alice", "is_admin": True}),
        ("DELETE", "users/delete", {"username": "root"}),
        ("POST", "experiments/permissions/create", {"experiment_id": "0", "username": "alice", "permission": "MANAGE"}),
        ("GET", "experiments/permissions/get", None),
        ("PATCH", "experiments/permissions/update", {"experiment_id": "0", "username": "alice", "permission": "EDIT"}),
        ("DELETE", "experiments/permissions/delete", {"experiment_id": "0", "username": "alice"}),
        ("POST", "registered-models/permissions/create", {"name": "x", "username": "alice", "permission": "MANAGE"}),
        ("GET", "registered-models/permissions/get", None),
        ("PATCH", "registered-models/permissions/update", {"name": "x", "username": "alice", "permission": "EDIT"}),
        ("DELETE", "registered-models/permissions/delete", {"name": "x", "username": "alice"}),
    ]
    for method, path, body in requests:
        query = {"username": "root", "experiment_id": "0", "name": "x"} if method == "GET" else None
        assert call(server, method, f"{API}/{path}", None, body, query)[0] == 401, path
        status, doc = call(server, method, f"{API}/{path}", "alice", body, query)
        assert status == 403 and doc["error_code"] == "PERMISSION_DENIED", (path, status, doc)
    status, doc = call(server, "GET", f"{API}/users/get", query={"username": "alice"})
    assert doc["user"]["is_admin"] is False
    assert call(server, "POST", f"{API}/experiments/search", "root", body={})[0] == 200  # password unchanged


@pytest.mark.parametrize(
    "location",
    [
        "mlflow-artifacts:/0",
        "mlflow-artifacts:/0/sub",
        "mlflow-artifacts://127.0.0.1:1/0/x",
        "mlflow-artifacts:/",
        "{dest}",
        "{dest}/0",
        "{dest}/new/../0",
        "file://{dest}/0",
        "FILE://{dest}/./0",
        "{dest}/9999",
    ],
)
def test_non_admin_cannot_squat_the_proxied_artifact_area(server: StorekitServer, location: str) -> None:
    dest = str(server.workdir / "artifacts")
    body = {"name": f"squat-{abs(hash(location))}", "artifact_location": location.format(dest=dest)}
    status, doc = call(server, "POST", f"{API}/experiments/create", "alice", body=body)
    assert status == 403 and doc["error_code"] == "PERMISSION_DENIED", (location, status, doc)
    assert "artifact_location" in doc["message"] and dest not in doc["message"]
    status, doc = call(server, "GET", f"{API}/experiments/get-by-name", "root", query={"experiment_name": body["name"]})
    assert status == 404, doc


def test_artifact_locations_outside_the_area_and_administrators_are_allowed(
    server: StorekitServer, tmp_path: Path
) -> None:
    own = {"name": "alice-own-location", "artifact_location": str(tmp_path / "elsewhere")}
    status, doc = call(server, "POST", f"{API}/experiments/create", "alice", body=own)
    assert status == 200, doc
    sibling = {"name": "alice-sibling", "artifact_location": str(server.workdir / "artifacts-other")}
    assert call(server, "POST", f"{API}/experiments/create", "alice", body=sibling)[0] == 200
    plain = {"name": "alice-default-location"}
    assert call(server, "POST", f"{API}/experiments/create", "alice", body=plain)[0] == 200
    admin = {"name": "root-in-area", "artifact_location": "mlflow-artifacts:/shared"}
    assert call(server, "POST", f"{API}/experiments/create", "root", body=admin)[0] == 200


@pytest.mark.mlflow
def test_mlflow_auth_service_client(server: StorekitServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """MLflow 3.17.2's own ``AuthServiceClient``: users, and grants through its unified permission API."""
    from mlflow.exceptions import MlflowException
    from mlflow.server.auth.client import AuthServiceClient

    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "root")
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", PASSWORD)
    client = AuthServiceClient(server.url)
    user = client.create_user("frank", "frank-password")
    assert user.username == "frank" and not user.is_admin
    client.update_user_password("frank", PASSWORD)
    status, doc = call(server, "POST", f"{API}/experiments/create", body={"name": "for-frank"})
    exp = doc["experiment_id"]
    client.grant_user_permission("frank", "experiment", exp, "EDIT")
    got = client.get_user_permission("frank", "experiment", exp)
    assert (got.allowed, got.permission) == (True, "EDIT")
    tag = {"experiment_id": exp, "key": "k", "value": "v"}
    assert call(server, "POST", f"{API}/experiments/set-experiment-tag", "frank", body=tag)[0] == 200
    client.revoke_user_permission("frank", "experiment", exp)
    assert client.get_user_permission("frank", "experiment", exp).permission == "READ"  # the server's default
    assert call(server, "POST", f"{API}/experiments/set-experiment-tag", "frank", body=tag)[0] == 403
    assert call(server, "POST", f"{API}/registered-models/create", body={"name": "frank-model"})[0] == 200
    client.grant_user_permission("frank", "registered_model", "frank-model", "MANAGE")
    assert client.get_user_permission("frank", "registered_model", "frank-model").permission == "MANAGE"
    client.update_user_admin("frank", True)
    assert client.get_user("frank").is_admin
    client.delete_user("frank")
    with pytest.raises(MlflowException):
        client.get_user("frank")
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "alice")
    with pytest.raises(MlflowException) as refused:
        AuthServiceClient(server.url).create_user("mallory", "mallory-password")
    assert refused.value.error_code == "PERMISSION_DENIED"
