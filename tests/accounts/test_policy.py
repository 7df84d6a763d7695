"""AccessPolicy against real stores (file store): authentication, every route's rule, search filtering."""

from __future__ import annotations

import base64

import pytest

from storekit.accounts import Permission, Principal, open_account_store
from storekit.accounts.lookup import StoreLookup
from storekit.accounts.policy import AccessPolicy
from storekit.accounts.routes import ROUTES, UNLISTED, Locate, match_route
from storekit.backends.file import FileRegistryStore, FileTrackingStore
from storekit.errors import AuthenticationError, PermissionDeniedError

PASSWORD = "password-of-a"


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


@pytest.fixture
def world(tmp_path):
    """A file store with users a (owner), b (no grants) and admin; a's private experiment and model."""
    uri = str(tmp_path / "store")
    tracking, registry = FileTrackingStore(uri), FileRegistryStore(uri)
    accounts = open_account_store(uri)
    for name, admin in (("a", False), ("b", False), ("root", True)):
        accounts.create_user(name, PASSWORD, is_admin=admin)
    exp = tracking.create_experiment("a-private")
    run = tracking.create_run(exp)
    registry.create_registered_model("a-model")
    accounts.set_owner("experiment", exp, "a")
    accounts.set_owner("registered_model", "a-model", "a")
    policy = AccessPolicy(accounts, StoreLookup(tracking, registry), default_permission=Permission.NO_PERMISSIONS)
    yield policy, exp, run.info.run_id
    accounts.close()


def test_authenticate_basic_and_bearer(world):
    policy, _, _ = world
    assert policy.authenticate(basic("a", PASSWORD)) == Principal("a", False)
    assert policy.authenticate(basic("a", PASSWORD)) == Principal("a", False)  # cached path
    assert policy.authenticate(basic("a", "wrong-password")) is None
    assert policy.authenticate(basic("nobody", PASSWORD)) is None
    assert policy.authenticate({"Authorization": "Basic !!!notbase64"}) is None
    assert policy.authenticate({}) is None
    _, token = policy.accounts.create_token("root", "ci")
    assert policy.authenticate([(b"authorization", f"Bearer {token}".encode())]) == Principal("root", True)
    assert policy.authenticate({"authorization": "Bearer nope"}) is None
    policy.accounts.set_password("a", "changed-password")  # a cached login stops working at once
    assert policy.authenticate(basic("a", PASSWORD)) is None


def test_every_route_refuses_anonymous_callers(world):
    policy, exp, run_id = world
    for key in ROUTES:
        method, path = key.split(" ", 1)
        with pytest.raises(AuthenticationError):
            policy.authorize(None, method, "/api/2.0" + path, {"experiment_id": exp, "run_id": run_id})
    assert policy.authorize(None, "GET", "/health", {}) is None


def _params(locate: Locate, exp: str, run_id: str) -> dict:
    return {
        Locate.EXPERIMENT_ID: {"experiment_id": exp},
        Locate.EXPERIMENT_IDS: {"experiment_ids": [exp]},
        Locate.EXPERIMENT_NAME: {"experiment_name": "a-private"},
        Locate.RUN_ID: {"run_id": run_id},
        Locate.OPTIONAL_RUN_ID: {"run_id": run_id},
        Locate.RUN_IDS: {"run_ids": [run_id]},
        Locate.LOGGED_MODEL: {},
        Locate.MODEL_NAME: {"name": "a-model"},
        Locate.ARTIFACT_PATH: {"path": f"{exp}/{run_id}/artifacts/x.txt"},
    }[locate]


def test_user_b_is_refused_every_route_on_a_private_resource(world):
    policy, exp, run_id = world
    a, b, root = Principal("a"), Principal("b"), Principal("root", True)
    checked = 0
    for key, rule in ROUTES.items():
        if not rule.checks or rule.checks[0].locate is Locate.LOGGED_MODEL:
            continue
        method, path = key.split(" ", 1)
        path = path.replace("{artifact_path}", f"{exp}/{run_id}/artifacts/x.txt")
        params = _params(rule.checks[0].locate, exp, run_id)
        with pytest.raises(PermissionDeniedError):
            policy.authorize(b, method, "/api/2.0" + path, params)
        assert policy.authorize(a, method, "/api/2.0" + path, params) is rule
        assert policy.authorize(root, method, "/ajax-api/2.0" + path, params) is rule
        checked += 1
    assert checked > 40


