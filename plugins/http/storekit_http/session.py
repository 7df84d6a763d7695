"""One pooled HTTP session per store, with timeouts and safe retries.

Retry policy (bounded by ``HttpSettings.max_retries``, exponential backoff
with jitter, ``Retry-After`` honoured up to ``max_retry_after``):

* a failure *before the request reached the server* (connection refused,
  connect timeout, no free connection in the pool) is retried for every
  request: nothing was written;
* HTTP 429 is retried for every request: the server refused it unprocessed;
* read timeouts, dropped connections and 502/503/504 answers are retried only
  for *idempotent* requests (reads, and writes that set a value to a given
  state).  A write that creates or appends (create run, log metrics, create
  version...) is never re-sent after the server may have seen it: the error
  is raised instead, so nothing is ever written twice;
* any other answer is final and mapped to a typed error (``errors.py``).
"""

from __future__ import annotations

import base64
import contextlib
import email.utils
import logging
import random
import threading
import time
from typing import Any, Generator, Iterator, Mapping, Optional

import httpx

from storekit.errors import NotFoundError
from storekit.uri import redact_uri

from .errors import error_from_response, transport_error
from .settings import HttpSettings

__all__ = ["HttpClient", "API_PREFIX", "AJAX_PREFIX", "ARTIFACTS_PREFIX"]

_log = logging.getLogger(__name__)

API_PREFIX = "/api/2.0/mlflow"
AJAX_PREFIX = "/ajax-api/2.0/mlflow"
ARTIFACTS_PREFIX = "/api/2.0/mlflow-artifacts/artifacts"

_NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
_MAYBE_SENT = (httpx.ReadTimeout, httpx.WriteTimeout, httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError)
_RETRY_IDEMPOTENT_STATUS = {502, 503, 504}


