"""The per-room event log: what a client missed since the sequence number it holds.

Replay never shows a member more than the room's current state shows them. The log keeps each
event as it was sent, so before an event goes out again it is brought up to date: a post, thread or
file event carries the item as it is now (an edit's earlier text never returns), an item that is
gone for this reader (deleted, trashed, hidden from members, or in a deleted thread) becomes a bare
`redacted` marker that only advances `room_seq`, and `post:hide` never carries the post's text. A
member's replay starts at their joining: what the room said before is read from its current state.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from rooms.archive import CURRENT, StoredFile
from rooms.errors import NotFound
from rooms.forum_shapes import THREAD_SELECT, post_json, post_ref, post_select, thread_json
from rooms.models import User
from rooms.policy import Action, may
from rooms.store.db import RoomEvent, Store

MAX_MISSED = 500
POST_EVENTS = ("post:new", "post:edit", "post:restore")
THREAD_EVENTS = ("thread:new", "thread:edit")
FILE_EVENTS = ("file:new", "file:edit")


class EventLog:
    """Reads back the room events that every committed change recorded with its sequence number,
    rewritten to what the reader may see now."""

    def __init__(self, db: Store) -> None:
        self.db = db

    async def latest(self, room_id: str) -> int:
        row = await self.db.fetchone("SELECT last_seq FROM rooms WHERE id = ?", (room_id,))
        return int(row["last_seq"]) if row is not None else 0

    async def latest_of(self, room_ids: list[str]) -> dict[str, int]:
        """The latest sequence number of each room that still exists (a tail check's reading)."""
        found: dict[str, int] = {}
        for start in range(0, len(room_ids), 500):
            chunk = room_ids[start : start + 500]
            marks = ", ".join("?" * len(chunk))
            rows = await self.db.fetchall(
                f"SELECT id, last_seq FROM rooms WHERE id IN ({marks})", tuple(chunk)
            )
            found.update((row["id"], int(row["last_seq"])) for row in rows)
        return found

    async def raw(self, room_id: str, after: int, upto: int) -> list[RoomEvent]:
        """The room's events with `after < seq <= upto` (at most `MAX_MISSED`), in order, exactly
        as they went out live: for a node filling a hole in the live stream it relays, never for
        a reader's replay (that is `since`). Live payloads are already safe for every member of
        the room (`post:hide` carries no text), and the stream's later events bring any change."""
        rows = await self.db.fetchall(
            "SELECT seq, event, data FROM room_events WHERE room_id = ? AND seq > ? AND seq <= ?"
            " ORDER BY seq LIMIT ?",
            (room_id, after, upto, MAX_MISSED),
        )
        return [
            RoomEvent(room_id, row["seq"], row["event"], json.loads(row["data"])) for row in rows
        ]

    async def since(
        self, user: User, room_id: str, since: int
    ) -> tuple[list[dict[str, Any]], bool]:
        """At most `MAX_MISSED` events after `since` and after the reader joined the room, in
        order, as `{event, data}`, and whether more follow (the client asks again from the last
        one's `room_seq`)."""
        member = await self.db.fetchone(
            "SELECT role, joined_at FROM memberships WHERE room_id = ? AND user_id = ?",
            (room_id, user.id),
        )
        if member is None:
            raise NotFound("room", room_id)
        rows = await self.db.fetchall(
            "SELECT seq, event, data FROM room_events WHERE room_id = ? AND seq > ?"
            " AND created_at >= ? ORDER BY seq LIMIT ?",
            (room_id, since, member["joined_at"], MAX_MISSED + 1),
        )
        events = [(row["seq"], row["event"], json.loads(row["data"])) for row in rows]
        page = events[:MAX_MISSED]
        current = await _Current.load(self.db, page, teacher=may(member["role"], Action.MODERATE))
        return [current.rewrite(room_id, *event) for event in page], len(events) > MAX_MISSED


class _Current:
    """The current state of every post, thread and file that one page of events names, as one
    reader may see it (absent: gone for them)."""

    def __init__(
        self, posts: dict[str, Any], threads: dict[str, Any], files: dict[str, Any]
    ) -> None:
        self.posts, self.threads, self.files = posts, threads, files

    @classmethod
    async def load(
        cls, db: Store, events: list[tuple[int, str, dict[str, Any]]], *, teacher: bool
    ) -> _Current:
        def ids(names: Iterable[str]) -> list[str]:
            return sorted({data["id"] for _, event, data in events if event in names})

        hidden = "" if teacher else " AND posts.hidden = 0"
        trashed = "" if teacher else " AND f.deleted_at IS NULL"
        posts = await _rows(
            db,
            f"{post_select(db.dialect)} JOIN threads ON threads.id = posts.thread_id WHERE posts.id IN ({{}})"
            f" AND posts.deleted_at IS NULL AND threads.deleted_at IS NULL{hidden}",
            ids(POST_EVENTS),
        )
        threads = await _rows(
            db,
            f"{THREAD_SELECT} WHERE threads.id IN ({{}}) AND threads.deleted_at IS NULL",
            ids(THREAD_EVENTS),
        )
        files = await _rows(db, f"{CURRENT} WHERE f.id IN ({{}}){trashed}", ids(FILE_EVENTS))
        return cls(
            {row["id"]: post_json(row) for row in posts},
            {row["id"]: thread_json(row) for row in threads},
            {row["id"]: StoredFile.from_row(row).to_json() for row in files},
        )

    def rewrite(self, room_id: str, seq: int, event: str, data: dict[str, Any]) -> dict[str, Any]:
        """The event as this reader may see it now, under its own sequence number."""
        if event == "post:hide":
            return {"event": event, "data": {**post_ref(data), "hidden": True, "room_seq": seq}}
        known = (
            self.posts
            if event in POST_EVENTS
            else self.threads
            if event in THREAD_EVENTS
            else self.files
            if event in FILE_EVENTS
            else None
        )
        if known is None:
            return {"event": event, "data": data}
        now = known.get(data["id"])
        if now is None:
            return {"event": "redacted", "data": {"room_id": room_id, "room_seq": seq}}
        extra = {"mentions": data["mentions"]} if "mentions" in data else {}
        return {"event": event, "data": {**now, **extra, "room_seq": seq}}


async def _rows(db: Store, sql: str, ids: list[str]) -> list[Any]:
    if not ids:
        return []
    return await db.fetchall(sql.format(", ".join("?" for _ in ids)), ids)
