"""Access control, framework-free: who is calling, and may they make this request.

:class:`AccessPolicy` holds the three decisions of every request:

1. :meth:`~AccessPolicy.authenticate` — an ``Authorization`` header
   (``Basic`` user:password or ``Bearer`` token) to a :class:`Principal`,
   or None.  A verified password is remembered (in memory, keyed by an HMAC
   with a per-process key, for ``cache_seconds``) together with the hash it
   was verified against, so a changed password takes effect at once.
2. :meth:`~AccessPolicy.authorize` — the route's :class:`~.routes.RouteRule`
   checks against the caller's permission on each resource: an
   administrator may do anything; otherwise a grant decides, and without a
   grant the store-wide default permission (``READ`` like MLflow, or
   ``NO_PERMISSIONS`` for private-by-default).  Routes missing from the
   table are for administrators only.
3. :meth:`~AccessPolicy.filter_response` / :meth:`~AccessPolicy.after_success`
   — search results cut to readable items; the creator of an experiment or
   registered model gets ``MANAGE``; grants follow a renamed model.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import threading
import time
from collections import OrderedDict
from typing import Any, Callable, Iterable, Mapping, Optional, Union

from ..errors import AuthenticationError, NotFoundError, PermissionDeniedError
from .lookup import ResourceLookup
from .model import Permission, Principal, ResourceKind
from .routes import PUBLIC_PATHS, Check, Filter, Locate, RouteRule, match_route
from .store import AccountStore

__all__ = ["AccessPolicy", "Headers"]

#: Request headers: a mapping, or ASGI's list of ``(name, value)`` byte pairs.
Headers = Union[Mapping[str, str], Iterable[tuple[bytes, bytes]]]
_EXP, _RM = ResourceKind.EXPERIMENT, ResourceKind.REGISTERED_MODEL


def _authorization(headers: Headers) -> Optional[str]:
    if isinstance(headers, Mapping):
        for key, value in headers.items():
            if str(key).lower() == "authorization":
                return str(value)
        return None
    for key, value in headers:
        if key.lower() == b"authorization":
            return value.decode("latin-1")
    return None


def _first(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return value[0] if value else None
    return value


def _text(value: Any) -> Optional[str]:
    """A single non-empty parameter value as text, else None."""
    value = _first(value)
    if value is None or isinstance(value, (dict, list, bool)):
        return None
    text = str(value)
    return text or None


def _many(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


class AccessPolicy:
    """Authentication and authorization of ``storekit server`` requests against an :class:`AccountStore`."""

    def __init__(
        self,
        accounts: AccountStore,
        lookup: ResourceLookup,
        default_permission: Permission = Permission.READ,
        cache_seconds: float = 60.0,
        cache_size: int = 1024,
    ) -> None:
        self.accounts = accounts
        self.lookup = lookup
        self.default_permission = default_permission
        self.cache_seconds = cache_seconds
        self.cache_size = cache_size
        self._key = secrets.token_bytes(32)
        self._cache: OrderedDict[bytes, tuple[float, str, str]] = OrderedDict()
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"AccessPolicy({self.accounts!r}, default_permission={self.default_permission.name})"

    # --- authentication ------------------------------------------------
    def authenticate(self, headers: Headers) -> Optional[Principal]:
        """The caller named by the ``Authorization`` header, or None (missing, malformed or wrong)."""
        value = _authorization(headers)
        if not value:
            return None
        scheme, _, credentials = value.strip().partition(" ")
        credentials = credentials.strip()
        if scheme.lower() == "bearer" and credentials:
            user = self.accounts.check_token(credentials)
            return None if user is None else Principal(user.username, user.is_admin)
        if scheme.lower() == "basic" and credentials:
            try:
                decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError, ValueError):
                return None
            username, sep, password = decoded.partition(":")
            if not sep:
                return None
            return self._basic(username, password)
        return None

    def _basic(self, username: str, password: str) -> Optional[Principal]:
        key = hmac.new(self._key, f"{username}\0{password}".encode("utf-8", "surrogatepass"), hashlib.sha256).digest()
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(key)
        if hit is not None and hit[0] > now and hit[1] == username:
            try:
                user = self.accounts.get_user(username)
            except NotFoundError:
                user = None
            if user is not None and hmac.compare_digest(user.password_hash.encode(), hit[2].encode()):
                return Principal(user.username, user.is_admin)
        found = self.accounts.check_password(username, password)
        if found is None:
            return None
        if self.cache_seconds > 0:
            with self._lock:
                self._cache[key] = (now + self.cache_seconds, found.username, found.password_hash)
                self._cache.move_to_end(key)
                while len(self._cache) > self.cache_size:
                    self._cache.popitem(last=False)
        return Principal(found.username, found.is_admin)

    # --- permissions ---------------------------------------------------
    def permission(self, principal: Principal, kind: ResourceKind, resource_id: str) -> Permission:
        """The caller's permission on one resource: MANAGE for admins, else the grant, else the default."""
        if principal.is_admin:
            return Permission.MANAGE
        granted = self.accounts.get_permission(principal.username, kind, resource_id)
        return self.default_permission if granted is None else granted

    def readable(self, principal: Principal, kind: ResourceKind) -> Callable[[str], bool]:
        """A predicate: may the caller read the resource with this id (one store query for all)."""
        if principal.is_admin:
            return lambda _id: True
        grants = {g.resource_id: g.permission for g in self.accounts.list_grants(principal.username, kind)}
        default = self.default_permission
        return lambda rid: grants.get(str(rid), default).can_read

    # --- authorization -------------------------------------------------
    def is_public(self, path: str) -> bool:
        """Whether ``path`` is answered without credentials."""
        return path in PUBLIC_PATHS

    def authorize(
        self, principal: Optional[Principal], method: str, path: str, params: Mapping[str, Any]
    ) -> Optional[RouteRule]:
        """Check one request; returns its rule (None for a public path).

        ``params`` are the request's query parameters and top-level JSON body
        fields.  Raises :class:`~storekit.errors.AuthenticationError` for an
        anonymous caller and :class:`~storekit.errors.PermissionDeniedError`
        for a caller without the permission.
        """
        if self.is_public(path):
            return None
        if principal is None:
            raise AuthenticationError("authentication required: send HTTP Basic credentials or a Bearer token")
        rule, path_params = match_route(method, path)
        if principal.is_admin:
            return rule
        if rule.admin_only:
            raise PermissionDeniedError(f"{method.upper()} {path} is open to administrators only")
        merged = {**params, **path_params}
        for check in rule.checks:
            found = self._resources(check, merged)
            if found is None:
                raise PermissionDeniedError(
                    f"{method.upper()} {path}: the request names no {check.locate.value}, so no permission "
                    "can be checked (administrators only)"
                )
            for kind, resource_id in found:
                if resource_id is None:
                    continue  # no such resource: the route itself answers 404
                have = self.permission(principal, kind, resource_id)
                if have < check.needs:
                    raise PermissionDeniedError(
                        f"user {principal.username!r} lacks permission {check.needs.name} on "
                        f"{kind.value} {resource_id!r}"
                    )
        return rule

    def _resources(self, check: Check, params: Mapping[str, Any]) -> Optional[list[tuple[ResourceKind, Optional[str]]]]:
        """The resources a check applies to (id None: no such resource); None when the request names none.

        Naming none fails closed (the caller refuses the request), except for
        an optional run and an empty list of experiment ids.
        """
        how, look = check.locate, self.lookup
        if how is Locate.EXPERIMENT_ID:
            value = _text(params.get("experiment_id"))
            return None if value is None else [(_EXP, self._existing_experiment(value))]
        if how is Locate.EXPERIMENT_IDS:
            return [(_EXP, self._existing_experiment(str(v))) for v in _many(params.get("experiment_ids"))]
        if how is Locate.EXPERIMENT_NAME:
            name = _text(params.get("experiment_name"))
            return None if name is None else [(_EXP, look.experiment_id_by_name(name))]
        if how in (Locate.RUN_ID, Locate.OPTIONAL_RUN_ID):
            run_id = _text(_first(params.get("run_id")) or _first(params.get("run_uuid")))
            if run_id is None:
                return [] if how is Locate.OPTIONAL_RUN_ID else None
            return [(_EXP, look.experiment_of_run(run_id))]
        if how is Locate.RUN_IDS:
            return [(_EXP, look.experiment_of_run(str(r))) for r in _many(params.get("run_ids"))]
        if how is Locate.LOGGED_MODEL:
            model_id = _text(params.get("model_id"))
            return None if model_id is None else [(_EXP, look.experiment_of_logged_model(model_id))]
        if how is Locate.MODEL_NAME:
            name = _text(params.get("name"))
            if name is None:
                return None
            return [(_RM, name if look.registered_model_exists(name) else None)]
        if how is Locate.ARTIFACT_PATH:
            return [(_EXP, self._artifact_experiment(params))]
        raise AssertionError(f"unhandled locator {how}")  # pragma: no cover

    def _existing_experiment(self, experiment_id: str) -> Optional[str]:
        return experiment_id if self.lookup.experiment_exists(experiment_id) else None

    def _artifact_experiment(self, params: Mapping[str, Any]) -> str:
        raw = _first(params.get("artifact_path")) or _first(params.get("path")) or ""
        parts = str(raw).replace("\\", "/").split("/")
        first = parts[0]
        if first in ("", ".") or ".." in parts or not self.lookup.experiment_exists(first):
            # The proxied artifact tree is <experiment_id>/...: anything else (the root listing,
            # traversal, unknown ids) is for administrators only.
            raise PermissionDeniedError("artifact paths outside an experiment are open to administrators only")
        return first

    # --- responses -----------------------------------------------------
    def filter_response(self, principal: Principal, rule: RouteRule, body: dict[str, Any]) -> dict[str, Any]:
        """``body`` with the items of a search response the caller may not read removed."""
        if rule.filter is None or principal.is_admin:
            return body
        if rule.filter is Filter.EXPERIMENTS:
            may = self.readable(principal, _EXP)
            field, id_field = "experiments", "experiment_id"
        else:
            may = self.readable(principal, _RM)
            field, id_field = rule.filter.value, "name"
        items = body.get(field)
        if isinstance(items, list):
            body = {**body, field: [i for i in items if isinstance(i, dict) and may(str(i.get(id_field)))]}
        return body

    def after_success(
        self, principal: Principal, rule: RouteRule, params: Mapping[str, Any], body: Mapping[str, Any]
    ) -> None:
        """Record what a successful call changed: ownership of a new resource, grants of a renamed model."""
        if rule.creates is _EXP:
            experiment_id = body.get("experiment_id")
            if experiment_id is not None:
                self.accounts.set_owner(_EXP, str(experiment_id), principal.username)
        elif rule.creates is _RM:
            model = body.get("registered_model")
            name = model.get("name") if isinstance(model, Mapping) else None
            if isinstance(name, str):
                self.accounts.set_owner(_RM, name, principal.username)
        if rule.renames is _RM:
            old, new = _first(params.get("name")), _first(params.get("new_name"))
            if isinstance(old, str) and isinstance(new, str) and old != new:
                self.accounts.rename_resource(_RM, old, new)
