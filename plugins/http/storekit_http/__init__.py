"""storekit-http: storekit's stores on an MLflow-compatible tracking server over ``http(s)://``.

* :class:`HttpTrackingStore` - experiments, runs, metrics, datasets, logged models;
* :class:`HttpRegistryStore` - registered models, versions, stages, aliases;
* :class:`HttpArtifactRepository` - files through the server's ``mlflow-artifacts`` proxy.

Credentials and TLS come from the environment (:mod:`storekit_http.settings`).
"""

from __future__ import annotations

from .artifacts import HttpArtifactRepository
from .registry import HttpRegistryStore
from .settings import HttpSettings
from .tracking import HttpTrackingStore

__all__ = ["HttpTrackingStore", "HttpRegistryStore", "HttpArtifactRepository", "HttpSettings"]
