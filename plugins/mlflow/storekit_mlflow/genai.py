"""MLflow's GenAI-only store surface: answered with MLflow's not-implemented error.

storekit stores classic tracking data.  MLflow's stores also carry traces,
spans, assessments, issues, scorers, label schemas, review queues,
evaluation datasets, prompts, the AI gateway and MCP servers; the bridge
answers every such method with :class:`mlflow.exceptions.MlflowNotImplementedException`
(error code ``NOT_IMPLEMENTED``, HTTP 501 through ``mlflow server``), never
with a plain ``NotImplementedError`` (which MLflow's client retries for minutes).

The stubs are generated from MLflow's own abstract classes by name
(:data:`GENAI_NAME`), so a newer MLflow 3.x that adds GenAI methods is
covered without a code change; a method that is neither implemented by the
bridge nor GenAI is left alone, and the bridge's tests fail on it.
"""

from __future__ import annotations

import functools
import inspect
import re
from typing import Any, Callable, Iterable

from .errors import not_implemented

__all__ = ["GENAI_NAME", "is_genai", "genai_methods", "install_not_implemented"]

#: Method names of MLflow's GenAI-only surface.
GENAI_NAME = re.compile(
    r"trace|span|assessment|issue|scorer|scoring|label_schema|review_queue|user_queue|prompt|gateway|"
    r"endpoint|guardrail|budget|secret|mcp_|completed_sessions|"
    # evaluation datasets (not the run inputs the UI summarises with ``_search_datasets``)
    r"^(create_dataset|get_dataset|delete_dataset|search_datasets|upsert_dataset_records|"
    r"delete_dataset_records|set_dataset_tags|delete_dataset_tag|get_dataset_experiment_ids|"
    r"_load_dataset_records|add_dataset_to_experiments|remove_dataset_from_experiments)$"
)


def is_genai(name: str) -> bool:
    """Whether a store method name belongs to MLflow's GenAI-only surface."""
    return GENAI_NAME.search(name) is not None


def _public_methods(base: type) -> Iterable[str]:
    for name in dir(base):
        if name.startswith("__"):
            continue
        static = inspect.getattr_static(base, name)
        if isinstance(static, property):
            continue
        if callable(getattr(base, name, None)):
            yield name


def genai_methods(base: type) -> list[str]:
    """The GenAI method names of an MLflow store class (public or ``_``-prefixed)."""
    return sorted(n for n in _public_methods(base) if is_genai(n))


def _stub(name: str, original: Callable[..., Any]) -> Callable[..., Any]:
    if inspect.iscoroutinefunction(original):

        async def async_stub(self: Any, *args: Any, **kwargs: Any) -> Any:
            raise not_implemented(f"{name}()")

        stub: Callable[..., Any] = async_stub
    else:

        def sync_stub(self: Any, *args: Any, **kwargs: Any) -> Any:
            raise not_implemented(f"{name}()")

        stub = sync_stub
    stub.__name__ = stub.__qualname__ = name
    stub.__doc__ = f"Not supported: MLflow's GenAI-only ``{name}`` raises MLflow's NOT_IMPLEMENTED error."
    functools.update_wrapper(stub, original, assigned=("__module__",), updated=())
    stub.__module__ = __name__
    return stub


def install_not_implemented(cls: type, base: type) -> type:
    """Give ``cls`` a NOT_IMPLEMENTED stub for every GenAI method of ``base`` it does not define."""
    for name in genai_methods(base):
        if name in vars(cls):
            continue
        setattr(cls, name, _stub(name, getattr(base, name)))
    return cls
