"""The RegistryStore suite (contract sections 1 and 5, docs/semantics.md "Registry")."""

from __future__ import annotations

import threading
from typing import Any, Iterator, Optional

import pytest

from storekit.entities import ModelVersion, RegisteredModel
from storekit.errors import (
    AlreadyExistsError,
    InvalidParameterError,
    ModelNotFound,
    ModelVersionNotFound,
    NotFoundError,
)
from storekit.interfaces import STOREKIT_API, Capability, RegistryStore

from .helpers import assert_invalid, unique
from .marks import contract, requires
from .suite import SuiteBase
from .workers import run_workers

__all__ = ["RegistryStoreSuite"]

THREADS = 4
PER_THREAD = 5


class RegistryStoreSuite(SuiteBase):
    """Every registry check.  Subclass it and supply a ``registry_store`` fixture.

    Optionally override ``registry_uri`` (a fixture returning the store's
    URI) for the multi-process check.
    """

    __test__ = False
    interface = "registry"
    subject_fixture = "registry_store"

    @pytest.fixture
    def registry_uri(self) -> Optional[str]:
        """The URI of the store under test (``None`` skips the multi-process check)."""
        return None

    @pytest.fixture
    def model_name(self, registry_store: RegistryStore) -> Iterator[str]:
        """A new registered model with a unique name; deleted afterwards."""
        name = unique("model")
        registry_store.create_registered_model(name)
        yield name
        try:
            registry_store.delete_registered_model(name)
        except NotFoundError:
            pass

    @staticmethod
    def _versions(store: RegistryStore, name: str, n: int) -> list[ModelVersion]:
        return [store.create_model_version(name, source=f"example://models/{name}/{i}") for i in range(n)]

    # -- declarations and models -----------------------------------------------
    @contract("1", "an implementation declares storekit_api = 1 and a frozenset of Capability")
    def test_declares_api_and_capabilities(self, registry_store: RegistryStore) -> None:
        assert getattr(registry_store, "storekit_api", None) == STOREKIT_API
        assert isinstance(registry_store.capabilities, frozenset)
        assert isinstance(registry_store, RegistryStore)

    @contract("5", "registered models: create, get, update, rename, search; a taken name raises AlreadyExistsError")
    def test_registered_model_crud(self, registry_store: RegistryStore) -> None:
        name = unique("model")
        created = registry_store.create_registered_model(name, tags={"t": "1"}, description="first")
        assert (created.name, created.description, created.tags) == (name, "first", {"t": "1"})
        with pytest.raises(AlreadyExistsError):
            registry_store.create_registered_model(name)
        assert registry_store.update_registered_model(name, "second").description == "second"
        assert registry_store.get_registered_model(name).description == "second"
        new_name = unique("renamed")
        registry_store.create_model_version(name, source="example://m")
        registry_store.set_registered_model_alias(name, "champion", "1")
        renamed = registry_store.rename_registered_model(name, new_name)
        assert renamed.name == new_name
        with pytest.raises(ModelNotFound):
            registry_store.get_registered_model(name)
        assert registry_store.get_model_version(new_name, "1").name == new_name
        assert registry_store.get_model_version_by_alias(new_name, "champion").version == "1"
        found = registry_store.search_registered_models(filter_string=f"name = '{new_name}'")
        assert [m.name for m in found] == [new_name]
        registry_store.delete_registered_model(new_name)
        with pytest.raises(ModelNotFound):
            registry_store.get_registered_model(new_name)

    @contract("5", "search_registered_models filters with LIKE and pages with a token")
    def test_search_registered_models(self, registry_store: RegistryStore) -> None:
        prefix = unique("srch")
        names = sorted(f"{prefix}-{i}" for i in range(3))
        for n in names:
            registry_store.create_registered_model(n)
        first = registry_store.search_registered_models(filter_string=f"name LIKE '{prefix}-%'", max_results=2)
        rest = registry_store.search_registered_models(
            filter_string=f"name LIKE '{prefix}-%'", max_results=2, page_token=first.token
        )
        assert [m.name for m in [*first, *rest]] == names  # default order: by name
        for n in names:
            registry_store.delete_registered_model(n)

    @contract("5", "model and version tags: set, overwrite, delete; deleting an unset key raises NotFoundError")
    def test_tags(self, registry_store: RegistryStore, model_name: str) -> None:
        registry_store.set_registered_model_tag(model_name, "k", "1")
        registry_store.set_registered_model_tag(model_name, "k", "2")
        assert registry_store.get_registered_model(model_name).tags == {"k": "2"}
        registry_store.delete_registered_model_tag(model_name, "k")
        assert registry_store.get_registered_model(model_name).tags == {}
        with pytest.raises(NotFoundError):
            registry_store.delete_registered_model_tag(model_name, "k")
        (v,) = self._versions(registry_store, model_name, 1)
        registry_store.set_model_version_tag(model_name, v.version, "vk", "x")
        assert registry_store.get_model_version(model_name, v.version).tags == {"vk": "x"}
        registry_store.delete_model_version_tag(model_name, v.version, "vk")
        with pytest.raises(NotFoundError):
            registry_store.delete_model_version_tag(model_name, v.version, "vk")
        with pytest.raises(InvalidParameterError):
            registry_store.set_registered_model_tag(model_name, "k", "v" * 8001)

    # -- versions ------------------------------------------------------------------
    @contract("5", "version numbers start at 1, increase by one and are never reused after a delete")
    def test_version_numbers_never_reused(self, registry_store: RegistryStore, model_name: str) -> None:
        versions = self._versions(registry_store, model_name, 3)
        assert [v.version for v in versions] == ["1", "2", "3"]
        registry_store.delete_model_version(model_name, "3")
        registry_store.delete_model_version(model_name, "2")
        with pytest.raises(ModelVersionNotFound):
            registry_store.get_model_version(model_name, "3")
        assert registry_store.create_model_version(model_name, source="example://x").version == "4"

    @contract("5", "a re-created model with the same name starts again at version 1 (deletion is hard)")
    def test_recreated_model_restarts(self, registry_store: RegistryStore) -> None:
        name = unique("model")
        registry_store.create_registered_model(name)
        self._versions(registry_store, name, 2)
        registry_store.delete_registered_model(name)
        registry_store.create_registered_model(name)
        assert registry_store.create_model_version(name, source="example://x").version == "1"
        registry_store.delete_registered_model(name)

    @contract("5", "model versions: get, update description, download URI is the source, search by name and run_id")
    def test_model_version_fields(self, registry_store: RegistryStore, model_name: str) -> None:
        run_id = "a" * 32
        v = registry_store.create_model_version(
            model_name, source="example://m/1", run_id=run_id, tags={"t": "v"}, description="d"
        )
        got = registry_store.get_model_version(model_name, v.version)
        assert (got.source, got.run_id, got.tags, got.description, got.current_stage) == (
            "example://m/1",
            run_id,
            {"t": "v"},
            "d",
            "None",
        )
        assert registry_store.update_model_version(model_name, v.version, "new").description == "new"
        assert registry_store.get_model_version_download_uri(model_name, v.version) == "example://m/1"
        self._versions(registry_store, model_name, 1)
        found = registry_store.search_model_versions(filter_string=f"name = '{model_name}' AND run_id = '{run_id}'")
        assert [(m.name, m.version) for m in found] == [(model_name, "1")]
        with pytest.raises(ModelNotFound):
            registry_store.create_model_version(unique("no-such-model"), source="example://x")

    @requires(Capability.CONCURRENT_WRITERS)
    @contract("5", "concurrent create_model_version calls (threads) never get the same number")
    def test_concurrent_versions_threads(self, registry_store: RegistryStore, model_name: str) -> None:
        got: list[str] = []
        errors: list[BaseException] = []
        barrier = threading.Barrier(THREADS)
        lock = threading.Lock()

        def work() -> None:
            try:
                barrier.wait(timeout=30)
                for _ in range(PER_THREAD):
                    version = registry_store.create_model_version(model_name, source="example://c").version
                    with lock:
                        got.append(version)
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=work) for _ in range(THREADS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert not errors, errors[0]
        assert sorted(got, key=int) == [str(i) for i in range(1, THREADS * PER_THREAD + 1)]

    @requires(Capability.MULTIPROCESS_WRITERS)
    @contract("5", "concurrent create_model_version calls (processes) never get the same number")
    def test_concurrent_versions_processes(
        self, registry_store: RegistryStore, model_name: str, registry_uri: Optional[str]
    ) -> None:
        if not registry_uri:
            pytest.skip("the suite subclass gives no registry_uri fixture, so other processes cannot open the store")
        results = run_workers("registry", registry_uri, 3, {"name": model_name, "versions": PER_THREAD})
        got = [v for r in results for v in r["versions"]]
        assert sorted(got, key=int) == [str(i) for i in range(1, 3 * PER_THREAD + 1)]

    # -- stages ----------------------------------------------------------------------
    @contract("5", "stages None/Staging/Production/Archived, input case-insensitive; unknown stage raises")
    def test_stage_transitions(self, registry_store: RegistryStore, model_name: str) -> None:
        self._versions(registry_store, model_name, 1)
        for given, stored in (
            ("staging", "Staging"),
            ("PRODUCTION", "Production"),
            ("archived", "Archived"),
            ("none", "None"),
        ):
            assert registry_store.transition_model_version_stage(model_name, "1", given).current_stage == stored
            assert registry_store.get_model_version(model_name, "1").current_stage == stored
        with pytest.raises(InvalidParameterError):
            registry_store.transition_model_version_stage(model_name, "1", "Deployed")

    @contract("5", "archive_existing_versions=True moves every other version in the target stage to Archived")
    def test_archive_existing_versions(self, registry_store: RegistryStore, model_name: str) -> None:
        self._versions(registry_store, model_name, 4)
        registry_store.transition_model_version_stage(model_name, "1", "Production")
        registry_store.transition_model_version_stage(model_name, "2", "Production")
        registry_store.transition_model_version_stage(model_name, "3", "Staging")
        registry_store.transition_model_version_stage(model_name, "4", "Production", archive_existing_versions=True)
        stages = {v: registry_store.get_model_version(model_name, v).current_stage for v in "1234"}
        assert stages == {"1": "Archived", "2": "Archived", "3": "Staging", "4": "Production"}
        registry_store.transition_model_version_stage(model_name, "3", "Production", archive_existing_versions=False)
        assert registry_store.get_model_version(model_name, "4").current_stage == "Production"

    @contract("5", "get_latest_versions: the newest version of every stage (incl. None), ordered by stage name")
    def test_latest_versions(self, registry_store: RegistryStore, model_name: str) -> None:
        self._versions(registry_store, model_name, 5)
        registry_store.transition_model_version_stage(model_name, "1", "Production")
        registry_store.transition_model_version_stage(model_name, "2", "Production")
        registry_store.transition_model_version_stage(model_name, "3", "Staging")
        latest = registry_store.get_latest_versions(model_name)
        assert [(v.current_stage, v.version) for v in latest] == [("None", "5"), ("Production", "2"), ("Staging", "3")]
        only = registry_store.get_latest_versions(model_name, stages=["production"])
        assert [(v.current_stage, v.version) for v in only] == [("Production", "2")]
        model = registry_store.get_registered_model(model_name)
        assert [(v.current_stage, v.version) for v in model.latest_versions] == [
            (v.current_stage, v.version) for v in latest
        ]

    # -- aliases -----------------------------------------------------------------------
    @contract("5", "aliases: set, move, resolve, delete; shown on the model and the version")
    def test_aliases(self, registry_store: RegistryStore, model_name: str) -> None:
        self._versions(registry_store, model_name, 2)
        registry_store.set_registered_model_alias(model_name, "champion", "1")
        assert registry_store.get_model_version_by_alias(model_name, "champion").version == "1"
        registry_store.set_registered_model_alias(model_name, "champion", "2")
        assert registry_store.get_model_version_by_alias(model_name, "champion").version == "2"
        assert registry_store.get_registered_model(model_name).aliases == {"champion": "2"}
        assert "champion" in registry_store.get_model_version(model_name, "2").aliases
        assert "champion" not in registry_store.get_model_version(model_name, "1").aliases
        registry_store.delete_registered_model_alias(model_name, "champion")
        with pytest.raises(ModelVersionNotFound):
            registry_store.get_model_version_by_alias(model_name, "champion")

    @pytest.mark.parametrize("alias", ["latest", "LATEST", "v1", "V12", "bad alias", "a/b", "", "x" * 256])
    @contract("5", "aliases match ^[\\w\\-]+$, at most 255 characters; latest and v<digits> are reserved")
    def test_invalid_aliases(self, registry_store: RegistryStore, model_name: str, alias: str) -> None:
        self._versions(registry_store, model_name, 1)
        with pytest.raises(InvalidParameterError) as excinfo:
            registry_store.set_registered_model_alias(model_name, alias, "1")
        assert_invalid(excinfo, "alias")
        assert registry_store.get_registered_model(model_name).aliases == {}

    @contract("5", "an alias of 255 characters and one like v1x are allowed")
    def test_alias_edges(self, registry_store: RegistryStore, model_name: str) -> None:
        self._versions(registry_store, model_name, 1)
        for alias in ("a" * 255, "v1x", "latest-prod", "version_2"):
            registry_store.set_registered_model_alias(model_name, alias, "1")
            assert registry_store.get_model_version_by_alias(model_name, alias).version == "1"

    @contract("5", "deleting a version removes the aliases that point at it")
    def test_delete_version_removes_aliases(self, registry_store: RegistryStore, model_name: str) -> None:
        self._versions(registry_store, model_name, 2)
        registry_store.set_registered_model_alias(model_name, "a1", "1")
        registry_store.set_registered_model_alias(model_name, "a2", "2")
        registry_store.delete_model_version(model_name, "1")
        with pytest.raises(ModelVersionNotFound):
            registry_store.get_model_version_by_alias(model_name, "a1")
        assert registry_store.get_registered_model(model_name).aliases == {"a2": "2"}
        registry_store.create_model_version(model_name, source="example://x")
        with pytest.raises(ModelVersionNotFound):
            registry_store.get_model_version_by_alias(model_name, "a1")

    # -- pinned rules of docs/semantics.md ---------------------------------------------------
    @pytest.mark.parametrize("stages", ["Production", "production", ("Production",), ["PRODUCTION"]])
    @contract("5", "get_latest_versions(stages='Production') is one stage, never a list of letters")
    def test_latest_versions_one_stage_string(
        self, registry_store: RegistryStore, model_name: str, stages: object
    ) -> None:
        self._versions(registry_store, model_name, 3)
        registry_store.transition_model_version_stage(model_name, "1", "Production")
        registry_store.transition_model_version_stage(model_name, "2", "Staging")
        found = registry_store.get_latest_versions(model_name, stages=stages)  # type: ignore[arg-type]
        assert [(v.current_stage, v.version) for v in found] == [("Production", "1")]

    @contract("5", "get_latest_versions: stages=None and an empty list both mean every stage; unknown stage raises")
    def test_latest_versions_empty_and_unknown(self, registry_store: RegistryStore, model_name: str) -> None:
        self._versions(registry_store, model_name, 2)
        registry_store.transition_model_version_stage(model_name, "1", "Staging")
        every = [(v.current_stage, v.version) for v in registry_store.get_latest_versions(model_name)]
        assert every == [("None", "2"), ("Staging", "1")]
        assert [(v.current_stage, v.version) for v in registry_store.get_latest_versions(model_name, [])] == every
        with pytest.raises(InvalidParameterError):
            registry_store.get_latest_versions(model_name, stages="Deployed")

    @pytest.mark.parametrize("target", ["None", "Archived"])
    @contract("5", "archive_existing_versions archives only on a move to Staging or Production")
    def test_archive_only_for_staging_and_production(
        self, registry_store: RegistryStore, model_name: str, target: str
    ) -> None:
        self._versions(registry_store, model_name, 3)
        registry_store.transition_model_version_stage(model_name, "1", target)
        registry_store.transition_model_version_stage(model_name, "2", target)
        registry_store.transition_model_version_stage(model_name, "3", "Staging")
        registry_store.transition_model_version_stage(model_name, "3", target, archive_existing_versions=True)
        stages = {v: registry_store.get_model_version(model_name, v).current_stage for v in "123"}
        assert stages == {"1": target, "2": target, "3": target}
        registry_store.transition_model_version_stage(model_name, "1", "staging", archive_existing_versions=True)
        assert registry_store.get_model_version(model_name, "1").current_stage == "Staging"
        assert registry_store.get_model_version(model_name, "2").current_stage == target

    @contract("5", "deleting an alias that is not set raises NotFoundError")
    def test_delete_unset_alias(self, registry_store: RegistryStore, model_name: str) -> None:
        self._versions(registry_store, model_name, 1)
        with pytest.raises(NotFoundError):
            registry_store.delete_registered_model_alias(model_name, "never-set")

    @contract("5", "a last page that is exactly full carries no next-page token (models and versions)")
    def test_last_full_page_has_no_token(self, registry_store: RegistryStore) -> None:
        prefix = unique("full")
        names = [f"{prefix}-{i}" for i in range(2)]
        for name in names:
            registry_store.create_registered_model(name)
        try:
            flt = f"name LIKE '{prefix}-%'"
            whole = registry_store.search_registered_models(filter_string=flt, max_results=2)
            assert sorted(m.name for m in whole) == names and not whole.token
            first = registry_store.search_registered_models(filter_string=flt, max_results=1)
            assert first.token
            last = registry_store.search_registered_models(filter_string=flt, max_results=1, page_token=first.token)
            assert len(last) == 1 and not last.token
            self._versions(registry_store, names[0], 2)
            versions = registry_store.search_model_versions(filter_string=f"name = '{names[0]}'", max_results=2)
            assert len(versions) == 2 and not versions.token
            first_v = registry_store.search_model_versions(filter_string=f"name = '{names[0]}'", max_results=1)
            last_v = registry_store.search_model_versions(
                filter_string=f"name = '{names[0]}'", max_results=1, page_token=first_v.token
            )
            assert len(last_v) == 1 and not last_v.token
        finally:
            for name in names:
                registry_store.delete_registered_model(name)

    @requires(Capability.DURABLE)
    @contract("8", "DURABLE: a registry written and closed is read back unchanged by a new process")
    def test_durable_across_processes(self, registry_store: RegistryStore, registry_uri: Optional[str]) -> None:
        if not registry_uri:
            pytest.fail(
                "the store declares DURABLE, but the suite subclass gives no registry_uri fixture, "
                "so no other process can open it to check"
            )
        writer = type(registry_store)(registry_uri)  # type: ignore[call-arg]  # a second instance, closed first
        name = unique("durable")
        try:
            writer.create_registered_model(name, tags={"t": "1"}, description="kept")
            for i in range(2):
                writer.create_model_version(name, source=f"example://durable/{i}", tags={"i": str(i)})
            writer.transition_model_version_stage(name, "2", "Production")
            writer.set_registered_model_alias(name, "champion", "1")
        finally:
            writer.close()
        (got,) = run_workers("registry-read", registry_uri, 1, {"name": name, "versions": 2})
        try:
            assert got == {
                "model": [name, "kept", {"t": "1"}, {"champion": "1"}],
                "versions": [
                    ["1", "example://durable/0", "None", {"i": "0"}],
                    ["2", "example://durable/1", "Production", {"i": "1"}],
                ],
            }, f"a new process read back something else: {got}"
        finally:
            try:
                registry_store.delete_registered_model(name)
            except NotFoundError:
                pass

    @contract("5", "malformed names, aliases and tag keys raise InvalidParameterError, also in lookups and deletes")
    def test_malformed_arguments(self, registry_store: RegistryStore, model_name: str) -> None:
        self._versions(registry_store, model_name, 1)
        calls = [
            lambda: registry_store.get_registered_model("a/b"),
            lambda: registry_store.get_registered_model(""),
            lambda: registry_store.get_model_version(model_name, "0"),
            lambda: registry_store.get_model_version(model_name, "one"),
            lambda: registry_store.get_model_version_by_alias(model_name, "bad alias"),
            lambda: registry_store.delete_registered_model_alias(model_name, "bad alias"),
            lambda: registry_store.delete_registered_model_tag(model_name, "/abs"),
            lambda: registry_store.delete_model_version_tag(model_name, "1", "a/../b"),
        ]
        for call in calls:
            with pytest.raises(InvalidParameterError):
                call()

    @contract("5", "renaming a registered model to its own name changes nothing")
    def test_rename_to_own_name(self, registry_store: RegistryStore, model_name: str) -> None:
        self._versions(registry_store, model_name, 1)
        assert registry_store.rename_registered_model(model_name, model_name).name == model_name
        assert registry_store.get_model_version(model_name, "1").name == model_name

    @contract("5", "descriptions and sources: at most 65,535 bytes in UTF-8; the longest is read back exactly")
    def test_description_and_source_limits(self, registry_store: RegistryStore, model_name: str) -> None:
        longest = "d" * 65_535
        assert registry_store.update_registered_model(model_name, longest).description == longest
        assert registry_store.get_registered_model(model_name).description == longest
        version = registry_store.create_model_version(model_name, source="s" * 65_535, description=longest)
        got = registry_store.get_model_version(model_name, version.version)
        assert (got.source, got.description) == ("s" * 65_535, longest)
        for too_long in ("d" * 65_536, "é" * 40_000):
            with pytest.raises(InvalidParameterError) as excinfo:
                registry_store.update_registered_model(model_name, too_long)
            assert_invalid(excinfo, "description", "65535")
        with pytest.raises(InvalidParameterError) as excinfo:
            registry_store.create_model_version(model_name, source="s" * 65_536)
        assert_invalid(excinfo, "source", "65535")
        assert registry_store.get_registered_model(model_name).description == longest

    @requires(Capability.IMPORT)
    @contract("8", "IMPORT: import_registered_model writes a model with its version numbers, stages, tags and aliases")
    def test_import_registered_model(self, registry_store: RegistryStore, model_name: str) -> None:
        store: Any = registry_store  # the import hook is not part of the abstract interface
        model = RegisteredModel(model_name, 1_600_000_000_000, 1_600_000_000_100, "imported", {"origin": "import"})
        versions = [
            ModelVersion(model_name, "2", 1_600_000_000_000, 1_600_000_000_000, source="example://v2"),
            ModelVersion(
                model_name,
                "5",
                1_600_000_000_001,
                1_600_000_000_001,
                current_stage="Production",
                source="example://v5",
                tags={"k": "v"},
                aliases=("champion",),
            ),
        ]
        for _ in range(2):  # importing again replaces the model: nothing is duplicated
            store.import_registered_model(model, versions)
        got = registry_store.get_registered_model(model_name)
        assert (got.description, got.tags, got.aliases) == ("imported", {"origin": "import"}, {"champion": "5"})
        found = registry_store.search_model_versions(filter_string=f"name = '{model_name}'")
        assert sorted(v.version for v in found) == ["2", "5"]
        v5 = registry_store.get_model_version(model_name, "5")
        assert (v5.current_stage, v5.source, v5.tags) == ("Production", "example://v5", {"k": "v"})
        assert registry_store.create_model_version(model_name, source="example://next").version == "6"
