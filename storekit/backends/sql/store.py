"""``SqlTrackingStore``: the SQL tracking store, opened without SQLAlchemy where that is possible.

An up-to-date SQLite file (``sqlite:///path``) opens on plain :mod:`sqlite3`
connections (:mod:`.raw`): ``create_run``, ``get_run``, ``update_run_info``,
``get_metric_history``, ``log_batch`` (and ``log_metric``/``log_param``/``set_tag``),
``search_runs`` and ``search_experiments`` run there (:mod:`.raw_ops`), so a script that opens a
local store and logs or reads runs never imports SQLAlchemy or Alembic.  Every
other operation, and every other database (PostgreSQL, MySQL/MariaDB, a new,
old or in-memory SQLite database), goes to
:class:`~.tracking.SqlAlchemyTrackingStore`, made on first use.  Both work on
the same database with the same rules; page tokens are valid on either.
"""

from __future__ import annotations

import abc
import threading
from typing import TYPE_CHECKING, Any, Callable, Mapping, Optional, Sequence, cast

from ... import rules
from ...entities import Experiment, Metric, PagedList, Param, Run, RunInfo, RunStatus, RunTag, ViewType
from ...ids import default_artifact_root as _artifact_root_of
from ...ids import now_ms
from ...interfaces import DEFAULT_MAX_RESULTS, Capability, TrackingStore
from ...rules import validate_key, validate_max_results
from ...uri import redact_uri
from ..opening import refuse_mlflow_artifact_root
from . import raw_ops
from .raw import RawSqlite, open_current

if TYPE_CHECKING:
    from .tracking import SqlAlchemyTrackingStore

__all__ = ["SqlTrackingStore", "SQL_TRACKING_CAPABILITIES"]

