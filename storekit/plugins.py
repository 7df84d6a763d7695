"""Plugins: the entry points that map URI schemes to implementations (contract section 1; not the model registry).

One registry serves the four entry-point groups.  Entry points are indexed
lazily (on the first resolve, never at ``import storekit``) and cached per
group until :func:`refresh`; a plugin's module is imported only when its
scheme is resolved.

Arbitration when several distributions claim one scheme of one interface:

1. an explicit user preference wins (:func:`prefer`, then the environment
   variable ``STOREKIT_PLUGIN_PREFERENCE="scheme=distribution,..."``, where an
   entry may be limited to one interface as ``artifacts:s3=my-dist``);
2. otherwise a built-in distribution (:data:`BUILTIN_DISTRIBUTIONS`) wins
   over third-party ones;
3. otherwise two claimants are an error (:class:`PluginLoadError` naming both).

A distribution can be switched off entirely with the environment variable
``STOREKIT_DISABLE_PLUGINS="dist-a,dist-b"`` (read when a group is indexed):
its entry points are ignored, as if it were not installed.  The core
``storekit`` distribution cannot be disabled.
"""

from __future__ import annotations

import os
import re
import threading
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Optional, Sequence, Union

from .config import default_registry_uri, default_tracking_uri
from .errors import (
    IncompatiblePluginError,
    InvalidParameterError,
    PluginLoadError,
    StorekitError,
    UnknownSchemeError,
)
from .interfaces import (
    STOREKIT_API,
    ArtifactRepository,
    RegistryStore,
    RunContextProvider,
    TrackingStore,
)
from .uri import candidate_schemes, redact_text, redact_uri, uri_secrets

if TYPE_CHECKING:  # pragma: no cover
    from .entry_points import EntryPointRef

__all__ = [
    "TRACKING_STORE_GROUP",
    "ARTIFACT_REPOSITORY_GROUP",
    "REGISTRY_STORE_GROUP",
    "RUN_CONTEXT_PROVIDER_GROUP",
    "BUILTIN_DISTRIBUTIONS",
    "INSTALL_HINTS",
    "PREFERENCE_ENV",
    "DISABLE_ENV",
    "disabled_distributions",
    "Interface",
    "INTERFACES",
    "ImplementationInfo",
    "PluginWarning",
    "resolve_tracking_store",
    "resolve_registry_store",
    "resolve_artifact_repository",
    "load_implementation",
    "accepts_create",
    "get_context_providers",
    "collect_context_tags",
    "list_implementations",
    "install_hint",
    "prefer",
    "refresh",
]

TRACKING_STORE_GROUP = "storekit.tracking_store"
ARTIFACT_REPOSITORY_GROUP = "storekit.artifact_repository"
REGISTRY_STORE_GROUP = "storekit.registry_store"
RUN_CONTEXT_PROVIDER_GROUP = "storekit.run_context_provider"

#: Distributions whose implementations win over third-party plugins.
BUILTIN_DISTRIBUTIONS = frozenset(
    {"storekit", "storekit-s3", "storekit-azure", "storekit-sftp", "storekit-hdfs", "storekit-http"}
)

#: Known built-in scheme -> (extra of ``storekit``, distribution that provides it).
INSTALL_HINTS: dict[str, tuple[str, str]] = {
    "s3": ("s3", "storekit-s3"),
    "wasbs": ("azure", "storekit-azure"),
    "abfss": ("azure", "storekit-azure"),
    "abfs": ("azure", "storekit-azure"),
    "az": ("azure", "storekit-azure"),
    "sftp": ("sftp", "storekit-sftp"),
    "hdfs": ("hdfs", "storekit-hdfs"),
    "viewfs": ("hdfs", "storekit-hdfs"),
    "webhdfs": ("hdfs", "storekit-hdfs"),
    "swebhdfs": ("hdfs", "storekit-hdfs"),
    "http": ("http", "storekit-http"),
    "https": ("http", "storekit-http"),
    "postgresql": ("postgres", "psycopg"),
    "mysql": ("mysql", "pymysql"),
    "mariadb": ("mysql", "pymysql"),
}

