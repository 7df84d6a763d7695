"""The base of every suite: collection switch, capabilities, expected failures.

A suite class is inert (``__test__ = False``) until it is subclassed; the
subclass supplies the fixture named by :attr:`SuiteBase.subject_fixture`
(``tracking_store``, ``artifact_repository``, ``registry_store`` or
``context_provider``).  Checks marked with :func:`~storekit_conformance.marks.requires`
are skipped, with the reason, when the implementation does not declare the
capability; checks marked with :func:`~storekit_conformance.marks.requires_new_store`
are skipped unless the fixture ``store_is_new`` says the store was opened on
an empty location.  ``expected_failures = {"test_name": "reason"}`` on the subclass
turns the named checks into strict xfails (a check that unexpectedly passes
then fails, so the map cannot go stale).
"""

from __future__ import annotations

import types
from typing import Any, Callable, ClassVar, Mapping

import pytest

from storekit.interfaces import Capability

from .marks import capability_of, needs_new_store

__all__ = ["SuiteBase", "implementation_name"]


def implementation_name(obj: object) -> str:
    """``module:QualifiedName`` of an implementation object's class."""
    cls = obj if isinstance(obj, type) else type(obj)
    return f"{cls.__module__}:{cls.__qualname__}"


def _copy_with_mark(func: Callable[..., Any], mark: pytest.MarkDecorator) -> Callable[..., Any]:
    """A copy of ``func`` carrying one more mark (the original, shared by other suites, is untouched)."""
    new = types.FunctionType(func.__code__, func.__globals__, func.__name__, func.__defaults__, func.__closure__)
    new.__dict__.update(func.__dict__)
    new.__dict__["pytestmark"] = [*getattr(func, "pytestmark", []), mark.mark]
    new.__kwdefaults__ = func.__kwdefaults__
    new.__qualname__ = func.__qualname__
    new.__doc__ = func.__doc__
    return new


class SuiteBase:
    """Common machinery of the four suites; subclass a concrete suite, not this."""

    __test__ = False
    #: Lets the pytest plugin recognise suite classes without importing them.
    __storekit_suite__: ClassVar[bool] = True
    #: Interface name used in reports: ``tracking``, ``artifacts``, ``registry`` or ``context``.
    interface: ClassVar[str] = ""
    #: The fixture that builds the implementation under test.
    subject_fixture: ClassVar[str] = ""
    #: Known deviations: check name (``test_x`` or ``test_x[param]``) -> reason; strict xfail.
    expected_failures: ClassVar[Mapping[str, str]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "__test__" not in cls.__dict__:
            cls.__test__ = True
        for name, reason in dict(cls.__dict__.get("expected_failures", {})).items():
            base_name = name.split("[", 1)[0]
            func = getattr(cls, base_name, None)
            if not callable(func) or not base_name.startswith("test_"):
                raise TypeError(f"{cls.__name__}.expected_failures names {name!r}, which is not a check of the suite")
            if "[" not in name:  # parametrized ids are handled at collection by the pytest plugin
                mark = pytest.mark.xfail(strict=True, reason=f"expected failure: {reason}")
                setattr(cls, base_name, _copy_with_mark(func, mark))

    @pytest.fixture
    def store_is_new(self) -> bool:
        """Whether the store under test was opened on an empty location for this run (not a live store).

        Override it to return True when your fixture builds the store on a new
        directory, database or name: the checks of what a new store holds
        (``@requires_new_store``) then run instead of being skipped.  The
        packaged checks (``--storekit-uri``) find it out themselves: the
        location is new when ``resolve_*_store(uri, create=False)`` raises
        ``StoreNotFoundError`` before the suite opens it.
        """
        return False

    # -- capabilities --------------------------------------------------
    def declared_capabilities(self, subject: Any) -> frozenset[Capability]:
        """The capabilities the implementation under test declares."""
        return frozenset(getattr(subject, "capabilities", frozenset()))

    @pytest.fixture(autouse=True)
    def _storekit_capability_gate(self, request: pytest.FixtureRequest) -> None:
        """Skip a check whose required capability is not declared; record what was declared."""
        subject = request.getfixturevalue(self.subject_fixture)
        described = self.describe_subject(subject)
        declared = frozenset(Capability(c) for c in described["capabilities"])
        request.node.user_properties.append(("storekit_interface", self.interface))
        request.node.user_properties.append(("storekit_implementation", described["implementation"]))
        request.node.user_properties.append(("storekit_capabilities", sorted(c.value for c in declared)))
        missing = [c for c in capability_of(request.node) if c not in declared]
        if missing:
            pytest.skip(
                f"capability {', '.join(c.name for c in missing)} not declared by {described['implementation']}"
            )
        if needs_new_store(request.node) and not request.getfixturevalue("store_is_new"):
            pytest.skip(
                "needs a new store: the suite was not told the store was opened on an empty location "
                "(a live store holds its users' data; override the store_is_new fixture when it is new)"
            )

    def describe_subject(self, subject: Any) -> dict[str, Any]:
        """Implementation name and declared capabilities of the fixture's object."""
        return {
            "implementation": implementation_name(subject),
            "capabilities": sorted(c.value for c in self.declared_capabilities(subject)),
        }
