"""Shared fixtures of storekit's own test suite."""

from __future__ import annotations

import pytest

from tests.services import stop_started_services

pytest_plugins: list[str] = []


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    stop_started_services()
