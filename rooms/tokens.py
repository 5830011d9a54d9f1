"""Short-lived signed tokens that let non-browser clients open a Socket.IO connection."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Callable
from dataclasses import dataclass

SESSION = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class Claim:
    """What a valid token says: its user, and the hash of the session it was minted from."""

    user_id: str
    session: str


class Tokens:
    """Issues and checks `user_id.expiry.session.signature` tokens signed with HMAC-SHA256.

    A token lives `lifetime` seconds (five minutes by default) and only opens a connection; it is
    never a session. It names the session it was minted from by that session's SHA-256 (never the
    cookie itself), so whoever accepts it must also check that the session is still alive: a
    logout or an expiry ends the token with the session.
    """

    def __init__(self, secret: bytes, *, lifetime: int, clock: Callable[[], float]) -> None:
        self._key = hashlib.sha256(b"twinrooms socket token\0" + secret).digest()
        self.lifetime = lifetime
        self.clock = clock

    def issue(self, user_id: str, session: str) -> str:
        """A token for `user_id`, bound to the session whose hash is `session`."""
        claim = f"{user_id}.{int(self.clock()) + self.lifetime}.{session}"
        return f"{claim}.{self._sign(claim)}"

    def verify(self, token: str) -> Claim | None:
        """The claim of a valid, unexpired token; None otherwise (the session is not checked)."""
        claim, _, signature = token.rpartition(".")
        parts = claim.split(".")
        if len(parts) != 3:
            return None
        user_id, expiry, session = parts
        if not (user_id and expiry.isdigit() and SESSION.fullmatch(session)):
            return None
        if not hmac.compare_digest(signature, self._sign(claim)):
            return None
        return Claim(user_id, session) if int(expiry) > self.clock() else None

    def _sign(self, claim: str) -> str:
        mac = hmac.new(self._key, claim.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()