def test_grants_and_default_permission_decide(world):
    policy, exp, run_id = world
    b = Principal("b")
    with pytest.raises(PermissionDeniedError, match="READ on experiment"):
        policy.authorize(b, "GET", "/api/2.0/mlflow/runs/get", {"run_id": run_id})
    policy.accounts.grant("b", "experiment", exp, "READ")
    policy.authorize(b, "GET", "/api/2.0/mlflow/runs/get", {"run_id": run_id})
    with pytest.raises(PermissionDeniedError, match="EDIT"):
        policy.authorize(b, "POST", "/api/2.0/mlflow/runs/log-batch", {"run_id": run_id})
    open_policy = AccessPolicy(policy.accounts, policy.lookup, default_permission=Permission.READ)
    open_policy.authorize(Principal("b"), "GET", "/api/2.0/mlflow/experiments/get", {"experiment_id": "0"})


def test_unlisted_routes_and_artifact_escapes_are_for_admins(world):
    policy, exp, _ = world
    a = Principal("a")
    assert match_route("POST", "/api/2.0/mlflow/gateway/secrets/create")[0] is UNLISTED
    with pytest.raises(PermissionDeniedError, match="administrators"):
        policy.authorize(a, "POST", "/api/2.0/mlflow/gateway/secrets/create", {})
    for path in (f"{exp}/../1/x", "/etc/passwd", "", "999/x"):
        with pytest.raises(PermissionDeniedError):
            policy.authorize(a, "GET", "/api/2.0/mlflow-artifacts/artifacts", {"path": path})
    policy.authorize(Principal("root", True), "GET", "/api/2.0/mlflow-artifacts/artifacts", {})


def test_search_responses_are_filtered(world):
    policy, exp, _ = world
    rule = ROUTES["POST /mlflow/experiments/search"]
    body = {"experiments": [{"experiment_id": "0"}, {"experiment_id": exp}], "next_page_token": "t"}
    assert policy.filter_response(Principal("b"), rule, body)["experiments"] == []
    assert policy.filter_response(Principal("a"), rule, body)["experiments"] == [{"experiment_id": exp}]
    assert policy.filter_response(Principal("root", True), rule, body) == body
    versions = {"model_versions": [{"name": "a-model", "version": "1"}]}
    assert policy.filter_response(Principal("b"), ROUTES["GET /mlflow/model-versions/search"], versions) == {
        "model_versions": []
    }


def test_creator_gets_manage_and_grants_follow_renames(world):
    policy, _, _ = world
    b = Principal("b")
    rule = policy.authorize(b, "POST", "/api/2.0/mlflow/experiments/create", {"name": "mine"})
    policy.after_success(b, rule, {"name": "mine"}, {"experiment_id": "42"})
    assert policy.accounts.get_permission("b", "experiment", "42") is Permission.MANAGE
    rule = policy.authorize(b, "POST", "/api/2.0/mlflow/registered-models/create", {"name": "m"})
    policy.after_success(b, rule, {"name": "m"}, {"registered_model": {"name": "m"}})
    rename = ROUTES["POST /mlflow/registered-models/rename"]
    policy.after_success(b, rename, {"name": "m", "new_name": "m2"}, {})
    assert policy.accounts.get_permission("b", "registered_model", "m2") is Permission.MANAGE


def test_a_request_that_names_no_resource_is_refused_to_non_admins(world):
    policy, exp, run_id = world
    a = Principal("a")
    for method, path, params in (
        ("GET", "/api/2.0/mlflow/runs/get", {}),
        ("GET", "/api/2.0/mlflow/runs/get", {"run_id": ""}),
        ("POST", "/api/2.0/mlflow/runs/log-batch", {"run_id": {"nested": run_id}}),
        ("GET", "/api/2.0/mlflow/experiments/get", {"experiment_id": None}),
        ("GET", "/api/2.0/mlflow/registered-models/get", {}),
    ):
        with pytest.raises(PermissionDeniedError, match="names no"):
            policy.authorize(a, method, path, params)
    # an optional run and an empty id list need no check; a missing resource is the route's 404
    policy.authorize(a, "POST", "/api/2.0/mlflow/model-versions/create", {"name": "a-model"})
    policy.authorize(a, "POST", "/api/2.0/mlflow/runs/search", {"experiment_ids": []})
    policy.authorize(a, "GET", "/api/2.0/mlflow/experiments/get", {"experiment_id": "12345"})
