"""The one mapping from storekit's error hierarchy to MLflow's error codes.

Every store and repository method of the bridge runs inside
:func:`translate_errors` (applied to whole classes by
:func:`translating_methods`): a :class:`storekit.StorekitError` leaves as an
:class:`mlflow.exceptions.MlflowException` carrying the code MLflow's own
stores use for the same situation, with storekit's message (which names the
field and the limit) unchanged and the original error chained.

=====================================  ==========================
storekit error                         MLflow error code
=====================================  ==========================
``UnsupportedOperationError``          ``NOT_IMPLEMENTED``
``InvalidParameterError``              ``INVALID_PARAMETER_VALUE``
``NotFoundError`` (and subclasses)     ``RESOURCE_DOES_NOT_EXIST``
``AlreadyExistsError``                 ``RESOURCE_ALREADY_EXISTS``
``UnknownSchemeError``                 ``INVALID_PARAMETER_VALUE``
``BackendUnavailableError``            ``TEMPORARILY_UNAVAILABLE``
``SchemaOutOfDateError``               ``INVALID_STATE``
``ForeignStoreError``                  ``INVALID_STATE``
``AuthenticationError``                ``UNAUTHENTICATED``
``PermissionDeniedError``              ``PERMISSION_DENIED``
``MissingExtraError``                  ``INTERNAL_ERROR`` (the server lacks an optional library)
``PluginLoadError``, other errors      ``INTERNAL_ERROR``
=====================================  ==========================
"""

from __future__ import annotations

import contextlib
import functools
import inspect
from typing import Any, Callable, Iterator, TypeVar

from mlflow.exceptions import MlflowException, MlflowNotImplementedException
from mlflow.protos import databricks_pb2

from storekit import (
    AlreadyExistsError,
    BackendUnavailableError,
    ForeignStoreError,
    InvalidParameterError,
    MissingExtraError,
    NotFoundError,
    PluginLoadError,
    SchemaOutOfDateError,
    StorekitError,
    UnknownSchemeError,
    UnsupportedOperationError,
)
from storekit.errors import AuthenticationError, PermissionDeniedError

__all__ = [
    "ERROR_CODES",
    "error_code_for",
    "to_mlflow_exception",
    "translate_errors",
    "translating_methods",
    "not_implemented",
]

#: storekit error class -> MLflow error code name, most specific first.
ERROR_CODES: tuple[tuple[type[StorekitError], str], ...] = (
    (UnsupportedOperationError, "NOT_IMPLEMENTED"),
    (UnknownSchemeError, "INVALID_PARAMETER_VALUE"),
    (InvalidParameterError, "INVALID_PARAMETER_VALUE"),
    (NotFoundError, "RESOURCE_DOES_NOT_EXIST"),
    (AlreadyExistsError, "RESOURCE_ALREADY_EXISTS"),
    (BackendUnavailableError, "TEMPORARILY_UNAVAILABLE"),
    (SchemaOutOfDateError, "INVALID_STATE"),
    (ForeignStoreError, "INVALID_STATE"),
    (AuthenticationError, "UNAUTHENTICATED"),
    (PermissionDeniedError, "PERMISSION_DENIED"),
    (MissingExtraError, "INTERNAL_ERROR"),
    (PluginLoadError, "INTERNAL_ERROR"),
)

_F = TypeVar("_F", bound=Callable[..., Any])
_C = TypeVar("_C", bound=type)


def error_code_for(exc: StorekitError) -> str:
    """The MLflow error code name for a storekit error (``INTERNAL_ERROR`` when none fits)."""
    for cls, code in ERROR_CODES:
        if isinstance(exc, cls):
            return code
    return "INTERNAL_ERROR"


def to_mlflow_exception(exc: StorekitError) -> MlflowException:
    """An MlflowException with the mapped code and storekit's message."""
    code = error_code_for(exc)
    message = str(exc) or type(exc).__name__
    if code == "NOT_IMPLEMENTED":
        return MlflowNotImplementedException(message)
    return MlflowException(message, error_code=getattr(databricks_pb2, code))


@contextlib.contextmanager
def translate_errors() -> Iterator[None]:
    """Re-raise storekit errors raised inside the block as MlflowExceptions (chained)."""
    try:
        yield
    except StorekitError as exc:
        raise to_mlflow_exception(exc) from exc


def _translated(func: _F) -> _F:
    """``func`` with :func:`translate_errors` around every call (sync or async)."""
    if inspect.iscoroutinefunction(func):

        @functools.wraps(func)
        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            with translate_errors():
                return await func(*args, **kwargs)

        return async_wrapper  # type: ignore[return-value]

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with translate_errors():
            return func(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def translating_methods(cls: _C) -> _C:
    """Class decorator: every method defined in ``cls`` itself translates storekit errors.

    Dunder methods are left alone; properties, static and class methods too.
    """
    for name, member in list(vars(cls).items()):
        if name.startswith("__") or not inspect.isfunction(member):
            continue
        setattr(cls, name, _translated(member))
    return cls


_GENAI_REASON = (
    "storekit stores experiments, runs, datasets, logged models, the model registry and "
    "artifacts, not MLflow's GenAI data (traces, assessments, scorers, prompts, gateway, "
    "evaluation datasets...)"
)


def not_implemented(what: str, reason: str = _GENAI_REASON) -> MlflowNotImplementedException:
    """MLflow's own not-implemented error (code ``NOT_IMPLEMENTED``, HTTP 501) for ``what``.

    Used for MLflow's GenAI-only surface (the default ``reason``) and the few
    other things storekit has no place for.  MLflow's client does not retry it
    (unlike a plain ``NotImplementedError``).
    """
    return MlflowNotImplementedException(f"{what} is not supported by the storekit MLflow bridge: {reason}")
