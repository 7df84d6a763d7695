"""MLflow model registry store (``mlflow.store.model_registry.AbstractStore``) on a storekit registry.

Registered under ``mlflow.model_registry_store`` as ``storekit``; MLflow builds
it as ``StorekitRegistryStore(store_uri=..., tracking_uri=...)``.  Versions are
strings in both; sources that are ``storekit:`` URIs are kept unwrapped in
storekit and wrapped again on the way out.  Webhook listings are empty (so
``mlflow server`` logs no errors); creating webhooks and the prompt registry
answer MLflow's NOT_IMPLEMENTED error.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

from mlflow.store.entities.paged_list import PagedList
from mlflow.store.model_registry.abstract_store import AbstractStore

import storekit as sk

from . import conversion as cv
from .errors import not_implemented, translate_errors, translating_methods
from .filters import MODEL_VERSION_ALIASES, REGISTERED_MODEL_ALIASES, registry_filter, rewrite_order_by
from .genai import install_not_implemented
from .paging import collect
from .uris import unwrap, wrap_artifact_uri

__all__ = ["StorekitRegistryStore"]


_NO_WEBHOOKS = "storekit's registry has no webhooks (listings are empty)"


def _version(version: Any) -> str:
    return str(version)


@translating_methods
class StorekitRegistryStore(AbstractStore):
    """An MLflow model registry store backed by the storekit registry named by ``storekit:<uri>``."""

    def __init__(self, store_uri: Optional[str] = None, tracking_uri: Optional[str] = None) -> None:
        super().__init__(store_uri, tracking_uri)
        self.store_uri = store_uri
        self.tracking_uri = tracking_uri
        with translate_errors():
            native = unwrap(store_uri) if store_uri else None
            self._store: sk.RegistryStore = sk.resolve_registry_store(native)

    @property
    def storekit_store(self) -> sk.RegistryStore:
        """The underlying storekit registry store."""
        return self._store

    # ------------------------------------------------------------------ registered models
    def create_registered_model(
        self, name: str, tags: Any = None, description: Optional[str] = None, deployment_job_id: Any = None
    ) -> Any:
        """Create a registered model."""
        return cv.registered_model_to_mlflow(
            self._store.create_registered_model(name, tags=cv.tag_dict(tags), description=description)
        )

    def update_registered_model(self, name: str, description: Optional[str], deployment_job_id: Any = None) -> Any:
        """Change a registered model's description."""
        return cv.registered_model_to_mlflow(self._store.update_registered_model(name, description))

    def rename_registered_model(self, name: str, new_name: str) -> Any:
        """Rename a registered model (its versions and aliases follow)."""
        return cv.registered_model_to_mlflow(self._store.rename_registered_model(name, new_name))

    def delete_registered_model(self, name: str) -> None:
        """Delete a registered model with all its versions."""
        self._store.delete_registered_model(name)

    def search_registered_models(
        self,
        filter_string: Optional[str] = None,
        max_results: Optional[int] = None,
        order_by: Optional[Sequence[str]] = None,
        page_token: Optional[str] = None,
    ) -> PagedList:
        """Registered models matching an MLflow filter (``name``, ``tags.<key>``)."""
        filter_text = registry_filter(filter_string, REGISTERED_MODEL_ALIASES)
        order = rewrite_order_by(order_by, REGISTERED_MODEL_ALIASES)
        items, token = collect(
            lambda limit, token: self._store.search_registered_models(
                filter_string=filter_text, max_results=limit, order_by=order, page_token=token
            ),
            max_results,
            page_token,
        )
        return PagedList([cv.registered_model_to_mlflow(m) for m in items], token)

    def get_registered_model(self, name: str) -> Any:
        """A registered model with its latest versions per stage and aliases."""
        return cv.registered_model_to_mlflow(self._store.get_registered_model(name))

    def get_latest_versions(self, name: str, stages: Optional[Sequence[str]] = None) -> list[Any]:
        """The newest version in each stage (all stages when ``stages`` is empty)."""
        versions = self._store.get_latest_versions(name, stages=list(stages) if stages else None)
        return [cv.model_version_to_mlflow(v) for v in versions]

    def set_registered_model_tag(self, name: str, tag: Any) -> None:
        """Set a tag on a registered model."""
        self._store.set_registered_model_tag(name, tag.key, tag.value)

    def delete_registered_model_tag(self, name: str, key: str) -> None:
        """Remove a tag from a registered model."""
        self._store.delete_registered_model_tag(name, key)

    # ------------------------------------------------------------------ versions
    def create_model_version(
        self,
        name: str,
        source: str,
        run_id: Optional[str] = None,
        tags: Any = None,
        run_link: Optional[str] = None,
        description: Optional[str] = None,
        local_model_path: Optional[str] = None,
        model_id: Optional[str] = None,
    ) -> Any:
        """Create the next version of a registered model (``run_link`` is not kept)."""
        version = self._store.create_model_version(
            name,
            cv.source_to_storekit(source) or "",
            run_id=run_id or None,
            tags=cv.tag_dict(tags),
            description=description,
            model_id=model_id or None,
        )
        return cv.model_version_to_mlflow(version)

    def update_model_version(self, name: str, version: Any, description: Optional[str]) -> Any:
        """Change a version's description."""
        return cv.model_version_to_mlflow(self._store.update_model_version(name, _version(version), description))

    def transition_model_version_stage(
        self, name: str, version: Any, stage: str, archive_existing_versions: bool = False
    ) -> Any:
        """Move a version to a stage, optionally archiving the others in that stage."""
        return cv.model_version_to_mlflow(
            self._store.transition_model_version_stage(
                name, _version(version), stage, archive_existing_versions=bool(archive_existing_versions)
            )
        )

    def delete_model_version(self, name: str, version: Any) -> None:
        """Delete a version (its number is never reused)."""
        self._store.delete_model_version(name, _version(version))

    def get_model_version(self, name: str, version: Any) -> Any:
        """A model version."""
        return cv.model_version_to_mlflow(self._store.get_model_version(name, _version(version)))

    def get_model_version_download_uri(self, name: str, version: Any) -> str:
        """Where a version's files are (``storekit:`` URI when storekit serves the location)."""
        uri = self._store.get_model_version_download_uri(name, _version(version))
        return wrap_artifact_uri(uri) or uri

    def search_model_versions(
        self,
        filter_string: Optional[str] = None,
        max_results: Optional[int] = None,
        order_by: Optional[Sequence[str]] = None,
        page_token: Optional[str] = None,
    ) -> PagedList:
        """Versions matching an MLflow filter (``name``, ``version_number``, ``run_id``, ``source_path``, tags)."""
        filter_text = registry_filter(filter_string, MODEL_VERSION_ALIASES)
        order = rewrite_order_by(order_by, MODEL_VERSION_ALIASES)
        items, token = collect(
            lambda limit, token: self._store.search_model_versions(
                filter_string=filter_text, max_results=limit, order_by=order, page_token=token
            ),
            max_results,
            page_token,
        )
        return PagedList([cv.model_version_to_mlflow(v) for v in items], token)

    def set_model_version_tag(self, name: str, version: Any, tag: Any) -> None:
        """Set a tag on a version."""
        self._store.set_model_version_tag(name, _version(version), tag.key, tag.value)

    def delete_model_version_tag(self, name: str, version: Any, key: str) -> None:
        """Remove a tag from a version."""
        self._store.delete_model_version_tag(name, _version(version), key)

    def copy_model_version(self, src_mv: Any, dst_name: str) -> Any:
        """Copy a version into another registered model (MLflow's algorithm over this store)."""
        return super().copy_model_version(src_mv, dst_name)

    # ------------------------------------------------------------------ aliases
    def set_registered_model_alias(self, name: str, alias: str, version: Any) -> None:
        """Point an alias at a version."""
        self._store.set_registered_model_alias(name, alias, _version(version))

    def delete_registered_model_alias(self, name: str, alias: str) -> None:
        """Remove an alias."""
        self._store.delete_registered_model_alias(name, alias)

    def get_model_version_by_alias(self, name: str, alias: str) -> Any:
        """The version an alias points at."""
        return cv.model_version_to_mlflow(self._store.get_model_version_by_alias(name, alias))

    # ------------------------------------------------------------------ webhooks
    def list_webhooks(self, max_results: Optional[int] = None, page_token: Optional[str] = None) -> PagedList:
        """No webhooks: an empty listing (storekit has no webhooks)."""
        return PagedList([], None)

    def list_webhooks_by_event(
        self, event: Any, max_results: Optional[int] = None, page_token: Optional[str] = None
    ) -> PagedList:
        """No webhooks: an empty listing for every event."""
        return PagedList([], None)

    def create_webhook(self, *args: Any, **kwargs: Any) -> Any:
        """Not supported: storekit has no webhooks (NOT_IMPLEMENTED)."""
        raise not_implemented("create_webhook()", _NO_WEBHOOKS)

    def get_webhook(self, webhook_id: str) -> Any:
        """Not supported: storekit has no webhooks (NOT_IMPLEMENTED)."""
        raise not_implemented("get_webhook()", _NO_WEBHOOKS)

    def update_webhook(self, *args: Any, **kwargs: Any) -> Any:
        """Not supported: storekit has no webhooks (NOT_IMPLEMENTED)."""
        raise not_implemented("update_webhook()", _NO_WEBHOOKS)

    def delete_webhook(self, webhook_id: str) -> None:
        """Not supported: storekit has no webhooks (NOT_IMPLEMENTED)."""
        raise not_implemented("delete_webhook()", _NO_WEBHOOKS)

    def test_webhook(self, webhook_id: str, event: Any = None) -> Any:
        """Not supported: storekit has no webhooks (NOT_IMPLEMENTED)."""
        raise not_implemented("test_webhook()", _NO_WEBHOOKS)


install_not_implemented(StorekitRegistryStore, AbstractStore)
