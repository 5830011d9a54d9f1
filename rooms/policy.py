"""The one role matrix: who may do what in a room.

Every HTTP route and every Socket.IO event asks `require(role, action)` (or `may`) before it acts.
Room roles are ranked `guest < member < teacher < owner`; each action names the lowest role that may
do it. Managing people also depends on the target's role, which `require_manage` decides.
"""

from __future__ import annotations

from enum import Enum

from rooms.errors import Forbidden, Invalid

ROOM_ROLES = ("guest", "member", "teacher", "owner")
RANK = {role: rank for rank, role in enumerate(ROOM_ROLES)}
PLATFORM_ROLES = ("admin", "teacher", "pupil")


class Action(Enum):
    """Everything a room member can ask for; the value is the lowest room role allowed."""

    VIEW_ROOM = "guest"
    READ_FORUM = "guest"
    READ_FILES = "guest"
    JOIN_SESSION = "guest"
    POST = "member"
    CHAT = "member"
    OPEN_THREAD = "member"
    UPLOAD = "member"
    REACT = "member"
    REPORT = "member"
    PUBLISH_MEDIA = "member"
    DELETE_OWN = "member"
    INVITE = "teacher"
    CREATE_PUPILS = "teacher"
    MODERATE = "teacher"
    MANAGE_MEMBERS = "teacher"
    START_SESSION = "teacher"
    READ_AUDIT = "teacher"
    INVITE_TEACHER = "owner"
    MANAGE_TEACHERS = "owner"
    EDIT_ROOM = "owner"
    DELETE_ROOM = "owner"


def may(role: str | None, action: Action) -> bool:
    """Whether a holder of room `role` (None: not a member) may perform `action`."""
    return role is not None and RANK[role] >= RANK[action.value]


def require(role: str | None, action: Action) -> None:
    """Raise `Forbidden` unless `role` may perform `action`."""
    if not may(role, action):
        raise Forbidden()


def invite_action(role: str) -> Action:
    """The action that creating an invite for `role` amounts to."""
    if role not in ("teacher", "member", "guest"):
        raise Invalid(
            "role must be one of teacher, member, guest.",
            field="role",
            rule="one_of",
            options=["teacher", "member", "guest"],
        )
    return Action.INVITE_TEACHER if role == "teacher" else Action.INVITE


def require_manage(actor: str | None, target: str, new_role: str | None = None) -> None:
    """Raise `Forbidden` unless `actor` may change `target`'s role to `new_role` (or remove them).

    Nobody manages the owner; only the owner manages teachers or makes someone a teacher. The owner
    role is never handed out this way.
    """
    if new_role is not None and new_role not in ("teacher", "member", "guest"):
        raise Invalid(
            "role must be one of teacher, member, guest.",
            field="role",
            rule="one_of",
            options=["teacher", "member", "guest"],
        )
    require(actor, Action.MANAGE_MEMBERS)
    if target == "owner":
        raise Forbidden("The room's owner cannot be changed or removed.", reason="owner")
    if "teacher" in (target, new_role):
        require(actor, Action.MANAGE_TEACHERS)


def require_silence(actor: str | None, target: str) -> None:
    """Raise `Forbidden` unless `actor` may mute `target`, in the forum or in a live call.

    Teachers silence members and guests, the owner also teachers, and nobody the owner.
    """
    require(actor, Action.MODERATE)
    if target == "owner" or (
        may(target, Action.MODERATE) and not may(actor, Action.MANAGE_TEACHERS)
    ):
        raise Forbidden("Teachers cannot be muted here.", reason="teacher_protected")
