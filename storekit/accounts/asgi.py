"""``protect(app, policy)``: access control around any ASGI app that serves MLflow's REST paths.

One call wires accounts into ``storekit server``::

    app = protect(app, AccessPolicy(open_account_store(uri), StoreLookup(tracking, registry)))

For each HTTP request the middleware authenticates the ``Authorization``
header (401 with ``WWW-Authenticate`` when missing or wrong), reads the
query string and the body of every request but artifact uploads (replayed
unchanged to the app; at most :data:`MAX_JSON_BODY` bytes are buffered), authorizes the
route (403 ``PERMISSION_DENIED``), and for search and create routes reads
the app's JSON response to filter it or to record the creator's grant.
Store calls run in a worker thread.  The principal is put into the ASGI
scope as ``scope["storekit.principal"]``.  Errors are MLflow's JSON
(``{"error_code": ..., "message": ...}``) and never echo credentials.
"""

from __future__ import annotations

import asyncio
import functools
import json
import threading
from typing import Any, Awaitable, Callable, MutableMapping, Optional
from urllib.parse import parse_qs

from ..errors import AuthenticationError, PermissionDeniedError, StorekitError
from .model import Principal
from .policy import AccessPolicy
from .routes import PUBLIC_PATHS, RouteRule

__all__ = ["protect", "AccountsMiddleware", "MAX_JSON_BODY"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: Largest JSON request body the middleware buffers to find resource ids (larger: 413).
MAX_JSON_BODY = 64 * 1024 * 1024


async def _in_thread(fn: Callable[..., Any], *args: Any) -> Any:
    return await asyncio.get_running_loop().run_in_executor(None, functools.partial(fn, *args))


async def _error(send: Send, status: int, code: str, message: str, extra: Optional[list[Any]] = None) -> None:
    body = json.dumps({"error_code": code, "message": message}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers + (extra or [])})
    await send({"type": "http.response.body", "body": body})


def _params(scope: Scope, body: bytes) -> dict[str, Any]:
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
    params: dict[str, Any] = {k: (v if len(v) > 1 or k.endswith("_ids") else v[0]) for k, v in query.items()}
    if body:
        try:
            doc = json.loads(body)
        except ValueError:
            doc = None  # the app answers malformed JSON itself
        if isinstance(doc, dict):  # the body wins over the query, but a JSON null is an absent field
            params.update({k: v for k, v in doc.items() if v is not None})
    return params


def _has_json_body(scope: Scope) -> bool:
    """Whether the app reads this request's body as JSON (whatever its Content-Type says).

    Proxied artifact uploads stream (their resource is in the URL); every
    other request with a body is read, so that no field the app sees is
    hidden from the permission check.
    """
    return (
        scope.get("method", "GET") in ("POST", "PUT", "PATCH", "DELETE") and "/mlflow-artifacts/" not in scope["path"]
    )


class AccountsMiddleware:
    """The ASGI middleware :func:`protect` returns."""

    def __init__(self, app: ASGIApp, policy: "AccessPolicy | Callable[[], AccessPolicy]") -> None:
        self.app = app
        self._policy = policy if isinstance(policy, AccessPolicy) else None
        self._factory = None if isinstance(policy, AccessPolicy) else policy
        self._lock = threading.Lock()

    @property
    def policy(self) -> AccessPolicy:
        """The policy (built on first use when a factory was given: stores open lazily)."""
        if self._policy is None:
            with self._lock:
                if self._policy is None:
                    assert self._factory is not None
                    self._policy = self._factory()
        return self._policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI connection (HTTP requests are checked; lifespan passes through)."""
        if scope["type"] != "http" or scope["path"] in PUBLIC_PATHS:
            await self.app(scope, receive, send)
            return
        try:
            policy = await _in_thread(lambda: self.policy)
            principal: Optional[Principal] = await _in_thread(policy.authenticate, scope.get("headers", []))
        except StorekitError:
            await _error(
                send, 503, "TEMPORARILY_UNAVAILABLE", "the account store is unavailable", [(b"retry-after", b"1")]
            )
            return
        if principal is None:
            await _error(
                send,
                401,
                "UNAUTHENTICATED",
                "authentication required: send HTTP Basic credentials or a Bearer token",
                [(b"www-authenticate", b'Basic realm="storekit"')],
            )
            return
        body = b""
        if _has_json_body(scope):
            chunks, size, more = [], 0, True
            while more:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > MAX_JSON_BODY:
                    await _error(send, 413, "INVALID_PARAMETER_VALUE", f"request body exceeds {MAX_JSON_BODY} bytes")
                    return
                chunks.append(chunk)
                more = message.get("more_body", False)
            body = b"".join(chunks)
            receive = _replay(body, receive)
        params = _params(scope, body)
        try:
            rule = await _in_thread(self.policy.authorize, principal, scope["method"], scope["path"], params)
        except AuthenticationError as exc:
            await _error(send, 401, "UNAUTHENTICATED", str(exc), [(b"www-authenticate", b'Basic realm="storekit"')])
            return
        except PermissionDeniedError as exc:
            await _error(send, 403, "PERMISSION_DENIED", str(exc))
            return
        except StorekitError:
            await _error(send, 503, "TEMPORARILY_UNAVAILABLE", "the store is unavailable", [(b"retry-after", b"1")])
            return
        scope = {**scope, "storekit.principal": principal}
        if rule is None or (rule.filter is None and rule.creates is None and rule.renames is None):
            await self.app(scope, receive, send)
            return
        await self._rewriting(scope, receive, send, principal, rule, params)

    async def _rewriting(
        self, scope: Scope, receive: Receive, send: Send, principal: Principal, rule: RouteRule, params: dict[str, Any]
    ) -> None:
        """Run the app with its response buffered, then filter it or record ownership."""
        start: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, capture)
        body = b"".join(chunks)
        status = int(start.get("status", 500))
        if status == 200:
            try:
                doc = json.loads(body) if body else {}
            except ValueError:
                doc = None
            if isinstance(doc, dict):
                if rule.filter is not None:
                    doc = await _in_thread(self.policy.filter_response, principal, rule, doc)
                    body = json.dumps(doc).encode()
                if rule.creates is not None or rule.renames is not None:
                    await _in_thread(self.policy.after_success, principal, rule, params, doc)
        headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def again() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return again


def protect(app: ASGIApp, policy: "AccessPolicy | Callable[[], AccessPolicy]") -> ASGIApp:
    """``app`` behind access control by ``policy`` (or by the policy ``policy()`` builds on first use)."""
    return AccountsMiddleware(app, policy)
