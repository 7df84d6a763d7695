"""The context-provider suite against ``--storekit-context-provider`` (an entry-point name, or ``all``)."""

from __future__ import annotations

import importlib.metadata
from typing import Any

import pytest

from storekit_conformance import RunContextProviderSuite

GROUP = "storekit.run_context_provider"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """One run of the suite per selected provider."""
    if "context_provider_name" not in metafunc.fixturenames:
        return
    wanted = str(metafunc.config.getoption("storekit_context_provider"))
    names = sorted({ep.name for ep in importlib.metadata.entry_points(group=GROUP)})
    selected = names if wanted == "all" else [n.strip() for n in wanted.split(",") if n.strip()]
    metafunc.parametrize("context_provider_name", selected, scope="class")


class TestRunContextProvider(RunContextProviderSuite):
    """Finds the provider among ``storekit.plugins.get_context_providers()``."""

    @pytest.fixture(scope="class")
    @classmethod
    def context_provider(cls, context_provider_name: str) -> Any:
        from storekit.plugins import get_context_providers

        eps = [ep for ep in importlib.metadata.entry_points(group=GROUP) if ep.name == context_provider_name]
        if not eps:
            pytest.fail(f"no {GROUP} entry point named {context_provider_name!r}", pytrace=False)
        module, _, qualname = eps[0].value.partition(":")
        for provider in get_context_providers():
            cls = type(provider)  # type: ignore[assignment]
            if (cls.__module__, cls.__qualname__) == (module, qualname):
                return provider
        pytest.fail(
            f"provider {context_provider_name!r} ({eps[0].value}) is installed but "
            "storekit.plugins.get_context_providers() did not load it (see the warnings)",
            pytrace=False,
        )
