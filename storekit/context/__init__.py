"""Built-in run context providers (contract section 6).

Each provider describes one aspect of where a run was started (the user,
the entry-point script, the git checkout, the host, the Python
interpreter).  They are registered as entry points of the group
``storekit.run_context_provider`` and applied by
:func:`storekit.plugins.collect_context_tags` in ascending ``priority``.

:class:`BuiltinContextProvider` holds what the built-ins share: the
contract declarations, a constructor that accepts (and ignores) an optional
URI, and :meth:`~BuiltinContextProvider.clean` which keeps only tags that
pass :func:`storekit.validation.validate_tag`.
"""

from __future__ import annotations

import warnings
from typing import Any, ClassVar, Mapping, Optional

from ..errors import InvalidParameterError
from ..interfaces import STOREKIT_API, Capability, RunContextProvider
from ..validation import MAX_TAG_VALUE_LENGTH, validate_tag

__all__ = ["BuiltinContextProvider", "clean_tags"]


def clean_tags(tags: Mapping[str, Optional[str]], provider: str = "context provider") -> dict[str, str]:
    """Return the tags of ``tags`` that are valid run tags.

    ``None`` values are dropped silently (the fact is unknown); values
    longer than the tag limit are shortened with a trailing ``...`` and a
    warning, because a context tag is descriptive and losing the whole run
    over it would be worse; any other invalid tag is dropped with a warning
    naming the key and the reason.
    """
    result: dict[str, str] = {}
    for key, value in tags.items():
        if value is None:
            continue
        text = str(value)
        if len(text) > MAX_TAG_VALUE_LENGTH:
            warnings.warn(
                f"{provider}: tag {key!r} value of {len(text)} characters shortened to the "
                f"limit of {MAX_TAG_VALUE_LENGTH}",
                stacklevel=2,
            )
            text = text[: MAX_TAG_VALUE_LENGTH - 3] + "..."
        try:
            validate_tag(key, text)
        except InvalidParameterError as exc:
            warnings.warn(f"{provider}: tag skipped: {exc}", stacklevel=2)
            continue
        result[key] = text
    return result


class BuiltinContextProvider(RunContextProvider):
    """Common base of storekit's own context providers.

    Constructed with no argument or, like every entry-point object, with a
    URI it does not need.
    """

    storekit_api: ClassVar[int] = STOREKIT_API
    capabilities: ClassVar[frozenset[Capability]] = frozenset()

    def __init__(self, uri: Optional[str] = None, **options: Any) -> None:
        self.uri = uri

    def in_context(self) -> bool:
        """Built-in providers apply everywhere unless they say otherwise."""
        return True

    def tags(self) -> dict[str, str]:
        """The provider's valid tags (see :meth:`raw_tags` and :func:`clean_tags`)."""
        return clean_tags(self.raw_tags(), type(self).__name__)

    def raw_tags(self) -> Mapping[str, Optional[str]]:
        """The tags before validation; ``None`` values mean unknown and are dropped."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(priority={self.priority})"
