"""The fluent API: module-level tracking with an implicit active run (contract section 9).

State:

* the tracking and registry URIs and the active experiment are global to
  the process (``set_tracking_uri`` wins over ``STOREKIT_TRACKING_URI``;
  changing the tracking URI forgets the active experiment, whose id belongs
  to the old store);
* the stack of active runs is per thread, so threads can each run their own
  (nested) runs;
* at interpreter exit, runs still active in any thread are ended FINISHED,
  or KILLED when a ``KeyboardInterrupt`` ended the program, or FAILED when
  another uncaught exception did.

``start_run(log_async=True)`` (or ``STOREKIT_ASYNC_LOGGING=1``) makes the
run's ``log_*``/``set_tag*`` calls asynchronous: they are queued and stored
in batches by a background thread (:mod:`storekit.async_logging`), flushed
by :func:`flush_async_logging`, :func:`end_run` and at interpreter exit.

Without ``set_experiment`` or an explicit experiment, runs go to the
experiment named ``Default``, created on first use.  The ``log_*`` and
``set_tag*`` functions start a run if none is active.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
import warnings
import weakref
from typing import Any, Iterator, Literal, Mapping, Optional, Sequence, TypeVar, Union

from . import config
from .async_logging import async_logging_enabled
from .client import PathLike, TrackingClient, parse_run_status
from .config import get_registry_uri, get_tracking_uri, registry_uri_for
from .entities import Experiment, LifecycleStage, Metric, PagedList, Param, Run, RunStatus, RunTag, ViewType
from .errors import AlreadyExistsError, InvalidParameterError
from .ids import now_ms
from .validation import MAX_METRICS_PER_BATCH, MAX_PARAMS_PER_BATCH, MAX_TAGS_PER_BATCH, coerce_metric_value

__all__ = [
    "ActiveRun",
    "DEFAULT_EXPERIMENT_NAME",
    "PARENT_RUN_ID_TAG",
    "set_tracking_uri",
    "get_tracking_uri",
    "set_registry_uri",
    "get_registry_uri",
    "registry_uri_for",
    "set_experiment",
    "start_run",
    "end_run",
    "active_run",
    "log_param",
    "log_params",
    "log_metric",
    "log_metrics",
    "set_tag",
    "set_tags",
    "log_artifact",
    "log_artifacts",
    "search_runs",
    "get_run",
    "get_client",
    "flush_async_logging",
]

#: Name of the experiment runs go to when none is chosen.
DEFAULT_EXPERIMENT_NAME = "Default"
#: Tag naming the parent of a nested run.
PARENT_RUN_ID_TAG = "storekit.parentRunId"

T = TypeVar("T")

_lock = threading.RLock()
_experiment_id: Optional[str] = None
_client: Optional[TrackingClient] = None


class _RunStack(list[Any]):
    """The active runs of one thread, innermost last.

    Compared and hashed by identity, so that every thread's stack can sit in
    one :class:`weakref.WeakSet` for the exit hook.
    """

    __eq__ = object.__eq__
    __ne__ = object.__ne__
    __hash__ = object.__hash__  # type: ignore[assignment]


_local = threading.local()
_all_stacks: "weakref.WeakSet[_RunStack]" = weakref.WeakSet()
_atexit_registered = False


def _stack() -> _RunStack:
    stack = getattr(_local, "stack", None)
    if stack is None:
        stack = _local.stack = _RunStack()
        with _lock:
            _all_stacks.add(stack)
    return stack


# --- URIs ----------------------------------------------------------------------------------
def set_tracking_uri(uri: Union[str, "os.PathLike[str]"]) -> None:
    """Use ``uri`` as the tracking store of this process (wins over ``STOREKIT_TRACKING_URI``).

    The active experiment is forgotten, because its id belongs to the previous store.
    """
    global _experiment_id, _client
    with _lock:
        config.set_tracking_uri(uri)
        _experiment_id = None
        _client = None


def set_registry_uri(uri: Union[str, "os.PathLike[str]"]) -> None:
    """Use ``uri`` as the model registry of this process (wins over ``STOREKIT_REGISTRY_URI``)."""
    global _client
    with _lock:
        config.set_registry_uri(uri)
        _client = None


def _reset() -> None:
    """Forget the URIs, the active experiment and the client (for tests that point the API elsewhere)."""
    global _experiment_id, _client
    with _lock:
        config.reset()
        _experiment_id = None
        _client = None


def get_client() -> TrackingClient:
    """The :class:`TrackingClient` the fluent functions use (one per URI setting, reused)."""
    global _client
    with _lock:
        tracking, registry = get_tracking_uri(), get_registry_uri()
        client = _client
        if client is None or client.tracking_uri != tracking or client.registry_uri != registry:
            client = _client = TrackingClient(tracking, registry)
        return client


# --- experiments ------------------------------------------------------------------------------
def _deleted_error(experiment: Experiment) -> InvalidParameterError:
    return InvalidParameterError(
        f"experiment {experiment.name!r} (id {experiment.experiment_id}) is deleted; restore it "
        "with TrackingClient.restore_experiment or choose another name"
    )


def _get_or_create_experiment(name: str) -> Experiment:
    client = get_client()
    experiment = client.get_experiment_by_name(name)
    if experiment is None:
        try:
            client.create_experiment(name)
        except AlreadyExistsError:  # created meanwhile by another thread or process
            pass
        experiment = client.get_experiment_by_name(name)
        if experiment is None:  # pragma: no cover - a concurrent delete-and-purge
            raise InvalidParameterError(f"experiment {name!r}: could not be created")
    if LifecycleStage(experiment.lifecycle_stage) is not LifecycleStage.ACTIVE:
        raise _deleted_error(experiment)
    return experiment


def set_experiment(name: Optional[str] = None, experiment_id: Optional[str] = None) -> Experiment:
    """Make an experiment the active one, creating it by name if it does not exist.

    A deleted experiment is not restored: InvalidParameterError says so.
    """
    global _experiment_id
    if (name is None) == (experiment_id is None):
        raise InvalidParameterError("set_experiment: give exactly one of name and experiment_id")
    if name is not None:
        experiment = _get_or_create_experiment(name)
    else:
        experiment = get_client().get_experiment(str(experiment_id))
        if LifecycleStage(experiment.lifecycle_stage) is not LifecycleStage.ACTIVE:
            raise _deleted_error(experiment)
    with _lock:
        _experiment_id = experiment.experiment_id
    return experiment


def _current_experiment_id() -> str:
    """The active experiment's id: set_experiment's, else ``Default`` (created on demand)."""
    with _lock:
        if _experiment_id is not None:
            return _experiment_id
    return _get_or_create_experiment(DEFAULT_EXPERIMENT_NAME).experiment_id


# --- runs --------------------------------------------------------------------------------------
class ActiveRun(Run):
    """A :class:`~storekit.entities.Run` started by :func:`start_run`; a context manager.

    Leaving the ``with`` block ends the run FINISHED, or FAILED when an
    exception escapes it (the exception propagates).  The ``data`` it holds is
    a snapshot taken when the run started; use :func:`get_run` for fresh values.
    The run stays bound to the store it was started in, even if the tracking
    URI changes while it is active.
    """

    _client: TrackingClient
    _log_async: bool

    def __init__(self, run: Run, client: TrackingClient, log_async: bool = False) -> None:
        super().__init__(run.info, run.data, run.inputs, run.outputs)
        object.__setattr__(self, "_client", client)  # the dataclass is frozen
        object.__setattr__(self, "_log_async", log_async)

    @property
    def log_async(self) -> bool:
        """Whether the fluent ``log_*``/``set_tag*`` calls of this run are queued (asynchronous)."""
        return self._log_async

    @property
    def client(self) -> TrackingClient:
        """The client of the store this run lives in."""
        return self._client

    def __enter__(self) -> "ActiveRun":
        """The run itself."""
        return self

    def __exit__(self, exc_type: Optional[type], exc: Optional[BaseException], tb: Any) -> Literal[False]:
        """End the run FINISHED, KILLED on Ctrl-C, FAILED if another exception escaped; never swallows it."""
        if exc_type is None:
            status = RunStatus.FINISHED
        else:
            status = RunStatus.KILLED if issubclass(exc_type, KeyboardInterrupt) else RunStatus.FAILED
        _end(self.info.run_id, status)
        return False

    def __repr__(self) -> str:
        """Run and experiment id."""
        return f"<ActiveRun: run_id={self.info.run_id!r}, experiment_id={self.info.experiment_id!r}>"


#: the type of the exception that ended the program (seen by sys.excepthook), if any
_uncaught: Optional[type] = None


def _note_uncaught(previous: Any) -> Any:
    """An excepthook that remembers the uncaught exception's type, then calls ``previous``."""

    def hook(exc_type: type, exc: BaseException, tb: Any) -> None:
        global _uncaught
        _uncaught = exc_type
        previous(exc_type, exc, tb)

    return hook