#: Environment variable with explicit ``scheme=distribution`` choices.
PREFERENCE_ENV = "STOREKIT_PLUGIN_PREFERENCE"
DISABLE_ENV = "STOREKIT_DISABLE_PLUGINS"


class PluginWarning(UserWarning):
    """A run context provider failed to load or to run, or an installed distribution's
    unreadable metadata was skipped."""


@dataclass(frozen=True)
class Interface:
    """One pluggable interface: its short name, entry-point group and ABC."""

    key: str
    group: str
    abc: type
    label: str


#: Short name (as used by ``storekit plugins --interface``) -> interface.
INTERFACES: dict[str, Interface] = {
    i.key: i
    for i in (
        Interface("tracking", TRACKING_STORE_GROUP, TrackingStore, "tracking store"),
        Interface("artifacts", ARTIFACT_REPOSITORY_GROUP, ArtifactRepository, "artifact repository"),
        Interface("registry", REGISTRY_STORE_GROUP, RegistryStore, "registry store"),
        Interface("context", RUN_CONTEXT_PROVIDER_GROUP, RunContextProvider, "run context provider"),
    )
}


@dataclass(frozen=True)
class ImplementationInfo:
    """One installed entry point, as listed by ``storekit plugins``.

    ``status`` is ``"not loaded"``, ``"ok"``, ``"error: ..."`` or
    ``"shadowed by <distribution>"``.
    """

    interface: str
    scheme: str
    distribution: str
    version: str
    entry_point: str
    builtin: bool
    status: str


@dataclass(frozen=True)
class _Candidate:
    """An indexed entry point with the distribution that declares it."""

    scheme: str
    value: str
    distribution: str
    version: str
    builtin: bool
    entry_point: "EntryPointRef" = field(compare=False, repr=False)

    def describe(self) -> str:
        return f"'{self.scheme} = {self.value}' of distribution {self.distribution} {self.version}"


_LOCK = threading.Lock()
_INDEX: dict[str, dict[str, list[_Candidate]]] = {}
_PREFERENCES: dict[tuple[Optional[str], str], str] = {}