def _retry_after(response: httpx.Response) -> Optional[float]:
    """Seconds the server asked us to wait (``Retry-After`` as seconds or an HTTP date)."""
    raw = response.headers.get("Retry-After")
    if not raw:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class _Auth(httpx.Auth):
    """Basic or bearer authentication whose ``repr`` shows no secret."""

    def __init__(self, settings: HttpSettings) -> None:
        self._settings = settings

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        s = self._settings
        if s.token:
            request.headers["Authorization"] = f"Bearer {s.token}"
        elif s.username is not None and s.password is not None:
            pair = f"{s.username}:{s.password}".encode("utf-8")
            request.headers["Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
        yield request

    def __repr__(self) -> str:
        return "_Auth(***)"


class HttpClient:
    """A thread-safe, pooled client for one server (``base_url`` has no credentials)."""

    def __init__(self, base_url: str, settings: HttpSettings) -> None:
        self.base_url = base_url
        self.settings = settings
        self._lock = threading.Lock()
        self._client: Optional[httpx.Client] = None

    def __repr__(self) -> str:
        return f"HttpClient({redact_uri(self.base_url)!r})"

    @property
    def client(self) -> httpx.Client:
        """The pooled ``httpx.Client`` (created on first use)."""
        if self._client is None:
            with self._lock:
                if self._client is None:
                    s = self.settings
                    self._client = httpx.Client(
                        auth=_Auth(s),
                        verify=s.verify,
                        cert=s.client_cert,
                        timeout=httpx.Timeout(s.read_timeout, connect=s.connect_timeout),
                        limits=httpx.Limits(max_connections=32, max_keepalive_connections=16),
                        follow_redirects=False,
                        headers={"User-Agent": "storekit-http/0.1"},
                    )
        return self._client

    def close(self) -> None:
        """Close the pooled connections."""
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    # -- the retry loop ----------------------------------------------------
    def _delay(self, attempt: int, response: Optional[httpx.Response]) -> Optional[float]:
        """Seconds to wait before retry ``attempt`` (1-based), or None to stop."""
        if attempt > self.settings.max_retries:
            return None
        if response is not None:
            asked = _retry_after(response)
            if asked is not None:
                return asked if asked <= self.settings.max_retry_after else None
        base = min(self.settings.backoff * (2 ** (attempt - 1)), self.settings.max_backoff)
        return base * (0.5 + random.random() / 2)

    def send(
        self,
        method: str,
        url: str,
        *,
        idempotent: bool,
        not_found: type[NotFoundError] = NotFoundError,
        stream: bool = False,
        **kwargs: Any,
    ) -> httpx.Response:
        """Send one request with the retry policy; a successful (2xx) response or a typed error.

        ``kwargs`` go to ``httpx.Client.build_request`` (``json``, ``params``,
        ``content``...).  A ``content`` iterator cannot be re-sent: callers pass
        a fresh request for each attempt through :meth:`send_factory` instead.
        """
        return self.send_factory(method, url, lambda: kwargs, idempotent=idempotent, not_found=not_found, stream=stream)

    def send_factory(
        self,
        method: str,
        url: str,
        make_kwargs: Any,
        *,
        idempotent: bool,
        not_found: type[NotFoundError] = NotFoundError,
        stream: bool = False,
    ) -> httpx.Response:
        """Like :meth:`send`, building the request arguments afresh for each attempt."""
        attempt = 0
        secrets = self.settings.secrets()
        while True:
            attempt += 1
            response: Optional[httpx.Response] = None
            try:
                request = self.client.build_request(method, url, **make_kwargs())
                response = self.client.send(request, stream=stream)
            except _NEVER_SENT as exc:
                failure: BaseException = exc
            except _MAYBE_SENT as exc:
                if not idempotent:
                    raise transport_error(exc, method, url, attempt, secrets) from None
                failure = exc
            else:
                status = response.status_code
                if status < 300:
                    return response
                retryable = status == 429 or (idempotent and status in _RETRY_IDEMPOTENT_STATUS)
                if not retryable:
                    content = response.read()
                    response.close()
                    raise error_from_response(status, content, method, url, not_found, secrets)
                failure = httpx.HTTPStatusError(f"HTTP {status}", request=request, response=response)
            delay = self._delay(attempt, response)
            if delay is None:
                if response is not None:
                    content = response.read()
                    response.close()
                    raise error_from_response(response.status_code, content, method, url, not_found, secrets)
                raise transport_error(failure, method, url, attempt, secrets) from None
            if response is not None:
                response.close()
            _log.debug("retrying %s %s in %.2fs (attempt %d)", method, redact_uri(url), delay, attempt)
            time.sleep(delay)

    # -- JSON calls ----------------------------------------------------------
    def call(
        self,
        method: str,
        endpoint: str,
        *,
        json: Optional[Mapping[str, Any]] = None,
        params: Optional[Mapping[str, Any]] = None,
        idempotent: Optional[bool] = None,
        not_found: type[NotFoundError] = NotFoundError,
        prefix: str = API_PREFIX,
    ) -> dict[str, Any]:
        """Call a REST endpoint (``endpoint`` relative to ``prefix``) and return the decoded JSON."""
        if idempotent is None:
            idempotent = method == "GET"
        kwargs: dict[str, Any] = {}
        if json is not None:
            kwargs["json"] = {k: v for k, v in json.items() if v is not None}
        if params is not None:
            kwargs["params"] = [
                (k, v)
                for k, vs in params.items()
                if vs is not None
                for v in (vs if isinstance(vs, (list, tuple)) else [vs])
            ]
        url = f"{self.base_url}{prefix}/{endpoint}"
        response = self.send(method, url, idempotent=idempotent, not_found=not_found, **kwargs)
        if not response.content:
            return {}
        data = response.json()
        return data if isinstance(data, dict) else {}

    @contextlib.contextmanager
    def stream(
        self, method: str, url: str, *, not_found: type[NotFoundError] = NotFoundError, **kwargs: Any
    ) -> Iterator[httpx.Response]:
        """A streamed, idempotent request (a download); the response is closed on exit."""
        response = self.send(method, url, idempotent=True, not_found=not_found, stream=True, **kwargs)
        try:
            yield response
        finally:
            response.close()
