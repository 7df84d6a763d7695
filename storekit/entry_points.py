"""A fast reader of installed distributions' entry points, without :mod:`importlib.metadata`.

:func:`importlib.metadata.distributions` builds a ``Distribution`` object
per installed package and parses every ``METADATA`` file through the
``email`` package; with a few hundred packages installed that cost more
than opening a SQLite store and running its first query.  This reader walks
the directories on ``sys.path`` as ``importlib.metadata``'s path finder does
(``*.dist-info`` and ``*.egg-info`` directories, the first distribution of
a name wins), reads each ``entry_points.txt`` with a strict parser of the
same format, and reads a distribution's name and version from the header of
its ``METADATA`` (``PKG-INFO``) only when it declares an entry point of the
group asked for.

When a sys.path entry is a zip archive, or a meta-path finder other than
the standard path finder can provide distributions, the whole scan goes
through :mod:`importlib.metadata` instead, so nothing installed is missed.
"""

from __future__ import annotations

import importlib
import os
import re
import sys
from dataclasses import dataclass
from typing import Any, Iterator, Optional

__all__ = ["EntryPointRef", "InstalledEntryPoints", "MetadataError", "scan", "parse_entry_points", "clear_cache"]

_SUFFIXES = (".dist-info", ".egg-info")
#: ``module:attr.attr [extras]`` as in :class:`importlib.metadata.EntryPoint`
_VALUE = re.compile(r"(?P<module>[\w.]+)\s*(:\s*(?P<attr>[\w.]+)\s*)?((?P<extras>\[.*\])\s*)?$")
_SEPARATORS = re.compile(r"[-_.]+")
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0)


class MetadataError(ValueError):
    """An installed distribution's metadata cannot be read (malformed or not UTF-8)."""


@dataclass(frozen=True)
class EntryPointRef:
    """One entry point: ``name = value`` in ``group``, loadable like :class:`importlib.metadata.EntryPoint`."""

    name: str
    value: str
    group: str

    def load(self) -> Any:
        """Import the module named by ``value`` and return the attribute it names (or the module)."""
        match = _VALUE.match(self.value)
        if match is None:
            raise ValueError(f"entry point {self.name} = {self.value!r} is not 'module:attribute'")
        obj: Any = importlib.import_module(match.group("module"))
        for attr in filter(None, (match.group("attr") or "").split(".")):
            obj = getattr(obj, attr)
        return obj


@dataclass(frozen=True)
class InstalledEntryPoints:
    """The entry points of one group declared by one installed distribution."""

    distribution: str
    version: str
    entry_points: tuple[EntryPointRef, ...]


def parse_entry_points(text: str) -> dict[str, list[tuple[str, str]]]:
    """``group -> [(name, value)]`` of an ``entry_points.txt``; :class:`MetadataError` if it is malformed."""
    groups: dict[str, list[tuple[str, str]]] = {}
    current: Optional[list[tuple[str, str]]] = None
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = groups.setdefault(line[1:-1].strip(), [])
            continue
        name, sep, value = line.partition("=")
        if current is None or not sep or not name.strip():
            raise MetadataError(f"entry_points.txt line {number}: expected '[group]' or 'name = value', got {line!r}")
        current.append((name.strip(), value.strip()))
    return groups


def _read_text(path: str) -> Optional[str]:
    """The UTF-8 text of ``path``, None if it does not exist; :class:`MetadataError` if it cannot be read.

    Read with :func:`os.open` / :func:`os.read` rather than :func:`open`: a
    scan tries one file per installed distribution, most of them absent, and
    the text-file layers cost more than the system calls.  Line endings are
    left as they are (every reader here splits with :meth:`str.splitlines`).
    """
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise MetadataError(f"{os.path.basename(path)}: {type(exc).__name__}: {exc}") from None
    try:
        chunks = []
        while True:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks).decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise MetadataError(f"{os.path.basename(path)}: {type(exc).__name__}: {exc}") from None
    finally:
        os.close(fd)


def _name_and_version(meta_dir: str) -> tuple[Optional[str], Optional[str]]:
    """``Name`` and ``Version`` from the header of the distribution's core metadata."""
    text = _read_text(os.path.join(meta_dir, "METADATA"))
    if text is None:
        text = _read_text(os.path.join(meta_dir, "PKG-INFO"))
    name = version = None
    for line in (text or "").splitlines():
        if not line.strip():
            break  # the end of the header: the description follows
        field, sep, value = line.partition(":")
        if not sep:
            continue
        field = field.strip().lower()
        if field == "name" and name is None:
            name = value.strip()
        elif field == "version" and version is None:
            version = value.strip()
    return name, version


