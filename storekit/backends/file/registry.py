"""``FileRegistryStore``: the model registry on a directory tree (contract section 5).

Each registered model is one JSON document, ``<root>/models/<name>/model.json``
(the directory name is the model name, percent-encoded), holding its
description, tags, aliases, every version and the next version number::

    {"name": "m", "creation_timestamp": ..., "last_updated_timestamp": ...,
     "description": null, "tags": {}, "aliases": {"champion": "2"},
     "next_version": 3, "versions": {"1": {...}, "2": {...}}}

Every change is a read-modify-write of that document under the registry's
lock, saved with an atomic replace, so a change (e.g. a stage transition
that archives the other versions) is applied whole or not at all, and a
version number is handed out exactly once even with several processes.
"""

from __future__ import annotations

import os
import shutil
import threading
import uuid
from pathlib import Path
from typing import Any, Callable, Mapping, Optional, Sequence

from ... import rules
from ...entities import ModelVersion, ModelVersionStage, ModelVersionStatus, PagedList, RegisteredModel
from ...errors import (
    AlreadyExistsError,
    ModelNotFound,
    ModelVersionNotFound,
    NotFoundError,
    StoreCorruptionError,
)
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
from ...search.inprocess import creation_bound, search_page
from ...uri import redact_uri
from .atomic import read_json, write_json_atomic
from .importing import FileRegistryImportOps
from .layout import open_root, safe_file_name
from .locking import StoreLock
from .oserrors import translated
from .secret import store_secret

__all__ = ["FileRegistryStore"]

_MODEL_FILE = "model.json"


def _version_entity(name: str, number: str, v: dict[str, Any], aliases: Mapping[str, str]) -> ModelVersion:
    return ModelVersion(
        name=name,
        version=number,
        creation_timestamp=v["creation_timestamp"],
        last_updated_timestamp=v["last_updated_timestamp"],
        description=v.get("description"),
        user_id=v.get("user_id"),
        current_stage=v.get("current_stage", ModelVersionStage.NONE.value),
        source=v.get("source"),
        run_id=v.get("run_id"),
        status=v.get("status", ModelVersionStatus.READY.value),
        tags=dict(v.get("tags") or {}),
        aliases=tuple(sorted(a for a, n in aliases.items() if n == number)),
        model_id=v.get("model_id"),
    )


def _latest_versions(doc: dict[str, Any], stages: object = None) -> list[ModelVersion]:
    wanted = rules.parse_stages(stages)
    newest: dict[str, int] = {}
    for number, v in doc["versions"].items():
        stage = v.get("current_stage", ModelVersionStage.NONE.value)
        if (wanted is None or stage in wanted) and int(number) > newest.get(stage, 0):
            newest[stage] = int(number)
    return [
        _version_entity(doc["name"], str(n), doc["versions"][str(n)], doc["aliases"]) for _, n in sorted(newest.items())
    ]


def _model_entity(doc: dict[str, Any]) -> RegisteredModel:
    return RegisteredModel(
        name=doc["name"],
        creation_timestamp=doc["creation_timestamp"],
        last_updated_timestamp=doc["last_updated_timestamp"],
        description=doc.get("description"),
        tags=dict(doc.get("tags") or {}),
        aliases=dict(doc.get("aliases") or {}),
        latest_versions=tuple(_latest_versions(doc)),
    )


