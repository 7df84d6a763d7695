"""Experiment operations of :class:`~storekit.backends.sql.SqlTrackingStore`."""

from __future__ import annotations

from typing import Any, Mapping, Optional, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from ... import rules
from ...entities import Experiment, ExperimentTag, LifecycleStage, PagedList, ViewType
from ...errors import AlreadyExistsError, ExperimentNotFound, NotFoundError
from ...ids import now_ms
from ...interfaces import DEFAULT_MAX_RESULTS
from ...rules import validate_experiment_id, validate_experiment_name, validate_key, validate_tags
from ...search.ast import EXPERIMENT_SCHEMA, Kind
from ...uri import append_path
from . import schema as s
from .basics import MAX_EXPERIMENT_KEY as MAX_EXPERIMENT_KEY
from .basics import is_experiment_key as is_experiment_key
from .engine import Database
from .paged import fingerprint, paged_select, parse_query
from .rows import experiments_from_rows
from .search_sql import EntitySpec, KeyedTable
from .sqlutil import inserted_id, upsert

__all__ = ["ExperimentOps", "view_condition"]

_e = s.experiments
EXPERIMENT_SPEC = EntitySpec(
    attributes={
        "experiment_id": sa.cast(_e.c.experiment_id, sa.String(20)),
        "name": _e.c.name,
        "artifact_location": _e.c.artifact_location,
        "lifecycle_stage": _e.c.lifecycle_stage,
        "creation_time": _e.c.creation_time,
        "last_update_time": _e.c.last_update_time,
    },
    keyed={
        Kind.TAG: KeyedTable(s.experiment_tags, lambda t: t.c.experiment_id == _e.c.experiment_id),
    },
    unique=(_e.c.experiment_id,),
    not_null=frozenset(
        {"experiment_id", "name", "artifact_location", "lifecycle_stage", "creation_time", "last_update_time"}
    ),
)


def view_condition(column: sa.Column, view_type: ViewType) -> Any:
    """The lifecycle condition of a view type on ``column``."""
    view_type = rules.parse_view_type(view_type)
    if view_type is ViewType.ACTIVE_ONLY:
        return column == LifecycleStage.ACTIVE.value
    if view_type is ViewType.DELETED_ONLY:
        return column == LifecycleStage.DELETED.value
    return sa.true()


def experiment_key(experiment_id: object) -> int:
    """The integer key of an experiment id; raises ExperimentNotFound for a non-numeric one."""
    text = validate_experiment_id(experiment_id)
    if not is_experiment_key(text):
        raise ExperimentNotFound(f"experiment {text!r} does not exist")
    return int(text)


#: ``storekit_settings`` row: the largest experiment id ``storekit gc`` removed (SQLite only).
PURGED_ID_SETTING = "max_purged_experiment_id"


def _after_purged(conn: Connection) -> dict[str, int]:
    """An explicit id for a new experiment on SQLite when gc removed the highest ids, else nothing.

    SQLite hands out ``max(id) + 1``, which would give a purged experiment's id
    to a new one; PostgreSQL sequences and MariaDB's counter never go back.
    """
    if conn.dialect.name != "sqlite":
        return {}
    floor = conn.execute(sa.select(s.settings.c.value).where(s.settings.c.name == PURGED_ID_SETTING)).scalar()
    if floor is None:
        return {}
    top = conn.execute(sa.select(sa.func.max(_e.c.experiment_id))).scalar() or 0
    return {"experiment_id": max(int(floor), int(top)) + 1}


