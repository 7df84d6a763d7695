"""Fixtures of the reliability and security tests.

* ``backend`` / ``store_uri``: a fresh store on each of the file backend,
  SQLite, PostgreSQL and MariaDB (fresh databases from :mod:`tests.databases`).
* ``soak``: sizes for CI (default) or for the long soak mode (``STOREKIT_SOAK=1``).
* ``totals``: figures each test records (writes checked, kills survived,
  cases tried, faults injected); at the end they are written to
  ``<pytest base temp>/reliability-totals.json`` and printed as one summary line.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path
from typing import Callable, Iterator

import pytest

from tests.databases import DatabaseFactory, server_uri

BACKENDS = ["file", "sqlite", "postgresql", "mariadb"]
#: the backends of the hostile-input tests: the built-in ones and the memory plugin (the template)
HOSTILE_BACKENDS = BACKENDS + ["memory"]
SOAK = os.environ.get("STOREKIT_SOAK", "").strip().lower() in ("1", "true", "yes", "on")

_TOTALS: Counter = Counter()


class Sizes:
    """Workload sizes: small in CI, large in soak mode."""

    soak = SOAK
    processes = 8
    threads = 4
    batches = 40 if SOAK else 6
    metrics_per_batch = 50 if SOAK else 10
    kills = 100 if SOAK else 20
    hypothesis_examples = 10_000 if SOAK else 200


@pytest.fixture(scope="session")
def sizes() -> type[Sizes]:
    """The workload sizes of this session."""
    return Sizes


@pytest.fixture(scope="session")
def db_factories() -> Iterator[dict[str, DatabaseFactory]]:
    """Database factories per server, dropping their databases at the end."""
    factories: dict[str, DatabaseFactory] = {}
    yield factories
    for factory in factories.values():
        factory.drop_all()


@pytest.fixture
def new_store_uri(db_factories: dict[str, DatabaseFactory], tmp_path: Path) -> Callable[[str], str]:
    """``new_store_uri(backend)``: the URI of a new, empty store of that backend."""
    counter = iter(range(1_000_000))

    def make(backend: str) -> str:
        n = next(counter)
        if backend == "file":
            return str(tmp_path / f"filestore{n}")
        if backend == "sqlite":
            return f"sqlite:///{tmp_path}/store{n}.db"
        if backend == "memory":
            return f"memory://{tmp_path.name}-{n}"
        if backend not in db_factories:
            db_factories[backend] = DatabaseFactory(backend, server_uri(backend))
        return db_factories[backend].create()

    return make


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The backend under test."""
    return request.param


@pytest.fixture
def store_uri(backend: str, new_store_uri: Callable[[str], str]) -> str:
    """A fresh store of the backend under test."""
    return new_store_uri(backend)


@pytest.fixture(scope="session")
def totals(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Counter]:
    """Counters of what was checked; written to JSON and summarised at the end of the session."""
    yield _TOTALS
    path = tmp_path_factory.getbasetemp() / "reliability-totals.json"
    path.write_text(json.dumps(dict(_TOTALS), indent=2, sort_keys=True))
    print(f"\nreliability totals written to {path}")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """One line with every figure the reliability tests recorded."""
    if _TOTALS:
        figures = ", ".join(f"{k}={v}" for k, v in sorted(_TOTALS.items()))
        terminalreporter.write_line(f"reliability totals ({'soak' if SOAK else 'CI'} mode): {figures}")
