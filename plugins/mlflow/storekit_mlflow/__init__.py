"""storekit-mlflow: MLflow 3's client, server and UI on any storekit store.

Installs MLflow plugins for the URI scheme ``storekit``: a tracking store, a
model registry store and an artifact repository.  ``storekit:`` followed by
any storekit URI is an MLflow URI::

    MLFLOW_TRACKING_URI=storekit:sqlite:////abs/path/storekit.db python train.py
    mlflow server --backend-store-uri storekit:postgresql://user@host/db \\
                  --artifacts-destination storekit:s3://bucket/prefix

Modules: :mod:`~storekit_mlflow.uris` (the URI wrapper),
:mod:`~storekit_mlflow.errors` (storekit errors to MLflow error codes),
:mod:`~storekit_mlflow.conversion` (entities both ways),
:mod:`~storekit_mlflow.filters` (MLflow's search syntax),
:mod:`~storekit_mlflow.tracking`, :mod:`~storekit_mlflow.registry`,
:mod:`~storekit_mlflow.artifacts` (the three adapters) and
:mod:`~storekit_mlflow.genai` (the NOT_IMPLEMENTED GenAI surface).
MLflow is imported only when a module other than this one is imported.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
