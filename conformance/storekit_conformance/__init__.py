"""storekit-conformance: the storekit store contract as tests.

Three ways in, one engine:

* subclass a suite and supply the fixture that builds your implementation::

      from storekit_conformance import TrackingStoreSuite

      class TestMyStore(TrackingStoreSuite):
          @pytest.fixture
          def tracking_store(self):
              return MyStore("mycorp://test")

* ``pytest --pyargs storekit_conformance --storekit-uri=mycorp://...``
* ``storekit conformance mycorp://... --interface tracking --report report.json``
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "TrackingStoreSuite",
    "ArtifactRepositorySuite",
    "RegistryStoreSuite",
    "RunContextProviderSuite",
    "run_conformance",
    "assert_conformance",
    "ConformanceResult",
    "contract",
    "requires",
]

_LAZY = {
    "TrackingStoreSuite": ".tracking",
    "ArtifactRepositorySuite": ".artifacts_suite",
    "RegistryStoreSuite": ".registry_suite",
    "RunContextProviderSuite": ".context_suite",
    "run_conformance": ".runner",
    "assert_conformance": ".runner",
    "ConformanceResult": ".runner",
    "contract": ".marks",
    "requires": ".marks",
}

if TYPE_CHECKING:  # pragma: no cover
    from .artifacts_suite import ArtifactRepositorySuite
    from .context_suite import RunContextProviderSuite
    from .marks import contract, requires
    from .registry_suite import RegistryStoreSuite
    from .runner import ConformanceResult, assert_conformance, run_conformance
    from .tracking import TrackingStoreSuite


def __getattr__(name: str) -> Any:
    """Import the suites lazily, so loading the pytest plugin stays cheap for other projects."""
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
