"""The route table of ``storekit server`` as seen by access control.

Each route of MLflow's REST API (method and path below ``/api/2.0``,
``/api/3.0`` or ``/ajax-api/2.0``) maps to a :class:`RouteRule`: which
resource it touches, how that resource is found in the request, and the
permission it needs.  A route missing from the table is open to
administrators only (fail closed); :data:`PUBLIC_PATHS` need no account.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from typing import Optional

from .model import Permission, ResourceKind

__all__ = [
    "Locate",
    "Filter",
    "Check",
    "RouteRule",
    "ROUTES",
    "UNLISTED",
    "PUBLIC_PATHS",
    "API_PREFIXES",
    "match_route",
    "strip_prefix",
]

#: Paths answered without credentials (liveness and version probes, the API description).
PUBLIC_PATHS = frozenset({"/health", "/version", "/openapi.json"})
#: Prefixes MLflow serves its REST API under (stripped before matching the table).
API_PREFIXES = ("/api/2.0", "/api/3.0", "/ajax-api/2.0", "/ajax-api/3.0")


class Locate(str, enum.Enum):
    """How a route names the experiment or registered model it touches."""

    EXPERIMENT_ID = "experiment_id"  # param experiment_id
    EXPERIMENT_IDS = "experiment_ids"  # param experiment_ids (every one is checked)
    EXPERIMENT_NAME = "experiment_name"  # param experiment_name
    RUN_ID = "run_id"  # param run_id (or run_uuid): the run's experiment
    RUN_IDS = "run_ids"  # param run_ids: every run's experiment
    OPTIONAL_RUN_ID = "optional_run_id"  # param run_id when present (model version source)
    LOGGED_MODEL = "model_id"  # path or param model_id: the logged model's experiment
    MODEL_NAME = "name"  # param name: a registered model
    ARTIFACT_PATH = "artifact_path"  # proxied artifact path (or ``path`` param): first segment = experiment id


class Filter(str, enum.Enum):
    """Search responses whose items are filtered to what the caller may read."""

    EXPERIMENTS = "experiments"
    REGISTERED_MODELS = "registered_models"
    MODEL_VERSIONS = "model_versions"


@dataclass(frozen=True)
class Check:
    """One permission check: ``needs`` on the resource found by ``locate``."""

    locate: Locate
    needs: Permission


@dataclass(frozen=True)
class RouteRule:
    """What access control does for one route.

    ``checks`` must all pass; ``creates`` names the kind of resource a
    successful call creates (its creator gets MANAGE) and ``renames`` the
    kind whose grants follow a rename; ``filter`` names the list in the
    response that is cut to readable items; ``admin_only`` routes need an
    administrator.  Every route needs an authenticated caller.
    """

    checks: tuple[Check, ...] = ()
    creates: Optional[ResourceKind] = None
    renames: Optional[ResourceKind] = None
    filter: Optional[Filter] = None
    admin_only: bool = False


R, E, M = Permission.READ, Permission.EDIT, Permission.MANAGE
_EXP = ResourceKind.EXPERIMENT
_RM = ResourceKind.REGISTERED_MODEL


def _on(locate: Locate, needs: Permission) -> RouteRule:
    return RouteRule(checks=(Check(locate, needs),))


_AUTHENTICATED = RouteRule()
_ADMIN = RouteRule(admin_only=True)

#: ``"METHOD /path"`` (path below the API prefix, ``{name}`` for path parameters) -> rule.
ROUTES: dict[str, RouteRule] = {
    # experiments
    "POST /mlflow/experiments/create": RouteRule(creates=_EXP),
    "GET /mlflow/experiments/get": _on(Locate.EXPERIMENT_ID, R),
    "GET /mlflow/experiments/get-by-name": _on(Locate.EXPERIMENT_NAME, R),
    "GET /mlflow/experiments/search": RouteRule(filter=Filter.EXPERIMENTS),
    "POST /mlflow/experiments/search": RouteRule(filter=Filter.EXPERIMENTS),
    "POST /mlflow/experiments/update": _on(Locate.EXPERIMENT_ID, E),
    "POST /mlflow/experiments/delete": _on(Locate.EXPERIMENT_ID, M),
    "POST /mlflow/experiments/restore": _on(Locate.EXPERIMENT_ID, M),
    "POST /mlflow/experiments/set-experiment-tag": _on(Locate.EXPERIMENT_ID, E),
    "POST /mlflow/experiments/delete-experiment-tag": _on(Locate.EXPERIMENT_ID, E),
    "POST /mlflow/experiments/search-datasets": _on(Locate.EXPERIMENT_IDS, R),
    # runs
    "POST /mlflow/runs/create": _on(Locate.EXPERIMENT_ID, E),
    "GET /mlflow/runs/get": _on(Locate.RUN_ID, R),
    "POST /mlflow/runs/update": _on(Locate.RUN_ID, E),
    "POST /mlflow/runs/delete": _on(Locate.RUN_ID, M),
    "POST /mlflow/runs/restore": _on(Locate.RUN_ID, M),
    "POST /mlflow/runs/log-metric": _on(Locate.RUN_ID, E),
    "POST /mlflow/runs/log-parameter": _on(Locate.RUN_ID, E),
    "POST /mlflow/runs/set-tag": _on(Locate.RUN_ID, E),
    "POST /mlflow/runs/delete-tag": _on(Locate.RUN_ID, E),
    "POST /mlflow/runs/log-batch": _on(Locate.RUN_ID, E),
    "POST /mlflow/runs/log-model": _on(Locate.RUN_ID, E),
    "POST /mlflow/runs/log-inputs": _on(Locate.RUN_ID, E),
    "POST /mlflow/runs/outputs": _on(Locate.RUN_ID, E),
    "POST /mlflow/runs/search": _on(Locate.EXPERIMENT_IDS, R),
    "GET /mlflow/metrics/get-history": _on(Locate.RUN_ID, R),
    "GET /mlflow/metrics/get-history-bulk-interval": _on(Locate.RUN_IDS, R),
    "GET /mlflow/artifacts/list": _on(Locate.RUN_ID, R),
    # logged models
    "POST /mlflow/logged-models": _on(Locate.EXPERIMENT_ID, E),
    "GET /mlflow/logged-models/{model_id}": _on(Locate.LOGGED_MODEL, R),
    "PATCH /mlflow/logged-models/{model_id}": _on(Locate.LOGGED_MODEL, E),
    "DELETE /mlflow/logged-models/{model_id}": _on(Locate.LOGGED_MODEL, M),
    "PATCH /mlflow/logged-models/{model_id}/tags": _on(Locate.LOGGED_MODEL, E),
    "DELETE /mlflow/logged-models/{model_id}/tags/{tag_key}": _on(Locate.LOGGED_MODEL, E),
    "POST /mlflow/logged-models/{model_id}/params": _on(Locate.LOGGED_MODEL, E),
    "GET /mlflow/logged-models/{model_id}/artifacts/directories": _on(Locate.LOGGED_MODEL, R),
    "POST /mlflow/logged-models/search": _on(Locate.EXPERIMENT_IDS, R),
    # registered models
    "POST /mlflow/registered-models/create": RouteRule(creates=_RM),
    "GET /mlflow/registered-models/get": _on(Locate.MODEL_NAME, R),
    "GET /mlflow/registered-models/search": RouteRule(filter=Filter.REGISTERED_MODELS),
    "POST /mlflow/registered-models/rename": RouteRule(checks=(Check(Locate.MODEL_NAME, E),), renames=_RM),
    "PATCH /mlflow/registered-models/update": _on(Locate.MODEL_NAME, E),
    "DELETE /mlflow/registered-models/delete": _on(Locate.MODEL_NAME, M),
    "POST /mlflow/registered-models/set-tag": _on(Locate.MODEL_NAME, E),
    "DELETE /mlflow/registered-models/delete-tag": _on(Locate.MODEL_NAME, E),
    "GET /mlflow/registered-models/get-latest-versions": _on(Locate.MODEL_NAME, R),
    "POST /mlflow/registered-models/get-latest-versions": _on(Locate.MODEL_NAME, R),
    "POST /mlflow/registered-models/alias": _on(Locate.MODEL_NAME, E),
    "DELETE /mlflow/registered-models/alias": _on(Locate.MODEL_NAME, E),
    "GET /mlflow/registered-models/alias": _on(Locate.MODEL_NAME, R),
    # model versions (a version's source run must be readable by whoever registers it)
    "POST /mlflow/model-versions/create": RouteRule(
        checks=(Check(Locate.MODEL_NAME, E), Check(Locate.OPTIONAL_RUN_ID, R))
    ),
    "GET /mlflow/model-versions/get": _on(Locate.MODEL_NAME, R),
    "PATCH /mlflow/model-versions/update": _on(Locate.MODEL_NAME, E),
    "POST /mlflow/model-versions/transition-stage": _on(Locate.MODEL_NAME, E),
    "DELETE /mlflow/model-versions/delete": _on(Locate.MODEL_NAME, M),
    "GET /mlflow/model-versions/search": RouteRule(filter=Filter.MODEL_VERSIONS),
    "GET /mlflow/model-versions/get-download-uri": _on(Locate.MODEL_NAME, R),
    "POST /mlflow/model-versions/set-tag": _on(Locate.MODEL_NAME, E),
    "DELETE /mlflow/model-versions/delete-tag": _on(Locate.MODEL_NAME, E),
    # proxied artifacts (paths are <experiment_id>/...)
    "GET /mlflow-artifacts/artifacts": _on(Locate.ARTIFACT_PATH, R),
    "GET /mlflow-artifacts/artifacts/{artifact_path}": _on(Locate.ARTIFACT_PATH, R),
    "PUT /mlflow-artifacts/artifacts/{artifact_path}": _on(Locate.ARTIFACT_PATH, E),
    "DELETE /mlflow-artifacts/artifacts/{artifact_path}": _on(Locate.ARTIFACT_PATH, M),
    "POST /mlflow-artifacts/mpu/create/{artifact_path}": _on(Locate.ARTIFACT_PATH, E),
    "POST /mlflow-artifacts/mpu/complete/{artifact_path}": _on(Locate.ARTIFACT_PATH, E),
    "POST /mlflow-artifacts/mpu/abort/{artifact_path}": _on(Locate.ARTIFACT_PATH, E),
    # server information
    "GET /mlflow/server-info": _AUTHENTICATED,
    # account administration (MLflow's basic-auth paths): administrators only
    **{
        f"{method} /mlflow/{path}": _ADMIN
        for method, path in (
            ("POST", "users/create"),
            ("GET", "users/get"),
            ("PATCH", "users/update-password"),
            ("PATCH", "users/update-admin"),
            ("DELETE", "users/delete"),
            ("POST", "users/permissions/grant"),  # MLflow 3 (/api/3.0)
            ("POST", "users/permissions/revoke"),
            ("GET", "users/permissions/get"),
            *(
                (method, f"{area}/permissions/{verb}")
                for area in ("experiments", "registered-models")
                for method, verb in (("POST", "create"), ("GET", "get"), ("PATCH", "update"), ("DELETE", "delete"))
            ),
        )
    },
}

#: Rule of a route missing from the table.
UNLISTED = RouteRule(admin_only=True)


def _compile(template: str) -> "re.Pattern[str]":
    parts = re.split(r"(\{\w+\})", template)
    out = []
    for part in parts:
        if part.startswith("{"):
            name = part[1:-1]
            out.append(f"(?P<{name}>.+)" if name == "artifact_path" else f"(?P<{name}>[^/]+)")
        else:
            out.append(re.escape(part))
    return re.compile("^" + "".join(out) + "$")


_EXACT: dict[str, RouteRule] = {k: v for k, v in ROUTES.items() if "{" not in k}
_PATTERNS: list[tuple["re.Pattern[str]", RouteRule]] = [(_compile(k), v) for k, v in ROUTES.items() if "{" in k]


def strip_prefix(path: str) -> str:
    """``path`` without its API prefix (``/api/2.0`` and the like); unchanged when it has none."""
    for prefix in API_PREFIXES:
        if path.startswith(prefix + "/"):
            return path[len(prefix) :]
    return path


def match_route(method: str, path: str) -> tuple[RouteRule, dict[str, str]]:
    """The rule of ``method path`` and its path parameters; :data:`UNLISTED` for an unknown route."""
    key = f"{method.upper()} {strip_prefix(path)}"
    rule = _EXACT.get(key)
    if rule is not None:
        return rule, {}
    for pattern, rule in _PATTERNS:
        m = pattern.match(key)
        if m:
            return rule, m.groupdict()
    return UNLISTED, {}
