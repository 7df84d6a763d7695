"""Choose the MLflow reader for ``storekit import-mlflow SRC``: an ``mlruns/`` directory or a database URI."""

from __future__ import annotations

from typing import Any, Optional

from ..errors import InvalidParameterError
from ..uri import get_scheme, redact_uri

__all__ = ["open_mlflow_source", "DATABASE_SCHEMES"]

#: URI schemes read as MLflow databases (a driver suffix such as ``+pymysql`` is allowed).
DATABASE_SCHEMES = ("sqlite", "postgresql", "postgres", "mysql", "mariadb")


def open_mlflow_source(uri: str, registry_uri: Optional[str] = None) -> Any:
    """An :class:`~.mlflow_files.MlrunsSource` or :class:`~.mlflow_db.MlflowDatabaseSource` for ``uri``.

    ``registry_uri`` names a separate MLflow registry database (default: the
    registry tables of ``uri`` itself, or ``mlruns/models``).
    """
    scheme = get_scheme(uri).split("+", 1)[0].lower()
    if scheme in DATABASE_SCHEMES:
        from .mlflow_db import MlflowDatabaseSource

        return MlflowDatabaseSource(uri, registry_uri)
    if scheme in ("", "file"):
        if registry_uri:
            raise InvalidParameterError(
                f"--registry-uri {redact_uri(registry_uri)}: an mlruns/ source reads its registry from mlruns/models"
            )
        from .mlflow_files import MlrunsSource

        return MlrunsSource(uri)
    raise InvalidParameterError(
        f"SRC {redact_uri(uri)}: expected an mlruns/ directory or an MLflow database URI "
        f"({', '.join(DATABASE_SCHEMES)})"
    )
