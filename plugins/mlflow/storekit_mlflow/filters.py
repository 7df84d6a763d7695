"""MLflow's search syntax mapped onto storekit's grammar: lives in :mod:`storekit.search.mlflow_syntax`.

It moved to storekit's core so that ``storekit server`` (which has no MLflow) and
this bridge share the one rewrite; the names stay importable from here.
"""

from __future__ import annotations

from storekit.search.mlflow_syntax import (
    EXPERIMENT_ALIASES,
    LOGGED_MODEL_ALIASES,
    MODEL_VERSION_ALIASES,
    PROMPT_TAG,
    REGISTERED_MODEL_ALIASES,
    RUN_ALIASES,
    logged_model_order_by,
    registry_filter,
    rewrite,
    rewrite_order_by,
)

__all__ = [
    "RUN_ALIASES",
    "EXPERIMENT_ALIASES",
    "REGISTERED_MODEL_ALIASES",
    "MODEL_VERSION_ALIASES",
    "LOGGED_MODEL_ALIASES",
    "PROMPT_TAG",
    "rewrite",
    "rewrite_order_by",
    "registry_filter",
    "logged_model_order_by",
]
