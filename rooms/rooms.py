"""Rooms and their members: create, list, read, edit, delete, change roles, remove."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rooms.effects import RoomDeleted
from rooms.errors import Forbidden, Invalid, NotFound
from rooms.forum_shapes import unread_by
from rooms.ids import new_id
from rooms.models import Member, Room, User
from rooms.policy import Action, require, require_manage
from rooms.store.db import Row, Store, Tx
from rooms.text import lines, one_line

CHAT_TITLE = "Chat"
SETTINGS_BOOL = ("lobby", "pupils_camera_off")
MAX_ROOM_NAME = 120
MAX_DESCRIPTION = 4000


def check_room_name(name: str) -> str:
    name = one_line(name)
    if not 1 <= len(name) <= MAX_ROOM_NAME:
        raise Invalid(
            f"name: 1 to {MAX_ROOM_NAME} characters.",
            field="name",
            rule="length",
            min=1,
            max=MAX_ROOM_NAME,
        )
    return name


def check_description(description: str) -> str:
    description = lines(description).strip()
    if len(description) > MAX_DESCRIPTION:
        raise Invalid(
            f"description: at most {MAX_DESCRIPTION} characters.",
            field="description",
            rule="max_length",
            max=MAX_DESCRIPTION,
        )
    return description


def _settings(row: Row) -> dict[str, Any]:
    return {
        "chat_mode": row["chat_mode"],
        "lobby": bool(row["lobby"]),
        "pupils_camera_off": bool(row["pupils_camera_off"]),
    }


class Rooms:
    """Project rooms and their memberships; every method checks the caller's room role.

    A room the caller does not belong to answers `NotFound`, exactly like a room that does not
    exist, so ids reveal nothing to outsiders.
    """

    def __init__(self, db: Store, *, clock: Callable[[], float]) -> None:
        self.db = db
        self.clock = clock

    async def role(self, room_id: str, user_id: str) -> str | None:
        """The user's role in the room, or None when they are not a member."""
        row = await self.db.fetchone(
            "SELECT role FROM memberships WHERE room_id = ? AND user_id = ?", (room_id, user_id)
        )
        return row["role"] if row is not None else None

    async def member_of(self, room_id: str, user_id: str) -> Member | None:
        """The user as a member of the room, or None."""
        row = await self.db.fetchone(
            "SELECT users.*, memberships.role AS room_role FROM memberships"
            " JOIN users ON users.id = memberships.user_id"
            " WHERE memberships.room_id = ? AND memberships.user_id = ?",
            (room_id, user_id),
        )
        return Member(User.from_row(row), row["room_role"]) if row is not None else None

    async def require(
        self, user: User, room_id: str, action: Action, *, thing: tuple[str, str] | None = None
    ) -> str:
        """The caller's role, once it is known they may do `action` here (else NotFound/Forbidden).

        `thing` is the `(kind, id)` of what the caller asked for through its room (a file, a
        session): a non-member is then told that thing does not exist, word for word what a
        made-up id gets, so an id never reveals that it belongs to some room.
        """
        role = await self.role(room_id, user.id)
        if role is None:
            raise NotFound(*(thing or ("room", room_id)))
        require(role, action)
        return role

    async def create(self, owner: User, name: str, description: str) -> Room:
        """Found a room: the caller becomes its owner and the room gets its chat thread."""
        room_id, name, description = new_id(), check_room_name(name), check_description(description)
        if owner.role == "pupil":
            raise Forbidden("Pupils cannot found rooms; ask a teacher.", reason="pupil_room")

        async def insert(tx: Tx) -> None:
            now = self.clock()
            await tx.execute(
                "INSERT INTO rooms (id, name, description, owner_id, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (room_id, name, description, owner.id, now),
            )
            await tx.execute(
                "INSERT INTO memberships (room_id, user_id, role, joined_at) VALUES (?, ?, ?, ?)",
                (room_id, owner.id, "owner", now),
            )
            await tx.execute(
                "INSERT INTO threads (id, room_id, kind, title, author_id, created_at)"
                " VALUES (?, ?, 'chat', ?, ?, ?)",
                (new_id(), room_id, CHAT_TITLE, owner.id, now),
            )

        await self.db.write(insert)
        return await self.get(owner, room_id)

    async def list_for(self, user: User) -> list[dict[str, Any]]:
        """The rooms the user belongs to, oldest first, as `{id, name, description, my_role, live,
        unread}`: `live` says a session runs there now and `unread` counts the forum posts of
        others the user has not read (as the thread list counts them; hidden posts, deleted ones
        and the chat not counted), so a list shows both without asking each room."""
        rows = await self.db.fetchall(
            "SELECT rooms.id, rooms.name, rooms.description, memberships.role,"
            " EXISTS (SELECT 1 FROM live_sessions WHERE live_sessions.room_id = rooms.id"
            " AND live_sessions.status = 'live') AS live,"
            # Through the room's threads, so both indexes (threads by room, posts by thread and
            # seq) serve the count.
            " (SELECT COUNT(*) FROM threads LEFT JOIN thread_reads"
            " ON thread_reads.thread_id = threads.id AND thread_reads.user_id = memberships.user_id"
            " JOIN posts ON posts.thread_id = threads.id"
            " WHERE threads.room_id = rooms.id AND threads.kind = 'forum'"
            f" AND threads.deleted_at IS NULL AND {unread_by('memberships.user_id')}) AS unread"
            " FROM memberships JOIN rooms ON rooms.id = memberships.room_id"
            " WHERE memberships.user_id = ? ORDER BY rooms.created_at, rooms.id",
            (user.id,),
        )
        return [
            {
                "id": r["id"],
                "name": r["name"],
                "description": r["description"] or "",
                "my_role": r["role"],
                "live": bool(r["live"]),
                "unread": int(r["unread"]),
            }
            for r in rows
        ]

    async def get(self, user: User, room_id: str) -> Room:
        """The room with its members, for a member of it, and the caller's own mute if any (so
        that a muted pupil is told on opening the room, not on trying to post)."""
        role = await self.require(user, room_id, Action.VIEW_ROOM)
        row = await self.db.fetchone(
            "SELECT rooms.*, (SELECT MAX(until) FROM mutes WHERE mutes.room_id = rooms.id"
            " AND mutes.user_id = ? AND until > ?) AS my_muted_until FROM rooms WHERE id = ?",
            (user.id, self.clock(), room_id),
        )
        if row is None:
            raise NotFound("room", room_id)
        return Room(
            row["id"],
            row["name"],
            row["description"],
            row["owner_id"],
            role,
            _settings(row),
            await self.members(room_id),
            row["my_muted_until"],
        )

    async def settings(self, room_id: str) -> dict[str, Any]:
        """The room's settings (no access check: callers have done theirs)."""
        row = await self.db.fetchone("SELECT * FROM rooms WHERE id = ?", (room_id,))
        if row is None:
            raise NotFound("room", room_id)
        return _settings(row)

    async def members(self, room_id: str) -> list[Member]:
        rows = await self.db.fetchall(
            "SELECT users.*, memberships.role AS room_role FROM memberships"
            " JOIN users ON users.id = memberships.user_id WHERE memberships.room_id = ?"
            " ORDER BY memberships.joined_at, users.id",
            (room_id,),
        )
        return [Member(User.from_row(r), r["room_role"]) for r in rows]

    async def update(self, user: User, room_id: str, changes: dict[str, Any]) -> Room:
        """Change the room's name, description or settings (owner only); emits `room:edit`."""
        await self.require(user, room_id, Action.EDIT_ROOM)
        columns = self._columns(changes)
        if columns:
            room = await self.get(user, room_id)

            async def apply(tx: Tx) -> None:
                assignments = ", ".join(f"{column} = ?" for column in columns)
                params = [*columns.values(), room_id]
                await tx.execute(f"UPDATE rooms SET {assignments} WHERE id = ?", params)
                data = {**room.to_json(), **{k: v for k, v in changes.items() if v is not None}}
                del data["my_role"], data["my_muted_until"]
                await tx.emit(room_id, "room:edit", data)

            await self.db.write(apply)
        return await self.get(user, room_id)

    @staticmethod
    def _columns(changes: dict[str, Any]) -> dict[str, Any]:
        columns: dict[str, Any] = {}
        if changes.get("name") is not None:
            columns["name"] = check_room_name(changes["name"])
        if changes.get("description") is not None:
            columns["description"] = check_description(changes["description"])
        settings = changes.get("settings") or {}
        if "chat_mode" in settings:
            if settings["chat_mode"] not in ("everyone", "teachers"):
                raise Invalid(
                    "settings.chat_mode: everyone or teachers.",
                    field="settings.chat_mode",
                    rule="one_of",
                    options=["everyone", "teachers"],
                )
            columns["chat_mode"] = settings["chat_mode"]
        for key in SETTINGS_BOOL:
            if key in settings:
                columns[key] = int(bool(settings[key]))
        return columns

    async def delete(self, user: User, room_id: str) -> None:
        """Delete the room and everything in it (owner only); its live side closes after the
        commit (`RoomDeleted`)."""
        await self.require(user, room_id, Action.DELETE_ROOM)

        async def apply(tx: Tx) -> None:
            await tx.execute("DELETE FROM rooms WHERE id = ?", (room_id,))
            tx.effect(RoomDeleted(room_id))

        await self.db.write(apply)

    async def set_role(self, actor: User, room_id: str, user_id: str, role: str) -> Member:
        """Change a member's room role, within what the actor may manage; emits `member:edit`,
        which also makes the member's live seats follow the new role."""
        actor_role = await self.require(actor, room_id, Action.VIEW_ROOM)
        target_role = await self._target_role(room_id, user_id)
        require_manage(actor_role, target_role, role)

        async def apply(tx: Tx) -> None:
            await tx.execute(
                "UPDATE memberships SET role = ? WHERE room_id = ? AND user_id = ?",
                (role, room_id, user_id),
            )
            await tx.emit(room_id, "member:edit", {"id": user_id, "room_id": room_id, "role": role})

        await self.db.write(apply)
        member = await self.member_of(room_id, user_id)
        if member is None:
            raise NotFound("member", user_id)
        return member

    async def remove(self, actor: User, room_id: str, user_id: str) -> None:
        """Remove a member (never the owner); emits `member:remove` with who removed them, which
        also takes the member's open sockets out of the room and its call."""
        actor_role = await self.require(actor, room_id, Action.VIEW_ROOM)
        require_manage(actor_role, await self._target_role(room_id, user_id))

        async def apply(tx: Tx) -> None:
            await tx.execute(
                "DELETE FROM memberships WHERE room_id = ? AND user_id = ?", (room_id, user_id)
            )
            event = {"id": user_id, "room_id": room_id, "by": actor.id}
            await tx.emit(room_id, "member:remove", event)

        await self.db.write(apply)

    async def _target_role(self, room_id: str, user_id: str) -> str:
        role = await self.role(room_id, user_id)
        if role is None:
            raise NotFound("member", user_id)
        return role
