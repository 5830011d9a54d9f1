"""Socket tokens: signed, short-lived, bound to the hash of the session they were minted from."""

from __future__ import annotations

import hashlib

from rooms.tokens import Claim, Tokens

SESSION = hashlib.sha256(b"a session cookie").hexdigest()


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_a_token_names_its_user_and_session_until_it_expires() -> None:
    clock = Clock()
    tokens = Tokens(b"k" * 32, lifetime=300, clock=clock)
    token = tokens.issue("u1", SESSION)
    assert tokens.verify(token) == Claim("u1", SESSION)
    clock.now += 300
    assert tokens.verify(token) is None


def test_a_changed_or_malformed_token_is_refused() -> None:
    tokens = Tokens(b"k" * 32, lifetime=300, clock=Clock())
    token = tokens.issue("u1", SESSION)
    user_id, expiry, session, signature = token.split(".")
    other = hashlib.sha256(b"another session").hexdigest()
    for bad in (
        f"{user_id}.{expiry}.{other}.{signature}",  # someone else's session
        f"u2.{expiry}.{session}.{signature}",
        f"{user_id}.{expiry}.{signature}",  # the old shape, without a session
        f"{user_id}.{expiry}.{session}.{session}.{signature}",
        "",
    ):
        assert tokens.verify(bad) is None
    assert Tokens(b"x" * 32, lifetime=300, clock=Clock()).verify(token) is None
