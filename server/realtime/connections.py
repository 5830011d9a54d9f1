"""The node's signed-in sockets: whose each one is, the session it was opened with, and the cap on
how many one user may hold open at once."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from rooms.models import User


@dataclass(frozen=True)
class Connection:
    """One signed-in socket: its user and the session it was opened with ("" for a token)."""

    user: User
    session: str


class Connections:
    """Signed-in sockets by id, counted per user.

    A user may hold at most `per_user` sockets on this node (tabs, devices, reconnects that
    overlap): each one costs memory, fan-out and possibly a call seat, so one account cannot
    open dozens.
    """

    def __init__(self, *, per_user: int) -> None:
        self.per_user = per_user
        self._by_sid: dict[str, Connection] = {}
        self._per_user: Counter[str] = Counter()

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
        """The ids of the sockets opened with `session`."""
        return [sid for sid, c in self._by_sid.items() if session and c.session == session]

    def __len__(self) -> int:
        return len(self._by_sid)