#: What the SQL tracking store supports, on every database.
SQL_TRACKING_CAPABILITIES = frozenset(
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


class SqlTrackingStore(TrackingStore):
    """Tracking store on a SQL database (``sqlite:``, ``postgresql:``, ``mysql:``, ``mariadb:``).

    ``SqlTrackingStore(uri, default_artifact_root=None, create=True, **engine_options)``;
    ``engine_options`` go to :func:`sqlalchemy.create_engine` (plus
    ``sqlite_synchronous``, default ``NORMAL``, and ``statement_timeout``).
    An empty database gets the schema unless ``create=False`` (then
    :class:`~storekit.errors.StoreNotFoundError`); a database with other
    tables (an MLflow database) raises :class:`~storekit.errors.ForeignStoreError`
    and is left untouched.  An up-to-date SQLite file opens without SQLAlchemy
    (see the module documentation).
    """

    capabilities = SQL_TRACKING_CAPABILITIES

    def __init__(
        self, uri: str, default_artifact_root: Optional[str] = None, create: bool = True, **engine_options: Any
    ) -> None:
        self._uri = uri
        self._open_args = (default_artifact_root, create, engine_options)
        self._sa: Optional[SqlAlchemyTrackingStore] = None
        self._sa_lock = threading.Lock()
        self._raw: Optional[RawSqlite] = None
        # ``_token_key`` (the page-token secret) is set here only on the raw path; on every
        # other database it is the SQLAlchemy store's, reached through ``__getattr__``.
        self._token_key: bytes
        refuse_mlflow_artifact_root(_artifact_root_of(default_artifact_root))
        opened = open_current(uri, engine_options)
        if opened is None:
            self._full()  # opens (creates, refuses) the database as before
            opened = open_current(uri, engine_options)  # a SQLite store just created is current now
        if opened is not None:
            self._raw, self._token_key = opened

    def __repr__(self) -> str:
        return f"SqlTrackingStore({redact_uri(self._uri)!r})"

    def _full(self) -> SqlAlchemyTrackingStore:
        """The SQLAlchemy implementation of this store (opened on first use)."""
        if self._sa is None:
            with self._sa_lock:
                if self._sa is None:
                    from .tracking import SqlAlchemyTrackingStore

                    root, create, options = self._open_args
                    self._sa = SqlAlchemyTrackingStore(self._uri, root, create, **options)
        return self._sa

    def __getattr__(self, name: str) -> Any:
        # Anything not defined here (import hooks, ``_db``...) is the SQLAlchemy store's.
        if name.startswith("__") or name in ("_sa", "_raw", "_open_args", "_sa_lock", "_uri"):
            raise AttributeError(name)
        return getattr(self._full(), name)

    def close(self) -> None:
        """Close the raw connections and pooled connections."""
        if self._raw is not None:
            self._raw.close()
        if self._sa is not None:
            self._sa.close()

    @classmethod
    def check_integrity(cls, uri: str, repair: bool = False) -> Any:
        """Check the database at ``uri`` without opening it as a store: see :mod:`.check`."""
        from .check import check_sql_store

        return check_sql_store(uri, repair)

    # --- the raw SQLite path ---------------------------------------------------
    def create_run(
        self,
        experiment_id: str,
        user_id: Optional[str] = None,
        start_time: Optional[int] = None,
        tags: Optional[Mapping[str, str]] = None,
        run_name: Optional[str] = None,
    ) -> Run:
        """Create a RUNNING run in an active experiment."""
        if self._raw is None:
            return self._full().create_run(experiment_id, user_id, start_time, tags, run_name)
        rules.validate_experiment_id(experiment_id)
        name = rules.validate_run_name(run_name)
        tag_map = rules.validate_run_tags(tags)
        user = rules.validate_user_id(user_id)
        start_time = rules.validate_millis(start_time, "start_time")
        start = now_ms() if start_time is None else start_time
        return self._raw.run(lambda cur: raw_ops.create_run(cur, experiment_id, user, start, tag_map, name))

    def update_run_info(
        self,
        run_id: str,
        status: Optional[RunStatus] = None,
        end_time: Optional[int] = None,
        run_name: Optional[str] = None,
    ) -> RunInfo:
        """Change status, end time and/or name."""
        if self._raw is None:
            return self._full().update_run_info(run_id, status, end_time, run_name)
        values = rules.validate_run_update(status, end_time, run_name).changes()
        if "run_name" in values:
            values["name"] = values.pop("run_name")
        return self._raw.run(lambda cur: raw_ops.update_run_info(cur, run_id, values))

    def get_run(self, run_id: str) -> Run:
        """The run (active or deleted) with latest metrics, params and tags."""
        if self._raw is None:
            return self._full().get_run(run_id)
        return self._raw.run(lambda cur: raw_ops.get_run(cur, run_id), write=False)

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric] = (),
        params: Sequence[Param] = (),
        tags: Sequence[RunTag] = (),
    ) -> None:
        """Store metrics, params and tags in one transaction (all or nothing)."""
        if self._raw is None:
            return self._full().log_batch(run_id, metrics, params, tags)
        metrics, params, tags = rules.validate_batch_args(metrics, params, tags)
        rules.validate_run_id(run_id)
        if any(m.model_id is not None for m in metrics):  # logged-model bookkeeping lives on the other path
            return self._full().log_batch(run_id, metrics, params, tags)
        self._raw.run(lambda cur: raw_ops.log_batch(cur, run_id, metrics, params, tags))
        return None

    def get_metric_history(
        self, run_id: str, key: str, max_results: Optional[int] = None, page_token: Optional[str] = None
    ) -> PagedList[Metric]:
        """Every point of a metric by ``(step, timestamp)``, then logging order."""
        if self._raw is None:
            return self._full().get_metric_history(run_id, key, max_results, page_token)
        validate_key(key, "metric key")
        rules.validate_run_id(run_id)
        limit = validate_max_results(max_results) if max_results is not None else None
        points, token = self._raw.run(
            lambda cur: raw_ops.metric_history(cur, run_id, key, limit, page_token, self._token_key), write=False
        )
        return PagedList(points, token)

    def search_runs(
        self,
        experiment_ids: Sequence[str],
        filter_string: Optional[str] = None,
        view_type: ViewType = ViewType.ACTIVE_ONLY,
        max_results: int = DEFAULT_MAX_RESULTS,
        order_by: Optional[Sequence[str]] = None,
        page_token: Optional[str] = None,
    ) -> PagedList[Run]:
        """Runs of the experiments matching the filter, keyset-paginated."""
        if self._raw is None:
            return self._full().search_runs(experiment_ids, filter_string, view_type, max_results, order_by, page_token)
        runs, token = self._raw.run(
            lambda cur: raw_ops.search_runs(
                cur, experiment_ids, filter_string, view_type, max_results, order_by, page_token, self._token_key
            ),
            write=False,
        )
        return PagedList(runs, token)

    def search_experiments(
        self,
        view_type: ViewType = ViewType.ACTIVE_ONLY,
        max_results: int = DEFAULT_MAX_RESULTS,
        filter_string: Optional[str] = None,
        order_by: Optional[Sequence[str]] = None,
        page_token: Optional[str] = None,
    ) -> PagedList[Experiment]:
        """Experiments matching the filter; default order ``creation_time DESC, experiment_id``."""
        if self._raw is None:
            return self._full().search_experiments(view_type, max_results, filter_string, order_by, page_token)
        found, token = self._raw.run(
            lambda cur: raw_ops.search_experiments(
                cur, view_type, max_results, filter_string, order_by, page_token, self._token_key
            ),
            write=False,
        )
        return PagedList(found, token)


def _delegate(name: str) -> Callable[..., Any]:
    def method(self: SqlTrackingStore, *args: Any, **kwargs: Any) -> Any:
        return getattr(self._full(), name)(*args, **kwargs)

    method.__name__ = method.__qualname__ = name
    method.__doc__ = getattr(TrackingStore, name).__doc__
    return method


# Every other operation of the interface is the SQLAlchemy store's.
for _name, _member in vars(TrackingStore).items():
    if callable(_member) and not _name.startswith("_") and _name not in vars(SqlTrackingStore):
        if _name not in ("log_metric", "log_param", "set_tag"):  # these call log_batch
            setattr(SqlTrackingStore, _name, _delegate(_name))
abc.update_abstractmethods(cast("type[Any]", SqlTrackingStore))
