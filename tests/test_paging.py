"""Page tokens (storekit.paging): signing, binding to the query, and the field checks of a payload.

Every backend's paging goes through these functions; the backend-level
behaviour (tokens of another store refused, forged cursors) is in
tests/reliability/test_page_token_trust.py and the conformance suite.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re

import pytest

from storekit import paging
from storekit.errors import InvalidParameterError
from storekit.paging import (
    SECRET_ENV,
    decode_page_token,
    encode_page_token,
    new_store_secret,
    query_fingerprint,
    token_int,
    token_scalars,
)

INT_MAX = 2**63 - 1


@pytest.fixture(autouse=True)
def _no_secret_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SECRET_ENV, raising=False)


def _wrapped(token: str) -> dict:
    return json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))


def _token(wrapped: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(wrapped).encode()).decode().rstrip("=")


# --- secrets and keys --------------------------------------------------------------------
def test_new_store_secret_is_64_random_hex_characters() -> None:
    a, b = new_store_secret(), new_store_secret()
    assert re.fullmatch(r"[0-9a-f]{64}", a) and a != b


def test_str_and_bytes_keys_sign_alike() -> None:
    assert encode_page_token({"o": 1}, "q", key="k1") == encode_page_token({"o": 1}, "q", key=b"k1")
    assert decode_page_token(encode_page_token({"o": 1}, "q", key="k1"), "q", key=b"k1") == {"o": 1}


def test_without_a_key_the_process_key_signs() -> None:
    token = encode_page_token({"o": 1}, "q")
    assert decode_page_token(token, "q", key=None) == {"o": 1}
    assert decode_page_token(token, "q", key=paging._PROCESS_KEY) == {"o": 1}
    with pytest.raises(InvalidParameterError):
        decode_page_token(token, "q", key="another")


def test_the_environment_secret_overrides_every_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SECRET_ENV, "shared")
    token = encode_page_token({"o": 1}, "q", key="store-a")
    assert decode_page_token(token, "q", key="store-b") == {"o": 1}
    assert token == encode_page_token({"o": 1}, "q", key=None)
    monkeypatch.setenv(SECRET_ENV, "other")
    with pytest.raises(InvalidParameterError, match="tampered"):
        decode_page_token(token, "q", key="store-a")


# --- fingerprints ----------------------------------------------------------------------
def test_query_fingerprint_is_short_stable_and_order_insensitive_for_mappings() -> None:
    fp = query_fingerprint("f", ["1", "2"], {"b": 1, "a": 2})
    assert re.fullmatch(r"[0-9a-f]{16}", fp)
    assert fp == query_fingerprint("f", ["1", "2"], {"a": 2, "b": 1})
    assert fp != query_fingerprint("f", ["2", "1"], {"a": 2, "b": 1})
    assert query_fingerprint(object) == query_fingerprint(object)  # default=str: any value fingerprints


def test_query_fingerprint_is_the_sha256_of_the_canonical_json() -> None:
    """The built-in SHA-256 the fingerprint uses gives hashlib's digest, so tokens stay valid across versions."""
    parts = ("runs", [1, 2], "metrics.m > 1", {"b": 1, "a": "\u00e9"})
    canonical = json.dumps(parts, sort_keys=True, default=str, separators=(",", ":"))
    assert query_fingerprint(*parts) == hashlib.sha256(canonical.encode()).hexdigest()[:16]


def test_the_process_key_is_32_random_bytes() -> None:
    assert isinstance(paging._PROCESS_KEY, bytes) and len(paging._PROCESS_KEY) == 32


