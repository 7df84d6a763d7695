"""Artifacts stream through a real ``storekit server`` in bounded memory, both ways.

256 MiB are pushed (PUT, streamed from a generator) and pulled back (GET, streamed and
hashed); the server process's own high-water mark (``VmHWM`` of /proc/<pid>/status,
which the kernel keeps per process) stays under 300 MiB.  ``STOREKIT_ARTIFACT_MIB``
raises the size (the issue's 1 GiB).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Iterator

import httpx
import pytest

from tests.storekit_server_process import StorekitServer

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]

MIB = 1024 * 1024
SIZE_MIB = int(os.environ.get("STOREKIT_ARTIFACT_MIB", "256"))
LIMIT_MIB = 300


def _hwm_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM")


def test_large_artifact_round_trip_in_bounded_memory(tmp_path: Path) -> None:
    server = StorekitServer.start(tmp_path / "srv")
    try:
        block = os.urandom(MIB)
        sent = hashlib.sha256()

        def body() -> Iterator[bytes]:
            for i in range(SIZE_MIB):
                chunk = block[i % 7 :] + block[: i % 7]  # not all blocks alike
                sent.update(chunk)
                yield chunk

        url = f"{server.url}/api/2.0/mlflow-artifacts/artifacts/big/run/payload.bin"
        with httpx.Client(timeout=httpx.Timeout(600, connect=30)) as client:
            put = client.put(url, content=body(), headers={"Content-Length": str(SIZE_MIB * MIB)})
            assert put.status_code == 200, put.text
            listed = client.get(f"{server.url}/api/2.0/mlflow-artifacts/artifacts", params={"path": "big/run"}).json()
            assert listed == {"files": [{"path": "payload.bin", "is_dir": False, "file_size": SIZE_MIB * MIB}]}
            received = hashlib.sha256()
            total = 0
            with client.stream("GET", url) as response:
                assert response.status_code == 200
                for chunk in response.iter_bytes(MIB):
                    received.update(chunk)
                    total += len(chunk)
        assert total == SIZE_MIB * MIB
        assert received.hexdigest() == sent.hexdigest()
        peak_mib = max(_hwm_kib(pid) for pid in server.pids()) / 1024
        print(f"{SIZE_MIB} MiB through the server both ways: peak resident {peak_mib:.0f} MiB")
        assert peak_mib < LIMIT_MIB, f"server peak resident memory {peak_mib:.0f} MiB"
    finally:
        server.stop()
