"""``storekit server``: MLflow's REST API on any storekit backend (extra ``storekit[server]``).

Tracking, registry, logged models, datasets and proxied artifacts at MLflow's
paths (``/api/2.0/mlflow/...``, ``/ajax-api/2.0/mlflow/...``,
``/api/2.0/mlflow-artifacts/artifacts/...``), ``/health``, ``/version`` and
``/openapi.json``, on Starlette and uvicorn, without MLflow installed.

* :mod:`~storekit.server.table` - the one route table's types (fields, routes, parsing);
* :mod:`~storekit.server.routes` - the routes, one module per area;
* :mod:`~storekit.server.app` - the ASGI app built from the table;
* :mod:`~storekit.server.errors` - exceptions -> MLflow's error JSON and HTTP statuses;
* :mod:`~storekit.server.auth` - the authorization hook;
* :mod:`~storekit.server.openapi` - the OpenAPI document built from the table;
* :mod:`~storekit.server.settings` - what a server serves and its limits;
* :mod:`~storekit.server.run` - running it under uvicorn (``storekit server``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .settings import ServerSettings

if TYPE_CHECKING:
    from starlette.applications import Starlette

__all__ = ["ServerSettings", "create_app"]


def create_app(settings: ServerSettings) -> "Starlette":
    """The server's ASGI app (see :func:`storekit.server.app.create_app`)."""
    from .app import create_app as _create

    return _create(settings)
