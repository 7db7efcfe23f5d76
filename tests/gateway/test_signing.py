"""A webhook receiver can verify our signature with only the header and its secret."""

from __future__ import annotations

import hashlib
import hmac

from gateway.core.signing import sign, verify

BODY = b'{"event":"message.status","data":{"id":"m1","status":"delivered"}}'


def test_receiver_recomputes_the_documented_hmac():
    header = sign("s3cret", BODY, 1_764_400_000)
    t, v1 = (kv.split("=", 1)[1] for kv in header.split(","))
    expected = hmac.new(b"s3cret", t.encode() + b"." + BODY, hashlib.sha256).hexdigest()
    assert v1 == expected


def test_valid_signature_verifies():
    header = sign("s3cret", BODY, 1_764_400_000)
    assert verify("s3cret", BODY, header, now=1_764_400_010)


def test_tampered_body_wrong_secret_and_stale_timestamp_fail():
    header = sign("s3cret", BODY, 1_764_400_000)
    assert not verify("s3cret", BODY.replace(b"delivered", b"failed"), header, now=1_764_400_000)
    assert not verify("other", BODY, header, now=1_764_400_000)
    assert not verify("s3cret", BODY, header, now=1_764_400_000 + 3600)


def test_garbage_headers_fail_without_raising():
    for header in ("", "t=abc,v1=00", "v1=00", "t=1764400000", "nonsense", "t=1764400000,v1="):
        assert not verify("s3cret", BODY, header, now=1_764_400_000)


def test_any_of_several_signatures_during_rotation_is_enough():
    old = sign("old", BODY, 1_764_400_000)
    new = sign("new", BODY, 1_764_400_000)
    both = old + "," + new.split(",", 1)[1]
    assert verify("new", BODY, both, now=1_764_400_000)
    assert verify("old", BODY, both, now=1_764_400_000)