# --- encode / decode ---------------------------------------------------------------------
def test_round_trip_and_token_shape() -> None:
    payload = {"offset": 5, "cursor": [1.5, "x", None], "nested": {"b": 1, "a": 2}}
    token = encode_page_token(payload, "query", key="k")
    assert "=" not in token and re.fullmatch(r"[A-Za-z0-9_-]+", token)
    assert decode_page_token(token, "query", key="k") == payload
    wrapped = _wrapped(token)
    assert set(wrapped) == {"p", "d"} and re.fullmatch(r"[0-9a-f]{32}", wrapped["d"])
    assert json.loads(wrapped["p"]) == payload
    # canonical: key order does not change the token
    assert token == encode_page_token(
        {"nested": {"a": 2, "b": 1}, "cursor": [1.5, "x", None], "offset": 5}, "query", key="k"
    )


def test_a_token_is_bound_to_its_query() -> None:
    token = encode_page_token({"o": 1}, "query-a", key="k")
    with pytest.raises(InvalidParameterError) as info:
        decode_page_token(token, "query-b", key="k")
    assert str(info.value) == (
        "page_token: invalid page token (tampered, issued by another store, or for a different query)"
    )
    assert decode_page_token(token, "query-a", key="k") == {"o": 1}


@pytest.mark.parametrize("token", ["", None, 5, "x" * 16385])
def test_empty_or_oversized_tokens_are_refused(token: object) -> None:
    with pytest.raises(InvalidParameterError) as info:
        decode_page_token(token, "q")  # type: ignore[arg-type]
    assert str(info.value) == "page_token: invalid page token (empty, or longer than 16384 characters)"


def test_a_token_of_exactly_16384_characters_is_read() -> None:
    with pytest.raises(InvalidParameterError, match="does not decode"):
        decode_page_token("A" * 16384, "q")


@pytest.mark.parametrize(
    "token",
    ["!!!", _token([1, 2]), _token({"p": "{}"}), _token({"d": "x"}), _token({"p": 5, "d": "x"}), "e30"],
)
def test_tokens_that_do_not_decode(token: str) -> None:
    with pytest.raises(InvalidParameterError) as info:
        decode_page_token(token, "q")
    assert str(info.value) == "page_token: invalid page token (it does not decode)"


def test_a_token_whose_digest_is_not_a_string_is_tampered() -> None:
    with pytest.raises(InvalidParameterError, match=r"\(tampered"):
        decode_page_token(_token({"p": "{}", "d": 5}), "q")


def _signed(body: str, query: str = "q", key: str = "k") -> str:
    return _token({"p": body, "d": paging._digest(body.encode(), query, key)})


def test_a_signed_body_that_is_not_json_does_not_decode() -> None:
    with pytest.raises(InvalidParameterError) as info:
        decode_page_token(_signed("{not json"), "q", key="k")
    assert str(info.value) == "page_token: invalid page token (it does not decode)"


@pytest.mark.parametrize("body", ["[1, 2]", "5", '"s"', "null"])
def test_a_signed_payload_must_be_an_object(body: str) -> None:
    with pytest.raises(InvalidParameterError) as info:
        decode_page_token(_signed(body), "q", key="k")
    assert str(info.value) == "page_token: invalid page token"
    assert decode_page_token(_signed("{}"), "q", key="k") == {}


# --- token_int ---------------------------------------------------------------------------
def test_token_int_bounds_are_inclusive() -> None:
    assert token_int(0, "offset") == 0
    assert token_int(INT_MAX, "offset") == INT_MAX
    assert token_int(3, "offset", minimum=3, maximum=3) == 3
    for bad in (-1, INT_MAX + 1):
        with pytest.raises(InvalidParameterError) as info:
            token_int(bad, "offset")
        assert str(info.value) == (f"page_token: invalid page token (offset must be an integer in [0, {INT_MAX}])")
    with pytest.raises(InvalidParameterError, match=r"offset must be an integer in \[3, 3\]"):
        token_int(4, "offset", minimum=3, maximum=3)


@pytest.mark.parametrize("value", [True, False, 1.0, "1", None, [1]])
def test_token_int_refuses_non_integers(value: object) -> None:
    with pytest.raises(InvalidParameterError, match="must be an integer"):
        token_int(value, "offset")


