"""Hostile input, property-based: every surface refuses bad input with InvalidParameterError.

Filter strings (with SQL-injection attempts), keys and values at and past
every limit, unicode and control characters, NUL bytes, artifact paths that
try to escape the root (``..``, absolute, symlinks), tampered page tokens
and malformed URIs.  Each call either succeeds (for valid input) or raises
InvalidParameterError (or the contract's specific error) - never another
exception - and a refused call leaves the store exactly as it was (compared
with a snapshot).  A few hundred cases per surface and backend in CI,
10,000 with ``STOREKIT_SOAK=1``.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import Any, Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from storekit.entities import Metric, Param, RunTag, ViewType
from storekit.errors import InvalidParameterError, NotFoundError, StorekitError
from storekit.plugins import resolve_tracking_store
from storekit.validation import MAX_KEY_LENGTH, MAX_PARAM_VALUE_LENGTH, MAX_TAG_VALUE_LENGTH
from tests.reliability.conftest import HOSTILE_BACKENDS, Sizes

pytestmark = pytest.mark.timeout(900)


@pytest.fixture(params=HOSTILE_BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Every built-in backend and the memory plugin (the template every plugin starts from)."""
    return request.param


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

INJECTIONS = [
    "params.a = 'x'; DROP TABLE runs; --",
    "params.a = 'x' OR '1'='1'",
    "params.`a'; DELETE FROM params; --` = 'x'",
    "tags.t = '\\' OR 1=1 --'",
    "metrics.m > 0 UNION SELECT * FROM experiments",
    "attributes.run_id IN ('a', (SELECT run_uuid FROM runs))",
    "params.a LIKE '%' ESCAPE '\\'",
    'params.a = "x"',
    "params.a = 'x\x00'",
    "metrics.`m` = 1e999999",
    "((((((((((((((((((((params.a = 'x'))))))))))))))))))))",
    "params.a = 'x' AND" * 50,
    "attributes.`../../etc/passwd` = 'x'",
    "tags.`%s%s%n` = '{0}'",
]
_TOKENS = [
    "params",
    "metrics",
    "tags",
    "attributes",
    "datasets",
    ".",
    "`",
    "'",
    '"',
    "=",
    "!=",
    "<",
    ">=",
    "LIKE",
    "ILIKE",
    "IN",
    "NOT",
    "AND",
    "OR",
    "IS",
    "NULL",
    "(",
    ")",
    ",",
    " ",
    "a",
    "run_id",
    "1",
    "-1.5e3",
    "NaN",
    "--",
    ";",
    "\x00",
    "\n",
    "é",
    "\U0001f600",
    "%",
    "_",
    "\\",
    "\ud800",
    "\x1b[2J",
]
filters = st.one_of(
    st.text(max_size=200),
    st.sampled_from(INJECTIONS),
    st.lists(st.sampled_from(_TOKENS), max_size=25).map("".join),
    st.lists(st.sampled_from(_TOKENS), max_size=25).map(" ".join),
)
_lengths = st.sampled_from([0, 1, MAX_KEY_LENGTH - 1, MAX_KEY_LENGTH, MAX_KEY_LENGTH + 1, 1000])
keys = st.one_of(
    st.text(max_size=40),
    _lengths.map(lambda n: "k" * n),
    st.sampled_from(
        [
            "/abs",
            "a/../b",
            "..",
            "a/..",
            "a\x00b",
            "a\nb",
            "a;b",
            "a'b",
            "é",
            "a b",
            "a:b/c",
            "loss\n",
            "loss\r",
            "a\ud800",
            "\udfff",
            "k\u2028",
        ]
    ),
)
values = st.one_of(
    st.text(max_size=60),
    st.sampled_from(
        [MAX_PARAM_VALUE_LENGTH, MAX_PARAM_VALUE_LENGTH + 1, MAX_TAG_VALUE_LENGTH, MAX_TAG_VALUE_LENGTH + 1]
    ).map(lambda n: "v" * n),
    st.just("a\x00b"),
    st.sampled_from(["\ud800", "v\udc00w", "\x1b]0;title\x07", "\x1b[2J\x1b[H"]),
)