def _register_atexit() -> None:
    global _atexit_registered
    with _lock:
        if not _atexit_registered:
            atexit.register(_end_all_at_exit)
            sys.excepthook = _note_uncaught(sys.excepthook)
            _atexit_registered = True


def _exit_status() -> RunStatus:
    """How the program ended: KILLED by Ctrl-C, FAILED by another uncaught exception, else FINISHED."""
    if _uncaught is None:
        return RunStatus.FINISHED
    return RunStatus.KILLED if issubclass(_uncaught, KeyboardInterrupt) else RunStatus.FAILED


def _end_all_at_exit() -> None:
    """End every run still active in any thread (the atexit hook), with :func:`_exit_status`."""
    with _lock:
        stacks = list(_all_stacks)
    status = _exit_status()
    for stack in stacks:
        while stack:
            run = stack.pop()
            try:
                run.client.set_terminated(run.info.run_id, status)
            except Exception as exc:
                warnings.warn(f"storekit: could not end run {run.info.run_id} at exit: {exc}", stacklevel=1)


def _resolve_experiment_id(experiment_id: Optional[str], experiment_name: Optional[str]) -> str:
    if experiment_id is not None and experiment_name is not None:
        raise InvalidParameterError("start_run: give at most one of experiment_id and experiment_name")
    if experiment_name is not None:
        return _get_or_create_experiment(experiment_name).experiment_id
    if experiment_id is not None:
        experiment = get_client().get_experiment(str(experiment_id))
        if LifecycleStage(experiment.lifecycle_stage) is not LifecycleStage.ACTIVE:
            raise _deleted_error(experiment)
        return experiment.experiment_id
    return _current_experiment_id()


