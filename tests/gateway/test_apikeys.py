"""API keys are shown once and stored only as a hash."""

from __future__ import annotations

from gateway.apikeys import generate, hash_key, matches, parse_prefix


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