def snapshot(store: Any, experiment_id: str) -> Any:
    """Everything a client can read about the experiment's runs (NaN-safe)."""
    out = []
    for run in store.search_runs([experiment_id], view_type=ViewType.ALL, max_results=1000):
        history = {
            k: [(repr(m.value), m.timestamp, m.step) for m in store.get_metric_history(run.info.run_id, k)]
            for k in sorted(run.data.metrics)
        }
        out.append(
            (
                run.info,
                sorted((k, repr(v)) for k, v in run.data.metrics.items()),
                sorted(run.data.params.items()),
                sorted(run.data.tags.items()),
                history,
            )
        )
    exp = store.get_experiment(experiment_id)
    return out, sorted(exp.tags.items()), exp.name


def refused_or_ok(
    call: Callable[[], Any], store: Any, experiment_id: str, allowed: tuple[type, ...] = (InvalidParameterError,)
) -> bool:
    """Run ``call``; True if it succeeded.  A refusal must be an allowed error and change nothing."""
    before = snapshot(store, experiment_id)
    try:
        call()
        return True
    except allowed:
        assert snapshot(store, experiment_id) == before, "a refused call changed the store"
        return False


@pytest.fixture
def seeded(store_uri: str, tmp_path: Path):
    store = resolve_tracking_store(store_uri, default_artifact_root=(tmp_path / "art").as_uri())
    experiment_id = store.create_experiment("hostile")
    runs = [store.create_run(experiment_id, run_name=f"r{i}").info.run_id for i in range(3)]
    store.log_batch(runs[0], [Metric("m", 1.0, 1, 0)], [Param("a", "x")], [RunTag("t", "y")])
    yield store, experiment_id, runs
    store.close()


def test_filter_strings(seeded, backend: str, totals: Counter) -> None:
    store, experiment_id, _ = seeded
    tried = Counter()

    @_SETTINGS
    @given(filters)
    def check(text: str) -> None:
        ok = refused_or_ok(lambda: store.search_runs([experiment_id], filter_string=text), store, experiment_id)
        tried["ok" if ok else "refused"] += 1

    check()
    assert len(store.search_runs([experiment_id])) == 3  # nothing was dropped or deleted
    totals.update({"hostile filter cases": sum(tried.values())})
    print(f"\n[{backend}] filter strings: {dict(tried)}")


def test_keys_and_values(seeded, backend: str, totals: Counter) -> None:
    store, experiment_id, runs = seeded
    tried = Counter()

    @_SETTINGS
    @given(kind=st.sampled_from(["metric", "param", "tag", "experiment tag", "delete tag"]), key=keys, value=values)
    def check(kind: str, key: str, value: str) -> None:
        from storekit.entities import ExperimentTag

        calls = {
            "metric": lambda: store.log_batch(runs[1], metrics=[Metric(key, 0.5, 1, 0)]),
            "param": lambda: store.log_batch(runs[1], params=[Param(key, value)]),
            "tag": lambda: store.log_batch(runs[1], tags=[RunTag(key, value)]),
            "experiment tag": lambda: store.set_experiment_tag(experiment_id, ExperimentTag(key, value)),
            "delete tag": lambda: store.delete_tag(runs[2], key),
        }
        ok = refused_or_ok(calls[kind], store, experiment_id, (InvalidParameterError, NotFoundError))
        if ok and kind == "tag":
            assert store.get_run(runs[1]).data.tags[key] == value  # stored exactly, never truncated
        tried["ok" if ok else "refused"] += 1

    check()
    totals.update({"hostile key/value cases": sum(tried.values())})
    print(f"\n[{backend}] keys and values: {dict(tried)}")


