"""Page tokens are signed with a secret of the store and every field is checked (issue 19, point 4).

* A token issued by one store is refused by another store (the key is no
  longer a constant written in the source).
* The secret is created with the store and survives reopening: the file
  store's ``.storekit-secret`` (mode 0600), the SQL stores' ``storekit_settings``
  row; a file store created before the secret existed gets one when opened.
* A payload signed with the right key but holding forged cursor values
  (huge integers, wrong types, deep nesting, wrong lengths) is refused with
  InvalidParameterError before it reaches a query, or gives a page of the
  real results - never a raw driver error, OverflowError or RecursionError.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import stat
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

import storekit.paging as paging
from storekit.entities import Metric
from storekit.errors import InvalidParameterError
from storekit.plugins import resolve_tracking_store
from tests.reliability.conftest import HOSTILE_BACKENDS

pytestmark = pytest.mark.timeout(600)


@pytest.fixture(params=HOSTILE_BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Every built-in backend and the memory plugin."""
    return request.param


def _store(uri: str, tmp_path: Path) -> Any:
    return resolve_tracking_store(uri, default_artifact_root=(tmp_path / "art").as_uri())


def _fill(store: Any) -> list[str]:
    ids = [store.create_experiment(f"e{i}") for i in range(4)]
    return ids


