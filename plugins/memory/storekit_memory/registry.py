"""MemoryRegistryStore: registered models, versions, stages and aliases in memory."""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Mapping, Optional, Sequence

from storekit import rules
from storekit.entities import ModelVersion, ModelVersionStage, PagedList, RegisteredModel
from storekit.errors import AlreadyExistsError, ModelNotFound, ModelVersionNotFound, NotFoundError
from storekit.ids import now_ms
from storekit.interfaces import DEFAULT_MAX_RESULTS, Capability, RegistryStore
from storekit.rules import (
    validate_alias,
    validate_description,
    validate_key,
    validate_model_name,
    validate_model_version_source,
    validate_tag,
    validate_tags,
    validate_version,
)
from storekit.search import MODEL_VERSION_SCHEMA, REGISTERED_MODEL_SCHEMA
from storekit.search.ast import Identifier, Kind
from storekit.search.inprocess import creation_bound, search_page

from .state import parse_memory_uri, shared

__all__ = ["MemoryRegistryStore"]


@dataclass
class _ModelRecord:
    """A registered model as stored."""

    model: RegisteredModel
    created: int
    versions: dict[int, ModelVersion] = field(default_factory=dict)
    aliases: dict[str, int] = field(default_factory=dict)
    last_version: int = 0  # never decreases: numbers are never reused


@dataclass
class _RegistryState:
    lock: threading.RLock = field(default_factory=threading.RLock)
    models: dict[str, _ModelRecord] = field(default_factory=dict)
    clock: int = 0
    secret: bytes = field(default_factory=lambda: secrets.token_bytes(32))  # signs page tokens


def _field_accessor(ident: Identifier) -> Callable[[Any], object]:
    """Search accessor shared by models and versions: tags, or an attribute (version numbers as int)."""
    key = ident.key
    if ident.kind is Kind.TAG:
        return lambda entity: entity.tags.get(key)
    if key == "version":
        return lambda entity: None if entity.version is None else int(entity.version)
    return lambda entity: getattr(entity, key, None)


