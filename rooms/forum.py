"""The live forum: threads, posts and the room's chat, with edits, deletes, reactions and reads."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from rooms import markdown
from rooms.errors import Forbidden, Invalid, NotFound
from rooms.forum_shapes import THREAD_SELECT, post_json, post_select, thread_json, unread_by
from rooms.forum_writes import add_post, write_thread
from rooms.models import User, iso
from rooms.policy import Action, may, require
from rooms.rooms import Rooms
from rooms.store.db import Reader, Row, Store, Tx
from rooms.text import lines, one_line

MAX_TITLE = 200
MAX_BODY = 20_000
MAX_CHAT = 4_000
REACTIONS = ("👍", "❤️", "😂", "😮", "🎉", "👏")


def check_body(body: str, limit: int) -> str:
    """A post's Markdown: its lines and any script's direction kept, no control characters."""
    body = lines(body, prose=True)
    if not body.strip():
        raise Invalid("body: must not be empty.", field="body", rule="required")
    if len(body) > limit:
        raise Invalid(
            f"body: at most {limit} characters.", field="body", rule="max_length", max=limit
        )
    return body


def check_title(title: str) -> str:
    title = one_line(title)
    if not 1 <= len(title) <= MAX_TITLE:
        raise Invalid(
            f"title: 1 to {MAX_TITLE} characters.",
            field="title",
            rule="length",
            min=1,
            max=MAX_TITLE,
        )
    return title


class Forum:
    """Threads and posts of each room; every change is a sequenced room event.

    A post's `seq` is the room's sequence number taken in the transaction that commits it, so
    `post:new` carries `room_seq == seq` and a client that missed it finds it with `since`.
    """

    def __init__(self, db: Store, rooms: Rooms, *, clock: Callable[[], float]) -> None:
        self.db = db
        self.post_select = post_select(db.dialect)
        self.rooms = rooms
        self.clock = clock

    # -- reading ---------------------------------------------------------------------------
    async def threads(
        self, user: User, room_id: str, after: str | None = None, limit: int = 200
    ) -> list[dict[str, Any]]:
        """The room's threads, oldest first, each with the caller's `unread` count; a page of
        `limit` after the thread `after` (keyset on creation time, then id)."""
        await self.rooms.require(user, room_id, Action.READ_FORUM)
        if not 1 <= limit <= 200:
            raise Invalid("limit: 1 to 200.", field="limit", rule="range", min=1, max=200)
        cursor = ""
        if after is not None:
            cursor = (
                " AND (threads.created_at, threads.id) >"
                " (SELECT created_at, id FROM threads WHERE id = ? AND room_id = ?)"
            )
        rows = await self.db.fetchall(
            f"{THREAD_SELECT} WHERE threads.room_id = ? AND threads.deleted_at IS NULL{cursor}"
            " ORDER BY threads.created_at, threads.id LIMIT ?",
            (room_id, *((after, room_id) if after is not None else ()), limit),
        )
        unread = await self._unread(user, room_id)
        return [{**thread_json(r), "unread": unread.get(r["id"], 0)} for r in rows]

    async def _unread(self, user: User, room_id: str) -> dict[str, int]:
        rows = await self.db.fetchall(
            "SELECT posts.thread_id, COUNT(*) AS n FROM posts LEFT JOIN thread_reads"
            " ON thread_reads.thread_id = posts.thread_id AND thread_reads.user_id = ?"
            f" WHERE posts.room_id = ? AND {unread_by('?')} GROUP BY posts.thread_id",
            (user.id, room_id, user.id),
        )
        return {row["thread_id"]: row["n"] for row in rows}

    async def thread(self, user: User, thread_id: str) -> tuple[dict[str, Any], str]:
        """The thread and the caller's role in its room."""
        row = await self.db.fetchone(
            f"{THREAD_SELECT} WHERE threads.id = ? AND threads.deleted_at IS NULL", (thread_id,)
        )
        if row is None:
            raise NotFound("thread", thread_id)
        role = await self.rooms.role(row["room_id"], user.id)
        if role is None:
            raise NotFound("thread", thread_id)
        return thread_json(row), role

    async def posts(
        self, user: User, thread_id: str, after: int = 0, limit: int = 50
    ) -> list[dict[str, Any]]:
        """Posts after room sequence number `after` (exclusive), ascending; hidden ones for teachers."""
        _, role = await self.thread(user, thread_id)
        if not 1 <= limit <= 200:
            raise Invalid("limit: 1 to 200.", field="limit", rule="range", min=1, max=200)
        hidden = "" if may(role, Action.MODERATE) else " AND posts.hidden = 0"
        rows = await self.db.fetchall(
            f"{self.post_select} WHERE posts.thread_id = ? AND posts.seq > ?"
            f" AND posts.deleted_at IS NULL{hidden} ORDER BY posts.seq LIMIT ?",
            (thread_id, after, limit),
        )
        return [post_json(row) for row in rows]

    async def post(self, user: User, post_id: str) -> tuple[dict[str, Any], str]:
        """A visible post and the caller's role in its room (NotFound for outsiders)."""
        row = await self.db.fetchone(
            f"{self.post_select} JOIN threads ON threads.id = posts.thread_id WHERE posts.id = ?"
            " AND posts.deleted_at IS NULL AND threads.deleted_at IS NULL",
            (post_id,),
        )
        role = await self.rooms.role(row["room_id"], user.id) if row is not None else None
        if row is None or role is None or (row["hidden"] and not may(role, Action.MODERATE)):
            raise NotFound("post", post_id)
        return post_json(row), role

    # -- writing ---------------------------------------------------------------------------
    async def open_thread(self, user: User, room_id: str, title: str, body: str) -> dict[str, Any]:
        """A new forum thread whose `body` becomes its first post (`thread:new`, then `post:new`)."""
        await self.rooms.require(user, room_id, Action.OPEN_THREAD)
        title, body = check_title(title), check_body(body, MAX_BODY)
        await self._check_not_muted(room_id, user)
        return await self.db.write(
            lambda tx: write_thread(tx, room_id, user, title, body, self.clock())
        )

    async def reply(
        self, user: User, thread_id: str, body: str, limit: int = MAX_BODY
    ) -> dict[str, Any]:
        """Add a post to a thread; a locked thread or a teachers-only chat refuses members."""
        body = check_body(body, limit)
        target = partial(self._write_target, user=user, thread_id=thread_id)
        return await add_post(self.db, target, user, body, self.clock)

    async def chat(
        self, user: User, room_id: str, body: str, thread_id: str | None = None
    ) -> dict[str, Any]:
        """A chat message: a post in the room's chat thread (or in `thread_id` of that room)."""
        body = check_body(body, MAX_CHAT)
        target = partial(self._write_target, user=user, room_id=room_id, thread_id=thread_id)
        return await add_post(self.db, target, user, body, self.clock)

    async def writable(self, user: User, thread_id: str) -> Row:
        """The thread, once the caller may write in it now (role, lock, chat mode, mute)."""
        return await self._write_target(self.db, user=user, thread_id=thread_id)

    async def _write_target(
        self,
        reader: Reader,
        *,
        user: User,
        thread_id: str | None = None,
        room_id: str | None = None,
    ) -> Row:
        """The thread a post goes to, once the caller may write there: one query on the hot path
        fetches the thread, the caller's role, the room's chat mode and any mute. `reader` is
        the store, or the post's own transaction (`add_post` runs the check there). The query
        holds no time, so that the same check reads the same row until something changes (the
        PostgreSQL store remembers it, `Store.write_checked`): a mute's end is compared here."""
        row = await reader.fetchone(
            "SELECT threads.id, threads.room_id, threads.kind, threads.locked, memberships.role,"
            " rooms.chat_mode, (SELECT MAX(until) FROM mutes WHERE mutes.room_id = threads.room_id"
            "  AND mutes.user_id = ?) AS muted_until"
            " FROM threads JOIN rooms ON rooms.id = threads.room_id"
            " LEFT JOIN memberships ON memberships.room_id = threads.room_id"
            "  AND memberships.user_id = ?"
            " WHERE threads.deleted_at IS NULL AND (threads.id = ? OR (CAST(? AS TEXT) IS NULL"
            "  AND threads.room_id = ? AND threads.kind = 'chat'))",
            (user.id, user.id, thread_id, thread_id, room_id),
        )
        if row is None or row["role"] is None or room_id not in (None, row["room_id"]):
            raise NotFound("room" if thread_id is None else "thread", thread_id or room_id or "")
        role, teacher = row["role"], may(row["role"], Action.MODERATE)
        require(role, Action.CHAT if row["kind"] == "chat" else Action.POST)
        if row["locked"] and not teacher:
            raise Forbidden("This thread is locked.", reason="thread_locked")
        if row["kind"] == "chat" and row["chat_mode"] == "teachers" and not teacher:
            raise Forbidden(
                "Only teachers can write in the chat right now.", reason="chat_teachers_only"
            )
        if row["muted_until"] is not None and row["muted_until"] > self.clock():
            raise self._muted(row["muted_until"])
        return row

    async def _check_not_muted(self, room_id: str, user: User) -> None:
        row = await self.db.fetchone(
            "SELECT until FROM mutes WHERE room_id = ? AND user_id = ? AND until > ?",
            (room_id, user.id, self.clock()),
        )
        if row is not None:
            raise self._muted(row["until"])

    def _muted(self, until: float) -> Forbidden:
        # `until` travels as data, so that each reader sees the end in their own zone and words.
        minutes = max(1, round((until - self.clock()) / 60))
        return Forbidden(
            f"A teacher muted you here for {minutes} more minute(s).",
            reason="muted",
            params={"until": iso(until), "minutes": minutes},
        )

    async def edit_post(self, user: User, post_id: str, body: str) -> dict[str, Any]:
        """Only the author edits a body, and only where they could post it now (an edit is a
        write: mutes, locks, the chat mode and a demotion apply). The previous body is kept in the
        history teachers read."""
        post, _ = await self.post(user, post_id)
        if post["author"]["id"] != user.id:
            raise Forbidden("Only the author can edit a post.", reason="not_author")
        if post["hidden"]:
            raise Forbidden("A teacher hid this post.", reason="post_hidden")
        target = await self.writable(user, post["thread_id"])
        body = check_body(body, MAX_CHAT if target["kind"] == "chat" else MAX_BODY)

        async def apply(tx: Tx) -> dict[str, Any]:
            now = self.clock()
            await tx.execute(
                "INSERT INTO post_edits (post_id, body, edited_at) VALUES (?, ?, ?)",
                (post_id, post["body"], now),
            )
            await tx.execute(
                # An edited summary is the author's own text now: clients show it as written.
                "UPDATE posts SET body = ?, html = ?, edited_at = ?, summary = NULL WHERE id = ?",
                (body, markdown.render(body), now, post_id),
            )
            edited = post_json(await self._post_in(tx, post_id))
            await tx.emit(post["room_id"], "post:edit", edited)
            return edited

        return await self.db.write(apply)

    async def history(self, user: User, post_id: str) -> list[dict[str, Any]]:
        """Earlier bodies of a post, oldest first (teachers only)."""
        _, role = await self.post(user, post_id)
        require(role, Action.MODERATE)
        rows = await self.db.fetchall(
            "SELECT body, edited_at FROM post_edits WHERE post_id = ? ORDER BY edited_at",
            (post_id,),
        )
        return [{"body": r["body"], "replaced_at": iso(r["edited_at"])} for r in rows]

    async def react(self, user: User, post_id: str, emoji: str, on: bool) -> dict[str, Any]:
        """Add or take back a reaction from the fixed set; emits `post:edit`."""
        if emoji not in REACTIONS:
            raise Invalid(
                f"emoji: one of {' '.join(REACTIONS)}.",
                field="emoji",
                rule="one_of",
                options=list(REACTIONS),
            )
        post, role = await self.post(user, post_id)
        require(role, Action.REACT)
        if post["hidden"]:
            raise Forbidden("A teacher hid this post.", reason="post_hidden")
        if not may(role, Action.MODERATE):
            await self._check_not_muted(post["room_id"], user)

        async def apply(tx: Tx) -> dict[str, Any]:
            if on:
                await tx.execute(
                    "INSERT INTO reactions (post_id, user_id, emoji) VALUES (?, ?, ?)"
                    " ON CONFLICT DO NOTHING",
                    (post_id, user.id, emoji),
                )
            else:
                await tx.execute(
                    "DELETE FROM reactions WHERE post_id = ? AND user_id = ? AND emoji = ?",
                    (post_id, user.id, emoji),
                )
            edited = post_json(await self._post_in(tx, post_id))
            await tx.emit(post["room_id"], "post:edit", edited)
            return edited

        return await self.db.write(apply)

    async def mark_read(self, user: User, thread_id: str, seq: int) -> None:
        """Remember that the caller has read the thread up to room sequence number `seq`."""
        await self.thread(user, thread_id)
        await self.db.write(
            lambda tx: tx.execute(
                "INSERT INTO thread_reads (user_id, thread_id, last_read_seq) VALUES (?, ?, ?)"
                " ON CONFLICT (user_id, thread_id) DO UPDATE SET last_read_seq = CASE"
                " WHEN excluded.last_read_seq > thread_reads.last_read_seq"
                " THEN excluded.last_read_seq ELSE thread_reads.last_read_seq END",
                (user.id, thread_id, seq),
            )
        )

    async def mentions_of(self, user: User) -> list[dict[str, Any]]:
        """Posts that mention the caller, in rooms they still belong to, oldest first."""
        rows = await self.db.fetchall(
            f"{self.post_select} JOIN mentions ON mentions.post_id = posts.id"
            " JOIN memberships ON memberships.room_id = posts.room_id AND memberships.user_id = ?"
            " JOIN threads ON threads.id = posts.thread_id AND threads.deleted_at IS NULL"
            " WHERE mentions.user_id = ? AND posts.deleted_at IS NULL AND posts.hidden = 0"
            " ORDER BY mentions.created_at LIMIT 200",
            (user.id, user.id),
        )
        return [post_json(row) for row in rows]

    async def _post_in(self, tx: Tx, post_id: str) -> Row:
        row = await tx.fetchone(f"{self.post_select} WHERE posts.id = ?", (post_id,))
        assert row is not None
        return row
