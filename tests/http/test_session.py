"""Retries, Retry-After, error mapping and secrets, against a scripted real HTTP server on loopback."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator

import pytest

from storekit.errors import AlreadyExistsError, BackendUnavailableError, InvalidParameterError, RunNotFound
from storekit.interfaces import UnsupportedOperationError
from storekit_http import HttpSettings, HttpTrackingStore
from storekit_http.settings import split_server_uri
from tests.mlflow_server.processes import free_port

PASSWORD = "s3cr3t-Pa55"
TOKEN = "tok-abcdef-123"


class _Script:
    """Answers to send, in order, and what the server saw."""

    def __init__(self) -> None:
        self.answers: list[tuple[int, dict[str, str], bytes]] = []
        self.seen: list[tuple[str, str, dict[str, str]]] = []


@pytest.fixture
def scripted() -> Iterator[tuple[str, _Script]]:
    script = _Script()

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            script.seen.append((self.command, self.path, dict(self.headers)))
            status, headers, body = script.answers.pop(0) if script.answers else (200, {}, b"{}")
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = _answer

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", script
    server.shutdown()
    server.server_close()


def _store(url: str, **settings: object) -> HttpTrackingStore:
    base = dict(backoff=0.01, max_retries=3)
    base.update(settings)
    return HttpTrackingStore(url, settings=HttpSettings(**base))  # type: ignore[arg-type]


def _error(code: str, message: str = "boom") -> bytes:
    return json.dumps({"error_code": code, "message": message}).encode()


RUN_JSON = json.dumps(
    {"run": {"info": {"run_id": "a" * 32, "experiment_id": "1", "status": "RUNNING"}, "data": {}}}
).encode()


def test_reads_are_retried_on_503_with_retry_after(scripted: tuple[str, _Script]) -> None:
    url, script = scripted
    script.answers = [(503, {"Retry-After": "1"}, b"busy"), (502, {}, b""), (200, {}, RUN_JSON)]
    start = time.monotonic()
    run = _store(url).get_run("a" * 32)
    assert run.info.run_id == "a" * 32
    assert len(script.seen) == 3
    assert time.monotonic() - start >= 1.0, "Retry-After: 1 must be honoured"


def test_writes_are_not_resent_after_the_server_may_have_seen_them(scripted: tuple[str, _Script]) -> None:
    url, script = scripted
    script.answers = [(503, {}, b"busy"), (200, {}, RUN_JSON)]
    with pytest.raises(BackendUnavailableError):
        _store(url).create_run("1")
    assert len(script.seen) == 1


def test_429_is_retried_even_for_writes(scripted: tuple[str, _Script]) -> None:
    url, script = scripted
    script.answers = [(429, {"Retry-After": "0"}, b""), (200, {}, RUN_JSON)]
    assert _store(url).create_run("1").info.run_id == "a" * 32
    assert len(script.seen) == 2


def test_retries_are_bounded(scripted: tuple[str, _Script]) -> None:
    url, script = scripted
    script.answers = [(503, {}, b"")] * 10
    with pytest.raises(BackendUnavailableError):
        _store(url, max_retries=2).get_run("a" * 32)
    assert len(script.seen) == 3


def test_connection_refused_is_backend_unavailable() -> None:
    port = free_port()  # nothing listens there
    start = time.monotonic()
    with pytest.raises(BackendUnavailableError, match="did not answer after 3 attempts"):
        _store(f"http://127.0.0.1:{port}", max_retries=2).create_experiment("x")
    assert time.monotonic() - start < 10


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (404, _error("RESOURCE_DOES_NOT_EXIST"), RunNotFound),
        (400, _error("INVALID_PARAMETER_VALUE"), InvalidParameterError),
        (400, _error("RESOURCE_ALREADY_EXISTS"), AlreadyExistsError),
        (404, b"<html>no such endpoint</html>", UnsupportedOperationError),
        (501, _error("NOT_IMPLEMENTED"), UnsupportedOperationError),
        (500, _error("INTERNAL_ERROR"), BackendUnavailableError),
        (401, b"unauthorized", BackendUnavailableError),
        (403, _error("PERMISSION_DENIED"), BackendUnavailableError),
    ],
)
def test_error_codes_map_to_typed_errors(
    scripted: tuple[str, _Script], status: int, body: bytes, error: type[Exception]
) -> None:
    url, script = scripted
    script.answers = [(status, {}, body)]
    with pytest.raises(error):
        _store(url, max_retries=0).get_run("a" * 32)


def test_credentials_are_sent_and_never_shown(scripted: tuple[str, _Script]) -> None:
    url, script = scripted
    host = url.split("://", 1)[1]
    store = HttpTrackingStore(f"http://alice:{PASSWORD}@{host}", settings=None)
    script.answers = [(401, {}, f"bad password {PASSWORD} for http://alice:{PASSWORD}@{host}".encode())]
    with pytest.raises(BackendUnavailableError) as info:
        store.get_run("a" * 32)
    assert PASSWORD not in str(info.value)
    assert (
        PASSWORD not in repr(store) and PASSWORD not in repr(store.http) and PASSWORD not in repr(store.http.settings)
    )
    assert script.seen[0][2]["Authorization"].startswith("Basic ")


def test_bearer_token_from_storekit_env_wins(scripted: tuple[str, _Script], monkeypatch: pytest.MonkeyPatch) -> None:
    url, script = scripted
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", "mlflow-token")
    monkeypatch.setenv("STOREKIT_TRACKING_TOKEN", TOKEN)
    script.answers = [(200, {}, RUN_JSON)]
    store = HttpTrackingStore(url)
    store.get_run("a" * 32)
    assert script.seen[0][2]["Authorization"] == f"Bearer {TOKEN}"
    assert TOKEN not in repr(store.http.settings)


def test_tls_settings_from_mlflow_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    assert HttpSettings.from_env({}).verify is True
    assert HttpSettings.from_env({"MLFLOW_TRACKING_INSECURE_TLS": "true"}).verify is False
    s = HttpSettings.from_env(
        {"MLFLOW_TRACKING_SERVER_CERT_PATH": "/ca.pem", "MLFLOW_TRACKING_CLIENT_CERT_PATH": "/client.pem"}
    )
    assert (s.verify, s.client_cert) == ("/ca.pem", "/client.pem")
    with pytest.raises(InvalidParameterError):
        HttpSettings.from_env({"MLFLOW_TRACKING_INSECURE_TLS": "true", "MLFLOW_TRACKING_SERVER_CERT_PATH": "/ca.pem"})
    assert split_server_uri("https://u:p%40ss@host:8443/prefix/") == ("https://host:8443/prefix", "u", "p@ss")
