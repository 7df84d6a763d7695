"""The RunContextProvider suite (contract sections 1 and 6)."""

from __future__ import annotations

import re

import pytest

from storekit.interfaces import STOREKIT_API, RunContextProvider
from storekit.validation import MAX_KEY_LENGTH, MAX_TAG_VALUE_LENGTH, validate_tag

from .marks import contract
from .suite import SuiteBase

__all__ = ["RunContextProviderSuite"]

_CREDENTIALS_IN_URL = re.compile(r"://[^/@\s:]+:[^/@\s]+@")


class RunContextProviderSuite(SuiteBase):
    """Every context-provider check.  Subclass it and supply a ``context_provider`` fixture (an instance)."""

    __test__ = False
    interface = "context"
    subject_fixture = "context_provider"

    @contract("1", "an implementation declares storekit_api = 1 and a frozenset of Capability")
    def test_declares_api_and_capabilities(self, context_provider: RunContextProvider) -> None:
        assert getattr(context_provider, "storekit_api", None) == STOREKIT_API
        assert isinstance(context_provider.capabilities, frozenset)
        assert isinstance(context_provider, RunContextProvider)

    @contract("6", "priority is an int (providers are ordered by it, never by load order)")
    def test_priority_is_int(self, context_provider: RunContextProvider) -> None:
        assert isinstance(context_provider.priority, int) and not isinstance(context_provider.priority, bool)

    @contract("6", "in_context() returns a bool")
    def test_in_context_is_bool(self, context_provider: RunContextProvider) -> None:
        assert isinstance(context_provider.in_context(), bool)

    @contract("6", "tags() returns str -> str with valid keys (<= 250) and values (<= 8,000)")
    def test_tags_are_valid(self, context_provider: RunContextProvider) -> None:
        if not context_provider.in_context():
            pytest.skip("the provider is not in context here, so its tags() are not used")
        tags = context_provider.tags()
        assert isinstance(tags, dict)
        for key, value in tags.items():
            assert isinstance(key, str) and isinstance(value, str), (key, value)
            assert len(key) <= MAX_KEY_LENGTH and len(value) <= MAX_TAG_VALUE_LENGTH
            validate_tag(key, value, "context tag")

    @contract("6", "tags never carry credentials (URLs with user:password@ are stripped)")
    def test_tags_have_no_credentials(self, context_provider: RunContextProvider) -> None:
        if not context_provider.in_context():
            pytest.skip("the provider is not in context here, so its tags() are not used")
        for key, value in context_provider.tags().items():
            assert not _CREDENTIALS_IN_URL.search(value), f"tag {key!r} holds a URL with credentials"