class ExperimentOps:
    """Experiments: create, read, search, rename, soft delete, tags."""

    _db: Database
    _artifact_root: str
    _token_key: bytes

    def _experiment_row(self, conn: Connection, experiment_id: object, lock: bool = False) -> RowMapping:
        key = experiment_key(experiment_id)
        stmt = sa.select(_e).where(_e.c.experiment_id == key)
        if lock:
            stmt = stmt.with_for_update()
        row = conn.execute(stmt).mappings().first()
        if row is None:
            raise ExperimentNotFound(f"experiment {str(experiment_id)!r} does not exist")
        return row

    def create_experiment(
        self, name: str, artifact_location: Optional[str] = None, tags: Optional[Mapping[str, str]] = None
    ) -> str:
        """Create an experiment and return its id; AlreadyExistsError if the name is taken."""
        name = validate_experiment_name(name)
        tag_map = validate_tags(tags, "experiment tag")
        artifact_location = rules.validate_artifact_location(artifact_location)

        def txn(conn: Connection) -> str:
            if conn.execute(sa.select(_e.c.experiment_id).where(_e.c.name == name)).first():
                raise AlreadyExistsError(f"experiment name {name!r} is already taken")
            now = now_ms()
            new_id = inserted_id(
                conn,
                sa.insert(_e).values(
                    **_after_purged(conn),
                    name=name,
                    artifact_location=artifact_location or "",
                    lifecycle_stage=LifecycleStage.ACTIVE.value,
                    creation_time=now,
                    last_update_time=now,
                ),
            )
            if not artifact_location:
                conn.execute(
                    sa.update(_e)
                    .where(_e.c.experiment_id == new_id)
                    .values(artifact_location=append_path(self._artifact_root, str(new_id)))
                )
            if tag_map:
                conn.execute(
                    sa.insert(s.experiment_tags),
                    [{"experiment_id": new_id, "key": k, "value": v} for k, v in tag_map.items()],
                )
            return str(new_id)

        return self._db.run(txn)

    def get_experiment(self, experiment_id: str) -> Experiment:
        """The experiment (active or deleted); ExperimentNotFound otherwise."""
        return self._db.run(
            lambda conn: experiments_from_rows(conn, [self._experiment_row(conn, experiment_id)])[0],
            write=False,
        )

    def get_experiment_by_name(self, name: str) -> Optional[Experiment]:
        """The experiment with that name, or None."""
        name = rules.validate_lookup_name(name)

        def txn(conn: Connection) -> Optional[Experiment]:
            row = conn.execute(sa.select(_e).where(_e.c.name == name)).mappings().first()
            return experiments_from_rows(conn, [row])[0] if row else None

        return self._db.run(txn, write=False)

    def search_experiments(
        self,
        view_type: ViewType = ViewType.ACTIVE_ONLY,
        max_results: int = DEFAULT_MAX_RESULTS,
        filter_string: Optional[str] = None,
        order_by: Optional[Sequence[str]] = None,
        page_token: Optional[str] = None,
    ) -> PagedList[Experiment]:
        """Experiments matching the filter; default order ``creation_time DESC, experiment_id``."""
        expr, keys = parse_query(filter_string, order_by, EXPERIMENT_SCHEMA)
        view_type = rules.parse_view_type(view_type)
        query = fingerprint("experiments", int(view_type), filter_string, list(order_by or []))

        def txn(conn: Connection) -> PagedList[Experiment]:
            rows, token = paged_select(
                conn,
                columns=list(_e.c),
                base=_e,
                where=[view_condition(_e.c.lifecycle_stage, view_type)],
                expr=expr,
                keys=keys,
                spec=EXPERIMENT_SPEC,
                max_results=max_results,
                page_token=page_token,
                query=query,
                key=self._token_key,
                bound_column=_e.c.experiment_id,
            )
            return PagedList(experiments_from_rows(conn, rows), token)

        return self._db.run(txn, write=False)

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        """Give an experiment an unused name."""
        new_name = validate_experiment_name(new_name)

        def txn(conn: Connection) -> None:
            row = self._experiment_row(conn, experiment_id, lock=True)
            if row["name"] == new_name:
                return
            if conn.execute(sa.select(_e.c.experiment_id).where(_e.c.name == new_name)).first():
                raise AlreadyExistsError(f"experiment name {new_name!r} is already taken")
            conn.execute(
                sa.update(_e)
                .where(_e.c.experiment_id == row["experiment_id"])
                .values(name=new_name, last_update_time=now_ms())
            )

        self._db.run(txn)

    def _set_stage(self, experiment_id: str, stage: LifecycleStage) -> None:
        # last_update_time is left alone so that restore gives back the experiment unchanged;
        # deleted_time records when it was deleted (storekit gc --older-than), restore clears it
        def txn(conn: Connection) -> None:
            row = self._experiment_row(conn, experiment_id, lock=True)
            if row["lifecycle_stage"] != stage.value:
                if stage is LifecycleStage.ACTIVE:
                    rules.check_restorable("experiment", row["experiment_id"], row["purge_time"])
                deleted_time = now_ms() if stage is LifecycleStage.DELETED else None
                conn.execute(
                    sa.update(_e)
                    .where(_e.c.experiment_id == row["experiment_id"])
                    .values(lifecycle_stage=stage.value, deleted_time=deleted_time)
                )

        self._db.run(txn)

    def delete_experiment(self, experiment_id: str) -> None:
        """Soft-delete an experiment; its runs disappear from ACTIVE_ONLY searches."""
        self._set_stage(experiment_id, LifecycleStage.DELETED)

    def restore_experiment(self, experiment_id: str) -> None:
        """Undo :meth:`delete_experiment`."""
        self._set_stage(experiment_id, LifecycleStage.ACTIVE)

    def set_experiment_tag(self, experiment_id: str, tag: ExperimentTag) -> None:
        """Set or overwrite an experiment tag."""
        rules.validate_experiment_tag(tag)

        def txn(conn: Connection) -> None:
            row = self._experiment_row(conn, experiment_id, lock=True)
            upsert(
                conn,
                s.experiment_tags,
                [{"experiment_id": row["experiment_id"], "key": tag.key, "value": tag.value}],
                ["value"],
            )

        self._db.run(txn)

    def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        """Remove an experiment tag; NotFoundError if it is not set."""
        validate_key(key, "experiment tag key")

        def txn(conn: Connection) -> None:
            row = self._experiment_row(conn, experiment_id, lock=True)
            t = s.experiment_tags
            deleted = conn.execute(
                sa.delete(t).where(t.c.experiment_id == row["experiment_id"], t.c.key == key)
            ).rowcount
            if not deleted:
                raise NotFoundError(f"experiment {str(experiment_id)!r} has no tag {key!r}")

        self._db.run(txn)