def _context_tags() -> dict[str, str]:
    from .plugins import collect_context_tags

    return collect_context_tags()


def start_run(
    run_id: Optional[str] = None,
    experiment_id: Optional[str] = None,
    experiment_name: Optional[str] = None,
    run_name: Optional[str] = None,
    tags: Optional[Mapping[str, Any]] = None,
    nested: bool = False,
    log_async: Optional[bool] = None,
    log_system_metrics: Optional[bool] = None,
) -> ActiveRun:
    """Start a new run (or resume ``run_id``) and make it the active run of this thread.

    Use it as a context manager to end the run automatically.  Starting a run
    while another is active requires ``nested=True``; the child gets the tag
    ``storekit.parentRunId``.  A new run gets the run-context tags
    (user, source, git, host, Python); ``tags`` win over them.  Resuming sets
    the run RUNNING again and adds ``tags``.

    ``log_async=True`` (default: the ``STOREKIT_ASYNC_LOGGING`` environment
    variable) queues this run's ``log_*``/``set_tag*`` calls and stores them
    in batches in the background; ending the run flushes them, and a
    background error is raised by a later call, :func:`flush_async_logging`
    or :func:`end_run`.

    ``log_system_metrics=True`` (default: the ``STOREKIT_LOG_SYSTEM_METRICS``
    environment variable) samples CPU, memory, disk, network and GPU usage
    into ``system/...`` metrics from a background thread until the run ends
    (see :mod:`storekit.system_metrics`; needs ``storekit[system-metrics]``).
    """
    from .system_metrics import system_metrics_enabled

    want_system_metrics = system_metrics_enabled(log_system_metrics)
    if want_system_metrics:
        from .system_metrics import _require_psutil

        _require_psutil()  # MissingExtraError before a run is created
    stack = _stack()
    if stack and not nested:
        raise InvalidParameterError(
            f"start_run: run {stack[-1].info.run_id} is already active; end it with end_run() "
            "or start this one with nested=True"
        )
    client = get_client()
    user_tags = {k: str(v) for k, v in (tags or {}).items()}
    parent = stack[-1].info.run_id if stack else None
    if run_id is not None:
        run = _resume(client, run_id, experiment_id, experiment_name, run_name, user_tags, parent)
    else:
        exp_id = _resolve_experiment_id(experiment_id, experiment_name)
        all_tags = _context_tags()
        if parent is not None:
            all_tags[PARENT_RUN_ID_TAG] = parent
        all_tags.update(user_tags)
        run = client.create_run(exp_id, tags=all_tags, run_name=run_name)
    active = ActiveRun(run, client, async_logging_enabled(log_async))
    if want_system_metrics:
        from .system_metrics import SystemMetricsMonitor

        object.__setattr__(active, "_system_metrics", SystemMetricsMonitor(client, run.info.run_id).start())
    stack.append(active)
    _register_atexit()
    return active