def _normalize(name: str) -> str:
    """PEP 503 normalised distribution name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _interface(name: str) -> Interface:
    for iface in INTERFACES.values():
        if name in (iface.key, iface.group):
            return iface
    raise InvalidParameterError(
        f"interface {name!r}: must be one of {', '.join(INTERFACES)} "
        f"(or an entry-point group {', '.join(i.group for i in INTERFACES.values())})"
    )


# --- the lazy index ------------------------------------------------------


def disabled_distributions() -> frozenset[str]:
    """Normalised names of the distributions switched off by ``STOREKIT_DISABLE_PLUGINS``."""
    names = {_normalize(n.strip()) for n in os.environ.get(DISABLE_ENV, "").split(",") if n.strip()}
    names.discard("storekit")
    return frozenset(names)


def _readable_entry_points(group: str) -> list[tuple[str, str, "EntryPointRef"]]:
    """``(distribution, version, entry point)`` of ``group`` in every installed distribution.

    Read by :mod:`storekit.entry_points` (each ``entry_points.txt`` directly,
    no ``importlib.metadata`` distribution objects).  A distribution whose
    metadata cannot be read (a malformed ``entry_points.txt``, non-UTF-8
    metadata) is skipped with a :class:`PluginWarning` naming it, so one
    broken package cannot break every store.  As in
    :func:`importlib.metadata.entry_points`, the first distribution of a
    name on ``sys.path`` wins.
    """
    from .entry_points import MetadataError, scan

    found: list[tuple[str, str, "EntryPointRef"]] = []
    for label, item in scan(group):
        if isinstance(item, MetadataError):
            warnings.warn(
                PluginWarning(
                    f"skipped installed distribution {label}: its metadata cannot be "
                    f"read ({item}); its entry points are ignored"
                ),
                stacklevel=4,
            )
            continue
        found.extend((item.distribution, item.version, ep) for ep in item.entry_points)
    return found


def _build_index(group: str) -> dict[str, list[_Candidate]]:
    disabled = disabled_distributions()
    index: dict[str, list[_Candidate]] = {}
    seen: set[tuple[str, str]] = set()
    for dist_name, version, ep in _readable_entry_points(group):
        if _normalize(dist_name) in disabled:
            continue
        scheme = ep.name.strip().lower()
        if (scheme, _normalize(dist_name)) in seen:  # the same distribution twice on sys.path
            continue
        seen.add((scheme, _normalize(dist_name)))
        index.setdefault(scheme, []).append(
            _Candidate(
                scheme=scheme,
                value=ep.value,
                distribution=dist_name,
                version=version,
                builtin=_normalize(dist_name) in BUILTIN_DISTRIBUTIONS,
                entry_point=ep,
            )
        )
    for candidates in index.values():
        candidates.sort(key=lambda c: (not c.builtin, _normalize(c.distribution)))
    return index


def _index(group: str) -> dict[str, list[_Candidate]]:
    with _LOCK:
        index = _INDEX.get(group)
        if index is None:
            index = _INDEX[group] = _build_index(group)
        return index


def refresh() -> None:
    """Forget the indexed entry points, e.g. after installing a plugin at run time."""
    import importlib

    from .entry_points import clear_cache

    with _LOCK:
        _INDEX.clear()
        clear_cache()
    importlib.invalidate_caches()


# --- preferences and arbitration -------------------------------------------


def prefer(scheme: str, distribution: Optional[str], group: Optional[str] = None) -> None:
    """Serve ``scheme`` from ``distribution`` (for one interface, or all when ``group`` is None).

    ``group`` is a short interface name (``tracking``, ``artifacts``,
    ``registry``, ``context``) or an entry-point group.  This wins over
    ``STOREKIT_PLUGIN_PREFERENCE``; ``distribution=None`` removes the choice.
    """
    key = (_interface(group).group if group else None, scheme.strip().lower())
    with _LOCK:
        if distribution is None:
            _PREFERENCES.pop(key, None)
        else:
            _PREFERENCES[key] = distribution


def _env_preferences() -> dict[tuple[Optional[str], str], str]:
    text = os.environ.get(PREFERENCE_ENV, "")
    result: dict[tuple[Optional[str], str], str] = {}
    for entry in (e.strip() for e in text.split(",")):
        if not entry:
            continue
        target, sep, dist = entry.partition("=")
        prefix, colon, scheme = target.rpartition(":")
        if not sep or not scheme.strip() or not dist.strip():
            raise InvalidParameterError(
                f"{PREFERENCE_ENV} entry {entry!r}: expected 'scheme=distribution' or 'interface:scheme=distribution'"
            )
        group = _interface(prefix.strip()).group if colon else None
        result[(group, scheme.strip().lower())] = dist.strip()
    return result


def _preference(group: str, scheme: str) -> Optional[tuple[str, str]]:
    """(distribution, where the choice came from) or None."""
    with _LOCK:
        explicit = dict(_PREFERENCES)
    for key in ((group, scheme), (None, scheme)):
        if key in explicit:
            return explicit[key], "storekit.plugins.prefer()"
    env = _env_preferences()
    for key in ((group, scheme), (None, scheme)):
        if key in env:
            return env[key], PREFERENCE_ENV
    return None


def _arbitrate(iface: Interface, scheme: str) -> tuple[Optional[_Candidate], Optional[str]]:
    """The candidate serving ``scheme`` (or None), else an error message."""
    candidates = _index(iface.group).get(scheme, [])
    if not candidates:
        return None, None
    preference = _preference(iface.group, scheme)
    if preference is not None:
        wanted, origin = preference
        for cand in candidates:
            if _normalize(cand.distribution) == _normalize(wanted):
                return cand, None
        offered = ", ".join(c.distribution for c in candidates)
        return None, (
            f"{origin} asks for distribution {wanted!r} to serve {iface.label} scheme "
            f"{scheme!r}, but it does not provide one (installed: {offered})"
        )
    builtins = [c for c in candidates if c.builtin]
    contenders = builtins or candidates
    if len(contenders) == 1:
        return contenders[0], None
    names = " and ".join(c.describe() for c in contenders)
    return None, (
        f"{iface.label} scheme {scheme!r} is claimed by {len(contenders)} distributions: {names}. "
        f"Choose one with {PREFERENCE_ENV}='{scheme}={contenders[0].distribution}' or "
        f"storekit.plugins.prefer({scheme!r}, {contenders[0].distribution!r})"
    )


def _select(iface: Interface, scheme: str) -> Optional[_Candidate]:
    cand, error = _arbitrate(iface, scheme)
    if error is not None:
        raise PluginLoadError(error)
    return cand


# --- loading and checking ----------------------------------------------------


def _storekit_version() -> str:
    from . import __version__

    return __version__


def _check_api(iface: Interface, cand: _Candidate, obj: Any) -> None:
    api = getattr(obj, "storekit_api", STOREKIT_API)
    if api != STOREKIT_API:
        raise IncompatiblePluginError(
            f"{iface.label} plugin {cand.describe()} was built for storekit API {api!r}, "
            f"but this storekit ({_storekit_version()}) speaks storekit API {STOREKIT_API}; "
            f"install a release of {cand.distribution} built for storekit API {STOREKIT_API}"
        )


def _load(iface: Interface, cand: _Candidate) -> Any:
    """Import the entry point's object and check it is an implementation of ``iface``."""
    try:
        obj = cand.entry_point.load()
    except Exception as exc:
        raise PluginLoadError(
            f"could not import {iface.label} plugin {cand.describe()}: {type(exc).__name__}: {exc}"
        ) from exc
    if isinstance(obj, type):
        if not issubclass(obj, iface.abc):
            raise PluginLoadError(
                f"{iface.label} plugin {cand.describe()}: {obj.__module__}.{obj.__qualname__} "
                f"is not a subclass of storekit.{iface.abc.__name__}"
            )
    elif not callable(obj):
        raise PluginLoadError(
            f"{iface.label} plugin {cand.describe()}: {type(obj).__name__} object is neither a class nor a factory"
        )
    _check_api(iface, cand, obj)
    return obj


