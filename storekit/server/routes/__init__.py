"""The routes of ``storekit server``, one module per area; :data:`ROUTES` is the whole table."""

from __future__ import annotations

from ..table import Route
from . import accounts, artifacts, datasets, experiments, logged_models, metrics, registry, runs, server

__all__ = ["ROUTES"]

#: Every route the server serves, in the order the OpenAPI document lists them.
ROUTES: tuple[Route, ...] = (
    *server.ROUTES,
    *experiments.ROUTES,
    *runs.ROUTES,
    *metrics.ROUTES,
    *datasets.ROUTES,
    *logged_models.ROUTES,
    *registry.ROUTES,
    *artifacts.ROUTES,
    *accounts.ROUTES,
)
