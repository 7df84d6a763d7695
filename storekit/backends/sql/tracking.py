"""SqlTrackingStore: the tracking store on SQLite, PostgreSQL and MySQL/MariaDB.

:class:`SqlAlchemyTrackingStore` is a thin facade that opens the database; the
operations live in collaborators with the same names as the file backend's:
:mod:`.experiments`, :mod:`.runs`, :mod:`.history`, :mod:`.search` and
:mod:`.logged_models` (plus :mod:`.importing` and :mod:`.purge`).
"""

from __future__ import annotations

from typing import Any, Optional

from ...ids import default_artifact_root as _artifact_root_of
from ...interfaces import TrackingStore
from ...uri import redact_uri
from ..opening import refuse_mlflow_artifact_root
from . import writes
from .experiments import ExperimentOps
from .fastpath import fast_path_for
from .history import HistoryOps
from .importing import SqlTrackingImportOps
from .logged_models import LoggedModelOps
from .migrate import open_database
from .purge import PurgeOps
from .runs import EFFECTIVE_STAGE as EFFECTIVE_STAGE
from .runs import RunOps
from .search import RUN_SPEC, SearchOps
from .secret import store_key
from .store import SQL_TRACKING_CAPABILITIES

__all__ = ["SqlAlchemyTrackingStore", "RUN_SPEC"]


class SqlAlchemyTrackingStore(
    SqlTrackingImportOps,
    LoggedModelOps,
    ExperimentOps,
    RunOps,
    HistoryOps,
    SearchOps,
    PurgeOps,
    TrackingStore,
):
    """The tracking store on SQLAlchemy: every operation, on every SQL database.

    ``SqlAlchemyTrackingStore(uri, default_artifact_root=None, create=True, **engine_options)``;
    ``engine_options`` go to :func:`sqlalchemy.create_engine` (plus
    ``sqlite_synchronous``, default ``NORMAL``).  An empty database gets the
    schema unless ``create=False`` (then :class:`~storekit.errors.StoreNotFoundError`);
    a database with other tables (an MLflow database) raises
    :class:`~storekit.errors.ForeignStoreError` and is left untouched.
    Used through :class:`~.store.SqlTrackingStore`, which serves an up-to-date
    SQLite file without it where it can.
    """

    capabilities = SQL_TRACKING_CAPABILITIES

    def __init__(
        self, uri: str, default_artifact_root: Optional[str] = None, create: bool = True, **engine_options: Any
    ) -> None:
        self._uri = uri
        self._artifact_root = _artifact_root_of(default_artifact_root)
        refuse_mlflow_artifact_root(self._artifact_root)
        self._db = open_database(uri, create=create, **engine_options)
        self._token_key = store_key(self._db)
        self._writes = writes.statements_for(self._db.engine.dialect)
        self._fast = fast_path_for(self._db.engine.dialect)  # PostgreSQL, MySQL/MariaDB: prebuilt SQL

    def __repr__(self) -> str:
        return f"SqlAlchemyTrackingStore({redact_uri(self._uri)!r})"

    def close(self) -> None:
        """Close pooled connections."""
        self._db.dispose()

    @classmethod
    def check_integrity(cls, uri: str, repair: bool = False) -> Any:
        """Check the database at ``uri`` without opening it as a store: see :mod:`.check`."""
        from .check import check_sql_store

        return check_sql_store(uri, repair)
