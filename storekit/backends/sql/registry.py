"""SqlRegistryStore: registered models, versions, stages and aliases in SQL.

Version numbers come from the ``next_version`` counter of the model row,
incremented in the same transaction that inserts the version (the UPDATE
takes the row lock on PostgreSQL/MySQL; SQLite write transactions are
``BEGIN IMMEDIATE``), so numbers are never duplicated and, because the
counter never goes down, never reused after a delete.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Mapping, Optional, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from ... import rules
from ...entities import ModelVersion, ModelVersionStage, ModelVersionStatus, PagedList, RegisteredModel
from ...errors import AlreadyExistsError, ModelNotFound, ModelVersionNotFound, NotFoundError
from ...ids import now_ms
from ...interfaces import DEFAULT_MAX_RESULTS, Capability, RegistryStore
from ...rules import (
    validate_alias,
    validate_description,
    validate_key,
    validate_model_name,
    validate_model_version_source,
    validate_tag,
    validate_tags,
    validate_version,
)
from ...search.ast import MODEL_VERSION_SCHEMA, REGISTERED_MODEL_SCHEMA, Kind
from ...uri import redact_uri
from . import schema as s
from .importing import SqlRegistryImportOps
from .migrate import open_database
from .paged import fingerprint, paged_select, parse_query
from .search_sql import EntitySpec, KeyedTable
from .secret import store_key
from .sqlutil import chunks, inserted_id, upsert

__all__ = ["SqlRegistryStore"]

_m, _v = s.registered_models, s.model_versions
_vt, _mt, _al = s.model_version_tags, s.registered_model_tags, s.registered_model_aliases

MODEL_SPEC = EntitySpec(
    attributes={
        "name": _m.c.name,
        "creation_timestamp": _m.c.creation_timestamp,
        "last_updated_timestamp": _m.c.last_updated_timestamp,
        "description": _m.c.description,
    },
    keyed={Kind.TAG: KeyedTable(_mt, lambda t: t.c.model_row == _m.c.model_row)},
    unique=(_m.c.name,),
    unique_attribute="name",
    not_null=frozenset({"name", "creation_timestamp", "last_updated_timestamp"}),
)

VERSION_SPEC = EntitySpec(
    attributes={
        "name": _m.c.name,
        "version": _v.c.version,
        "run_id": _v.c.run_id,
        "source": _v.c.source,
        "current_stage": _v.c.current_stage,
        "status": _v.c.status,
        "user_id": _v.c.user_id,
        "model_id": _v.c.model_id,
        "creation_timestamp": _v.c.creation_timestamp,
        "last_updated_timestamp": _v.c.last_updated_timestamp,
    },
    keyed={Kind.TAG: KeyedTable(_vt, lambda t: sa.and_(t.c.model_row == _v.c.model_row, t.c.version == _v.c.version))},
    unique=(_m.c.name, _v.c.version),
    not_null=frozenset({"name", "version", "current_stage", "status", "creation_timestamp", "last_updated_timestamp"}),
)

_VERSION_COLUMNS = (_m.c.name, *[c for c in _v.c])


class SqlRegistryStore(SqlRegistryImportOps, RegistryStore):
    """Model registry on a SQL database; same URIs as :class:`SqlTrackingStore`."""

    capabilities = frozenset(
        {Capability.CONCURRENT_WRITERS, Capability.MULTIPROCESS_WRITERS, Capability.DURABLE, Capability.IMPORT}
    )

    def __init__(self, uri: str, create: bool = True, **engine_options: Any) -> None:
        self._uri = uri
        self._db = open_database(uri, create=create, **engine_options)
        self._token_key = store_key(self._db)

    def __repr__(self) -> str:
        return f"SqlRegistryStore({redact_uri(self._uri)!r})"

    def close(self) -> None:
        """Close pooled connections."""
        self._db.dispose()

    # --- loading ----------------------------------------------------------
    def _model_row(self, conn: Connection, name: str, lock: bool = False) -> RowMapping:
        name = validate_model_name(name)
        stmt = sa.select(_m).where(_m.c.name == name)
        if lock:
            stmt = stmt.with_for_update()
        row = conn.execute(stmt).mappings().first()
        if row is None:
            raise ModelNotFound(f"registered model {name!r} does not exist")
        return row

    def _version_row(self, conn: Connection, name: str, version: object) -> RowMapping:
        number = int(validate_version(version))
        model = self._model_row(conn, name)
        row = (
            conn.execute(
                sa.select(*_VERSION_COLUMNS)
                .join_from(_v, _m, _v.c.model_row == _m.c.model_row)
                .where(_v.c.model_row == model["model_row"], _v.c.version == number)
            )
            .mappings()
            .first()
        )
        if row is None:
            raise ModelVersionNotFound(f"registered model {name!r} has no version {number}")
        return row

    def _versions(self, conn: Connection, rows: Sequence[RowMapping]) -> list[ModelVersion]:
        model_rows = sorted({r["model_row"] for r in rows})
        tags: dict[tuple[int, int], dict[str, str]] = defaultdict(dict)
        aliases: dict[tuple[int, int], list[str]] = defaultdict(list)
        for part in chunks(model_rows):
            for mr, ver, key, value in conn.execute(
                sa.select(_vt.c.model_row, _vt.c.version, _vt.c.key, _vt.c.value).where(_vt.c.model_row.in_(part))
            ):
                tags[(mr, ver)][key] = value
            for mr, alias, ver in conn.execute(
                sa.select(_al.c.model_row, _al.c.alias, _al.c.version)
                .where(_al.c.model_row.in_(part))
                .order_by(_al.c.alias)
            ):
                aliases[(mr, ver)].append(alias)
        return [
            ModelVersion(
                name=r["name"],
                version=str(r["version"]),
                creation_timestamp=r["creation_timestamp"],
                last_updated_timestamp=r["last_updated_timestamp"],
                description=r["description"],
                user_id=r["user_id"],
                current_stage=r["current_stage"],
                source=r["source"],
                run_id=r["run_id"],
                status=r["status"],
                tags=tags.get((r["model_row"], r["version"]), {}),
                aliases=tuple(aliases.get((r["model_row"], r["version"]), ())),
                model_id=r["model_id"],
            )
            for r in rows
        ]

    def _latest(
        self, conn: Connection, model_rows: Sequence[int], stages: Optional[frozenset[str]] = None
    ) -> dict[int, list[ModelVersion]]:
        newest = (
            sa.select(_v.c.model_row, _v.c.current_stage, sa.func.max(_v.c.version).label("version"))
            .where(_v.c.model_row.in_(list(model_rows)))
            .group_by(_v.c.model_row, _v.c.current_stage)
            .subquery()
        )
        stmt = (
            sa.select(*_VERSION_COLUMNS)
            .join_from(_v, _m, _v.c.model_row == _m.c.model_row)
            .join(newest, sa.and_(newest.c.model_row == _v.c.model_row, newest.c.version == _v.c.version))
            .order_by(_v.c.model_row, _v.c.current_stage)
        )
        if stages is not None:
            stmt = stmt.where(_v.c.current_stage.in_(sorted(stages)))
        out: dict[int, list[ModelVersion]] = defaultdict(list)
        rows = list(conn.execute(stmt).mappings()) if model_rows else []
        for version, row in zip(self._versions(conn, rows), rows):
            out[row["model_row"]].append(version)
        return out

    def _models(self, conn: Connection, rows: Sequence[RowMapping]) -> list[RegisteredModel]:
        ids = [r["model_row"] for r in rows]
        tags: dict[int, dict[str, str]] = defaultdict(dict)
        aliases: dict[int, dict[str, str]] = defaultdict(dict)
        for part in chunks(ids):
            for mr, key, value in conn.execute(
                sa.select(_mt.c.model_row, _mt.c.key, _mt.c.value).where(_mt.c.model_row.in_(part))
            ):
                tags[mr][key] = value
            for mr, alias, ver in conn.execute(
                sa.select(_al.c.model_row, _al.c.alias, _al.c.version).where(_al.c.model_row.in_(part))
            ):
                aliases[mr][alias] = str(ver)
        latest = self._latest(conn, ids)
        return [
            RegisteredModel(
                name=r["name"],
                creation_timestamp=r["creation_timestamp"],
                last_updated_timestamp=r["last_updated_timestamp"],
                description=r["description"],
                tags=tags.get(r["model_row"], {}),
                aliases=aliases.get(r["model_row"], {}),
                latest_versions=tuple(latest.get(r["model_row"], ())),
            )
            for r in rows
        ]

    def _touch(self, conn: Connection, model_row: int) -> None:
        conn.execute(sa.update(_m).where(_m.c.model_row == model_row).values(last_updated_timestamp=now_ms()))

    # --- registered models ----------------------------------------------------
    def create_registered_model(
        self, name: str, tags: Optional[Mapping[str, str]] = None, description: Optional[str] = None
    ) -> RegisteredModel:
        """Create a registered model; AlreadyExistsError if the name is taken."""
        name = validate_model_name(name)
        tag_map = validate_tags(tags, "registered model tag")
        description = validate_description(description)

        def txn(conn: Connection) -> RegisteredModel:
            if conn.execute(sa.select(_m.c.model_row).where(_m.c.name == name)).first():
                raise AlreadyExistsError(f"registered model {name!r} already exists")
            now = now_ms()
            row_id = inserted_id(
                conn,
                sa.insert(_m).values(
                    name=name,
                    creation_timestamp=now,
                    last_updated_timestamp=now,
                    description=description,
                    next_version=1,
                ),
            )
            if tag_map:
                conn.execute(sa.insert(_mt), [{"model_row": row_id, "key": k, "value": v} for k, v in tag_map.items()])
            return self._models(conn, [self._model_row(conn, name)])[0]

        return self._db.run(txn)

    def get_registered_model(self, name: str) -> RegisteredModel:
        """The registered model; ModelNotFound otherwise."""
        return self._db.run(lambda conn: self._models(conn, [self._model_row(conn, name)])[0], write=False)

    def update_registered_model(self, name: str, description: Optional[str]) -> RegisteredModel:
        """Change the description."""
        description = validate_description(description)

        def txn(conn: Connection) -> RegisteredModel:
            row = self._model_row(conn, name, lock=True)
            conn.execute(
                sa.update(_m)
                .where(_m.c.model_row == row["model_row"])
                .values(description=description, last_updated_timestamp=now_ms())
            )
            return self._models(conn, [self._model_row(conn, name)])[0]

        return self._db.run(txn)

    def rename_registered_model(self, name: str, new_name: str) -> RegisteredModel:
        """Rename; versions and aliases follow (they reference the model row)."""
        new_name = validate_model_name(new_name)

        def txn(conn: Connection) -> RegisteredModel:
            row = self._model_row(conn, name, lock=True)
            if new_name != row["name"]:
                if conn.execute(sa.select(_m.c.model_row).where(_m.c.name == new_name)).first():
                    raise AlreadyExistsError(f"registered model {new_name!r} already exists")
                conn.execute(
                    sa.update(_m)
                    .where(_m.c.model_row == row["model_row"])
                    .values(name=new_name, last_updated_timestamp=now_ms())
                )
            return self._models(conn, [self._model_row(conn, new_name)])[0]

        return self._db.run(txn)

    def delete_registered_model(self, name: str) -> None:
        """Hard-delete the model with all its versions, tags and aliases."""

        def txn(conn: Connection) -> None:
            row_id = self._model_row(conn, name, lock=True)["model_row"]
            for table in (_al, _vt, _v, _mt):
                conn.execute(sa.delete(table).where(table.c.model_row == row_id))
            conn.execute(sa.delete(_m).where(_m.c.model_row == row_id))

        self._db.run(txn)

    def search_registered_models(
        self,
        filter_string: Optional[str] = None,
        max_results: int = DEFAULT_MAX_RESULTS,
        order_by: Optional[Sequence[str]] = None,
        page_token: Optional[str] = None,
    ) -> PagedList[RegisteredModel]:
        """Registered models matching the filter; default order by name."""
        expr, keys = parse_query(filter_string, order_by, REGISTERED_MODEL_SCHEMA)
        query = fingerprint("registered_models", filter_string, list(order_by or []))

        def txn(conn: Connection) -> PagedList[RegisteredModel]:
            rows, token = paged_select(
                conn,
                columns=list(_m.c),
                base=_m,
                where=[],
                expr=expr,
                keys=keys,
                spec=MODEL_SPEC,
                max_results=max_results,
                page_token=page_token,
                query=query,
                key=self._token_key,
                bound_column=_m.c.model_row,
            )
            return PagedList(self._models(conn, rows), token)

        return self._db.run(txn, write=False)

    def set_registered_model_tag(self, name: str, key: str, value: str) -> None:
        """Set a tag on a registered model."""
        validate_tag(key, value, "registered model tag")

        def txn(conn: Connection) -> None:
            row_id = self._model_row(conn, name, lock=True)["model_row"]
            upsert(conn, _mt, [{"model_row": row_id, "key": key, "value": value}], ["value"])

        self._db.run(txn)

    def delete_registered_model_tag(self, name: str, key: str) -> None:
        """Remove a tag; NotFoundError if it is not set."""
        validate_key(key, "registered model tag key")

        def txn(conn: Connection) -> None:
            row_id = self._model_row(conn, name, lock=True)["model_row"]
            if not conn.execute(sa.delete(_mt).where(_mt.c.model_row == row_id, _mt.c.key == key)).rowcount:
                raise NotFoundError(f"registered model {name!r} has no tag {key!r}")

        self._db.run(txn)

    def get_latest_versions(self, name: str, stages: Optional[Sequence[str]] = None) -> list[ModelVersion]:
        """The newest version of each stage (all stages with a version when ``stages`` is None)."""
        wanted = rules.parse_stages(stages)

        def txn(conn: Connection) -> list[ModelVersion]:
            row_id = self._model_row(conn, name)["model_row"]
            return self._latest(conn, [row_id], wanted).get(row_id, [])

        return self._db.run(txn, write=False)

    # --- versions ---------------------------------------------------------------
    def create_model_version(
        self,
        name: str,
        source: str,
        run_id: Optional[str] = None,
        tags: Optional[Mapping[str, str]] = None,
        description: Optional[str] = None,
        model_id: Optional[str] = None,
    ) -> ModelVersion:
        """Create the next version; numbers are never duplicated or reused."""
        source, run_id, model_id = validate_model_version_source(source, run_id, model_id)
        tag_map = validate_tags(tags, "model version tag")
        description = validate_description(description)

        def txn(conn: Connection) -> ModelVersion:
            row_id = self._model_row(conn, name)["model_row"]
            now = now_ms()
            # the UPDATE locks the model row until commit: concurrent creators queue here
            conn.execute(
                sa.update(_m)
                .where(_m.c.model_row == row_id)
                .values(next_version=_m.c.next_version + 1, last_updated_timestamp=now)
            )
            number = conn.execute(sa.select(_m.c.next_version).where(_m.c.model_row == row_id)).scalar_one() - 1
            conn.execute(
                sa.insert(_v).values(
                    model_row=row_id,
                    version=number,
                    creation_timestamp=now,
                    last_updated_timestamp=now,
                    description=description,
                    user_id=None,
                    current_stage=ModelVersionStage.NONE.value,
                    source=source,
                    run_id=run_id,
                    status=ModelVersionStatus.READY.value,
                    model_id=model_id,
                )
            )
            if tag_map:
                conn.execute(
                    sa.insert(_vt),
                    [{"model_row": row_id, "version": number, "key": k, "value": v} for k, v in tag_map.items()],
                )
            return self._versions(conn, [self._version_row(conn, name, number)])[0]

        return self._db.run(txn)

    def get_model_version(self, name: str, version: str) -> ModelVersion:
        """A model version; ModelVersionNotFound otherwise."""
        return self._db.run(lambda conn: self._versions(conn, [self._version_row(conn, name, version)])[0], write=False)

    def _update_version(self, name: str, version: str, **values: Any) -> ModelVersion:
        def txn(conn: Connection) -> ModelVersion:
            row = self._version_row(conn, name, version)
            now = now_ms()
            conn.execute(
                sa.update(_v)
                .where(_v.c.model_row == row["model_row"], _v.c.version == row["version"])
                .values(last_updated_timestamp=now, **values)
            )
            self._touch(conn, row["model_row"])
            return self._versions(conn, [self._version_row(conn, name, version)])[0]

        return self._db.run(txn)

    def update_model_version(self, name: str, version: str, description: Optional[str]) -> ModelVersion:
        """Change a version's description."""
        return self._update_version(name, version, description=validate_description(description))

    def delete_model_version(self, name: str, version: str) -> None:
        """Hard-delete a version and the aliases pointing at it."""

        def txn(conn: Connection) -> None:
            row = self._version_row(conn, name, version)
            key = (row["model_row"], row["version"])
            for table in (_al, _vt, _v):
                conn.execute(sa.delete(table).where(table.c.model_row == key[0], table.c.version == key[1]))
            self._touch(conn, key[0])

        self._db.run(txn)

    def search_model_versions(
        self,
        filter_string: Optional[str] = None,
        max_results: int = DEFAULT_MAX_RESULTS,
        order_by: Optional[Sequence[str]] = None,
        page_token: Optional[str] = None,
    ) -> PagedList[ModelVersion]:
        """Model versions matching the filter; default order name, then version descending."""
        expr, keys = parse_query(filter_string, order_by, MODEL_VERSION_SCHEMA)
        query = fingerprint("model_versions", filter_string, list(order_by or []))
        base = sa.join(_v, _m, _v.c.model_row == _m.c.model_row)

        def txn(conn: Connection) -> PagedList[ModelVersion]:
            rows, token = paged_select(
                conn,
                columns=_VERSION_COLUMNS,
                base=base,
                where=[],
                expr=expr,
                keys=keys,
                spec=VERSION_SPEC,
                max_results=max_results,
                page_token=page_token,
                query=query,
                key=self._token_key,
            )
            return PagedList(self._versions(conn, rows), token)

        return self._db.run(txn, write=False)

    def transition_model_version_stage(
        self, name: str, version: str, stage: str, archive_existing_versions: bool = False
    ) -> ModelVersion:
        """Move a version to ``stage``.

        With ``archive_existing_versions`` and a target of Staging or Production,
        the other versions in that stage move to Archived in the same transaction.
        """
        target = rules.parse_stage(stage).value
        archive = rules.archives_other_versions(target, archive_existing_versions)

        def txn(conn: Connection) -> ModelVersion:
            row = self._version_row(conn, name, version)
            now = now_ms()
            if archive:
                conn.execute(
                    sa.update(_v)
                    .where(
                        _v.c.model_row == row["model_row"],
                        _v.c.current_stage == target,
                        _v.c.version != row["version"],
                    )
                    .values(current_stage=ModelVersionStage.ARCHIVED.value, last_updated_timestamp=now)
                )
            conn.execute(
                sa.update(_v)
                .where(_v.c.model_row == row["model_row"], _v.c.version == row["version"])
                .values(current_stage=target, last_updated_timestamp=now)
            )
            self._touch(conn, row["model_row"])
            return self._versions(conn, [self._version_row(conn, name, version)])[0]

        return self._db.run(txn)

    def get_model_version_download_uri(self, name: str, version: str) -> str:
        """The version's ``source``."""
        return self.get_model_version(name, version).source or ""

    def set_model_version_tag(self, name: str, version: str, key: str, value: str) -> None:
        """Set a tag on a model version."""
        validate_tag(key, value, "model version tag")

        def txn(conn: Connection) -> None:
            row = self._version_row(conn, name, version)
            upsert(
                conn,
                _vt,
                [{"model_row": row["model_row"], "version": row["version"], "key": key, "value": value}],
                ["value"],
            )

        self._db.run(txn)

    def delete_model_version_tag(self, name: str, version: str, key: str) -> None:
        """Remove a version tag; NotFoundError if it is not set."""
        validate_key(key, "model version tag key")

        def txn(conn: Connection) -> None:
            row = self._version_row(conn, name, version)
            if not conn.execute(
                sa.delete(_vt).where(
                    _vt.c.model_row == row["model_row"], _vt.c.version == row["version"], _vt.c.key == key
                )
            ).rowcount:
                raise NotFoundError(f"model {name!r} version {row['version']} has no tag {key!r}")

        self._db.run(txn)

    # --- aliases ------------------------------------------------------------------
    def set_registered_model_alias(self, name: str, alias: str, version: str) -> None:
        """Point ``alias`` at a version (moving it if needed)."""
        alias = validate_alias(alias)

        def txn(conn: Connection) -> None:
            row = self._version_row(conn, name, version)
            upsert(conn, _al, [{"model_row": row["model_row"], "alias": alias, "version": row["version"]}], ["version"])

        self._db.run(txn)

    def delete_registered_model_alias(self, name: str, alias: str) -> None:
        """Remove an alias; NotFoundError if the model has no such alias."""
        alias = validate_alias(alias)

        def txn(conn: Connection) -> None:
            row = self._model_row(conn, name, lock=True)
            if not conn.execute(
                sa.delete(_al).where(_al.c.model_row == row["model_row"], _al.c.alias == alias)
            ).rowcount:
                raise NotFoundError(f"registered model {row['name']!r} has no alias {alias!r}")

        self._db.run(txn)

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        """The version ``alias`` points at; ModelVersionNotFound otherwise."""
        alias = validate_alias(alias)

        def txn(conn: Connection) -> ModelVersion:
            row_id = self._model_row(conn, name)["model_row"]
            version = conn.execute(
                sa.select(_al.c.version).where(_al.c.model_row == row_id, _al.c.alias == alias)
            ).scalar()
            if version is None:
                raise ModelVersionNotFound(f"registered model {name!r} has no alias {alias!r}")
            return self._versions(conn, [self._version_row(conn, name, version)])[0]

        return self._db.run(txn, write=False)
