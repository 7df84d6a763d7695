"""The one exception hierarchy of storekit.

Every error a store, repository or the client raises on purpose is a
:class:`StorekitError`.  Backends translate native errors (SQLAlchemy,
botocore, azure, paramiko, pyarrow, OSError) into these at their boundary,
so user code never has to catch a driver's exception type.

Messages never contain credentials: URIs are passed through
:func:`storekit.uri.redact_uri` before they are put into a message.
"""

from __future__ import annotations

__all__ = [
    "StorekitError",
    "InvalidParameterError",
    "InvalidSettingError",
    "NotFoundError",
    "ExperimentNotFound",
    "RunNotFound",
    "ModelNotFound",
    "ModelVersionNotFound",
    "ArtifactNotFound",
    "LoggedModelNotFound",
    "AlreadyExistsError",
    "UnknownSchemeError",
    "PluginLoadError",
    "IncompatiblePluginError",
    "BackendUnavailableError",
    "StoreCorruptionError",
    "SchemaOutOfDateError",
    "ForeignStoreError",
    "StoreNotFoundError",
    "MissingExtraError",
    "AuthenticationError",
    "PermissionDeniedError",
]


class StorekitError(Exception):
    """Base class of every error storekit raises on purpose."""


class InvalidParameterError(StorekitError, ValueError):
    """An argument breaks a limit, a name rule or the filter grammar.

    The message names the field and, where there is one, the limit.
    """


class InvalidSettingError(InvalidParameterError):
    """An environment variable (or the option it stands for) holds a value outside what it accepts.

    The message names the variable and the accepted values or range.
    """


class NotFoundError(StorekitError, LookupError):
    """The requested entity does not exist (or is not visible)."""


class ExperimentNotFound(NotFoundError):
    """No experiment with that id or name."""


class RunNotFound(NotFoundError):
    """No run with that id."""


class ModelNotFound(NotFoundError):
    """No registered model with that name."""


class ModelVersionNotFound(ModelNotFound):
    """No such version (or alias) of a registered model."""


class LoggedModelNotFound(NotFoundError):
    """No logged model with that id."""


class ArtifactNotFound(NotFoundError):
    """No artifact at that path."""


class AlreadyExistsError(StorekitError):
    """An entity with that unique name or id exists already."""


class UnknownSchemeError(StorekitError):
    """No installed implementation handles the URI's scheme."""


class PluginLoadError(StorekitError, ImportError):
    """A plugin's entry point failed to import or to construct.

    The message names the distribution, its version and the entry point;
    the original exception is chained as ``__cause__``.
    """


class IncompatiblePluginError(PluginLoadError):
    """A plugin declares a ``storekit_api`` major version this storekit does not speak."""


class BackendUnavailableError(StorekitError, ConnectionError):
    """The service is down or refused the credentials, after bounded retries."""


class StoreCorruptionError(StorekitError):
    """The store's data on disk or in the database is inconsistent."""


class SchemaOutOfDateError(StorekitError):
    """The database schema is older than this storekit; run ``storekit db upgrade URI``."""


class ForeignStoreError(StorekitError):
    """The location holds data that is not a storekit store (an MLflow store, another application's).

    Raised when a store is opened, before anything is written: storekit never
    writes into a database or directory that is not its own.  The message
    names what was found and, for MLflow stores, the command that copies the
    data into a storekit store (``storekit import-mlflow SRC DST``).
    """


class StoreNotFoundError(NotFoundError):
    """No storekit store exists at the location, and the store was opened with ``create=False``.

    Read-only commands (``storekit experiments list``, ``runs list``,
    ``check``, ...) open stores this way so that a mistyped path is reported
    instead of becoming a new, empty store.
    """


class MissingExtraError(StorekitError, ImportError):
    """An optional library is not installed; the message names the extra that installs it
    (e.g. ``pip install 'storekit[pandas]'``)."""


class AuthenticationError(StorekitError):
    """A request carries no credentials, or credentials that do not identify a user (HTTP 401).

    The message never repeats the password or token that was sent.
    """


class PermissionDeniedError(StorekitError):
    """The authenticated user lacks the permission a request needs (HTTP 403)."""
