"""Hostile input, property-based, on the surfaces test_hostile_input.py does not cover.

Names (experiments, runs, registered models), model version sources, page
tokens forged with the store's own key (arbitrary JSON payloads, so only the
field checks stand between them and a query) and artifact paths of the memory
plugin - on the file store, SQLite, PostgreSQL, MariaDB and the memory plugin.
Each call gives a correct answer or an InvalidParameterError (a registry may
also answer AlreadyExists/NotFound), never a raw exception; a refused call
changes nothing.  ``Sizes.hypothesis_examples`` cases each (200 in CI,
10,000 with ``STOREKIT_SOAK=1``).
"""

from __future__ import annotations

import base64
import json
from collections import Counter
from pathlib import Path
from typing import Any, Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import storekit.paging as paging
from storekit.errors import AlreadyExistsError, InvalidParameterError, NotFoundError
from storekit.plugins import resolve_registry_store, resolve_tracking_store
from tests.reliability.conftest import HOSTILE_BACKENDS, Sizes

pytestmark = pytest.mark.timeout(900)

_SETTINGS = settings(
    max_examples=Sizes.hypothesis_examples,
    deadline=None,
    derandomize=not Sizes.soak,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)
_NASTY = [
    "\x00",
    "\n",
    "\r",
    "\t",
    "\x1b[2J",
    "\ud800",
    "\udfff",
    "/",
    "\\",
    "..",
    "'",
    '"',
    "`",
    "%",
    "é",
    "\U0001f600",
    " ",
    "\u2028",
    "\ufeff",
    "~",
    ":",
]
names = st.one_of(
    st.text(max_size=60),
    st.lists(st.sampled_from(_NASTY + ["a", "b", "1"]), max_size=20).map("".join),
    st.sampled_from([0, 1, 499, 500, 501, 5000]).map(lambda n: "n" * n),
    st.just("x" * 100 + "~" + "0" * 24),
)
RUN = "0123456789abcdef0123456789abcdef"
sources = st.one_of(
    st.text(max_size=60),
    st.tuples(
        st.sampled_from(
            [
                "runs:/",
                f"runs:/{RUN}/",
                "models:/",
                "s3://b/",
                "file:///",
                "/",
                "",
                "C:\\",
                "https://u:p@h/",
                "webhdfs://h/",
            ]
        ),
        st.lists(st.sampled_from(_NASTY + ["a", "model", "%2e%2e", "%2F"]), max_size=8).map("/".join),
    ).map("".join),
)