class FileRegistryStore(FileRegistryImportOps, RegistryStore):
    """A model registry in ``<root>/models`` of a file store (``file:`` URIs and bare paths).

    ``FileRegistryStore(uri, create=True)``: the store is opened like
    :class:`~storekit.backends.file.FileTrackingStore` opens it (``create=False``
    refuses to create a missing store; foreign directories are refused).
    """

    capabilities = frozenset(
        {
            Capability.CONCURRENT_WRITERS,
            Capability.MULTIPROCESS_WRITERS,
            Capability.DURABLE,
            Capability.SEARCH_OR,
            Capability.IMPORT,
        }
    )

    def __init__(self, uri: "str | os.PathLike[str]", create: bool = True) -> None:
        self.uri = os.fspath(uri)
        store_root = open_root(uri, create=create)
        self._token_key = store_secret(store_root, create=create)
        self.root = store_root / "models"
        with translated("creating", self.root):
            self.root.mkdir(exist_ok=True)
        self.lock = StoreLock(self.root / ".registry.lock")
        self._mutex = threading.RLock()
        self._cache: dict[str, tuple[tuple[int, int, int], dict[str, Any]]] = {}

    def __repr__(self) -> str:
        return f"FileRegistryStore({redact_uri(self.uri)!r})"

    # ------------------------------------------------------------------
    # documents
    # ------------------------------------------------------------------
    def _dir(self, name: str) -> Path:
        return self.root / safe_file_name(name)

    def _read(self, directory: Path) -> Optional[dict[str, Any]]:
        path = directory / _MODEL_FILE
        try:
            st = os.stat(path)
        except FileNotFoundError:
            return None
        except OSError as exc:
            with translated("reading", path):
                raise exc
        sig = (st.st_ino, st.st_mtime_ns, st.st_size)
        with self._mutex:
            hit = self._cache.get(directory.name)
            if hit is not None and hit[0] == sig:
                return hit[1]
        doc = read_json(path)
        if not isinstance(doc, dict) or not isinstance(doc.get("versions"), dict) or "name" not in doc:
            raise StoreCorruptionError(f"file store: {path} is not a registered model document")
        with self._mutex:
            self._cache[directory.name] = (sig, doc)
        return doc

    def _load(self, name: Any) -> dict[str, Any]:
        name = validate_model_name(name)
        doc = self._read(self._dir(name))
        if doc is None or doc["name"] != name:
            raise ModelNotFound(f"no registered model named {name!r}")
        return doc

    def _all(self) -> list[dict[str, Any]]:
        with translated("listing", self.root):
            dirs = [e.name for e in os.scandir(self.root) if e.is_dir() and not e.name.startswith(".")]
        docs = []
        for d in sorted(dirs):
            doc = self._read(self.root / d)
            if doc is not None and safe_file_name(doc["name"]) == d:
                docs.append(doc)
        return docs

    def _save(self, doc: dict[str, Any]) -> None:
        write_json_atomic(self._dir(doc["name"]) / _MODEL_FILE, doc)

    def _change(self, name: Any, change: Callable[[dict[str, Any]], Any]) -> Any:
        """Apply ``change`` to a private copy of a model document under the lock and save it."""
        with self.lock.hold():
            doc = self._copy(self._load(name))
            result = change(doc)
            doc["last_updated_timestamp"] = max(now_ms(), doc["last_updated_timestamp"])
            self._save(doc)
            return result if result is not None else doc

    @staticmethod
    def _copy(doc: dict[str, Any]) -> dict[str, Any]:
        out = dict(doc)
        out["tags"] = dict(doc.get("tags") or {})
        out["aliases"] = dict(doc.get("aliases") or {})
        out["versions"] = {k: dict(v, tags=dict(v.get("tags") or {})) for k, v in doc["versions"].items()}
        return out

    @staticmethod
    def _version(doc: dict[str, Any], version: Any) -> tuple[str, dict[str, Any]]:
        number = validate_version(version)
        v = doc["versions"].get(number)
        if v is None:
            raise ModelVersionNotFound(f"registered model {doc['name']!r} has no version {number}")
        return number, v

    # ------------------------------------------------------------------
    # registered models
    # ------------------------------------------------------------------
    def create_registered_model(
        self,
        name: str,
        tags: Optional[Mapping[str, str]] = None,
        description: Optional[str] = None,
    ) -> RegisteredModel:
        """Create a registered model; AlreadyExistsError for a taken name."""
        name = validate_model_name(name)
        tags = validate_tags(tags, "registered model tag")
        description = validate_description(description)
        now = now_ms()
        doc = {
            "name": name,
            "creation_timestamp": now,
            "last_updated_timestamp": now,
            "description": description,
            "tags": tags,
            "aliases": {},
            "next_version": 1,
            "versions": {},
        }
        with self.lock.hold():
            target = self._dir(name)
            if self._read(target) is not None or target.exists():
                raise AlreadyExistsError(f"registered model {name!r} already exists")
            tmp = self.root / f".tmp-{uuid.uuid4().hex[:12]}"
            with translated("creating", target):
                tmp.mkdir()
                try:
                    write_json_atomic(tmp / _MODEL_FILE, doc)
                    os.rename(tmp, target)
                except BaseException:
                    shutil.rmtree(tmp, ignore_errors=True)
                    raise
        return _model_entity(doc)

    def get_registered_model(self, name: str) -> RegisteredModel:
        """A registered model with its aliases and newest version per stage."""
        return _model_entity(self._load(name))

    def update_registered_model(self, name: str, description: Optional[str]) -> RegisteredModel:
        """Change a registered model's description."""
        description = validate_description(description)

        def change(doc: dict[str, Any]) -> None:
            doc["description"] = description

        return _model_entity(self._change(name, change))

    def rename_registered_model(self, name: str, new_name: str) -> RegisteredModel:
        """Rename a model; its versions and aliases follow."""
        new_name = validate_model_name(new_name)
        with self.lock.hold():
            doc = self._copy(self._load(name))
            if new_name == doc["name"]:
                return _model_entity(doc)
            target = self._dir(new_name)
            if self._read(target) is not None or target.exists():
                raise AlreadyExistsError(f"registered model {new_name!r} already exists")
            old_dir = self._dir(doc["name"])
            doc["name"] = new_name
            doc["last_updated_timestamp"] = now_ms()
            # 1. the document takes the new name, 2. the directory follows; a
            # crash in between is finished by _repair_renames() on the next listing
            write_json_atomic(old_dir / _MODEL_FILE, doc)
            with translated("renaming", old_dir):
                os.rename(old_dir, target)
            return _model_entity(doc)

    def _repair_renames(self) -> None:
        """Finish renames interrupted between their two steps."""
        with translated("listing", self.root):
            dirs = [e.name for e in os.scandir(self.root) if e.is_dir() and not e.name.startswith(".")]
        for d in dirs:
            doc = self._read(self.root / d)
            if doc is not None and safe_file_name(doc["name"]) != d:
                with self.lock.hold():
                    target = self._dir(doc["name"])
                    if (self.root / d).exists() and not target.exists():
                        with translated("renaming", self.root / d):
                            os.rename(self.root / d, target)

    def delete_registered_model(self, name: str) -> None:
        """Delete a model with all its versions and aliases (hard delete)."""
        with self.lock.hold():
            doc = self._load(name)
            directory = self._dir(doc["name"])
            trash = self.root / f".trash-{uuid.uuid4().hex[:12]}"
            with translated("deleting", directory):
                os.rename(directory, trash)
            shutil.rmtree(trash, ignore_errors=True)
            with self._mutex:
                self._cache.pop(directory.name, None)

    def search_registered_models(
        self,
        filter_string: Optional[str] = None,
        max_results: int = DEFAULT_MAX_RESULTS,
        order_by: Optional[Sequence[str]] = None,
        page_token: Optional[str] = None,
    ) -> PagedList[RegisteredModel]:
        """Registered models matching the filter (``name``, ``tags.<key>``...); default order by name."""
        from ...search import REGISTERED_MODEL_SCHEMA, Kind

        self._repair_renames()
        docs = self._all()

        def accessor(ident: Any) -> Callable[[dict[str, Any]], object]:
            key = ident.key
            if ident.kind is Kind.TAG:
                return lambda doc: doc["tags"].get(key)
            return lambda doc: doc.get(key)

        page = search_page(
            docs,
            accessor,
            schema=REGISTERED_MODEL_SCHEMA,
            filter_string=filter_string,
            order_by=order_by,
            max_results=max_results,
            page_token=page_token,
            key=self._token_key,
            query=["registered-models"],
            bound=now_ms(),
            within_bound=creation_bound(lambda d: d["creation_timestamp"]),
        )
        return PagedList([_model_entity(d) for d in page], page.token)

    def set_registered_model_tag(self, name: str, key: str, value: str) -> None:
        """Set a tag on a registered model."""
        validate_tag(key, value, "registered model tag")
        self._change(name, lambda doc: doc["tags"].__setitem__(key, value))

    def delete_registered_model_tag(self, name: str, key: str) -> None:
        """Remove a tag from a registered model; NotFoundError if it is not set."""
        validate_key(key, "registered model tag key")

        def change(doc: dict[str, Any]) -> None:
            if key not in doc["tags"]:
                raise NotFoundError(f"registered model {doc['name']!r} has no tag {key!r}")
            del doc["tags"][key]

        self._change(name, change)

    def get_latest_versions(self, name: str, stages: Optional[Sequence[str]] = None) -> list[ModelVersion]:
        """The newest version of each stage (of ``stages``, or every stage that has one), by stage name."""
        wanted = rules.parse_stages(stages)
        return _latest_versions(self._load(name), wanted)

    # ------------------------------------------------------------------
    # versions
    # ------------------------------------------------------------------
    def create_model_version(
        self,
        name: str,
        source: str,
        run_id: Optional[str] = None,
        tags: Optional[Mapping[str, str]] = None,
        description: Optional[str] = None,
        model_id: Optional[str] = None,
    ) -> ModelVersion:
        """Create the next version: numbers start at 1 and are never reused or duplicated."""
        source, run_id, model_id = validate_model_version_source(source, run_id, model_id)
        tags = validate_tags(tags, "model version tag")
        description = validate_description(description)

        def change(doc: dict[str, Any]) -> ModelVersion:
            number = str(int(doc["next_version"]))
            doc["next_version"] = int(number) + 1
            now = max(now_ms(), doc["last_updated_timestamp"])
            doc["versions"][number] = {
                "creation_timestamp": now,
                "last_updated_timestamp": now,
                "description": description,
                "user_id": None,
                "current_stage": ModelVersionStage.NONE.value,
                "source": source,
                "run_id": run_id,
                "status": ModelVersionStatus.READY.value,
                "tags": tags,
                "model_id": model_id,
            }
            return _version_entity(doc["name"], number, doc["versions"][number], doc["aliases"])

        return self._change(name, change)

    def get_model_version(self, name: str, version: str) -> ModelVersion:
        """A model version; ModelVersionNotFound if there is none."""
        doc = self._load(name)
        number, v = self._version(doc, version)
        return _version_entity(doc["name"], number, v, doc["aliases"])

    def _change_version(
        self, name: str, version: str, change: Callable[[dict[str, Any], dict[str, Any]], None]
    ) -> ModelVersion:
        def apply(doc: dict[str, Any]) -> ModelVersion:
            number, v = self._version(doc, version)
            change(doc, v)
            v["last_updated_timestamp"] = max(now_ms(), v["last_updated_timestamp"])
            return _version_entity(doc["name"], number, v, doc["aliases"])

        return self._change(name, apply)

    def update_model_version(self, name: str, version: str, description: Optional[str]) -> ModelVersion:
        """Change a version's description."""
        description = validate_description(description)
        return self._change_version(name, version, lambda doc, v: v.__setitem__("description", description))

    def delete_model_version(self, name: str, version: str) -> None:
        """Delete a version and the aliases pointing at it; its number is never reused."""

        def change(doc: dict[str, Any]) -> None:
            number, _ = self._version(doc, version)
            del doc["versions"][number]
            doc["aliases"] = {a: n for a, n in doc["aliases"].items() if n != number}

        self._change(name, change)

    def search_model_versions(
        self,
        filter_string: Optional[str] = None,
        max_results: int = DEFAULT_MAX_RESULTS,
        order_by: Optional[Sequence[str]] = None,
        page_token: Optional[str] = None,
    ) -> PagedList[ModelVersion]:
        """Versions matching the filter (``name``, ``version``, ``run_id``, ``source``, ``tags.<key>``...)."""
        from ...search import MODEL_VERSION_SCHEMA, Kind

        self._repair_renames()
        versions = [
            _version_entity(doc["name"], number, v, doc["aliases"])
            for doc in self._all()
            for number, v in doc["versions"].items()
        ]

        def accessor(ident: Any) -> Callable[[ModelVersion], object]:
            key = ident.key
            if ident.kind is Kind.TAG:
                return lambda mv: mv.tags.get(key)
            if key == "version":
                return lambda mv: int(mv.version)
            return lambda mv: getattr(mv, key, None)

        return search_page(
            versions,
            accessor,
            schema=MODEL_VERSION_SCHEMA,
            filter_string=filter_string,
            order_by=order_by,
            max_results=max_results,
            page_token=page_token,
            key=self._token_key,
            query=["model-versions"],
            bound=now_ms(),
            within_bound=creation_bound(lambda mv: mv.creation_timestamp),
        )

    def transition_model_version_stage(
        self,
        name: str,
        version: str,
        stage: str,
        archive_existing_versions: bool = False,
    ) -> ModelVersion:
        """Move a version to a stage; with ``archive_existing_versions`` the others in it are archived, atomically."""
        target = rules.parse_stage(stage).value
        archive = rules.archives_other_versions(target, archive_existing_versions)

        def change(doc: dict[str, Any], v: dict[str, Any]) -> None:
            v["current_stage"] = target
            if archive:
                now = now_ms()
                for other in doc["versions"].values():
                    if other is not v and other.get("current_stage") == target:
                        other["current_stage"] = ModelVersionStage.ARCHIVED.value
                        other["last_updated_timestamp"] = max(now, other["last_updated_timestamp"])

        return self._change_version(name, version, change)

    def get_model_version_download_uri(self, name: str, version: str) -> str:
        """The version's ``source``."""
        return self.get_model_version(name, version).source or ""

    def set_model_version_tag(self, name: str, version: str, key: str, value: str) -> None:
        """Set a tag on a model version."""
        validate_tag(key, value, "model version tag")
        self._change_version(name, version, lambda doc, v: v["tags"].__setitem__(key, value))

    def delete_model_version_tag(self, name: str, version: str, key: str) -> None:
        """Remove a tag from a model version; NotFoundError if it is not set."""
        validate_key(key, "model version tag key")

        def change(doc: dict[str, Any], v: dict[str, Any]) -> None:
            if key not in v["tags"]:
                raise NotFoundError(f"model version {doc['name']!r} {version} has no tag {key!r}")
            del v["tags"][key]

        self._change_version(name, version, change)

    # ------------------------------------------------------------------
    # aliases
    # ------------------------------------------------------------------
    def set_registered_model_alias(self, name: str, alias: str, version: str) -> None:
        """Point ``alias`` at a version (moving it if it pointed elsewhere)."""
        alias = validate_alias(alias)

        def change(doc: dict[str, Any]) -> None:
            number, _ = self._version(doc, version)
            doc["aliases"][alias] = number

        self._change(name, change)

    def delete_registered_model_alias(self, name: str, alias: str) -> None:
        """Remove an alias; NotFoundError if the model has no such alias."""
        alias = validate_alias(alias)

        def change(doc: dict[str, Any]) -> None:
            if alias not in doc["aliases"]:
                raise NotFoundError(f"registered model {doc['name']!r} has no alias {alias!r}")
            del doc["aliases"][alias]

        self._change(name, change)

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        """The version ``alias`` points at; ModelVersionNotFound if the alias is not set."""
        alias = validate_alias(alias)
        doc = self._load(name)
        number = doc["aliases"].get(alias)
        if number is None or number not in doc["versions"]:
            raise ModelVersionNotFound(f"registered model {doc['name']!r} has no alias {alias!r}")
        return _version_entity(doc["name"], number, doc["versions"][number], doc["aliases"])

    def close(self) -> None:
        """Release the lock file descriptor."""
        self.lock.close()