def _construct(iface: Interface, cand: _Candidate, factory: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Call the factory; translate foreign failures; check what it returned."""
    try:
        instance = factory(*args, **kwargs)
    except StorekitError:
        raise
    except Exception as exc:
        detail = redact_text(str(exc))
        for arg in args:
            if isinstance(arg, str):
                for secret in uri_secrets(arg):
                    detail = detail.replace(secret, "***")
        target = f" for {redact_uri(args[0])!r}" if args else ""
        # Not chained: the original exception's text may hold the credentials.
        raise PluginLoadError(
            f"could not construct {iface.label}{target} with plugin {cand.describe()}: {type(exc).__name__}: {detail}"
        ) from None
    if not isinstance(instance, iface.abc):
        raise PluginLoadError(
            f"{iface.label} plugin {cand.describe()}: the factory returned a "
            f"{type(instance).__name__}, not a storekit.{iface.abc.__name__}"
        )
    _check_api(iface, cand, instance)
    return instance


# --- resolution ---------------------------------------------------------------


def install_hint(scheme: str) -> Optional[str]:
    """The ``pip install`` command enabling a known built-in scheme, or None."""
    entry = INSTALL_HINTS.get(scheme.lower())
    return f"pip install 'storekit[{entry[0]}]'" if entry else None


def _is_installed(distribution: str) -> bool:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import distribution as find

    try:
        find(distribution)
    except PackageNotFoundError:
        return False
    return True


def _unknown_scheme(iface: Interface, uri: str, schemes: Sequence[str]) -> UnknownSchemeError:
    available = ", ".join(sorted(_index(iface.group))) or "none"
    tried = " or ".join(repr(s) for s in schemes)
    message = (
        f"no {iface.label} is installed for scheme {tried} of URI {redact_uri(uri)!r}. "
        f"Available {iface.label} schemes: {available}."
    )
    for scheme in schemes:
        hint = install_hint(scheme)
        if not hint:
            continue
        dist = INSTALL_HINTS[scheme][1]
        if _normalize(dist) in disabled_distributions():
            return UnknownSchemeError(f"{message} {dist} provides {scheme!r} but is disabled by {DISABLE_ENV}.")
        if not _is_installed(dist):
            return UnknownSchemeError(f"{message} To use {scheme!r}, run: {hint}")
    elsewhere = [
        other.label
        for other in INTERFACES.values()
        if other is not iface and any(s in _index(other.group) for s in schemes)
    ]
    if elsewhere:
        message += f" ({tried} is served as a {' and a '.join(elsewhere)}, not as a {iface.label}.)"
    return UnknownSchemeError(message)


def _find(iface: Interface, uri: str) -> tuple[_Candidate, Any]:
    schemes = candidate_schemes(uri)
    for scheme in schemes:
        cand = _select(iface, scheme)
        if cand is not None:
            return cand, _load(iface, cand)
    raise _unknown_scheme(iface, uri, schemes)


def _as_uri(uri: "Union[str, os.PathLike[str]]", field_name: str = "uri") -> str:
    if isinstance(uri, os.PathLike):
        uri = os.fspath(uri)
    if not isinstance(uri, str) or not uri:
        raise InvalidParameterError(f"{field_name}: expected a non-empty URI string")
    return uri


def load_implementation(interface: str, uri: "Union[str, os.PathLike[str]]") -> Any:
    """The class (or factory) that serves ``uri`` for ``interface``, imported and checked, not constructed."""
    return _find(_interface(interface), _as_uri(uri))[1]


def accepts_create(factory: Any) -> bool:
    """Whether an implementation's constructor takes the ``create`` keyword (see :func:`resolve_tracking_store`)."""
    import inspect

    try:
        return "create" in inspect.signature(factory).parameters
    except (TypeError, ValueError):
        return False


def _resolve(key: str, uri: "Union[str, os.PathLike[str]]", kwargs: dict[str, Any], create: bool = True) -> Any:
    iface = INTERFACES[key]
    text = _as_uri(uri)
    cand, factory = _find(iface, text)
    if not create and accepts_create(factory):
        kwargs = {**kwargs, "create": False}
    return _construct(iface, cand, factory, (text,), kwargs)


def resolve_tracking_store(
    uri: "Union[str, os.PathLike[str], None]" = None, *, create: bool = True, **kwargs: Any
) -> TrackingStore:
    """Construct the :class:`TrackingStore` serving ``uri`` (default: :func:`default_tracking_uri`).

    With ``create=False`` only an existing store opens: a missing one raises
    :class:`~storekit.errors.StoreNotFoundError` instead of being created
    (what read-only commands use, so a mistyped path is reported).  The
    keyword reaches implementations whose constructor has a ``create``
    parameter; others are constructed as usual.  Other ``kwargs`` go to the
    constructor.
    """
    return _resolve("tracking", uri if uri is not None else default_tracking_uri(), kwargs, create)


def resolve_registry_store(
    uri: "Union[str, os.PathLike[str], None]" = None, *, create: bool = True, **kwargs: Any
) -> RegistryStore:
    """Construct the :class:`RegistryStore` serving ``uri`` (default: :func:`default_registry_uri`).

    ``create=False`` opens only an existing store, as in :func:`resolve_tracking_store`.
    """
    return _resolve("registry", uri if uri is not None else default_registry_uri(), kwargs, create)


def resolve_artifact_repository(uri: "Union[str, os.PathLike[str]]", **kwargs: Any) -> ArtifactRepository:
    """Construct the :class:`ArtifactRepository` rooted at ``uri``."""
    return _resolve("artifacts", uri, kwargs)


# --- run context providers -------------------------------------------------------


def get_context_providers() -> list[RunContextProvider]:
    """Instances of every installed run context provider, by ``(priority, entry-point name)``.

    A provider that fails to load or construct is reported with a
    :class:`PluginWarning` naming its distribution, version and entry point,
    and skipped.
    """
    iface = INTERFACES["context"]
    found: list[tuple[int, str, RunContextProvider]] = []
    for name in sorted(_index(iface.group)):
        try:
            cand = _select(iface, name)
            if cand is None:  # pragma: no cover - every indexed name has a candidate
                continue
            provider = _construct(iface, cand, _load(iface, cand), (), {})
            priority = provider.priority
            if isinstance(priority, bool) or not isinstance(priority, int):
                raise PluginLoadError(
                    f"run context provider {cand.describe()}: priority must be an int, got {type(priority).__name__}"
                )
        except Exception as exc:
            warnings.warn(PluginWarning(f"run context provider {name!r} skipped: {exc}"), stacklevel=2)
            continue
        found.append((priority, name, provider))
    found.sort(key=lambda item: (item[0], item[1]))
    return [provider for _, _, provider in found]


def collect_context_tags(
    providers: Optional[Sequence[RunContextProvider]] = None,
) -> dict[str, str]:
    """Tags of every provider that is in context, applied in order (later wins).

    A provider whose ``in_context()`` or ``tags()`` raises is reported with a
    :class:`PluginWarning` and skipped; ``None`` values are left out.
    """
    tags: dict[str, str] = {}
    for provider in get_context_providers() if providers is None else providers:
        name = f"{type(provider).__module__}.{type(provider).__qualname__}"
        try:
            if not provider.in_context():
                continue
            new = {str(k): str(v) for k, v in dict(provider.tags()).items() if v is not None}
        except Exception as exc:
            warnings.warn(
                PluginWarning(f"run context provider {name} failed and is skipped: {type(exc).__name__}: {exc}"),
                stacklevel=2,
            )
            continue
        tags.update(new)
    return tags


# --- listing ---------------------------------------------------------------------


def list_implementations(group: Optional[str] = None, load: bool = False) -> list[ImplementationInfo]:
    """Every installed entry point of one interface (or all), with its status.

    With ``load=False`` no plugin module is imported; with ``load=True`` each
    serving entry point is imported and checked (not constructed).
    """
    interfaces = [_interface(group)] if group else list(INTERFACES.values())
    infos: list[ImplementationInfo] = []
    for iface in interfaces:
        for scheme, candidates in sorted(_index(iface.group).items()):
            winner, error = _arbitrate(iface, scheme)
            for cand in candidates:
                if winner is None:
                    status = f"error: {error}"
                elif cand is not winner:
                    status = f"shadowed by {winner.distribution}"
                elif not load:
                    status = "not loaded"
                else:
                    try:
                        _load(iface, cand)
                        status = "ok"
                    except PluginLoadError as exc:
                        status = f"error: {exc}"
                infos.append(
                    ImplementationInfo(
                        interface=iface.key,
                        scheme=scheme,
                        distribution=cand.distribution,
                        version=cand.version,
                        entry_point=cand.value,
                        builtin=cand.builtin,
                        status=status,
                    )
                )
    return infos