def _resume(
    client: TrackingClient,
    run_id: str,
    experiment_id: Optional[str],
    experiment_name: Optional[str],
    run_name: Optional[str],
    tags: dict[str, str],
    parent: Optional[str],
) -> Run:
    if any(r.info.run_id == run_id for r in _stack()):
        raise InvalidParameterError(f"start_run: run {run_id} is already active in this thread")
    run = client.get_run(run_id)
    if LifecycleStage(run.info.lifecycle_stage) is not LifecycleStage.ACTIVE:
        raise InvalidParameterError(f"start_run: run {run_id} is deleted; restore it before resuming")
    if experiment_id is not None and str(experiment_id) != run.info.experiment_id:
        raise InvalidParameterError(
            f"start_run: run {run_id} belongs to experiment {run.info.experiment_id}, not {experiment_id}"
        )
    if experiment_name is not None:
        experiment = client.get_experiment(run.info.experiment_id)
        if experiment.name != experiment_name:
            raise InvalidParameterError(
                f"start_run: run {run_id} belongs to experiment {experiment.name!r}, not {experiment_name!r}"
            )
    client.update_run_info(run_id, status=RunStatus.RUNNING, run_name=run_name)
    if parent is not None:
        tags = {PARENT_RUN_ID_TAG: parent, **tags}
    for chunk in _chunks(list(tags.items()), MAX_TAGS_PER_BATCH):
        client.log_batch(run_id, tags=[RunTag(k, v) for k, v in chunk])
    return client.get_run(run_id)


def _end(run_id: str, status: Union[str, RunStatus]) -> None:
    """End the active run ``run_id`` (and any runs nested inside it, with the same status)."""
    parsed = parse_run_status(status)
    stack = _stack()
    index = next((i for i, r in enumerate(stack) if r.info.run_id == run_id), None)
    if index is None:
        return  # ended already (e.g. end_run() inside its with block)
    first_error: Optional[BaseException] = None
    while len(stack) > index:
        run = stack.pop()
        monitor = getattr(run, "_system_metrics", None)
        try:
            if monitor is not None:
                monitor.stop()  # its last points are queued before the run ends
            run.client.set_terminated(run.info.run_id, parsed)
        except Exception as exc:
            first_error = first_error or exc
    if first_error is not None:
        raise first_error


def end_run(status: Union[str, RunStatus] = "FINISHED") -> None:
    """End the innermost active run of this thread with ``status``; a no-op without one."""
    parsed = parse_run_status(status)
    if not parsed.is_terminated:
        raise InvalidParameterError(f"status: {parsed.value} is not a terminal status (FINISHED, FAILED or KILLED)")
    stack = _stack()
    if stack:
        _end(stack[-1].info.run_id, parsed)


def active_run() -> Optional[ActiveRun]:
    """The innermost active run of this thread, or None."""
    stack = _stack()
    return stack[-1] if stack else None


def _target() -> tuple[str, TrackingClient]:
    """The active run's id and client, starting a run if none is active."""
    run = active_run() or start_run()
    return run.info.run_id, run.client


def _logging_target() -> tuple[str, TrackingClient, bool]:
    """Like :func:`_target`, plus whether the run logs synchronously."""
    run_id, client = _target()
    run = active_run()
    return run_id, client, not (run is not None and run.log_async)


def flush_async_logging(timeout: Optional[float] = None) -> None:
    """Store everything logged asynchronously so far (active run's client and the default one)."""
    clients = {id(c): c for c in (r.client for r in _stack())}
    if _client is not None:
        clients[id(_client)] = _client
    for client in clients.values():
        client.flush(timeout)


