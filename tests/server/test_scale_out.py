"""Two ``storekit server`` processes on one PostgreSQL database serve one team consistently."""

from __future__ import annotations

import threading
from pathlib import Path

import httpx
import pytest

from tests.storekit_server_process import StorekitServer

pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.timeout(600)]

API = "/api/2.0/mlflow"


def test_two_servers_on_one_database(tmp_path: Path, pg_database: str) -> None:
    a = StorekitServer.start(tmp_path / "a", backend_store_uri=pg_database, artifacts_destination=str(tmp_path / "art"))
    try:
        b = StorekitServer.start(
            tmp_path / "b", backend_store_uri=pg_database, artifacts_destination=str(tmp_path / "art"), workers=2
        )
        try:
            with httpx.Client(timeout=60) as http:
                exp = http.post(f"{a.url}{API}/experiments/create", json={"name": "team"}).json()["experiment_id"]
                assert (
                    http.get(f"{b.url}{API}/experiments/get-by-name", params={"experiment_name": "team"}).json()[
                        "experiment"
                    ]["experiment_id"]
                    == exp
                )
                run_id = http.post(f"{b.url}{API}/runs/create", json={"experiment_id": exp}).json()["run"]["info"][
                    "run_id"
                ]
                # the same name through the other server is refused: one database, one truth
                again = http.post(f"{b.url}{API}/experiments/create", json={"name": "team"})
                assert again.status_code == 400 and again.json()["error_code"] == "RESOURCE_ALREADY_EXISTS"

            acked: list[int] = []
            lock = threading.Lock()

            def writer(server: StorekitServer, offset: int) -> None:
                with httpx.Client(timeout=60) as http:
                    for i in range(25):
                        step = offset + i
                        metric = {"key": "m", "value": float(step), "timestamp": 1000, "step": step}
                        r = http.post(f"{server.url}{API}/runs/log-batch", json={"run_id": run_id, "metrics": [metric]})
                        if r.status_code == 200:
                            with lock:
                                acked.append(step)

            threads = [threading.Thread(target=writer, args=(s, o)) for s, o in ((a, 0), (b, 1000), (b, 2000))]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert len(acked) == 75
            for server in (a, b):
                got = httpx.get(
                    f"{server.url}{API}/metrics/get-history", params={"run_id": run_id, "metric_key": "m"}, timeout=60
                ).json()["metrics"]
                assert sorted(int(m["step"]) for m in got) == sorted(acked)
            # an artifact written through one server is read through the other
            put = httpx.put(f"{a.url}/api/2.0/mlflow-artifacts/artifacts/{exp}/shared.txt", content=b"both", timeout=60)
            assert put.status_code == 200
            assert (
                httpx.get(f"{b.url}/api/2.0/mlflow-artifacts/artifacts/{exp}/shared.txt", timeout=60).content == b"both"
            )
        finally:
            b.stop()
    finally:
        a.stop()
