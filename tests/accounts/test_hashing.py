"""Password hashes are argon2id with memory-hard parameters; tokens are random and stored as SHA-256."""

from __future__ import annotations

import hashlib

from argon2 import Type, extract_parameters

from storekit.accounts import hashing


def test_password_hash_is_memory_hard_argon2id_and_salted():
    first, second = hashing.hash_password("a password"), hashing.hash_password("a password")
    params = extract_parameters(first)
    assert params.type is Type.ID
    assert params.memory_cost >= 64 * 1024  # KiB: at least 64 MiB per guess
    assert params.time_cost >= 2
    assert first != second  # salted
    assert "a password" not in first
    assert hashing.verify_password(first, "a password") and hashing.verify_password(second, "a password")
    assert not hashing.verify_password(first, "a passwore")
    assert not hashing.verify_password("not a hash", "a password")
    assert not hashing.needs_rehash(first)


def test_tokens_are_random_and_only_their_digest_is_kept():
    tokens = {hashing.new_token() for _ in range(200)}
    assert len(tokens) == 200 and all(len(t) == 43 for t in tokens)
    token = tokens.pop()
    digest = hashing.token_digest(token)
    assert digest == hashlib.sha256(token.encode()).hexdigest()
    assert hashing.digests_equal(digest, hashing.token_digest(token))
    assert not hashing.digests_equal(digest, hashing.token_digest(token + "x"))
    assert len({hashing.new_token_id() for _ in range(200)}) == 200