class MemoryRegistryStore(RegistryStore):
    """A model registry in process memory (scheme ``memory``)."""

    capabilities = frozenset({Capability.CONCURRENT_WRITERS})

    def __init__(self, uri: str) -> None:
        self.uri = uri
        name, _ = parse_memory_uri(uri)
        self._state = shared("registry", name, _RegistryState)
        self._lock = self._state.lock

    def __repr__(self) -> str:
        return f"MemoryRegistryStore({self.uri!r})"

    # -- helpers ------------------------------------------------------------------
    def _record(self, name: str) -> _ModelRecord:
        name = validate_model_name(name)
        try:
            return self._state.models[name]
        except KeyError:
            raise ModelNotFound(f"registered model {name!r} does not exist") from None

    def _version(self, name: str, version: str) -> tuple[_ModelRecord, ModelVersion]:
        record = self._record(name)
        number = int(validate_version(version))
        if number not in record.versions:
            raise ModelVersionNotFound(f"registered model {name!r} has no version {number}")
        return record, record.versions[number]

    def _with_aliases(self, record: _ModelRecord, mv: ModelVersion) -> ModelVersion:
        aliases = tuple(sorted(a for a, v in record.aliases.items() if v == int(mv.version)))
        return replace(mv, aliases=aliases)

    def _latest(self, record: _ModelRecord, stages: object = None) -> list[ModelVersion]:
        wanted = rules.parse_stages(stages)  # one string is one stage; None or empty: every stage
        newest: dict[str, ModelVersion] = {}
        for number in sorted(record.versions):
            mv = record.versions[number]
            if wanted is None or mv.current_stage in wanted:
                newest[mv.current_stage] = self._with_aliases(record, mv)
        return [newest[stage] for stage in sorted(newest)]

    def _model(self, record: _ModelRecord) -> RegisteredModel:
        aliases = {a: str(v) for a, v in sorted(record.aliases.items())}
        return replace(record.model, aliases=aliases, latest_versions=tuple(self._latest(record)))

    def _touch(self, record: _ModelRecord, **changes: Any) -> None:
        record.model = replace(record.model, last_updated_timestamp=now_ms(), **changes)

    # -- registered models ------------------------------------------------------------
    def create_registered_model(
        self, name: str, tags: Optional[Mapping[str, str]] = None, description: Optional[str] = None
    ) -> RegisteredModel:
        """Create a model; AlreadyExistsError for a taken name."""
        name, tags = validate_model_name(name), validate_tags(tags, "registered model tag")
        description = validate_description(description)
        with self._lock:
            if name in self._state.models:
                raise AlreadyExistsError(f"registered model {name!r} exists already")
            now = now_ms()
            self._state.clock += 1
            record = _ModelRecord(RegisteredModel(name, now, now, description, tags), self._state.clock)
            self._state.models[name] = record
            return self._model(record)

    def get_registered_model(self, name: str) -> RegisteredModel:
        """Return a model with its aliases and latest versions."""
        with self._lock:
            return self._model(self._record(name))

    def update_registered_model(self, name: str, description: Optional[str]) -> RegisteredModel:
        """Change the description."""
        description = validate_description(description)
        with self._lock:
            record = self._record(name)
            self._touch(record, description=description)
            return self._model(record)

    def rename_registered_model(self, name: str, new_name: str) -> RegisteredModel:
        """Rename; versions and aliases follow."""
        new_name = validate_model_name(new_name)
        with self._lock:
            record = self._record(name)
            if new_name == record.model.name:
                return self._model(record)  # renaming to its own name changes nothing
            if new_name in self._state.models:
                raise AlreadyExistsError(f"registered model {new_name!r} exists already")
            del self._state.models[name]
            record.versions = {n: replace(mv, name=new_name) for n, mv in record.versions.items()}
            self._touch(record, name=new_name)
            self._state.models[new_name] = record
            return self._model(record)

    def delete_registered_model(self, name: str) -> None:
        """Hard delete with all versions and aliases."""
        with self._lock:
            self._record(name)
            del self._state.models[name]

    def search_registered_models(
        self,
        filter_string: Optional[str] = None,
        max_results: int = DEFAULT_MAX_RESULTS,
        order_by: Optional[Sequence[str]] = None,
        page_token: Optional[str] = None,
    ) -> PagedList[RegisteredModel]:
        """Search models (``name``, ``tags.<key>``...); default order by name."""
        with self._lock:
            models = [self._model(r) for r in self._state.models.values()]
            created = {r.model.name: r.created for r in self._state.models.values()}
            return search_page(
                models,
                _field_accessor,
                schema=REGISTERED_MODEL_SCHEMA,
                filter_string=filter_string,
                order_by=order_by,
                max_results=max_results,
                page_token=page_token,
                query=["registered-models"],
                bound=self._state.clock,
                within_bound=creation_bound(lambda m: created[m.name]),
                key=self._state.secret,
            )

    def set_registered_model_tag(self, name: str, key: str, value: str) -> None:
        """Set a model tag."""
        validate_tag(key, value, "registered model tag")
        with self._lock:
            record = self._record(name)
            self._touch(record, tags={**record.model.tags, key: value})

    def delete_registered_model_tag(self, name: str, key: str) -> None:
        """Remove a model tag; NotFoundError if it is not set."""
        validate_key(key, "registered model tag key")
        with self._lock:
            record = self._record(name)
            if key not in record.model.tags:
                raise NotFoundError(f"registered model {name!r} has no tag {key!r}")
            self._touch(record, tags={k: v for k, v in record.model.tags.items() if k != key})

    def get_latest_versions(self, name: str, stages: Optional[Sequence[str]] = None) -> list[ModelVersion]:
        """The newest version of every stage (or of ``stages``), ordered by stage name."""
        rules.parse_stages(stages)  # refuse an unknown stage even for an unknown model
        with self._lock:
            return self._latest(self._record(name), stages)

    # -- versions ----------------------------------------------------------------------
    def create_model_version(
        self,
        name: str,
        source: str,
        run_id: Optional[str] = None,
        tags: Optional[Mapping[str, str]] = None,
        description: Optional[str] = None,
        model_id: Optional[str] = None,
    ) -> ModelVersion:
        """The next number, under the lock: never duplicated, never reused."""
        source, run_id, model_id = validate_model_version_source(source, run_id, model_id)
        tags, description = validate_tags(tags, "model version tag"), validate_description(description)
        with self._lock:
            record = self._record(name)
            record.last_version += 1
            self._state.clock += 1
            now = now_ms()
            mv = ModelVersion(
                name,
                str(record.last_version),
                now,
                now,
                description,
                None,
                ModelVersionStage.NONE.value,
                source,
                run_id,
                tags=tags,
                model_id=model_id,
            )
            record.versions[record.last_version] = mv
            self._touch(record)
            return mv

    def get_model_version(self, name: str, version: str) -> ModelVersion:
        """Return a version with its aliases."""
        with self._lock:
            record, mv = self._version(name, version)
            return self._with_aliases(record, mv)

    def _update_version(self, name: str, version: str, **changes: Any) -> ModelVersion:
        with self._lock:
            record, mv = self._version(name, version)
            mv = replace(mv, last_updated_timestamp=now_ms(), **changes)
            record.versions[int(mv.version)] = mv
            return self._with_aliases(record, mv)

    def update_model_version(self, name: str, version: str, description: Optional[str]) -> ModelVersion:
        """Change a version's description."""
        return self._update_version(name, version, description=validate_description(description))

    def delete_model_version(self, name: str, version: str) -> None:
        """Hard delete; the aliases pointing at it go too."""
        with self._lock:
            record, mv = self._version(name, version)
            del record.versions[int(mv.version)]
            record.aliases = {a: v for a, v in record.aliases.items() if v != int(mv.version)}

    def search_model_versions(
        self,
        filter_string: Optional[str] = None,
        max_results: int = DEFAULT_MAX_RESULTS,
        order_by: Optional[Sequence[str]] = None,
        page_token: Optional[str] = None,
    ) -> PagedList[ModelVersion]:
        """Search versions of every model."""
        with self._lock:
            versions = [self._with_aliases(r, mv) for r in self._state.models.values() for mv in r.versions.values()]
            return search_page(
                versions,
                _field_accessor,
                schema=MODEL_VERSION_SCHEMA,
                filter_string=filter_string,
                order_by=order_by,
                max_results=max_results,
                page_token=page_token,
                query=["model-versions"],
                bound=self._state.clock,
                within_bound=creation_bound(lambda mv: 0),
                key=self._state.secret,
            )

    def transition_model_version_stage(
        self, name: str, version: str, stage: str, archive_existing_versions: bool = False
    ) -> ModelVersion:
        """Move a version; with ``archive_existing_versions`` the others in that stage are archived (same lock)."""
        target = rules.parse_stage(stage).value
        archive = rules.archives_other_versions(target, archive_existing_versions)  # Staging/Production only
        with self._lock:
            record, mv = self._version(name, version)
            if archive:
                for other in list(record.versions.values()):
                    if other.version != mv.version and other.current_stage == target:
                        self._update_version(name, other.version, current_stage=ModelVersionStage.ARCHIVED.value)
            return self._update_version(name, version, current_stage=target)

    def get_model_version_download_uri(self, name: str, version: str) -> str:
        """The version's source."""
        return str(self.get_model_version(name, version).source)

    def set_model_version_tag(self, name: str, version: str, key: str, value: str) -> None:
        """Set a version tag."""
        validate_tag(key, value, "model version tag")
        with self._lock:
            _, mv = self._version(name, version)
            self._update_version(name, version, tags={**mv.tags, key: value})

    def delete_model_version_tag(self, name: str, version: str, key: str) -> None:
        """Remove a version tag; NotFoundError if it is not set."""
        validate_key(key, "model version tag key")
        with self._lock:
            _, mv = self._version(name, version)
            if key not in mv.tags:
                raise NotFoundError(f"model {name!r} version {mv.version} has no tag {key!r}")
            self._update_version(name, version, tags={k: v for k, v in mv.tags.items() if k != key})

    # -- aliases ---------------------------------------------------------------------------
    def set_registered_model_alias(self, name: str, alias: str, version: str) -> None:
        """Point an alias at a version."""
        alias = validate_alias(alias)
        with self._lock:
            record, mv = self._version(name, version)
            record.aliases[alias] = int(mv.version)

    def delete_registered_model_alias(self, name: str, alias: str) -> None:
        """Remove an alias."""
        alias = validate_alias(alias)
        with self._lock:
            record = self._record(name)
            if record.aliases.pop(alias, None) is None:
                raise NotFoundError(f"registered model {name!r} has no alias {alias!r}")

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        """The version an alias points at."""
        alias = validate_alias(alias)
        with self._lock:
            record = self._record(name)
            if alias not in record.aliases:
                raise ModelVersionNotFound(f"registered model {name!r} has no alias {alias!r}")
            return self.get_model_version(name, str(record.aliases[alias]))
