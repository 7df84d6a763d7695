"""Run each broken variant only against the contract section it breaks (keeps the run short)."""

from __future__ import annotations

import pytest

from storekit_conformance.marks import contract_of


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect checks outside a broken variant's section."""
    keep, drop = [], []
    for item in items:
        section = getattr(getattr(item, "cls", None), "broken_section", None)
        (drop if section is not None and contract_of(item)[0] != section else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
