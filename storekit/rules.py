"""The store contract's rules, written once: every built-in backend and plugin calls these.

:mod:`storekit.validation` checks single values (shapes, names and limits);
this module re-exports all of it and adds the rules that decide what a call
does: which runs may be written to, when params conflict, which strings
parse as which enum member, when a stage transition archives other
versions.  A backend (or a third-party plugin) that calls these at its entry
points accepts and refuses exactly what every other backend does, with the
same typed errors and messages::

    from storekit import rules

    def log_batch(self, run_id, metrics=(), params=(), tags=()):
        metrics, params, tags = rules.validate_batch_args(metrics, params, tags)
        record = self._run(rules.validate_run_id(run_id))         # RunNotFound if unknown
        rules.check_run_writable(run_id, record.stage, experiment.stage, experiment.id)
        new = rules.new_params(record.params, params)            # conflict -> InvalidParameterError
        ...

Every check raises :class:`~storekit.errors.InvalidParameterError` (also a
``ValueError``) whose message names the field and the limit or the value.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Optional, Sequence, Union

from . import validation as _validation
from .entities import (
    ExperimentTag,
    LifecycleStage,
    Metric,
    ModelVersionStage,
    Param,
    RunStatus,
    RunTag,
    ViewType,
)
from .errors import InvalidParameterError
from .validation import *  # noqa: F403  (re-exported: one import for every rule)

__all__ = [
    *_validation.__all__,
    "RunUpdate",
    "parse_run_status",
    "parse_view_type",
    "parse_stage",
    "parse_stages",
    "archives_other_versions",
    "ARCHIVING_STAGES",
    "check_experiment_active",
    "check_run_writable",
    "param_conflict",
    "new_params",
    "new_logged_model_params",
    "validate_batch_args",
    "validate_run_update",
    "validate_experiment_tag",
    "validate_experiment_ids",
    "validate_model_ids",
    "validate_lookup_name",
    "check_restorable",
    "check_purge_deleted",
    "check_purge_begun",
    "purge_due",
    "imported_deleted_time",
    "artifacts_owned",
    "artifact_location_within",
    "parse_age",
]

_STATUSES = {s.value: s for s in RunStatus}
_VIEWS = {v.name: v for v in ViewType}

#: Target stages for which ``archive_existing_versions=True`` archives the other versions.
ARCHIVING_STAGES = frozenset({ModelVersionStage.STAGING, ModelVersionStage.PRODUCTION})


# --- enums from strings ------------------------------------------------------------
def parse_run_status(value: object) -> RunStatus:
    """A run status from a :class:`RunStatus` or its name in any case (``"finished"``)."""
    if isinstance(value, RunStatus):
        return value
    status = _STATUSES.get(value.upper()) if isinstance(value, str) else None
    if status is None:
        raise InvalidParameterError(f"status: {value!r} is not one of {', '.join(_STATUSES)} (case-insensitive)")
    return status


def parse_view_type(value: object) -> ViewType:
    """A view type from a :class:`ViewType`, its integer value or its name in any case (``"all"``)."""
    if isinstance(value, ViewType):
        return value
    view: Optional[ViewType] = None
    if isinstance(value, str):
        view = _VIEWS.get(value.upper())
    elif isinstance(value, int) and not isinstance(value, bool):
        view = next((v for v in ViewType if v.value == value), None)
    if view is None:
        raise InvalidParameterError(f"view_type: {value!r} is not one of {', '.join(_VIEWS)} (case-insensitive)")
    return view


def parse_stage(value: object) -> ModelVersionStage:
    """A registry stage, case-insensitive (``"production"``); ``None`` means the stage ``None``."""
    return ModelVersionStage.parse(value)  # type: ignore[arg-type]


def parse_stages(stages: object) -> Optional[frozenset[str]]:
    """The ``stages`` of ``get_latest_versions`` as a set of stage names; ``None`` means every stage.

    One string is one stage (``"Production"`` is never read as a list of
    letters); an empty sequence means every stage, as ``None`` does.
    """
    if stages is None:
        return None
    if isinstance(stages, (str, ModelVersionStage)):
        return frozenset({parse_stage(stages).value})
    if not isinstance(stages, Iterable):
        raise InvalidParameterError(f"stages: expected a stage name or a sequence of them, got {type(stages).__name__}")
    wanted = frozenset(parse_stage(s).value for s in stages)
    return wanted or None


def archives_other_versions(stage: object, archive_existing_versions: object) -> bool:
    """Whether a transition to ``stage`` archives the other versions in that stage.

    Only with ``archive_existing_versions=True`` and a target of ``Staging`` or
    ``Production``; moving a version to ``None`` or ``Archived`` archives nothing.
    """
    if not isinstance(archive_existing_versions, bool):
        raise InvalidParameterError(
            f"archive_existing_versions: expected a bool, got {type(archive_existing_versions).__name__}"
        )
    return archive_existing_versions and parse_stage(stage) in ARCHIVING_STAGES


# --- writable runs and experiments ------------------------------------------------------
def _stage_value(stage: object) -> str:
    return str(stage)  # a LifecycleStage's str() is its value


def check_experiment_active(experiment_id: object, stage: object, what: str = "a run") -> None:
    """``create_run`` (or creating ``what``) in a deleted experiment raises InvalidParameterError."""
    if _stage_value(stage) != LifecycleStage.ACTIVE.value:
        raise InvalidParameterError(f"experiment {str(experiment_id)!r} is deleted; cannot create {what} in it")


def check_run_writable(run_id: object, run_stage: object, experiment_stage: object, experiment_id: object) -> None:
    """Any write to a deleted run, or to a run of a deleted experiment, raises InvalidParameterError.

    Writes to finished runs are allowed.  The message says what is deleted.
    """
    if _stage_value(run_stage) != LifecycleStage.ACTIVE.value:
        raise InvalidParameterError(f"run {str(run_id)!r} is deleted; restore it before writing to it")
    if _stage_value(experiment_stage) != LifecycleStage.ACTIVE.value:
        raise InvalidParameterError(
            f"run {str(run_id)!r} is in experiment {str(experiment_id)!r}, which is deleted; "
            "restore the experiment before writing to the run"
        )


# --- params --------------------------------------------------------------------------
def param_conflict(key: str, stored: str, new: str) -> InvalidParameterError:
    """The error of re-logging param ``key`` with a value other than the ``stored`` one."""
    return InvalidParameterError(
        f"param {key!r}: already logged with value {stored!r}; cannot change it to {new!r} (params are immutable)"
    )


def new_params(stored: Mapping[str, str], params: Union[Mapping[str, str], Iterable[Param]]) -> dict[str, str]:
    """The params of a batch that are not stored yet; raises if one would change a stored value.

    Re-logging a param with the value it has is a no-op, wherever it sits in the batch.
    ``params`` is a mapping of key to value or a sequence of :class:`Param` (validated
    by :func:`validate_batch_args` first).
    """
    items = params.items() if isinstance(params, Mapping) else ((p.key, p.value) for p in params)
    new: dict[str, str] = {}
    for key, value in items:
        old = stored.get(key)
        if old is None:
            new[key] = value
        elif old != value:
            raise param_conflict(key, old, value)
    return new


def new_logged_model_params(stored: Mapping[str, str], params: Optional[Mapping[str, str]]) -> dict[str, str]:
    """The validated params of ``log_logged_model_params`` that ``stored`` lacks.

    The same rule as a run's params (:func:`new_params`): a key logged again with
    its value is a no-op, with another value an InvalidParameterError naming it.
    """
    return new_params(stored, _validation.validate_tags(params, "logged model param"))


# --- arguments of whole calls ---------------------------------------------------------------
def validate_batch_args(
    metrics: Optional[Sequence[Metric]] = (),
    params: Optional[Sequence[Param]] = (),
    tags: Optional[Sequence[RunTag]] = (),
) -> tuple[list[Metric], list[Param], list[RunTag]]:
    """The arguments of ``log_batch`` as lists (None means empty), every item and count validated."""
    lists: list[list[Any]] = []
    for field, items in (("metrics", metrics), ("params", params), ("tags", tags)):
        if items is None:
            lists.append([])
        elif isinstance(items, (str, bytes, Mapping)) or not isinstance(items, Iterable):
            raise InvalidParameterError(f"log_batch {field}: expected a sequence, got {type(items).__name__}")
        else:
            lists.append(list(items))
    metric_list, param_list, tag_list = lists
    _validation.validate_batch(metric_list, param_list, tag_list)
    return metric_list, param_list, tag_list


@dataclass(frozen=True)
class RunUpdate:
    """The validated changes of ``update_run_info``; a ``None`` field stays as it is."""

    status: Optional[RunStatus] = None
    end_time: Optional[int] = None
    run_name: Optional[str] = None

    def changes(self) -> dict[str, Any]:
        """The fields to change, by name (``status`` as its string value)."""
        out: dict[str, Any] = {}
        if self.status is not None:
            out["status"] = self.status.value
        if self.end_time is not None:
            out["end_time"] = self.end_time
        if self.run_name is not None:
            out["run_name"] = self.run_name
        return out


def validate_run_update(status: object = None, end_time: object = None, run_name: object = None) -> RunUpdate:
    """The arguments of ``update_run_info``: a status (enum or name, any case), end time in ms, run name."""
    return RunUpdate(
        status=None if status is None else parse_run_status(status),
        end_time=_validation.validate_millis(end_time, "end_time"),
        run_name=_validation.validate_run_name(run_name),
    )


def validate_experiment_tag(tag: object) -> ExperimentTag:
    """The ``tag`` of ``set_experiment_tag``: an :class:`ExperimentTag` with a valid key and value."""
    if not isinstance(tag, ExperimentTag):
        raise InvalidParameterError(f"tag: expected an ExperimentTag, got {type(tag).__name__}")
    _validation.validate_tag(tag.key, tag.value, "experiment tag")
    return tag


def validate_experiment_ids(experiment_ids: object) -> list[str]:
    """The ``experiment_ids`` of a search: one id or a sequence of them, validated, duplicates removed."""
    if isinstance(experiment_ids, (str, int)) and not isinstance(experiment_ids, bool):
        experiment_ids = [experiment_ids]
    if experiment_ids is None or not isinstance(experiment_ids, Iterable):
        raise InvalidParameterError(
            f"experiment_ids: expected a sequence of experiment ids, got {type(experiment_ids).__name__}"
        )
    return list(dict.fromkeys(_validation.validate_experiment_id(e) for e in experiment_ids))


def validate_model_ids(model_ids: object) -> list[str]:
    """The ``model_ids`` of ``log_outputs``: one id or a sequence of them, validated, duplicates removed."""
    if isinstance(model_ids, str):
        model_ids = [model_ids]
    if model_ids is None or not isinstance(model_ids, Iterable):
        raise InvalidParameterError(
            f"model_ids: expected a sequence of logged model ids, got {type(model_ids).__name__}"
        )
    return list(dict.fromkeys(_validation.validate_model_id(m) for m in model_ids))


def validate_lookup_name(name: object, field: str = "experiment name") -> str:
    """A name to look up (``get_experiment_by_name``): any string; an unknown one finds nothing."""
    if not isinstance(name, str):
        raise InvalidParameterError(f"{field}: expected a string, got {type(name).__name__}")
    return name


# --- purging (storekit gc, capability PURGE) ------------------------------------------------
def check_restorable(kind: str, entity_id: object, purge_time: Optional[int]) -> None:
    """Restoring a run or experiment that ``storekit gc`` has begun to purge raises InvalidParameterError."""
    if purge_time is not None:
        raise InvalidParameterError(
            f"{kind} {str(entity_id)!r} is being purged by storekit gc and cannot be restored; "
            "run storekit gc again to finish removing it"
        )


def check_purge_deleted(kind: str, entity_id: object, stage: object) -> None:
    """``begin_purge`` of an active (not deleted) run or experiment raises InvalidParameterError."""
    if _stage_value(stage) != LifecycleStage.DELETED.value:
        raise InvalidParameterError(f"{kind} {str(entity_id)!r} is not deleted; only deleted entities can be purged")


def check_purge_begun(kind: str, entity_id: object, purge_time: Optional[int]) -> None:
    """``purge`` of a run or experiment that ``begin_purge`` has not marked raises InvalidParameterError."""
    if purge_time is None:
        raise InvalidParameterError(f"{kind} {str(entity_id)!r}: begin_purge must be called before purge")


def purge_due(deleted_time: Optional[int], purging: bool, cutoff: Optional[int]) -> bool:
    """Whether gc removes an entity deleted at ``deleted_time`` (ms) given ``cutoff`` (ms; None = everything).

    An entity gc has begun to purge is always due (an interrupted gc is
    finished whatever ``--older-than`` says).  An unknown deletion time (deleted
    before the store recorded deletion times) counts as old enough: it was
    deleted before the upgrade, so at least as long ago as any cutoff that
    predates the upgrade, and gc is the only way to ever remove it.
    """
    if purging or cutoff is None or deleted_time is None:
        return True
    return deleted_time <= cutoff


def imported_deleted_time(stage: object) -> Optional[int]:
    """The deletion time an imported entity gets: the time of the import when it arrives deleted, else None.

    The source's deletion time is not carried over, so ``storekit gc --older-than``
    counts from the import: nothing is purged sooner than that after it arrived.
    """
    from .ids import now_ms

    return now_ms() if _stage_value(stage) == LifecycleStage.DELETED.value else None


def _uri_parts(uri: str) -> tuple[str, str, str]:
    """``(scheme, netloc, path)`` of a URI or local path, the path absolute and without a trailing ``/``."""
    import os
    from urllib.parse import unquote, urlsplit

    from .uri import FILE_SCHEME, get_scheme, local_path_from_uri

    if get_scheme(uri) == FILE_SCHEME:
        return FILE_SCHEME, "", os.path.normpath(os.path.abspath(local_path_from_uri(uri)))
    parts = urlsplit(uri)
    return parts.scheme.lower(), parts.netloc.lower(), unquote(parts.path).rstrip("/")


def artifacts_owned(artifact_uri: str, owned_root: Optional[str]) -> bool:
    """Whether gc may delete the artifacts at ``artifact_uri``: they lie strictly under the store's own root.

    ``owned_root`` is :meth:`TrackingStore.owned_artifact_root`; None owns nothing.
    """
    if not owned_root or not artifact_uri:
        return False
    try:
        scheme, netloc, path = _uri_parts(artifact_uri)
        root_scheme, root_netloc, root_path = _uri_parts(owned_root)
    except (ValueError, InvalidParameterError):
        return False
    if (scheme, netloc) != (root_scheme, root_netloc) or ".." in path.split("/"):
        return False
    import os

    sep = os.sep if scheme == "file" else "/"
    return path.startswith(root_path.rstrip(sep) + sep)


def artifact_location_within(location: str, root: str) -> bool:
    """Whether ``location`` is ``root`` or lies under it (``storekit server``: the proxied artifact area).

    Compared after normalisation (case of scheme and host, ``.`` and ``..``
    segments, percent-escapes, relative local paths); a location that cannot
    be parsed counts as within, so a caller refusing on True fails closed.
    """
    import posixpath

    try:
        scheme, netloc, path = _uri_parts(location)
        root_scheme, root_netloc, root_path = _uri_parts(root)
    except (ValueError, InvalidParameterError):
        return True
    if (scheme, netloc) != (root_scheme, root_netloc):
        return False
    if scheme != "file":
        path, root_path = posixpath.normpath("/" + path), posixpath.normpath("/" + root_path)
    import os

    sep = os.sep if scheme == "file" else "/"
    return path == root_path or path.startswith(root_path.rstrip(sep) + sep)


_AGE_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_age(text: object, field: str = "older_than") -> "Any":
    """``30d``, ``12h``, ``90m``, ``45s``, ``2w`` (or a bare number of days) as a :class:`datetime.timedelta`.

    Raises InvalidParameterError naming ``field`` for anything else, or for more than 100 years.
    """
    import datetime
    import re

    value = str(text).strip().lower()
    match = re.fullmatch(r"(\d{1,6})\s*([smhdw]?)", value)
    if not match:
        raise InvalidParameterError(
            f"{field}: {str(text)!r} is not an age; use a number with a unit s, m, h, d or w (e.g. 30d)"
        )
    seconds = int(match.group(1)) * _AGE_UNITS[match.group(2) or "d"]
    if seconds > 100 * 365 * 86400:
        raise InvalidParameterError(f"{field}: {str(text)!r} is more than the limit of 100 years")
    return datetime.timedelta(seconds=seconds)
