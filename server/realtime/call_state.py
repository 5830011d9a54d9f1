"""The state of one room's call on this node: its seats, lobby, hands, mutes, lock and spotlight.

`server/realtime/calls.py` changes it; `media_errors` turns the SFU's errors into domain errors.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from media.sfu import MediaError
from media.sfu.model import Kind
from rooms.errors import DomainError
from rooms.sessions import LiveSession

KINDS: tuple[Kind, ...] = ("audio", "video")


@contextlib.contextmanager
def media_errors() -> Iterator[None]:
    """Turn the SFU's `MediaError` into a domain error with the same contract code."""
    try:
        yield
    except MediaError as exc:
        code = exc.code if exc.code in ("invalid", "not_found", "conflict") else "internal"
        raise DomainError(exc.message, code=code) from exc


class Elsewhere(Exception):
    """Another cluster node is the session's media home: the request belongs there."""

    def __init__(self, node: str) -> None:
        super().__init__(node)
        self.node = node


@dataclass(frozen=True)
class Seat:
    """One socket admitted to a call, and its SFU participant."""

    sid: str
    participant_id: str
    user_id: str
    role: str


@dataclass
class Call:
    """The live state of one room's session on this node."""

    room_id: str
    session: LiveSession
    seats: dict[str, Seat] = field(default_factory=dict)  # by socket id
    waiting: dict[str, str] = field(default_factory=dict)  # socket id -> user id, in the lobby
    admitted: set[str] = field(default_factory=set)
    hands: set[str] = field(default_factory=set)
    muted: dict[Kind, set[str]] = field(default_factory=lambda: {"audio": set(), "video": set()})
    # Of `muted`, those who switched their own media off (and may switch it on again).
    self_muted: dict[Kind, set[str]] = field(
        default_factory=lambda: {"audio": set(), "video": set()}
    )
    locked: bool = False
    spotlight: str | None = None
    ended: bool = False  # set when the session ends: nobody sits down in it any more
    # Who sat in the call at its previous home (a cluster's failover): back in despite the lock
    # and the lobby, as the seat they had.
    returning: set[str] = field(default_factory=set)

    def seats_of(self, user_id: str) -> list[Seat]:
        return [seat for seat in self.seats.values() if seat.user_id == user_id]

    def state(self) -> dict[str, Any]:
        """The `media:state` payload: who is in, waiting, muted, hands up; lock and spotlight."""
        return {
            "room_id": self.room_id,
            "session_id": self.session.id,
            "participants": sorted({seat.user_id for seat in self.seats.values()}),
            "waiting": sorted(set(self.waiting.values())),
            "hands": sorted(self.hands),
            "muted": sorted(self.muted["audio"]),
            "video_off": sorted(self.muted["video"]),
            "locked": self.locked,
            "spotlight": self.spotlight,
        }

    def policy(self) -> dict[str, Any]:
        """What teachers and participants decided, kept across a change of media home (in a
        cluster): without it a new home would silently unmute pupils and unlock the session."""
        return {
            "locked": self.locked,
            "muted": sorted(self.muted["audio"]),
            "video_off": sorted(self.muted["video"]),
            "self_muted": sorted(self.self_muted["audio"]),
            "self_video_off": sorted(self.self_muted["video"]),
            "admitted": sorted(self.admitted),
            "spotlight": self.spotlight,
            "hands": sorted(self.hands),
            "participants": sorted({seat.user_id for seat in self.seats.values()} | self.returning),
        }

    def restore(self, policy: dict[str, Any]) -> None:
        """Take over a `policy()` written by the session's previous home."""

        def ids(key: str) -> set[str]:
            value = policy.get(key)
            return {v for v in value if isinstance(v, str)} if isinstance(value, list) else set()

        self.locked = policy.get("locked") is True
        self.muted = {"audio": ids("muted"), "video": ids("video_off")}
        self.self_muted = {"audio": ids("self_muted"), "video": ids("self_video_off")}
        self.admitted = ids("admitted")
        self.hands = ids("hands")
        self.returning = ids("participants")
        spotlight = policy.get("spotlight")
        self.spotlight = spotlight if isinstance(spotlight, str) else None
