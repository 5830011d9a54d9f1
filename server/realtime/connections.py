"""The node's signed-in sockets: whose each one is, the session behind it, and the cap on how many
one user may hold open at once.

A socket signs in once, at connect, with the session cookie or with a socket token minted from a
session (`rooms/tokens.py`); either way it is remembered with the SHA-256 of that session, never
the cookie itself, so that the session's end closes it whichever way it was opened: at logout or
a new login at once (`of_session`), at expiry through the hub's periodic sweep (`expired`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from http.cookies import SimpleCookie
from typing import Any

from rooms.accounts import Accounts, session_hash
from rooms.models import User
from rooms.tokens import Tokens
from server.session import COOKIE


@dataclass(frozen=True)
class Connection:
    """One signed-in socket: its user and the hash of the session it belongs to."""

    user: User
    session: str


class Connections:
    """Signed-in sockets by id, counted per user.

    A user may hold at most `per_user` sockets on this node (tabs, devices, reconnects that
    overlap): each one costs memory, fan-out and possibly a call seat, so one account cannot
    open dozens.
    """

    def __init__(self, accounts: Accounts, tokens: Tokens, *, per_user: int) -> None:
        self.accounts = accounts
        self.tokens = tokens
        self.per_user = per_user
        self._by_sid: dict[str, Connection] = {}
        self._per_user: Counter[str] = Counter()

    async def authenticate(self, environ: dict[str, Any], auth: Any) -> Connection | None:
        """Who opens a socket: the session of a socket token (`auth: {token}`), or else of the
        session cookie; None unless that session is alive."""
        if isinstance(auth, dict) and isinstance(auth.get("token"), str):
            claim = self.tokens.verify(auth["token"])
            if claim is None:
                return None
            user = await self.accounts.session_owner(claim.session)
            if user is None or user.id != claim.user_id:
                return None
            return Connection(user, claim.session)
        cookie = SimpleCookie(environ.get("HTTP_COOKIE", ""))
        if COOKIE not in cookie:
            return None
        session = session_hash(cookie[COOKIE].value)
        user = await self.accounts.session_owner(session)
        return Connection(user, session) if user is not None else None

    def admit(self, sid: str, connection: Connection) -> bool:
        """Remember a new socket; False (and nothing remembered) when its user is at the cap."""
        user_id = connection.user.id
        if self._per_user[user_id] >= self.per_user:
            return False
        self._by_sid[sid] = connection
        self._per_user[user_id] += 1
        return True

    def drop(self, sid: str) -> None:
        """Forget a socket that has gone (nothing happens for an unknown one)."""
        connection = self._by_sid.pop(sid, None)
        if connection is None:
            return
        user_id = connection.user.id
        self._per_user[user_id] -= 1
        if self._per_user[user_id] <= 0:
            del self._per_user[user_id]

    def user(self, sid: str) -> User | None:
        connection = self._by_sid.get(sid)
        return connection.user if connection is not None else None

    def sockets_of(self, user_id: str) -> list[str]:
        """The ids of the user's sockets on this node."""
        return [sid for sid, c in self._by_sid.items() if c.user.id == user_id]

    def of_session(self, session: str) -> list[str]:
        """The ids of the sockets that belong to the session with this hash."""
        return [sid for sid, c in self._by_sid.items() if c.session == session]

    async def expired(self) -> list[str]:
        """The ids of the sockets whose session has ended or expired (one query per 500
        sessions; a socket that connects meanwhile was checked at its connect)."""
        sessions = {c.session for c in self._by_sid.values()}
        alive = await self.accounts.live_sessions(sessions)
        dead = sessions - alive
        return [sid for sid, c in list(self._by_sid.items()) if c.session in dead]

    def __len__(self) -> int:
        return len(self._by_sid)