# --- token_scalars -----------------------------------------------------------------------
def test_token_scalars_accepts_json_scalars_in_range() -> None:
    values = [None, True, -(2**63), INT_MAX, 1.5, float("inf"), "x" * 65536]
    assert token_scalars(values, 7) is values


@pytest.mark.parametrize("values, count", [((1, 2), 2), ([1], 2), ([1, 2, 3], 2), ("ab", 2), (None, 0)])
def test_token_scalars_needs_a_list_of_the_right_length(values: object, count: int) -> None:
    with pytest.raises(InvalidParameterError) as info:
        token_scalars(values, count)
    assert str(info.value) == f"page_token: invalid page token (cursor must be a list of {count} values)"


@pytest.mark.parametrize("value", [2**63, -(2**63) - 1, "x" * 65537, [1], {"a": 1}])
def test_token_scalars_refuses_out_of_range_or_nested_values(value: object) -> None:
    with pytest.raises(InvalidParameterError) as info:
        token_scalars(["ok", value], 2, field="order")
    assert str(info.value) == "page_token: invalid page token (order value 1 has the wrong type or range)"


def test_token_scalars_not_nullable_refuses_none_and_bools() -> None:
    assert token_scalars([1, "a", 2.5], 3, nullable=False) == [1, "a", 2.5]
    for bad in (None, True):
        with pytest.raises(InvalidParameterError, match="value 0 has the wrong type"):
            token_scalars([bad], 1, nullable=False)


def test_token_scalars_kinds() -> None:
    kinds: list = [int, float, str, None]
    assert token_scalars([1, 2.5, "s", None], 4, kinds=kinds) == [1, 2.5, "s", None]
    assert token_scalars([1.0, 2, "s", True], 4, kinds=kinds) == [1.0, 2, "s", True]  # numbers are numbers
    assert token_scalars([None, None, None, None], 4, kinds=kinds)  # None passes when nullable
    assert token_scalars([1, float("nan")], 2, kinds=[None, float])
    for i, bad in ((0, "1"), (1, "2.5"), (2, 3), (2, 1.5), (0, True), (0, float("inf"))):
        values: list = [1, 2.5, "s", None]
        values[i] = bad
        with pytest.raises(InvalidParameterError, match=f"value {i} has the wrong type"):
            token_scalars(values, 4, kinds=kinds)
    with pytest.raises(InvalidParameterError, match="value 0 has the wrong type"):
        token_scalars([True], 1, kinds=[int])  # a bool is no number for a typed cursor


# --- exact encodings (a token issued by one version must be read by the next) -----------
def test_the_token_and_digest_encodings_are_exact() -> None:
    token = encode_page_token({"b": [1, 2], "a": 1}, "q", key="k")
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    body = '{"a":1,"b":[1,2]}'
    digest = hmac.new(b"k", body.encode() + b"|q", hashlib.sha256).hexdigest()[:32]
    assert raw == json.dumps({"p": body, "d": digest}, separators=(",", ":"))
    assert query_fingerprint("f", [1]) == hashlib.sha256(b'["f",[1]]').hexdigest()[:16]
    assert query_fingerprint({"a": 1}) == hashlib.sha256(b'[{"a":1}]').hexdigest()[:16]


def test_the_default_query_is_the_empty_one() -> None:
    assert decode_page_token(encode_page_token({"o": 1}), "") == {"o": 1}
    assert decode_page_token(
        encode_page_token({"o": 1}, ""),
    ) == {"o": 1}


def test_undecodable_environment_secrets_and_queries_still_sign(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SECRET_ENV, "s\udcff")  # what os.environ holds for a byte that is not UTF-8
    token = encode_page_token({"o": 1}, "q\udcfe")
    assert decode_page_token(token, "q\udcfe") == {"o": 1}


def test_token_scalars_checks_every_value_after_a_none() -> None:
    with pytest.raises(InvalidParameterError, match="value 1 has the wrong type"):
        token_scalars([None, 2**63], 2)