def _normalize(name: str) -> str:
    return _SEPARATORS.sub("-", name).lower()


def _metadata_dirs(entry: str) -> list[str]:
    try:
        with os.scandir(entry or ".") as found:
            names = [e.name for e in found if e.name.lower().endswith(_SUFFIXES) and e.is_dir()]
    except OSError:
        return []
    return [os.path.join(entry or ".", name) for name in sorted(names)]


def _needs_importlib() -> bool:
    """Whether a meta-path finder other than the standard path finder can provide distributions."""
    from importlib.machinery import PathFinder

    return any(
        finder is not PathFinder and getattr(finder, "find_distributions", None) is not None for finder in sys.meta_path
    )


def _from_importlib(paths: list[str], group: str, seen: set[str]) -> Iterator[tuple[str, Any]]:
    """(label, InstalledEntryPoints or MetadataError) of distributions found by importlib.metadata."""
    from importlib.metadata import distributions

    kwargs: dict[str, Any] = {"path": paths} if paths else {}
    for dist in distributions(**kwargs):
        path = getattr(dist, "_path", None)
        label = os.fspath(path.name if hasattr(path, "name") else path) if path is not None else repr(dist)
        try:
            key = _normalize(getattr(dist, "_normalized_name", None) or dist.metadata["Name"] or "")
            if key in seen:
                continue
            seen.add(key)
            selected = tuple(EntryPointRef(ep.name, ep.value, group) for ep in dist.entry_points if ep.group == group)
            if not selected:
                continue
            yield label, InstalledEntryPoints(dist.metadata["Name"] or label, dist.version or "?", selected)
        except Exception as exc:
            yield label, MetadataError(f"{type(exc).__name__}: {exc}")


#: one entry of a directory scan: (label, normalised name, metadata directory, groups or the error)
_Found = tuple[str, str, str, Any]
_CACHE: dict[tuple[str, ...], list[_Found]] = {}


def clear_cache() -> None:
    """Forget the parsed ``entry_points.txt`` files (after installing or removing a distribution)."""
    _CACHE.clear()


def _scan_directories(entries: tuple[str, ...]) -> list[_Found]:
    """Every distribution in the directories ``entries`` with its parsed entry points, first of a name only."""
    cached = _CACHE.get(entries)
    if cached is not None:
        return cached
    found: list[_Found] = []
    seen: set[str] = set()
    for entry in entries:
        for meta_dir in _metadata_dirs(entry):
            label = os.path.basename(meta_dir)
            key = _normalize(label[: label.lower().rfind(".")].partition("-")[0])
            if key in seen:
                continue
            seen.add(key)
            try:
                text = _read_text(os.path.join(meta_dir, "entry_points.txt"))
                groups: Any = parse_entry_points(text) if text else {}
            except MetadataError as exc:
                groups = exc
            found.append((label, key, meta_dir, groups))
    _CACHE[entries] = found
    return found


def scan(group: str, path: Optional[list[str]] = None) -> Iterator[tuple[str, Any]]:
    """``(metadata directory name, InstalledEntryPoints | MetadataError)`` per distribution declaring ``group``.

    Distributions are visited in ``sys.path`` order and the first of a
    (normalised) name wins, as in :func:`importlib.metadata.entry_points`.
    Every ``entry_points.txt`` is parsed (once per process, until
    :func:`clear_cache`), so a malformed one is reported whatever group it
    declares; a distribution without entry points in ``group`` is otherwise
    not yielded.
    """
    entries = list(sys.path if path is None else path)
    if path is None and _needs_importlib():
        yield from _from_importlib([], group, set())
        return
    if any(entry and not os.path.isdir(entry) and os.path.isfile(entry) for entry in entries):
        # a zip archive on sys.path: importlib.metadata reads it (and keeps the sys.path order)
        yield from _from_importlib(entries, group, set())
        return
    for label, _key, meta_dir, groups in _scan_directories(tuple(e for e in entries if not e or os.path.isdir(e))):
        if isinstance(groups, MetadataError):
            yield label, groups
            continue
        declared = groups.get(group)
        if not declared:
            continue
        try:
            name, version = _name_and_version(meta_dir)
        except MetadataError as exc:
            yield label, exc
            continue
        refs = tuple(EntryPointRef(n, v, group) for n, v in declared)
        yield label, InstalledEntryPoints(name or label, version or "?", refs)
