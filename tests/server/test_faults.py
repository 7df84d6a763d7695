"""Faults around a real ``storekit server``: SIGTERM with a request in flight, the database going away."""

from __future__ import annotations

import http.client
import signal
import time
from pathlib import Path
from typing import Any, Optional

import httpx
import pytest
from sqlalchemy.engine import make_url

from tests.storekit_server_process import StorekitServer

from .tcp_proxy import TcpProxy

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

API = "/api/2.0/mlflow"


def _post(url: str, path: str, payload: dict[str, Any], timeout: float = 120) -> httpx.Response:
    return httpx.post(f"{url}{API}/{path}", json=payload, timeout=timeout)


def test_sigterm_finishes_the_request_in_flight(tmp_path: Path) -> None:
    server = StorekitServer.start(tmp_path / "srv")
    try:
        size, pieces = 8 * 1024 * 1024, 16
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
        conn.putrequest("PUT", "/api/2.0/mlflow-artifacts/artifacts/inflight/big.bin")
        conn.putheader("Content-Length", str(size))
        conn.endheaders()
        piece = b"x" * (size // pieces)
        conn.send(piece)  # the request is in flight...
        time.sleep(0.5)
        server.terminate()  # ... when the server is told to stop
        time.sleep(0.5)
        with pytest.raises(OSError):  # it accepts no new connection
            http.client.HTTPConnection("127.0.0.1", server.port, timeout=5).request("GET", "/health")
        for _ in range(pieces - 1):
            conn.send(piece)
            time.sleep(0.1)
        response = conn.getresponse()
        assert response.status == 200, response.read()[:300]
        conn.close()
        # it exits once the request is done (uvicorn re-raises the signal after its graceful shutdown)
        assert server.process.wait(timeout=60) in (0, -signal.SIGTERM)
        stored = tmp_path / "srv" / "artifacts" / "inflight" / "big.bin"
        assert stored.stat().st_size == size
    finally:
        server.stop()


@pytest.mark.postgres
def test_database_gone_is_503_with_retry_after_and_recovers(tmp_path: Path, pg_database: str) -> None:
    url = make_url(pg_database)
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432).start()
    proxied = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    server: Optional[StorekitServer] = None
    try:
        server = StorekitServer.start(tmp_path / "srv", backend_store_uri=proxied)
        exp_id = _post(server.url, "experiments/create", {"name": "faults"}).json()["experiment_id"]
        run_id = _post(server.url, "runs/create", {"experiment_id": exp_id}).json()["run"]["info"]["run_id"]
        acknowledged: list[int] = []

        def log(step: int) -> httpx.Response:
            metric = {"key": "m", "value": float(step), "timestamp": 1000 + step, "step": step}
            response = _post(server.url, "runs/log-batch", {"run_id": run_id, "metrics": [metric]})  # type: ignore[union-attr]
            if response.status_code == 200:
                acknowledged.append(step)
            return response

        assert log(0).status_code == 200
        proxy.stop()
        down = log(1)
        assert down.status_code == 503, down.text
        assert down.json()["error_code"] == "TEMPORARILY_UNAVAILABLE"
        assert int(down.headers["Retry-After"]) >= 1
        for internal in (str(proxy.port), url.database or "", "postgresql"):  # where the database is: not said
            assert internal not in down.text
        assert httpx.get(f"{server.url}{API}/runs/get", timeout=30).status_code == 400  # the server itself is fine
        health = httpx.get(f"{server.url}/health", timeout=10)
        assert health.status_code == 200

        proxy.start()  # the database is back: the server recovers by itself
        deadline = time.monotonic() + 120
        step = 2
        while True:
            response = log(step)
            if response.status_code == 200:
                break
            assert response.status_code == 503, response.text
            assert time.monotonic() < deadline, "the server did not recover"
            time.sleep(1)
            step += 1
        got = httpx.get(
            f"{server.url}{API}/metrics/get-history", params={"run_id": run_id, "metric_key": "m"}, timeout=60
        ).json()
        steps = sorted(int(m.get("step", 0)) for m in got["metrics"])
        assert steps == sorted(acknowledged)  # every acknowledged write exactly once, nothing else
    finally:
        if server is not None:
            server.stop()
        proxy.stop()
