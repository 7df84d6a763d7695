"""The server load benchmark runs end to end (storekit server only, tiny sizes) and checks its writes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.databases import server_uri
from tests.mlflow_server.processes import free_port

pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.timeout(600)]


def test_server_load_benchmark_smoke(tmp_path: Path) -> None:
    from benchmarks import server_load

    out = tmp_path / "load.json"
    port = free_port()
    code = server_load.main(
        ["--postgres-uri", server_uri("postgresql"), "--clients", "3", "--seconds", "2", "--rounds", "1"]
        + ["--workers", "1", "--only", "storekit", "--ports", f"{port},{port}", "--json", str(out)]
    )
    assert code == 0
    figures = json.loads(out.read_text())["figures"]["storekit"]
    assert figures["rps"] > 0 and figures["writes_checked"] > 0
    assert figures["writes_missing_or_duplicated"] == 0 and figures["errors"] == 0
