"""Property-based fuzzing of every route of a real ``storekit server`` from its OpenAPI document.

schemathesis generates requests for each operation of ``/openapi.json`` (a bounded
number per operation: ``STOREKIT_FUZZ_EXAMPLES``, default 6); no answer may be a
server error (5xx other than the documented 501 of an operation a backend does not
offer), and no answer may carry internals (a traceback, SQL, the server's paths).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterator

import pytest

from tests.storekit_server_process import StorekitServer

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

_EXAMPLES = int(os.environ.get("STOREKIT_FUZZ_EXAMPLES", "6"))
_LEAKS = ("Traceback", "sqlalchemy", "psycopg", 'File "', "SELECT ", "storekit.db")


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StorekitServer]:
    """A server of its own: the fuzzer creates and deletes whatever it likes."""
    try:
        server = StorekitServer.start(Path(tmp_path_factory.mktemp("fuzz-server")))
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)
    yield server
    server.stop()


def test_openapi_document_describes_every_route(fuzz_server: StorekitServer) -> None:
    import httpx

    from storekit.server.routes import ROUTES

    doc = httpx.get(f"{fuzz_server.url}/openapi.json", timeout=30).json()
    assert doc["openapi"].startswith("3.")
    served = {(m.lower(), p.replace(":path}", "}")) for r in ROUTES for p in r.paths() for m in r.methods}
    described = {(m, p) for p, ops in doc["paths"].items() for m in ops}
    assert served == described
    assert ("post", "/api/2.0/mlflow/runs/log-batch") in described
    assert ("put", "/api/2.0/mlflow-artifacts/artifacts/{artifact_path}") in described


def test_fuzz_every_operation_no_server_error(fuzz_server: StorekitServer) -> None:
    import schemathesis
    from hypothesis import HealthCheck, given, settings

    schema = schemathesis.openapi.from_url(f"{fuzz_server.url}/openapi.json")
    failures: list[tuple[str, int, str, Any]] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @settings(max_examples=_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        @given(case=operation.as_strategy())
        def check(case: Any) -> None:
            response = case.call(base_url=fuzz_server.url, timeout=60)
            text = response.text
            content_type = response.headers.get("content-type") or ""
            if isinstance(content_type, list):  # schemathesis keeps every value of a header
                content_type = content_type[0] if content_type else ""
            if response.status_code >= 500 and response.status_code != 501:
                failures.append((operation.label, response.status_code, text[:300], case.query))
            elif response.status_code >= 400 and content_type.startswith("application/json"):
                body = json.loads(text)
                if not (isinstance(body.get("error_code"), str) and isinstance(body.get("message"), str)):
                    failures.append(
                        (operation.label, response.status_code, "not MLflow's error JSON: " + text[:200], None)
                    )
            if any(leak in text for leak in _LEAKS) and response.status_code >= 400:
                failures.append((operation.label, response.status_code, "leaks internals: " + text[:300], None))

        check()
    assert operations >= 100
    assert not failures, failures[:10]
    assert "Traceback" not in fuzz_server.log_tail(1_000_000), "an unexpected exception was logged"
