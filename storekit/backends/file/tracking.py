"""``FileTrackingStore``: experiments, runs, params, metrics and tags in a directory tree.

Layout and crash-safety are described in :mod:`.layout`, :mod:`.run_index`
and :mod:`.metric_log`.  In short: experiment records are JSON documents
replaced atomically; every change to a run is one line appended to its
experiment's run index while holding that experiment's lock; metric
history goes to a per-run JSON-lines file whose committed length is part
of the index line, so a ``log_batch`` is stored whole or not at all.

The store is a thin facade: it opens the directory and holds the shared state;
the operations live in collaborators with the same names as the SQL
backend's: :mod:`.experiments`, :mod:`.runs`, :mod:`.history`, :mod:`.search`
and :mod:`.logged_models` (plus :mod:`.importing` and :mod:`.purge`).
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any, Optional

from ...entities import Metric
from ...ids import default_artifact_root as configured_artifact_root
from ...interfaces import Capability, TrackingStore
from ...search.inprocess import ResultCache
from ...uri import path_to_file_uri, redact_uri
from ..opening import refuse_mlflow_artifact_root
from .experiments import ExperimentCatalog, FileExperimentOps
from .history import FileHistoryOps
from .importing import FileTrackingImportOps
from .layout import open_root
from .logged_models import FileLoggedModelOps, LoggedModelCatalog
from .purge import FilePurgeOps
from .run_index import ExperimentIndex
from .runs import FileRunOps
from .search import FileSearchOps
from .secret import store_secret

__all__ = ["FileTrackingStore"]


class FileTrackingStore(
    FileExperimentOps,
    FileRunOps,
    FileHistoryOps,
    FileSearchOps,
    FileLoggedModelOps,
    FileTrackingImportOps,
    FilePurgeOps,
    TrackingStore,
):
    """A tracking store on a plain directory tree (``file:`` URIs and bare paths).

    ``FileTrackingStore(uri, default_artifact_root=None, create=True)``: the
    directory is created if missing (with ``create=False`` a missing or empty
    one raises :class:`~storekit.errors.StoreNotFoundError`); a directory
    holding anything else, such as an MLflow ``mlruns/`` tree, raises
    :class:`~storekit.errors.ForeignStoreError` and is left untouched.  Artifacts go under ``default_artifact_root``, else
    ``STOREKIT_ARTIFACT_URI``, else ``<root>/artifacts``.  Set
    ``STOREKIT_FILE_FSYNC=1`` to fsync every write (survives power loss, slower).
    Several threads and processes may write to one store at once.
    """

    capabilities = frozenset(
        {
            Capability.ATOMIC_BATCH,
            Capability.SEARCH_OR,
            Capability.CONCURRENT_WRITERS,
            Capability.MULTIPROCESS_WRITERS,
            Capability.DURABLE,
            Capability.REGISTRY,
            Capability.DATASETS,
            Capability.LOGGED_MODELS,
            Capability.IMPORT,
            Capability.PURGE,
        }
    )

    def __init__(
        self, uri: "str | os.PathLike[str]", default_artifact_root: Optional[str] = None, create: bool = True
    ) -> None:
        self.uri = os.fspath(uri)
        configured = bool(default_artifact_root or os.environ.get("STOREKIT_ARTIFACT_URI"))
        if configured:  # checked before the store is opened (or created)
            refuse_mlflow_artifact_root(configured_artifact_root(default_artifact_root))
        self.root: Path = open_root(uri, create=create)
        self._token_key = store_secret(self.root, create=create)
        if configured:
            self.default_artifact_root = configured_artifact_root(default_artifact_root)
        else:
            self.default_artifact_root = path_to_file_uri(self.root / "artifacts")
        self._experiments = ExperimentCatalog(self.root)
        self._models = LoggedModelCatalog(self.root, self._experiments.ids)
        self._mutex = threading.RLock()
        self._indexes: dict[str, ExperimentIndex] = {}
        self._run_experiment: dict[str, str] = {}
        self._results = ResultCache()
        self._history: "OrderedDict[tuple[str, str], tuple[int, list[Metric]]]" = OrderedDict()

    def __repr__(self) -> str:
        return f"FileTrackingStore({redact_uri(self.uri)!r})"

    def close(self) -> None:
        """Close the index files this store holds open."""
        with self._mutex:
            for index in self._indexes.values():
                index.close()
            self._experiments.lock.close()
            self._indexes.clear()
            self._history.clear()

    @classmethod
    def check_integrity(cls, uri: str, repair: bool = False) -> Any:
        """Check the store at ``uri`` (with ``repair``, clean up after crashes): see :mod:`.check`."""
        from .check import check_file_store

        return check_file_store(uri, repair)
