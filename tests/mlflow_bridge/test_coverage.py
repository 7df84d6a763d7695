"""Every method MLflow's abstract classes declare is implemented by the bridge (MLflow does not enforce it).

* every abstract method is defined by the bridge class itself;
* every other public (and ``_search_runs``-style protected) method is either
  defined by the bridge or belongs to the GenAI-only surface, where the
  bridge installs a stub raising MLflow's NOT_IMPLEMENTED error;
* the entry points are registered in MLflow's three plugin groups.
"""

from __future__ import annotations

import asyncio
import inspect
from importlib.metadata import entry_points

import pytest
from mlflow.exceptions import MlflowNotImplementedException
from mlflow.store.artifact.artifact_repo import ArtifactRepository
from mlflow.store.model_registry.abstract_store import AbstractStore as RegistryAbstractStore
from mlflow.store.tracking.abstract_store import AbstractStore as TrackingAbstractStore

from storekit_mlflow import genai
from storekit_mlflow.artifacts import StorekitArtifactRepository
from storekit_mlflow.registry import StorekitRegistryStore
from storekit_mlflow.tracking import StorekitTrackingStore

PAIRS = [
    (StorekitTrackingStore, TrackingAbstractStore),
    (StorekitRegistryStore, RegistryAbstractStore),
    (StorekitArtifactRepository, ArtifactRepository),
]

# Inherited on purpose: MLflow's implementation is built only on the methods the bridge
# implements (or is a pure helper), so it is correct as it is.
INHERITED = {
    TrackingAbstractStore: {"_evenly_spaced_indices"},
    RegistryAbstractStore: {
        "_await_model_version_creation",
        "_await_model_version_creation_impl",
        "_parse_experiment_id_filter",
    },
    # trace-data helpers of artifact repositories read and write plain artifact files
    # through log_artifact/_download_file, which the bridge implements.
    ArtifactRepository: {
        "_create_download_destination",
        "_create_thread_pool",
        "_iter_artifacts_recursive",
        "_log_artifact_async",
        "max_workers",
        "download_trace_data",
        "download_trace_data_to_file",
        "download_archived_trace_data",
        "download_trace_attachment",
        "download_trace_attachment_to_file",
        "upload_trace_data",
        "upload_archived_trace_data",
        "upload_archived_trace_data_bytes",
        "upload_attachment",
    },
}


def _methods(base: type) -> list[str]:
    names = []
    for name in dir(base):
        if name.startswith("__"):
            continue
        static = inspect.getattr_static(base, name)
        if isinstance(static, property):
            continue
        if callable(getattr(base, name)):
            names.append(name)
    return names


def _abstract(base: type) -> list[str]:
    return [n for n in _methods(base) if getattr(getattr(base, n), "__isabstractmethod__", False)]


def _defined_by_bridge(cls: type, name: str) -> bool:
    return any(name in vars(k) for k in cls.__mro__ if k.__module__.startswith("storekit_mlflow"))


@pytest.mark.parametrize(("cls", "base"), PAIRS, ids=lambda c: c.__name__)
def test_every_abstract_method_is_implemented(cls: type, base: type) -> None:
    abstract = _abstract(base)
    assert abstract, "MLflow's class declares abstract methods"
    missing = [n for n in abstract if not _defined_by_bridge(cls, n)]
    assert missing == []


@pytest.mark.parametrize(("cls", "base"), PAIRS, ids=lambda c: c.__name__)
def test_every_public_non_genai_method_is_overridden(cls: type, base: type) -> None:
    missing = []
    for name in _methods(base):
        if _defined_by_bridge(cls, name) or name in INHERITED[base]:
            continue
        if base is not ArtifactRepository and genai.is_genai(name):
            continue
        missing.append(name)
    assert missing == []


@pytest.mark.parametrize(("cls", "base"), PAIRS[:2], ids=lambda c: c.__name__)
def test_genai_surface_raises_mlflow_not_implemented(cls: type, base: type) -> None:
    names = genai.genai_methods(base)
    assert names, "MLflow declares GenAI methods"
    store = object.__new__(cls)
    for name in names:
        method = getattr(store, name)
        n_args = len(inspect.signature(getattr(base, name)).parameters) - 1
        with pytest.raises(MlflowNotImplementedException) as info:
            result = method(*([None] * n_args))
            if inspect.iscoroutine(result):
                asyncio.run(result)
        assert info.value.error_code == "NOT_IMPLEMENTED", name
        assert info.value.get_http_status_code() == 501


def test_known_genai_names_are_classified() -> None:
    for name in (
        "start_trace",
        "search_traces",
        "log_spans",
        "create_assessment",
        "register_scorer",
        "create_prompt",
        "search_prompts",
        "create_gateway_endpoint",
        "create_dataset",
        "search_datasets",
        "create_mcp_server",
        "create_review_queue",
        "link_traces_to_run",
    ):
        assert genai.is_genai(name), name
    for name in (
        "_search_datasets",
        "search_runs",
        "log_inputs",
        "search_logged_models",
        "get_metric_history_bulk_interval",
        "list_webhooks",
        "filter_active_experiment_ids",
    ):
        assert not genai.is_genai(name), name


def test_entry_points_are_registered(tmp_path) -> None:
    from storekit_mlflow import plugin

    for group, target in (
        ("mlflow.tracking_store", plugin.tracking_store),
        ("mlflow.model_registry_store", plugin.registry_store),
        ("mlflow.artifact_repository", plugin.artifact_repository),
    ):
        found = [ep for ep in entry_points(group=group) if ep.name == "storekit"]
        assert len(found) == 1, group
        assert found[0].load() is target
    uri = f"storekit:sqlite:///{tmp_path}/ep.db"
    assert isinstance(plugin.tracking_store(store_uri=uri, artifact_uri=None), StorekitTrackingStore)
    assert isinstance(plugin.registry_store(store_uri=uri, tracking_uri=uri), StorekitRegistryStore)
    assert isinstance(plugin.artifact_repository(f"storekit:{tmp_path}/a"), StorekitArtifactRepository)


def test_importing_the_bridge_before_mlflow_registers_the_scheme() -> None:
    """Loading an entry point never imports an adapter module (no circular import warning)."""
    import subprocess
    import sys

    code = (
        "import warnings; warnings.simplefilter('error', UserWarning)\n"
        "import storekit_mlflow.tracking\n"
        "from mlflow.tracking._tracking_service.utils import _tracking_store_registry as r\n"
        "print('storekit' in r._registry)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "True"


def test_public_names_have_docstrings() -> None:
    from tests.test_docstrings import _missing

    assert _missing("storekit_mlflow") == []