@pytest.fixture(params=HOSTILE_BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Every built-in backend and the memory plugin."""
    return request.param


def _outcome(call: Callable[[], Any], allowed: tuple[type, ...] = (InvalidParameterError,)) -> str:
    try:
        call()
        return "ok"
    except allowed:
        return "refused"


def test_names(backend: str, store_uri: str, tmp_path: Path, totals: Counter) -> None:
    tracking = resolve_tracking_store(store_uri, default_artifact_root=(tmp_path / "art").as_uri())
    registry = resolve_registry_store(store_uri)
    experiment_id = tracking.create_experiment("base")
    tried: Counter = Counter()

    @_SETTINGS
    @given(kind=st.sampled_from(["experiment", "run", "model"]), name=names)
    def check(kind: str, name: str) -> None:
        if kind == "experiment":
            result = _outcome(lambda: tracking.create_experiment(name), (InvalidParameterError, AlreadyExistsError))
            if result == "ok":
                assert tracking.get_experiment_by_name(name).name == name
        elif kind == "run":
            result = _outcome(lambda: tracking.create_run(experiment_id, run_name=name))
        else:
            result = _outcome(
                lambda: registry.create_registered_model(name), (InvalidParameterError, AlreadyExistsError)
            )
            if result == "ok":
                assert registry.get_registered_model(name).name == name  # stored exactly, found again
        tried[result] += 1

    try:
        check()
    finally:
        tracking.close()
        registry.close()
    assert tried["refused"] > 0 and tried["ok"] > 0
    totals.update({"hostile name cases": sum(tried.values())})
    print(f"\n[{backend}] names: {dict(tried)}")


def test_model_version_sources(backend: str, store_uri: str, totals: Counter) -> None:
    registry = resolve_registry_store(store_uri)
    registry.create_registered_model("m")
    tried: Counter = Counter()

    @_SETTINGS
    @given(sources)
    def check(source: str) -> None:
        before = len(registry.search_model_versions("name = 'm'", max_results=50_000))
        try:
            version = registry.create_model_version("m", source)
        except InvalidParameterError:
            assert len(registry.search_model_versions("name = 'm'", max_results=50_000)) == before
            tried["refused"] += 1
            return
        assert version.source == source
        assert ".." not in source.replace("\\", "/").split("/")
        tried["ok"] += 1

    try:
        check()
    finally:
        registry.close()
    assert tried["refused"] > 0
    totals.update({"hostile source cases": sum(tried.values())})
    print(f"\n[{backend}] model version sources: {dict(tried)}")


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=30)),
    lambda inner: st.one_of(st.lists(inner, max_size=5), st.dictionaries(st.text(max_size=5), inner, max_size=4)),
    max_leaves=20,
)


def test_forged_page_tokens_signed_with_the_store_key(
    backend: str, store_uri: str, tmp_path: Path, totals: Counter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whoever holds the key (a reader of the store's files) still cannot make a query fail raw."""
    monkeypatch.setenv(paging.SECRET_ENV, "hostile-suite-key")
    seen: list[str] = []
    real = paging._digest

    def spy(payload: bytes, query: str, key: Any) -> str:
        seen.append(query)
        return real(payload, query, key)

    monkeypatch.setattr(paging, "_digest", spy)
    store = resolve_tracking_store(store_uri, default_artifact_root=(tmp_path / "art").as_uri())
    experiment_id = store.create_experiment("e")
    for i in range(3):
        store.create_run(experiment_id, run_name=f"r{i}")
    everything = {r.info.run_id for r in store.search_runs([experiment_id])}
    token = store.search_runs([experiment_id], max_results=1).token
    assert token
    query = seen[-1]
    real_payload = json.loads(json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))["p"])
    tried: Counter = Counter()

    @_SETTINGS
    @given(
        st.one_of(
            json_values,
            st.dictionaries(st.sampled_from(sorted(real_payload)), json_values, min_size=1).map(
                lambda d: {**real_payload, **d}
            ),
        )
    )
    def check(payload: Any) -> None:
        body = json.dumps(payload)
        forged = base64.urlsafe_b64encode(
            json.dumps({"p": body, "d": real(body.encode(), query, None)}).encode()
        ).decode()
        try:
            page = store.search_runs([experiment_id], max_results=1, page_token=forged)
        except InvalidParameterError:
            tried["refused"] += 1
            return
        assert {r.info.run_id for r in page} <= everything and len(page) <= 1
        tried["ok"] += 1

    try:
        check()
    finally:
        store.close()
    assert tried["refused"] > 0
    totals.update({"forged signed token cases": sum(tried.values())})
    print(f"\n[{backend}] forged signed page tokens: {dict(tried)}")


def test_memory_plugin_artifact_paths_never_escape(tmp_path: Path, totals: Counter) -> None:
    from storekit_memory import MemoryArtifactRepository

    repo = MemoryArtifactRepository(f"memory://{tmp_path.name}/root/sub")
    sibling = MemoryArtifactRepository(f"memory://{tmp_path.name}/root")
    local = tmp_path / "payload.txt"
    local.write_text("payload")
    paths = st.one_of(
        st.text(max_size=40),
        st.lists(st.sampled_from(["..", ".", "a", "\\", "/", "\x00", "\ud800", "%2e%2e"]), max_size=6).map("/".join),
    )
    tried: Counter = Counter()

    @_SETTINGS
    @given(paths)
    def check(path: str) -> None:
        tried[_outcome(lambda: repo.log_artifact(local, path))] += 1
        outside = [f.path for f in sibling.list_artifacts() if f.path != "sub"]
        assert outside == [], f"artifact path {path!r} wrote outside the root"
        _outcome(lambda: repo.list_artifacts(path), (InvalidParameterError, NotFoundError))

    check()
    assert tried["refused"] > 0
    totals.update({"hostile memory artifact path cases": sum(tried.values())})
    print(f"\n[memory] artifact paths: {dict(tried)}")
