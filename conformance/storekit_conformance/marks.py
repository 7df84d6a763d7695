"""Markers that tie every check to the contract rule it checks.

``@contract("3", "log_batch is atomic")`` names the contract section and
rule; ``@requires(Capability.X)`` makes a check depend on a declared
capability (skipped, with the reason printed, when it is not declared);
``@requires_new_store()`` makes a check depend on a store the suite opened
on an empty location (skipped on a live store, see ``SuiteBase.store_is_new``).
"""

from __future__ import annotations

from typing import Callable, Optional, TypeVar

import pytest

from storekit.interfaces import Capability

__all__ = ["SECTIONS", "contract", "requires", "requires_new_store", "contract_of", "capability_of", "needs_new_store"]

F = TypeVar("F", bound=Callable[..., object])

#: Contract section number -> title, as the report prints them.
SECTIONS: dict[str, str] = {
    "1": "Interfaces and entry points",
    "3": "TrackingStore",
    "3-search": "TrackingStore: search filter grammar",
    "3-paging": "TrackingStore: pagination",
    "3-concurrency": "TrackingStore: concurrent writers",
    "3b": "Datasets and logged models",
    "4": "ArtifactRepository",
    "5": "RegistryStore",
    "6": "RunContextProvider",
    "8": "Capabilities",
}

CONTRACT_MARK = "storekit_contract"
REQUIRES_MARK = "storekit_requires"
NEW_STORE_MARK = "storekit_requires_new_store"


def contract(section: str, rule: str) -> Callable[[F], F]:
    """Mark a check with the contract ``section`` (a key of :data:`SECTIONS`) and the ``rule`` it checks."""
    if section not in SECTIONS:
        raise ValueError(f"unknown contract section {section!r}; known: {sorted(SECTIONS)}")
    return getattr(pytest.mark, CONTRACT_MARK)(section=section, rule=rule)


def requires(*capabilities: Capability) -> Callable[[F], F]:
    """Mark a check as needing every capability in ``capabilities`` to be declared."""
    return getattr(pytest.mark, REQUIRES_MARK)(*capabilities)


def requires_new_store() -> Callable[[F], F]:
    """Mark a check as needing a **new** store: one the suite opened on an empty location.

    Such a check can tell what the store itself put there (a live store also
    holds its users' data); on a store that is not known to be new it is
    skipped, with the reason.
    """
    return getattr(pytest.mark, NEW_STORE_MARK)


def contract_of(item: pytest.Item) -> tuple[str, str]:
    """``(section, rule)`` of a collected check; ``("?", "")`` when unmarked."""
    mark: Optional[pytest.Mark] = item.get_closest_marker(CONTRACT_MARK)
    if mark is None:
        return "?", ""
    return str(mark.kwargs.get("section", "?")), str(mark.kwargs.get("rule", ""))


def capability_of(item: pytest.Item) -> tuple[Capability, ...]:
    """Capabilities a collected check requires (empty for required checks)."""
    needed: list[Capability] = []
    for mark in item.iter_markers(REQUIRES_MARK):
        needed.extend(Capability(c) for c in mark.args)
    return tuple(needed)


def needs_new_store(item: pytest.Item) -> bool:
    """Whether a collected check carries :func:`requires_new_store`."""
    return item.get_closest_marker(NEW_STORE_MARK) is not None
