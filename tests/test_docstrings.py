"""Every public module, class, function and method of storekit and its built-in plugins has a docstring."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from types import ModuleType

import pytest

PACKAGES = [
    "storekit",
    "storekit_s3",
    "storekit_azure",
    "storekit_sftp",
    "storekit_hdfs",
    "storekit_memory",
    "storekit_conformance",
    "storekit_http",
]
# Modules that are pytest entry points or migration scripts, not API.
SKIP_PREFIXES = ("storekit.backends.sql.migrations", "storekit_conformance.tests")


def _modules(package: str) -> list[ModuleType]:
    root = importlib.import_module(package)
    found = [root]
    for info in pkgutil.walk_packages(root.__path__, prefix=package + "."):
        if info.name.startswith(SKIP_PREFIXES):
            continue
        found.append(importlib.import_module(info.name))
    return found


def _public_members(module: ModuleType):
    names = getattr(module, "__all__", None)
    if names is None:
        names = [n for n in vars(module) if not n.startswith("_")]
    for name in names:
        obj = getattr(module, name, None)
        if (inspect.isclass(obj) or inspect.isfunction(obj)) and getattr(obj, "__module__", "") == module.__name__:
            yield name, obj


def _missing(package: str) -> list[str]:
    missing = []
    for module in _modules(package):
        if not (module.__doc__ or "").strip():
            missing.append(module.__name__)
        for name, obj in _public_members(module):
            if not (obj.__doc__ or "").strip():
                missing.append(f"{module.__name__}.{name}")
            if inspect.isclass(obj):
                for attr, member in vars(obj).items():
                    if attr.startswith(("_", "test_")):
                        continue
                    func = member.__func__ if isinstance(member, (classmethod, staticmethod)) else member
                    if (inspect.isfunction(func) or isinstance(member, property)) and not (
                        inspect.getdoc(getattr(obj, attr, None)) or ""
                    ).strip():
                        missing.append(f"{module.__name__}.{name}.{attr}")
    return missing


@pytest.mark.parametrize("package", PACKAGES)
def test_public_names_have_docstrings(package: str) -> None:
    assert _missing(package) == []
