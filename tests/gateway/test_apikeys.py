"""API keys are shown once and stored only as a hash."""

from __future__ import annotations

from gateway.core import apikeys
from gateway.core.apikeys import generate, hash_key, matches, parse_prefix


def test_generated_key_is_not_its_stored_hash_and_verifies():
    new = generate()
    assert new.key not in new.hashed
    assert parse_prefix(new.key) == new.prefix
    assert matches(new.key, new.hashed)
    assert not matches(new.key + "x", new.hashed)


def test_keys_are_unique_and_hashes_stable():
    keys = {generate().key for _ in range(200)}
    assert len(keys) == 200
    key = next(iter(keys))
    assert hash_key(key) == hash_key(key)


def test_malformed_keys_have_no_prefix():
    for bad in ("", "mg_", "mg_short_x", "Bearer abc", "mg_abcdefgh_" + "x" * 31, "xx_abcdefgh_" + "y" * 32):
        assert parse_prefix(bad) is None


def test_a_verified_key_is_remembered_only_for_its_time_to_live() -> None:
    now = [100.0]
    verified: apikeys.VerifiedKeys[int] = apikeys.VerifiedKeys(ttl=5.0, clock=lambda: now[0])
    key = apikeys.generate().key
    verified.put(key, 7)
    assert verified.get(key) == 7
    assert verified.get(key[:-1] + ("A" if key[-1] != "A" else "B")) is None  # one character off
    now[0] += 5.0
    assert verified.get(key) is None  # looked up again: a revoked key stops working
    verified.put(key, 7)
    verified.forget_all()
    assert verified.get(key) is None
