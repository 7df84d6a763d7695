"""``HttpRegistryStore``: storekit's registry interface over MLflow's model-registry REST API."""

from __future__ import annotations

from typing import Any, Callable, Mapping, Optional, Sequence

from storekit import rules
from storekit.entities import ModelVersion, PagedList, RegisteredModel
from storekit.errors import InvalidParameterError, ModelNotFound, ModelVersionNotFound, NotFoundError
from storekit.interfaces import DEFAULT_MAX_RESULTS, Capability, RegistryStore
from storekit.rules import (
    validate_alias,
    validate_description,
    validate_key,
    validate_max_results,
    validate_model_name,
    validate_model_version_source,
    validate_tag,
    validate_tags,
    validate_version,
)
from storekit.search import MODEL_VERSION_SCHEMA, REGISTERED_MODEL_SCHEMA, Kind
from storekit.search.ast import Identifier
from storekit.uri import redact_uri

from .base import ServerConnection
from .clientside import PagedSearch
from .convert import ArtifactUriMapper, model_version_from_json, pairs, registered_model_from_json
from .settings import HttpSettings

__all__ = ["HttpRegistryStore"]

_FETCH_PAGE = 1000  # MLflow caps registry searches at 1000 per page


def _tagged_value(entity: Any, ident: Identifier) -> object:
    if ident.kind is Kind.TAG:
        return entity.tags.get(ident.key)
    value = getattr(entity, ident.key, None)
    if ident.key == "version" and value is not None:
        return int(value)
    return value