@pytest.fixture
def spy_queries(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The query fingerprints tokens were signed for (the real digest still runs)."""
    seen: list[str] = []
    real = paging._digest

    def digest(payload: bytes, query: str, key: Any) -> str:
        seen.append(query)
        return real(payload, query, key)

    monkeypatch.setattr(paging, "_digest", digest)
    return seen


def _sign(body: str, query: str, key: bytes) -> str:
    """A token around ``body`` (raw JSON text) signed with ``key`` the way storekit signs."""
    digest = paging._digest(body.encode(), query, key)
    wrapped = json.dumps({"p": body, "d": digest}, separators=(",", ":"))
    return base64.urlsafe_b64encode(wrapped.encode()).decode().rstrip("=")


def test_token_of_another_store_is_refused(backend: str, new_store_uri: Callable[[str], str], tmp_path: Path) -> None:
    a, b = _store(new_store_uri(backend), tmp_path), _store(new_store_uri(backend), tmp_path)
    try:
        _fill(a), _fill(b)
        token = a.search_experiments(max_results=1).token
        assert token
        assert len(a.search_experiments(max_results=1, page_token=token)) == 1  # valid where issued
        with pytest.raises(InvalidParameterError, match="page_token"):
            b.search_experiments(max_results=1, page_token=token)
    finally:
        a.close(), b.close()


def test_token_signed_with_the_old_source_key_is_refused(
    backend: str, new_store_uri: Callable[[str], str], tmp_path: Path, spy_queries: list[str]
) -> None:
    store = _store(new_store_uri(backend), tmp_path)
    try:
        _fill(store)
        token = store.search_experiments(max_results=1).token
        query = spy_queries[-1]
        body = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))["p"]
        # what anyone could compute before: an HMAC keyed by a constant of the source
        digest = hmac.new(b"storekit-page-token-v1", body.encode() + b"|" + query.encode(), hashlib.sha256).hexdigest()[
            :24
        ]
        forged = base64.urlsafe_b64encode(json.dumps({"p": body, "d": digest}).encode()).decode()
        with pytest.raises(InvalidParameterError, match="page_token"):
            store.search_experiments(max_results=1, page_token=forged)
    finally:
        store.close()


def _store_key(store: Any, backend: str) -> bytes:
    """The store's secret, read the way an insider with access to the store could."""
    if backend == "file":
        return (Path(store.root) / ".storekit-secret").read_bytes().strip()
    if backend == "memory":
        return store._state.secret
    return store._token_key


HOSTILE_VALUES: list[Any] = [
    10**30,
    -(10**30),
    2**63,
    1e308,
    float("inf"),
    "x" * 70000,
    "x",
    True,
    {"a": 1},
    [1, [2]],
    None,
    -1,
    1.5,
]


def _forgeries(payload: dict[str, Any]) -> Iterator[str]:
    """Bodies replacing each field of a real payload with hostile values."""
    for field, real in payload.items():
        for value in HOSTILE_VALUES:
            yield json.dumps({**payload, field: value})
            if isinstance(real, list) and real:
                yield json.dumps({**payload, field: [value] * len(real)})
                yield json.dumps({**payload, field: real + [value]})
                yield json.dumps({**payload, field: [value] + real[1:]})
        yield '{"%s": %s}' % (field, "[" * 100_000 + "]" * 100_000)  # deep nesting
    yield "[" * 100_000 + "]" * 100_000
    yield '"just a string"'


def test_forged_fields_signed_with_the_store_key(
    backend: str, new_store_uri: Callable[[str], str], tmp_path: Path, spy_queries: list[str]
) -> None:
    store = _store(new_store_uri(backend), tmp_path)
    try:
        ids = _fill(store)
        run_id = store.create_run(ids[0]).info.run_id
        store.log_batch(run_id, metrics=[Metric("m", float(i), i, i) for i in range(3)])
        key = _store_key(store, backend)
        everything = {e.experiment_id for e in store.search_experiments(max_results=100)}
        token = store.search_experiments(max_results=1).token
        query_e = spy_queries[-1]
        htoken = store.get_metric_history(run_id, "m", max_results=1).token
        query_h = spy_queries[-1]
        tried = refused = 0
        checks: list[tuple[str, str, Callable[[str], Any], Callable[[Any], bool]]] = [
            (
                token,
                query_e,
                lambda t: store.search_experiments(max_results=1, page_token=t),
                lambda page: {e.experiment_id for e in page} <= everything,
            ),
            (
                htoken,
                query_h,
                lambda t: store.get_metric_history(run_id, "m", max_results=1, page_token=t),
                lambda page: all(m.key == "m" for m in page),
            ),
        ]
        for good, query, call, check in checks:
            assert good
            payload = json.loads(json.loads(base64.urlsafe_b64decode(good + "=" * (-len(good) % 4)))["p"])
            for body in _forgeries(payload):
                tried += 1
                try:
                    page = call(_sign(body, query, key))
                except InvalidParameterError as exc:
                    assert "page_token" in str(exc)
                    refused += 1
                    continue
                assert check(page), f"forged token {body[:80]!r} widened the results"
                assert len(page) <= 1
        assert refused > 0
        print(f"\n[{backend}] forged signed tokens: {tried} tried, {refused} refused")
    finally:
        store.close()


def test_file_store_secret_is_private_and_persistent(tmp_path: Path) -> None:
    root = tmp_path / "store"
    store = _store(str(root), tmp_path)
    secret = root / ".storekit-secret"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert len(secret.read_bytes().strip()) == 64
    _fill(store)
    token = store.search_experiments(max_results=1).token
    store.close()
    reopened = _store(str(root), tmp_path)  # another process would read the same file
    assert len(reopened.search_experiments(max_results=1, page_token=token)) == 1
    reopened.close()
    # a store created before the secret existed gets one when opened, and works
    secret.unlink()
    upgraded = _store(str(root), tmp_path)
    assert secret.exists() and stat.S_IMODE(secret.stat().st_mode) == 0o600
    with pytest.raises(InvalidParameterError):
        upgraded.search_experiments(max_results=1, page_token=token)  # the old secret is gone
    assert upgraded.search_experiments(max_results=1).token
    assert not [n for n in os.listdir(root) if n.startswith(".tmp-secret")]
    upgraded.close()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql", "mariadb"])
def test_sql_store_secret_is_shared_by_every_opener(
    backend: str, new_store_uri: Callable[[str], str], tmp_path: Path
) -> None:
    uri = new_store_uri(backend)
    a = _store(uri, tmp_path)
    _fill(a)
    token = a.search_experiments(max_results=1).token
    b = _store(uri, tmp_path)  # a second opener (another process, another server) of the same database
    try:
        assert len(b.search_experiments(max_results=1, page_token=token)) == 1
        assert len(a._token_key) == 64 and a._token_key == b._token_key
    finally:
        a.close(), b.close()


def test_configured_secret_signs_every_store(
    new_store_uri: Callable[[str], str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STOREKIT_PAGE_TOKEN_SECRET", "one secret for the whole deployment")
    a, b = _store(new_store_uri("file"), tmp_path), _store(new_store_uri("file"), tmp_path)
    _fill(a), _fill(b)
    token = a.search_experiments(max_results=1).token
    b.search_experiments(max_results=1, page_token=token)  # accepted: same key, same query
    monkeypatch.delenv("STOREKIT_PAGE_TOKEN_SECRET")
    with pytest.raises(InvalidParameterError):
        b.search_experiments(max_results=1, page_token=token)  # b's own secret: refused
    a.close(), b.close()


def test_deeply_nested_token_is_invalid_parameter() -> None:
    nested = base64.urlsafe_b64encode(("[" * 200_000).encode()).decode()
    with pytest.raises(InvalidParameterError):
        paging.decode_page_token(nested[:16000])
    with pytest.raises(InvalidParameterError):
        paging.decode_page_token(_sign("[" * 100_000, "q", b"k"), "q", key=b"k")
