"""Live effects: what a committed change means for the connections that are open right now.

A room event (`Tx.emit`) is a lasting fact with a sequence number, replayed to clients that missed
it. Some changes also demand that the node act on live connections: a removed member's sockets
leave the room and their seat in the call, a session's sockets close at logout, a deleted room's
call ends, a report reaches the teachers who are online. A service records those as typed effects
in the transaction that makes the change (`Tx.effect`), or they follow from a sequenced event
(`of_event`: `member:remove`, `member:edit`); either way they are applied only after the commit,
by one dispatcher (`server/realtime/pipeline.py`), never by the view that made the change.

Every effect is plain data (`to_message` / `from_message`), so that a node can hand it to others.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass
from typing import Any, ClassVar


@dataclass(frozen=True)
class LiveEffect:
    """Base of the typed effects; `kind` names each in a message."""

    kind: ClassVar[str] = ""


@dataclass(frozen=True)
class MemberRemoved(LiveEffect):
    """A member left the room's membership: their sockets leave its channel, presence and call."""

    kind: ClassVar[str] = "member_removed"
    room_id: str
    user_id: str
    by: str


@dataclass(frozen=True)
class RoleChanged(LiveEffect):
    """A member's role changed: their seats in the room's call follow the new role."""

    kind: ClassVar[str] = "role_changed"
    room_id: str
    user_id: str
    role: str


@dataclass(frozen=True)
class SessionEnded(LiveEffect):
    """A sign-in session ended (logout, a new login, expiry): the sockets opened with it close.
    It carries the session's SHA-256, never the token itself."""

    kind: ClassVar[str] = "session_ended"
    session_digest: str


@dataclass(frozen=True)
class RoomDeleted(LiveEffect):
    """A room is gone with everything in it: its call ends and its sockets are told and leave.
    Not a sequenced event: the room's `room_events` rows go with it."""

    kind: ClassVar[str] = "room_deleted"
    room_id: str


@dataclass(frozen=True)
class ReportFiled(LiveEffect):
    """A member reported a post: the room's online teachers get `report:new` (never who)."""

    kind: ClassVar[str] = "report_filed"
    room_id: str
    report: dict[str, Any]


KINDS: dict[str, type[LiveEffect]] = {
    cls.kind: cls for cls in (MemberRemoved, RoleChanged, SessionEnded, RoomDeleted, ReportFiled)
}


def of_event(event: str, data: dict[str, Any]) -> LiveEffect | None:
    """The live effect that a sequenced room event carries, if any. Driven by the event rather
    than recorded beside it, it takes its place in the room's order: a removed member hears
    nothing the room says after their removal."""
    if event == "member:remove":
        return MemberRemoved(data["room_id"], data["id"], data.get("by", ""))
    if event == "member:edit":
        return RoleChanged(data["room_id"], data["id"], data["role"])
    return None


def to_message(effect: LiveEffect) -> dict[str, Any]:
    """The effect as JSON-ready data: `{type, body}`."""
    return {"type": effect.kind, "body": dataclasses.asdict(effect)}


def from_message(message: dict[str, Any]) -> LiveEffect:
    """The effect `to_message` made; `ValueError` for an unknown type or a wrong body."""
    kind, body = message.get("type"), message.get("body")
    cls = KINDS.get(kind) if isinstance(kind, str) else None
    if cls is None or not isinstance(body, dict):
        raise ValueError("not a live effect")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    if set(body) != names:
        raise ValueError(f"{cls.kind}: fields {sorted(names)}")
    for name in names:
        expected = typing.get_origin(hints[name]) or hints[name]
        if not isinstance(body[name], expected):
            raise ValueError(f"{cls.kind}.{name}: a {expected.__name__}")
    return cls(**body)
