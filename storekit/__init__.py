"""storekit: experiment-tracking storage with pluggable backends.

The public face of the package: entities, errors, the four interfaces,
``resolve_*()`` for picking an implementation by URI, ``TrackingClient`` and
the fluent API (``storekit.start_run()``, ``storekit.log_metric()``...).

Importing ``storekit`` is cheap: only the entities, errors and interfaces
are loaded.  The plugin resolver (entry-point scanning), the client, the fluent
API and every backend are imported on first use (PEP 562 ``__getattr__``).
"""

from __future__ import annotations

import importlib as _importlib
import typing as _typing

from . import entities as _entities
from . import errors as _errors
from .entities import *  # noqa: F403  (names listed in entities.__all__)
from .errors import *  # noqa: F403  (names listed in errors.__all__)
from .interfaces import (
    STOREKIT_API,
    ArtifactRepository,
    Capability,
    RegistryStore,
    RunContextProvider,
    TrackingStore,
    UnsupportedOperationError,
)

__version__ = "0.1.0"

_INTERFACE_NAMES = [
    "STOREKIT_API",
    "Capability",
    "TrackingStore",
    "RegistryStore",
    "ArtifactRepository",
    "RunContextProvider",
    "UnsupportedOperationError",
]

_FLUENT_NAMES = [
    "set_tracking_uri",
    "get_tracking_uri",
    "set_registry_uri",
    "get_registry_uri",
    "set_experiment",
    "start_run",
    "end_run",
    "active_run",
    "log_param",
    "log_params",
    "log_metric",
    "log_metrics",
    "set_tag",
    "set_tags",
    "log_artifact",
    "log_artifacts",
    "search_runs",
    "get_run",
    "flush_async_logging",
]

#: Lazily imported public name -> module that defines it.
_LAZY: dict[str, str] = {
    "resolve_tracking_store": "storekit.plugins",
    "resolve_registry_store": "storekit.plugins",
    "resolve_artifact_repository": "storekit.plugins",
    "TrackingClient": "storekit.client",
    "AsyncBatchingLogger": "storekit.async_logging",
    **{name: "storekit.fluent" for name in _FLUENT_NAMES},
}

__all__ = [
    "__version__",
    *_entities.__all__,
    *_errors.__all__,
    *_INTERFACE_NAMES,
    *_LAZY,
]

if _typing.TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from .async_logging import AsyncBatchingLogger
    from .client import TrackingClient
    from .fluent import (
        active_run,
        end_run,
        flush_async_logging,
        get_registry_uri,
        get_run,
        get_tracking_uri,
        log_artifact,
        log_artifacts,
        log_metric,
        log_metrics,
        log_param,
        log_params,
        search_runs,
        set_experiment,
        set_registry_uri,
        set_tag,
        set_tags,
        set_tracking_uri,
        start_run,
    )
    from .plugins import (
        resolve_artifact_repository,
        resolve_registry_store,
        resolve_tracking_store,
    )


def __getattr__(name: str) -> "_typing.Any":
    """Import a lazily exported name on first access (PEP 562)."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'storekit' has no attribute {name!r}")
    value = getattr(_importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """The public names (``__all__``), the loaded submodules and the module's dunder attributes."""
    import types

    shown = {
        name
        for name, value in globals().items()
        if (name.startswith("__") and name.endswith("__"))
        or (isinstance(value, types.ModuleType) and not name.startswith("_"))
    }
    return sorted(shown | set(__all__))


del annotations