def _chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# --- logging ---------------------------------------------------------------------------------------
def log_param(key: str, value: Any) -> Any:
    """Log a param of the active run (``value`` converted with ``str``); returns ``value``."""
    run_id, client, sync = _logging_target()
    client.log_param(run_id, key, value, synchronous=sync)
    return value


def log_params(params: Mapping[str, Any]) -> None:
    """Log several params of the active run, in batches of at most 100."""
    run_id, client, sync = _logging_target()
    items = [Param(k, str(v)) for k, v in params.items()]
    for chunk in _chunks(items, MAX_PARAMS_PER_BATCH):
        client.log_batch(run_id, params=chunk, synchronous=sync)


def log_metric(key: str, value: float, step: Optional[int] = None, timestamp: Optional[int] = None) -> None:
    """Log a metric point of the active run (``step`` defaults to 0, ``timestamp`` to now)."""
    run_id, client, sync = _logging_target()
    client.log_metric(run_id, key, value, timestamp=timestamp, step=step, synchronous=sync)


def log_metrics(metrics: Mapping[str, float], step: Optional[int] = None, timestamp: Optional[int] = None) -> None:
    """Log several metrics of the active run at one step and time, in batches of at most 1,000."""
    run_id, client, sync = _logging_target()
    ts = now_ms() if timestamp is None else timestamp
    items = [Metric(k, coerce_metric_value(v, k), ts, 0 if step is None else step) for k, v in metrics.items()]
    for chunk in _chunks(items, MAX_METRICS_PER_BATCH):
        client.log_batch(run_id, metrics=chunk, synchronous=sync)


def set_tag(key: str, value: Any) -> None:
    """Set a tag of the active run (``value`` converted with ``str``)."""
    run_id, client, sync = _logging_target()
    client.set_tag(run_id, key, value, synchronous=sync)


def set_tags(tags: Mapping[str, Any]) -> None:
    """Set several tags of the active run, in batches of at most 100."""
    run_id, client, sync = _logging_target()
    items = [RunTag(k, str(v)) for k, v in tags.items()]
    for chunk in _chunks(items, MAX_TAGS_PER_BATCH):
        client.log_batch(run_id, tags=chunk, synchronous=sync)


def log_artifact(local_path: PathLike, artifact_path: Optional[str] = None) -> None:
    """Upload a local file into the active run's artifacts."""
    run_id, client = _target()
    client.log_artifact(run_id, local_path, artifact_path)


def log_artifacts(local_dir: PathLike, artifact_path: Optional[str] = None) -> None:
    """Upload a local directory's contents into the active run's artifacts."""
    run_id, client = _target()
    client.log_artifacts(run_id, local_dir, artifact_path)


# --- reading ------------------------------------------------------------------------------------------
def search_runs(
    experiment_ids: Optional[Union[str, Sequence[str]]] = None,
    filter_string: Optional[str] = None,
    view_type: ViewType = ViewType.ACTIVE_ONLY,
    max_results: Optional[int] = None,
    order_by: Optional[Sequence[str]] = None,
    page_token: Optional[str] = None,
    output_format: str = "list",
) -> Any:
    """Search runs; by default in the active run's experiment, else the active experiment.

    With neither set, searches ``Default`` (empty if it does not exist yet).
    ``output_format="pandas"`` or ``"arrow"`` returns every matching run as one
    table (see :meth:`TrackingClient.search_runs`).
    """
    from .frames import check_output_format, runs_table

    fmt = check_output_format(output_format)
    client = get_client()
    if experiment_ids is None:
        current = active_run()
        if current is not None:
            experiment_ids = [current.info.experiment_id]
        elif _experiment_id is not None:
            experiment_ids = [_experiment_id]
        else:
            default = client.get_experiment_by_name(DEFAULT_EXPERIMENT_NAME)
            if default is None:
                return PagedList([], None) if fmt == "list" else runs_table([], fmt)
            experiment_ids = [default.experiment_id]
    return client.search_runs(
        experiment_ids,
        filter_string=filter_string,
        view_type=view_type,
        max_results=max_results,
        order_by=order_by,
        page_token=page_token,
        output_format=fmt,  # type: ignore[call-overload]
    )


def get_run(run_id: str) -> Run:
    """The run with that id, with its current data."""
    return get_client().get_run(run_id)
