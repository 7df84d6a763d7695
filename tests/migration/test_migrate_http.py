"""``storekit migrate`` to and from a running ``storekit server`` (``http://``).

The server has no import hook, so the copy into it goes through the public
REST API (new ids, the id map in the resume state); out of it, the server is
read like any store.  A file store -> server -> SQLite chain must keep every
run, history, param, tag, registered model and artifact (by name), and both
hops must verify.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

import pytest

from tests.migration.conftest import run_cli
from tests.migration.test_migrate import comparable, snapshot
from tests.storekit_server_process import StorekitServer


@pytest.fixture
def server(tmp_path: Path) -> Iterator[StorekitServer]:
    srv = StorekitServer.start(tmp_path / "server")
    try:
        yield srv
    finally:
        srv.stop()


def _migrate(src: str, dst: str, cwd: Path, name: str) -> dict[str, Any]:
    code, out = run_cli("migrate", src, dst, "--state", str(cwd / f"{name}.jsonl"), "--json", cwd=cwd)
    report = json.loads(out)
    assert code == 0 and report["verification"]["ok"], out
    return report


def test_file_to_server_to_sqlite(storekit_file_store: Path, tmp_path: Path, server: StorekitServer) -> None:
    work = tmp_path / "work"
    work.mkdir()
    report = _migrate(str(storekit_file_store), server.url, work, "to-server")
    assert not report["transfer"]["preserves_ids"]
    assert report["verification"]["counts"]["metric points"]["destination"] > 2000
    assert report["verification"]["counts"]["artifact files"]["destination"] >= 1
    dst = f"sqlite:///{work / 'back.db'}"
    report = _migrate(server.url, dst, work, "from-server")
    assert report["verification"]["counts"]["runs"]["destination"] == 5
    source = comparable(snapshot(str(storekit_file_store)), by_name=True)
    back = comparable(snapshot(dst), by_name=True)
    assert back == source
