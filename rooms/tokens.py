"""Short-lived signed tokens that let non-browser clients open a Socket.IO connection."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable


class Tokens:
    """Issues and checks `user_id.expiry.signature` tokens signed with HMAC-SHA256.

    They are stateless: a token stays valid until it expires (`lifetime` seconds, five minutes by
    default), which is why it only opens a connection and is never a session.
    """

    def __init__(self, secret: bytes, *, lifetime: int, clock: Callable[[], float]) -> None:
        self._key = hashlib.sha256(b"twinrooms socket token\0" + secret).digest()
        self.lifetime = lifetime
        self.clock = clock

    def issue(self, user_id: str) -> str:
        claim = f"{user_id}.{int(self.clock()) + self.lifetime}"
        return f"{claim}.{self._sign(claim)}"

    def verify(self, token: str) -> str | None:
        """The user id a valid, unexpired token was issued to; None otherwise."""
        claim, _, signature = token.rpartition(".")
        user_id, _, expiry = claim.partition(".")
        if not (user_id and expiry.isdigit()):
            return None
        if not hmac.compare_digest(signature, self._sign(claim)):
            return None
        return user_id if int(expiry) > self.clock() else None

    def _sign(self, claim: str) -> str:
        mac = hmac.new(self._key, claim.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()
