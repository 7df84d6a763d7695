"""The conformance suite through the http(s) stores against real tracking servers on loopback.

Each entry of :data:`SERVER_KINDS` is one server set-up; the tracking, registry
and artifact suites run against each, with that set-up's known deviations as
strict expected failures (a deviation that goes away fails the run, so the
lists cannot go stale).  ``docs/mlflow-conformance.md`` explains every entry of
the plain-MLflow lists.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Optional

import pytest

from storekit.plugins import resolve_artifact_repository, resolve_registry_store, resolve_tracking_store
from storekit.uri import append_path
from storekit_conformance import ArtifactRepositorySuite, RegistryStoreSuite, TrackingStoreSuite
from storekit_conformance.helpers import unique
from tests.databases import DatabaseFactory, server_uri
from tests.mlflow_server.processes import MlflowServer
from tests.storekit_server_process import StorekitServer

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]


@dataclass(frozen=True)
class ServerKind:
    """One tracking-server set-up the suites run against."""

    #: Id used in the test class names.
    id: str
    #: ``--backend-store-uri`` for ``mlflow server`` given a scratch directory (None: MLflow's SQLite store).
    backend_store_uri: Callable[[Path], Optional[str]] = lambda _tmp: None
    tracking_expected: Mapping[str, str] = field(default_factory=dict)
    registry_expected: Mapping[str, str] = field(default_factory=dict)
    artifacts_expected: Mapping[str, str] = field(default_factory=dict)
    #: Starts the server given a scratch directory (default: ``mlflow server`` on ``backend_store_uri``).
    starter: Optional[Callable[[Path], Any]] = None
    #: Marks of the set-up's test classes (e.g. the database server it needs).
    marks: tuple[Any, ...] = ()


#: Contract rules MLflow 3.17.2's own server (on its SQLite store) breaks; see docs/mlflow-conformance.md.
_SOURCE = (
    "MLflow's server rejects a model version source such as 'example://x' (a URI without an "
    "absolute path); the contract accepts any source URI"
)
MLFLOW_TRACKING_EXPECTED: dict[str, str] = {
    "test_create_run_defaults": "MLflow gives a run created without a name a random name",
    "test_latest_metric_tie_rule": "MLflow breaks a (step, timestamp) tie of the latest value differently",
    "test_nan_and_infinities_round_trip": "MLflow's SQLite store keeps +-inf as +-1.797e308",
    "test_paging_stable_under_writes": "MLflow's page tokens are offsets: runs created between pages shift them",
    "test_paging_filtered_under_writes": "MLflow's page tokens are offsets: matching runs added between pages shift them",
    "test_log_inputs_idempotent": "MLflow records a dataset once per run whatever its context tag",
    "test_search_and_outputs": "MLflow's metric history does not return a metric's model_id",
    "test_create_run_tags_as_run_tags": "MLflow adds the tag mlflow.runName (a random name) to a run created without a name",
    "test_restore_experiment_keeps_deleted_runs": "MLflow restores an experiment's separately deleted runs with it",
    "test_dataset_field_limits[digest-64]": "MLflow limits a dataset digest to 36 characters (the contract: 64)",
    "test_metric_of_unknown_model": (
        "MLflow's SQLite store answers a metric naming an unknown logged model with "
        "BAD_REQUEST (a foreign-key IntegrityError), not RESOURCE_DOES_NOT_EXIST"
    ),
    "test_durable_across_processes": "MLflow's SQLite store keeps +-inf as +-1.797e308, so the history read back differs",
    "test_log_logged_model_params": (
        "MLflow's SQLite store answers a logged-model param logged again (even with its value) with "
        "BAD_REQUEST (a unique-constraint IntegrityError), not a no-op"
    ),
    "test_new_store_creates_no_default_experiment": (
        "MLflow's SQLite store creates experiment 0 'Default' when it opens an empty database"
    ),
}
MLFLOW_REGISTRY_EXPECTED: dict[str, str] = {
    "test_registered_model_crud": _SOURCE,
    "test_version_numbers_never_reused": _SOURCE,
    "test_recreated_model_restarts": _SOURCE,
    "test_model_version_fields": _SOURCE,
    "test_delete_version_removes_aliases": _SOURCE,
    "test_concurrent_versions_threads": _SOURCE,
    "test_concurrent_versions_processes": _SOURCE,
    "test_description_and_source_limits": _SOURCE,
}
MLFLOW_ARTIFACTS_EXPECTED: dict[str, str] = {}

#: Through the bridge, the store keeps storekit's contract; what is left is done by MLflow's server
#: layer in front of it (its request handlers), not by the store.
#: The bridge is the MLflow store MLflow's server layer calls; it keeps what MLflow's clients and UI rely on.
_RUN_NAME = (
    "MLflow's server layer calls the bridge as an MLflow store, which names a run created without a "
    "name (random name and tag mlflow.runName) as MLflow's clients and UI expect"
)
BRIDGE_TRACKING_EXPECTED: dict[str, str] = {
    "test_create_run_defaults": _RUN_NAME,
    "test_create_run_tags_as_run_tags": _RUN_NAME,
    "test_new_store_creates_no_default_experiment": (
        "the bridge, as the MLflow store MLflow's server layer calls, creates 'Default' (MLflow's experiment 0), "
        "which MLflow's clients and UI expect to exist"
    ),
}
BRIDGE_REGISTRY_EXPECTED: dict[str, str] = {
    name: _SOURCE
    for name in (
        "test_registered_model_crud",
        "test_version_numbers_never_reused",
        "test_recreated_model_restarts",
        "test_model_version_fields",
        "test_delete_version_removes_aliases",
        "test_concurrent_versions_threads",
        "test_concurrent_versions_processes",
        "test_description_and_source_limits",
    )
}


class _ServerOnDatabase:
    """A ``storekit server`` on a fresh PostgreSQL database, dropped when the server stops."""

    def __init__(self, tmp: Path) -> None:
        self._factory = DatabaseFactory("postgresql", server_uri("postgresql"))
        try:
            self.server = StorekitServer.start(tmp, backend_store_uri=self._factory.create())
        except BaseException:
            self._factory.drop_all()
            raise
        self.url = self.server.url

    def stop(self) -> None:
        try:
            self.server.stop()
        finally:
            self._factory.drop_all()


SERVER_KINDS: list[ServerKind] = [
    ServerKind(
        "MlflowSqlite",
        tracking_expected=MLFLOW_TRACKING_EXPECTED,
        registry_expected=MLFLOW_REGISTRY_EXPECTED,
        artifacts_expected=MLFLOW_ARTIFACTS_EXPECTED,
    ),
    # `mlflow server` on a storekit store through the storekit-mlflow bridge (plugins/mlflow).
    ServerKind(
        "MlflowBridgeSqlite",
        backend_store_uri=lambda tmp: f"storekit:sqlite:///{tmp / 'store.db'}",
        tracking_expected=BRIDGE_TRACKING_EXPECTED,
        registry_expected=BRIDGE_REGISTRY_EXPECTED,
    ),
    # `storekit server` (storekit/server) on the embedded SQLite store and on PostgreSQL: no expected failures.
    ServerKind("StorekitServerSqlite", starter=lambda tmp: StorekitServer.start(tmp)),
    ServerKind("StorekitServerPostgres", starter=_ServerOnDatabase, marks=(pytest.mark.postgres,)),
]

_servers: dict[str, Any] = {}


@pytest.fixture(scope="module", autouse=True)
def _stop_servers() -> Iterator[None]:
    yield
    while _servers:
        _servers.popitem()[1].stop()


def _server(kind: ServerKind, factory: pytest.TempPathFactory) -> MlflowServer:
    if kind.id not in _servers:
        tmp = Path(factory.mktemp(f"server-{kind.id}"))
        try:
            if kind.starter is not None:
                _servers[kind.id] = kind.starter(tmp)
            else:
                _servers[kind.id] = MlflowServer.start(tmp, backend_store_uri=kind.backend_store_uri(tmp))
        except RuntimeError as exc:
            pytest.fail(str(exc), pytrace=False)
    return _servers[kind.id]


def _suites(kind: ServerKind) -> dict[str, type]:
    class Tracking(TrackingStoreSuite):
        expected_failures = kind.tracking_expected

        @pytest.fixture(scope="class")
        @classmethod
        def tracking_store(cls, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
            store = resolve_tracking_store(_server(kind, tmp_path_factory).url)
            yield store
            store.close()

        @pytest.fixture
        def tracking_uri(self, tmp_path_factory: pytest.TempPathFactory) -> Optional[str]:
            return _server(kind, tmp_path_factory).url

        @pytest.fixture
        def store_is_new(self) -> bool:
            return True  # every server kind starts on an empty store of its own

    class Registry(RegistryStoreSuite):
        expected_failures = kind.registry_expected

        @pytest.fixture(scope="class")
        @classmethod
        def registry_store(cls, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
            store = resolve_registry_store(_server(kind, tmp_path_factory).url)
            yield store
            store.close()

        @pytest.fixture
        def registry_uri(self, tmp_path_factory: pytest.TempPathFactory) -> Optional[str]:
            return _server(kind, tmp_path_factory).url

    class Artifacts(ArtifactRepositorySuite):
        expected_failures = kind.artifacts_expected

        @pytest.fixture(scope="class")
        @classmethod
        def artifact_repository(cls, tmp_path_factory: pytest.TempPathFactory) -> Callable[[], Any]:
            base = f"{_server(kind, tmp_path_factory).url}/api/2.0/mlflow-artifacts/artifacts/conformance"
            return lambda: resolve_artifact_repository(append_path(base, unique("root")))

    suites = {}
    for suffix, cls in (("Tracking", Tracking), ("Registry", Registry), ("Artifacts", Artifacts)):
        name = f"Test{kind.id}{suffix}"
        cls.__name__ = cls.__qualname__ = name
        if kind.marks:
            cls.pytestmark = list(kind.marks)  # type: ignore[attr-defined]
        suites[name] = cls
    return suites


for _kind in SERVER_KINDS:
    globals().update(_suites(_kind))
