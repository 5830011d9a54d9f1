"""The bus envelope: only messages signed with the cluster's key, fresh, newer than the last from
their sender and of a known version and type get through; each refusal has its reason."""

from __future__ import annotations

import json
import pickle
from typing import Any

import pytest

from server.cluster.bus import MAX_BYTES, Rejected, Verifier, bus_key, sign

KEY = bus_key(b"s" * 32)
NOW = 1_000_000.0


def envelope(**changes: Any) -> dict[str, Any]:
    base = {"v": 1, "node": "a", "boot": "b1", "n": 1, "ts": NOW, "type": "emit", "body": {}}
    return {**base, **changes}


def verifier() -> Verifier:
    return Verifier(KEY, {"emit"}, clock=lambda: NOW)


def reason(check: Verifier, raw: bytes) -> str:
    with pytest.raises(Rejected) as caught:
        check.check(raw)
    return caught.value.reason


def test_a_signed_fresh_message_passes_once() -> None:
    check = verifier()
    raw = sign(KEY, envelope())
    assert check.check(raw)["type"] == "emit"
    assert reason(check, raw) == "replayed"
    assert reason(check, sign(KEY, envelope(ts=NOW + 1))) == "replayed"  # same n, new time
    assert check.check(sign(KEY, envelope(n=2)))["n"] == 2
    assert check.check(sign(KEY, envelope(boot="b2")))["boot"] == "b2"  # a restarted sender


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (json.dumps(envelope()).encode(), "unsigned"),
        (sign(b"another key", envelope()), "bad_mac"),
        (sign(KEY, envelope(ts=NOW - 31)), "stale"),
        (sign(KEY, envelope(ts=NOW + 31)), "stale"),
        (sign(KEY, envelope(v=2)), "unknown_version"),
        (sign(KEY, envelope(type="disconnect")), "unknown_type"),
        (sign(KEY, envelope(n="1")), "malformed"),
        (sign(KEY, envelope(body=[])), "malformed"),
        (b"not json", "not_json"),
        (b"[1, 2]", "not_json"),
        (pickle.dumps(envelope()), "not_json"),
        (b'{"mac": "' + b"0" * MAX_BYTES + b'"}', "too_large"),
    ],
)
def test_every_bad_message_is_refused_with_its_reason(raw: bytes, expected: str) -> None:
    assert reason(verifier(), raw) == expected


def test_a_changed_body_breaks_the_mac() -> None:
    signed = json.loads(sign(KEY, envelope(body={"room": "r1"})))
    signed["body"]["room"] = "r2"
    assert reason(verifier(), json.dumps(signed).encode()) == "bad_mac"