class HttpRegistryStore(RegistryStore):
    """Registry store on an MLflow-compatible tracking server (``http://`` / ``https://``)."""

    capabilities = frozenset(
        {Capability.SEARCH_OR, Capability.CONCURRENT_WRITERS, Capability.MULTIPROCESS_WRITERS, Capability.DURABLE}
    )

    def __init__(self, uri: str, settings: Optional[HttpSettings] = None, **_options: Any) -> None:
        self._conn = ServerConnection(uri, settings)
        self.uri = uri
        self.http = self._conn.http
        self._artifacts = ArtifactUriMapper(self._conn.base_url)
        self._searches = PagedSearch(_FETCH_PAGE)

    def __repr__(self) -> str:
        return f"HttpRegistryStore({redact_uri(self.uri)!r})"

    def close(self) -> None:
        """Close the pooled HTTP connections."""
        self.http.close()

    def _call(
        self,
        method: str,
        endpoint: str,
        *,
        body: Optional[Mapping[str, Any]] = None,
        params: Optional[Mapping[str, Any]] = None,
        idempotent: Optional[bool] = None,
        not_found: type[NotFoundError] = ModelNotFound,
    ) -> dict[str, Any]:
        return self.http.call(method, endpoint, json=body, params=params, idempotent=idempotent, not_found=not_found)

    # -- registered models ----------------------------------------------------
    def create_registered_model(
        self, name: str, tags: Optional[Mapping[str, str]] = None, description: Optional[str] = None
    ) -> RegisteredModel:
        """Create a registered model."""
        name = validate_model_name(name)
        tags = validate_tags(tags, "registered model tag")
        data = self._call(
            "POST",
            "registered-models/create",
            body={"name": name, "tags": pairs(tags), "description": validate_description(description)},
        )
        return registered_model_from_json(data["registered_model"], self._artifacts)

    def get_registered_model(self, name: str) -> RegisteredModel:
        """Fetch a registered model."""
        data = self._call("GET", "registered-models/get", params={"name": validate_model_name(name)})
        return registered_model_from_json(data["registered_model"], self._artifacts)

    def update_registered_model(self, name: str, description: Optional[str]) -> RegisteredModel:
        """Change a registered model's description."""
        data = self._call(
            "PATCH",
            "registered-models/update",
            idempotent=True,
            body={"name": validate_model_name(name), "description": validate_description(description) or ""},
        )
        return registered_model_from_json(data["registered_model"], self._artifacts)

    def rename_registered_model(self, name: str, new_name: str) -> RegisteredModel:
        """Rename a registered model."""
        data = self._call(
            "POST",
            "registered-models/rename",
            body={"name": validate_model_name(name), "new_name": validate_model_name(new_name)},
        )
        return registered_model_from_json(data["registered_model"], self._artifacts)

    def delete_registered_model(self, name: str) -> None:
        """Delete a registered model and its versions."""
        self._call("DELETE", "registered-models/delete", body={"name": validate_model_name(name)}, idempotent=False)

    def _search(
        self,
        endpoint: str,
        field: str,
        convert: Callable[[Any, Any], Any],
        schema: Any,
        filter_string: Optional[str],
        max_results: int,
        order_by: Optional[Sequence[str]],
        page_token: Optional[str],
    ) -> PagedList[Any]:
        """One registry search: the server's pages, with what it cannot express done on the client."""
        limit = validate_max_results(max_results)

        def server_page(
            flt: Optional[str], size: int, token: Optional[str], order: Optional[Sequence[str]]
        ) -> PagedList[Any]:
            data = self._call(
                "GET",
                endpoint,
                params={
                    "filter": flt or None,
                    "max_results": size,
                    "order_by": list(order or ()) or None,
                    "page_token": token or None,
                },
            )
            return PagedList(
                [convert(item, self._artifacts) for item in data.get(field) or ()],
                data.get("next_page_token") or None,
            )

        return self._searches.search(schema, filter_string, order_by, limit, page_token, (), server_page, _tagged_value)

    def search_registered_models(
        self,
        filter_string: Optional[str] = None,
        max_results: int = DEFAULT_MAX_RESULTS,
        order_by: Optional[Sequence[str]] = None,
        page_token: Optional[str] = None,
    ) -> PagedList[RegisteredModel]:
        """Search registered models (what the server cannot express, on the client)."""
        return self._search(
            "registered-models/search",
            "registered_models",
            registered_model_from_json,
            REGISTERED_MODEL_SCHEMA,
            filter_string,
            max_results,
            order_by,
            page_token,
        )

    def set_registered_model_tag(self, name: str, key: str, value: str) -> None:
        """Set a tag on a registered model."""
        validate_tag(key, value, "registered model tag")
        self._call(
            "POST",
            "registered-models/set-tag",
            idempotent=True,
            body={"name": validate_model_name(name), "key": key, "value": value},
        )

    def delete_registered_model_tag(self, name: str, key: str) -> None:
        """Remove a tag from a registered model; NotFoundError when it is not set."""
        key = validate_key(key, "registered model tag key")
        if key not in self.get_registered_model(name).tags:  # MLflow deletes a missing tag silently
            raise NotFoundError(f"registered model {name!r} has no tag {key!r}")
        self._call(
            "DELETE",
            "registered-models/delete-tag",
            idempotent=False,
            not_found=NotFoundError,
            body={"name": validate_model_name(name), "key": validate_key(key, "registered model tag key")},
        )

    def get_latest_versions(self, name: str, stages: Optional[Sequence[str]] = None) -> list[ModelVersion]:
        """The newest version per stage."""
        wanted = rules.parse_stages(stages)  # one string is one stage; None or empty: every stage
        stage_names = sorted(wanted) if wanted else None
        data = self._call(
            "POST",
            "registered-models/get-latest-versions",
            idempotent=True,
            body={"name": validate_model_name(name), "stages": stage_names},
        )
        versions = [model_version_from_json(v, self._artifacts) for v in data.get("model_versions") or ()]
        return sorted(versions, key=lambda v: v.current_stage)  # the contract orders them by stage name

    # -- versions ---------------------------------------------------------------
    def create_model_version(
        self,
        name: str,
        source: str,
        run_id: Optional[str] = None,
        tags: Optional[Mapping[str, str]] = None,
        description: Optional[str] = None,
        model_id: Optional[str] = None,
    ) -> ModelVersion:
        """Create the next version (never retried once the server may have seen it)."""
        name = validate_model_name(name)
        source, run_id, model_id = validate_model_version_source(source, run_id, model_id)
        data = self._call(
            "POST",
            "model-versions/create",
            body={
                "name": name,
                "source": self._artifacts.to_server(source),
                "run_id": run_id or None,
                "tags": pairs(validate_tags(tags, "model version tag")),
                "description": validate_description(description),
                "model_id": model_id or None,
            },
        )
        return model_version_from_json(data["model_version"], self._artifacts)

    def get_model_version(self, name: str, version: str) -> ModelVersion:
        """Fetch a model version."""
        data = self._call(
            "GET",
            "model-versions/get",
            not_found=ModelVersionNotFound,
            params={"name": validate_model_name(name), "version": validate_version(version)},
        )
        return model_version_from_json(data["model_version"], self._artifacts)

    def update_model_version(self, name: str, version: str, description: Optional[str]) -> ModelVersion:
        """Change a version's description."""
        data = self._call(
            "PATCH",
            "model-versions/update",
            idempotent=True,
            not_found=ModelVersionNotFound,
            body={
                "name": validate_model_name(name),
                "version": validate_version(version),
                "description": validate_description(description) or "",
            },
        )
        return model_version_from_json(data["model_version"], self._artifacts)

    def delete_model_version(self, name: str, version: str) -> None:
        """Delete a version."""
        self._call(
            "DELETE",
            "model-versions/delete",
            idempotent=False,
            not_found=ModelVersionNotFound,
            body={"name": validate_model_name(name), "version": validate_version(version)},
        )

    def search_model_versions(
        self,
        filter_string: Optional[str] = None,
        max_results: int = DEFAULT_MAX_RESULTS,
        order_by: Optional[Sequence[str]] = None,
        page_token: Optional[str] = None,
    ) -> PagedList[ModelVersion]:
        """Search model versions (what the server cannot express, on the client)."""
        return self._search(
            "model-versions/search",
            "model_versions",
            model_version_from_json,
            MODEL_VERSION_SCHEMA,
            filter_string,
            max_results,
            order_by,
            page_token,
        )

    def transition_model_version_stage(
        self, name: str, version: str, stage: str, archive_existing_versions: bool = False
    ) -> ModelVersion:
        """Move a version to a stage."""
        target = rules.parse_stage(stage)
        archive = rules.archives_other_versions(target, archive_existing_versions)
        data = self._call(
            "POST",
            "model-versions/transition-stage",
            idempotent=not archive,
            not_found=ModelVersionNotFound,
            body={
                "name": validate_model_name(name),
                "version": validate_version(version),
                "stage": target.value,
                "archive_existing_versions": archive,
            },
        )
        return model_version_from_json(data["model_version"], self._artifacts)

    def get_model_version_download_uri(self, name: str, version: str) -> str:
        """The artifact URI of a version (the server's ``mlflow-artifacts:`` URIs as http(s) URIs)."""
        data = self._call(
            "GET",
            "model-versions/get-download-uri",
            not_found=ModelVersionNotFound,
            params={"name": validate_model_name(name), "version": validate_version(version)},
        )
        return self._artifacts.to_client(data.get("artifact_uri"))

    def set_model_version_tag(self, name: str, version: str, key: str, value: str) -> None:
        """Set a tag on a model version."""
        validate_tag(key, value, "model version tag")
        self._call(
            "POST",
            "model-versions/set-tag",
            idempotent=True,
            not_found=ModelVersionNotFound,
            body={"name": validate_model_name(name), "version": validate_version(version), "key": key, "value": value},
        )

    def delete_model_version_tag(self, name: str, version: str, key: str) -> None:
        """Remove a tag from a model version; NotFoundError when it is not set."""
        key = validate_key(key, "model version tag key")
        if key not in self.get_model_version(name, version).tags:  # MLflow deletes a missing tag silently
            raise NotFoundError(f"model version {name!r} {version!r} has no tag {key!r}")
        self._call(
            "DELETE",
            "model-versions/delete-tag",
            idempotent=False,
            not_found=NotFoundError,
            body={
                "name": validate_model_name(name),
                "version": validate_version(version),
                "key": validate_key(key, "model version tag key"),
            },
        )

    def set_registered_model_alias(self, name: str, alias: str, version: str) -> None:
        """Point an alias at a version."""
        self._call(
            "POST",
            "registered-models/alias",
            idempotent=True,
            not_found=ModelVersionNotFound,
            body={
                "name": validate_model_name(name),
                "alias": validate_alias(alias),
                "version": validate_version(version),
            },
        )

    def delete_registered_model_alias(self, name: str, alias: str) -> None:
        """Remove an alias; NotFoundError when it is not set."""
        name, alias = validate_model_name(name), validate_alias(alias)
        if alias not in self.get_registered_model(name).aliases:  # MLflow deletes a missing alias silently
            raise NotFoundError(f"registered model {name!r} has no alias {alias!r}")
        self._call("DELETE", "registered-models/alias", idempotent=True, body={"name": name, "alias": alias})

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        """The version an alias points at."""
        params = {"name": validate_model_name(name), "alias": validate_alias(alias)}
        try:
            data = self._call("GET", "registered-models/alias", not_found=ModelVersionNotFound, params=params)
        except InvalidParameterError as exc:
            # MLflow answers a missing alias with INVALID_PARAMETER_VALUE ("... alias x not found");
            # the name and alias were validated above, so that answer can only mean "not found".
            if "not found" in str(exc).lower():
                raise ModelVersionNotFound(str(exc)) from None
            raise
        return model_version_from_json(data["model_version"], self._artifacts)