def test_tampered_page_tokens(seeded, backend: str, totals: Counter) -> None:
    store, experiment_id, runs = seeded
    token = store.search_runs([experiment_id], max_results=1).token
    assert token
    tried = Counter()
    mutations = st.one_of(
        st.text(max_size=80),
        st.tuples(st.integers(0, len(token) - 1), st.characters(codec="ascii")).map(
            lambda t: token[: t[0]] + t[1] + token[t[0] + 1 :]
        ),
        st.integers(0, len(token) - 1).map(lambda n: token[:n]),
        st.text(max_size=10).map(lambda s: token + s),
        st.binary(max_size=60).map(lambda b: __import__("base64").urlsafe_b64encode(b).decode()),
    )

    @_SETTINGS
    @given(mutations)
    def check(bad: str) -> None:
        if bad == token:
            return
        ok = refused_or_ok(
            lambda: store.search_runs([experiment_id], max_results=1, page_token=bad), store, experiment_id
        )
        tried["ok" if ok else "refused"] += 1

    check()
    assert tried["refused"] > 0
    totals.update({"tampered token cases": sum(tried.values())})
    print(f"\n[{backend}] page tokens: {dict(tried)}")


@pytest.mark.parametrize("backend", ["file"])
def test_artifact_paths_never_escape(backend: str, tmp_path: Path, totals: Counter) -> None:
    from storekit.artifacts.local import LocalArtifactRepository

    outside = tmp_path / "outside"
    outside.mkdir()
    root = tmp_path / "root"
    root.mkdir()
    (root / "link").symlink_to(outside, target_is_directory=True)
    local = tmp_path / "payload.txt"
    local.write_text("payload")
    repo = LocalArtifactRepository(root.as_uri())
    paths = st.one_of(
        st.text(max_size=40),
        st.sampled_from(
            [
                "..",
                "../x",
                "a/../../x",
                "/etc",
                "\\x",
                "C:\\x",
                "C:x",
                "a\x00b",
                "link",
                "link/x",
                "./../x",
                "a/./../..",
                "a\\..\\..\\x",
                "%2e%2e/x",
                "~/x",
            ]
        ),
        st.lists(st.sampled_from(["..", ".", "a", "link", "\\", "/", "\x00"]), max_size=6).map("/".join),
    )
    tried = Counter()

    @_SETTINGS
    @given(paths)
    def check(path: str) -> None:
        try:
            repo.log_artifact(local, path)
            tried["ok"] += 1
        except InvalidParameterError:
            tried["refused"] += 1
        assert os.listdir(outside) == [], f"artifact path {path!r} wrote outside the root"
        try:
            repo.list_artifacts(path)
        except (InvalidParameterError, NotFoundError):
            pass

    check()
    assert tried["refused"] > 0
    totals.update({"hostile artifact path cases": sum(tried.values())})
    print(f"\n[file] artifact paths: {dict(tried)}")


@pytest.mark.parametrize("backend", ["file"])
def test_malformed_uris(backend: str, tmp_path: Path, totals: Counter, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    uris = st.one_of(
        st.tuples(
            st.sampled_from(
                ["bogus", "sqlite", "file", "mysql+nodriver", "postgresql+nodriver", "s3x", "sqlite+pysqlite", "x-y.z"]
            ),
            st.sampled_from([":", "://", ":///", ":////"]),
            st.text(max_size=30),
        ).map("".join),
        st.sampled_from(
            [
                "sqlite:///\x00x.db",
                "file:///\x00x",
                "postgresql://u:p@h:notaport/db",
                "://",
                ":",
                "mysql://u@[::1:3306/db",
                "sqlite://host/db",
                "",
                " ",
            ]
        ),
    )
    tried = Counter()

    @_SETTINGS
    @given(uris)
    def check(uri: str) -> None:
        try:
            resolve_tracking_store(uri).close()
            tried["ok"] += 1
        except StorekitError:
            tried["refused"] += 1

    check()
    assert tried["refused"] > 0
    totals.update({"malformed uri cases": sum(tried.values())})
    print(f"\n[file] malformed URIs: {dict(tried)}")
