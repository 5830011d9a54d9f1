"""Moderation for a classroom: thread settings, deletes, hiding, reports, mutes and the audit log.

Every moderation action is written to the room's audit log in the same transaction as the action,
so the log teachers read is complete by construction.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from rooms.effects import ReportFiled
from rooms.errors import Conflict, Forbidden, Invalid, NotFound
from rooms.forum import Forum, check_title
from rooms.forum_shapes import THREAD_SELECT, post_ref, thread_json
from rooms.ids import new_id
from rooms.models import User, iso
from rooms.policy import Action, may, require, require_silence
from rooms.rooms import Rooms
from rooms.store.db import Store, Tx
from rooms.text import lines

MAX_MUTE_MINUTES = 7 * 24 * 60
MAX_REASON = 1000


async def audit(
    tx: Tx, room_id: str, actor: User, action: str, kind: str, target: str, **detail: Any
) -> None:
    """Append one entry to the room's audit log inside the acting transaction."""
    await tx.execute(
        "INSERT INTO audit_log (id, room_id, actor_id, action, target_kind, target_id, detail,"
        " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (new_id(), room_id, actor.id, action, kind, target, json.dumps(detail), tx.clock()),
    )


EXCERPT = 80


def audit_target(row: Any) -> dict[str, Any]:
    """What an audit entry acted on, named: `name` for a person, thread or room, `post` for a
    post or a report (the post's author, thread and first words)."""
    target: dict[str, Any] = {"kind": row["target_kind"], "id": row["target_id"]}
    name = row["user_name"] or row["thread_title"] or row["room_name"]
    if name is not None:
        target["name"] = name
    if row["post_id"] is not None:
        body = " ".join(row["post_body"].split())
        target["post"] = {
            "id": row["post_id"],
            "thread_id": row["post_thread"],
            "author": {"id": row["post_author"], "display_name": row["post_author_name"]},
            "excerpt": body if len(body) <= EXCERPT else body[: EXCERPT - 1] + "…",
        }
    return target


class Moderation:
    """What teachers do to keep a room safe, and what members do to ask them to."""

    def __init__(
        self, db: Store, rooms: Rooms, forum: Forum, *, clock: Callable[[], float]
    ) -> None:
        self.db = db
        self.rooms = rooms
        self.forum = forum
        self.clock = clock

    async def edit_thread(
        self, user: User, thread_id: str, changes: dict[str, Any]
    ) -> dict[str, Any]:
        """Title by its author or a teacher; pinned and locked by teachers. Emits `thread:edit`."""
        thread, role = await self.forum.thread(user, thread_id)
        teacher = may(role, Action.MODERATE)
        columns: dict[str, Any] = {}
        if changes.get("title") is not None:
            if thread["kind"] == "chat":
                raise Conflict("The room's chat cannot be renamed.", reason="chat_thread")
            if thread["author"]["id"] != user.id and not teacher:
                raise Forbidden(
                    "Only the author or a teacher can rename a thread.", reason="not_author"
                )
            if not teacher:  # a rename is a write: mutes, locks and a demotion apply
                await self.forum.writable(user, thread_id)
            columns["title"] = check_title(changes["title"])
        for flag in ("pinned", "locked"):
            if changes.get(flag) is not None:
                require(role, Action.MODERATE)
                columns[flag] = int(bool(changes[flag]))
        if not columns:
            return thread

        async def apply(tx: Tx) -> dict[str, Any]:
            assignments = ", ".join(f"{column} = ?" for column in columns)
            if "title" in columns:  # a renamed summary's title is shown as written
                assignments += ", summary = NULL"
            await tx.execute(
                f"UPDATE threads SET {assignments} WHERE id = ?", (*columns.values(), thread_id)
            )
            row = await tx.fetchone(f"{THREAD_SELECT} WHERE threads.id = ?", (thread_id,))
            assert row is not None
            edited = thread_json(row)
            if teacher and ("pinned" in columns or "locked" in columns):
                await audit(
                    tx, thread["room_id"], user, "thread_edit", "thread", thread_id, **columns
                )
            await tx.emit(thread["room_id"], "thread:edit", edited)
            return edited

        return await self.db.write(apply)

    async def delete_thread(self, user: User, thread_id: str) -> None:
        """Teachers delete a forum thread (never the chat); emits `thread:delete`."""
        thread, role = await self.forum.thread(user, thread_id)
        require(role, Action.MODERATE)
        if thread["kind"] == "chat":
            raise Conflict("The room's chat thread cannot be deleted.", reason="chat_thread")

        async def apply(tx: Tx) -> None:
            await tx.execute(
                "UPDATE threads SET deleted_at = ? WHERE id = ?", (self.clock(), thread_id)
            )
            await audit(
                tx,
                thread["room_id"],
                user,
                "thread_delete",
                "thread",
                thread_id,
                title=thread["title"],
            )
            await tx.emit(
                thread["room_id"], "thread:delete", {"id": thread_id, "room_id": thread["room_id"]}
            )

        await self.db.write(apply)

    async def delete_post(self, user: User, post_id: str) -> None:
        """The author or a teacher deletes a post (kept for the audit log); emits `post:delete`."""
        post, role = await self.forum.post(user, post_id)
        own = post["author"]["id"] == user.id
        require(role, Action.DELETE_OWN if own else Action.MODERATE)

        async def apply(tx: Tx) -> None:
            await tx.execute(
                "UPDATE posts SET deleted_at = ?, deleted_by = ? WHERE id = ?",
                (self.clock(), user.id, post_id),
            )
            await self._resolve_reports(tx, post_id, user, "deleted")
            if not own:
                await audit(
                    tx, post["room_id"], user, "post_delete", "post", post_id, body=post["body"]
                )
            await tx.emit(post["room_id"], "post:delete", post_ref(post))

        await self.db.write(apply)

    async def hide(self, user: User, post_id: str, hidden: bool) -> dict[str, Any]:
        """A teacher hides a post from members (or restores it); emits `post:hide`/`post:restore`."""
        post, role = await self.forum.post(user, post_id)
        require(role, Action.MODERATE)

        async def apply(tx: Tx) -> dict[str, Any]:
            await tx.execute("UPDATE posts SET hidden = ? WHERE id = ?", (int(hidden), post_id))
            await self._resolve_reports(tx, post_id, user, "hidden" if hidden else "restored")
            await audit(
                tx,
                post["room_id"],
                user,
                "post_hide" if hidden else "post_restore",
                "post",
                post_id,
            )
            changed = {**post, "hidden": hidden}
            if hidden:  # the text stays with teachers, who hold it already
                await tx.emit(post["room_id"], "post:hide", {**post_ref(post), "hidden": True})
            else:
                await tx.emit(post["room_id"], "post:restore", changed)
            return changed

        return await self.db.write(apply)

    async def report(self, user: User, post_id: str, reason: str) -> dict[str, Any]:
        """Any member asks the room's teachers to look at a post; those online are told at once
        (`ReportFiled`), without who reported it (the queue says)."""
        post, role = await self.forum.post(user, post_id)
        require(role, Action.REPORT)
        reason = lines(reason, prose=True).strip()
        if len(reason) > MAX_REASON:
            raise Invalid(
                f"reason: at most {MAX_REASON} characters.",
                field="reason",
                rule="max_length",
                max=MAX_REASON,
            )
        report = {
            "id": new_id(),
            "room_id": post["room_id"],
            "post_id": post_id,
            "reason": reason.strip(),
        }

        async def apply(tx: Tx) -> None:
            await tx.execute(
                "INSERT INTO reports (id, room_id, post_id, reporter_id, reason, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (report["id"], post["room_id"], post_id, user.id, report["reason"], self.clock()),
            )
            tx.effect(ReportFiled(post["room_id"], report))

        await self.db.write(apply)
        return report

    async def reports(self, user: User, room_id: str) -> list[dict[str, Any]]:
        """The room's open reports, oldest first, with the reported post (teachers only)."""
        await self.rooms.require(user, room_id, Action.MODERATE)
        rows = await self.db.fetchall(
            "SELECT reports.*, users.display_name AS reporter_name, posts.body, posts.thread_id,"
            " posts.author_id, posts.hidden, author.display_name AS author_name"
            " FROM reports JOIN users ON users.id = reports.reporter_id"
            " JOIN posts ON posts.id = reports.post_id JOIN users author ON author.id = posts.author_id"
            " WHERE reports.room_id = ? AND reports.resolved_at IS NULL ORDER BY reports.created_at",
            (room_id,),
        )
        return [
            {
                "id": r["id"],
                "post_id": r["post_id"],
                "thread_id": r["thread_id"],
                "body": r["body"],
                "author_id": r["author_id"],
                "author": {"id": r["author_id"], "display_name": r["author_name"]},
                "hidden": bool(r["hidden"]),
                "reason": r["reason"],
                "reporter": {"id": r["reporter_id"], "display_name": r["reporter_name"]},
                "created_at": iso(r["created_at"]),
            }
            for r in rows
        ]

    async def dismiss(self, user: User, room_id: str, report_id: str) -> None:
        """A teacher closes a report without acting on the post."""
        await self.rooms.require(user, room_id, Action.MODERATE)

        async def apply(tx: Tx) -> None:
            changed = await tx.execute(
                "UPDATE reports SET resolved_at = ?, resolved_by = ?, resolution = 'dismissed'"
                " WHERE id = ? AND room_id = ? AND resolved_at IS NULL",
                (self.clock(), user.id, report_id, room_id),
            )
            if not changed:
                raise NotFound("report", report_id)
            await audit(tx, room_id, user, "report_dismiss", "report", report_id)

        await self.db.write(apply)

    async def mute(self, user: User, room_id: str, target_id: str, minutes: int) -> dict[str, Any]:
        """Silence a member in the forum and chat for `minutes` (0 lifts it); emits `member:mute`."""
        role = await self.rooms.require(user, room_id, Action.MODERATE)
        target = await self.rooms.role(room_id, target_id)
        if target is None:
            raise NotFound("member", target_id)
        require_silence(role, target)
        if not 0 <= minutes <= MAX_MUTE_MINUTES:
            raise Invalid(
                f"minutes: 0 to {MAX_MUTE_MINUTES}.",
                field="minutes",
                rule="range",
                min=0,
                max=MAX_MUTE_MINUTES,
            )
        until = self.clock() + minutes * 60

        async def apply(tx: Tx) -> dict[str, Any]:
            # One statement each way: a DELETE then INSERT let two concurrent mutes both insert.
            if minutes:
                await tx.execute(
                    "INSERT INTO mutes (room_id, user_id, until) VALUES (?, ?, ?)"
                    " ON CONFLICT (room_id, user_id) DO UPDATE SET until = excluded.until",
                    (room_id, target_id, until),
                )
            else:
                await tx.execute(
                    "DELETE FROM mutes WHERE room_id = ? AND user_id = ?", (room_id, target_id)
                )
            await audit(tx, room_id, user, "member_mute", "user", target_id, minutes=minutes)
            event = {
                "room_id": room_id,
                "user_id": target_id,
                "until": iso(until) if minutes else None,
            }
            return await tx.emit(room_id, "member:mute", event)

        return await self.db.write(apply)

    async def mutes(self, user: User, room_id: str) -> list[dict[str, Any]]:
        """Who is muted in the room's forum and chat now, and until when (teachers only)."""
        await self.rooms.require(user, room_id, Action.MODERATE)
        rows = await self.db.fetchall(
            "SELECT user_id, until FROM mutes WHERE room_id = ? AND until > ?"
            " ORDER BY until, user_id",
            (room_id, self.clock()),
        )
        return [{"user_id": r["user_id"], "until": iso(r["until"])} for r in rows]

    async def set_chat_mode(self, user: User, room_id: str, mode: str) -> None:
        """Teachers open the chat to everyone or keep it to teachers; emits `room:chat_mode`."""
        await self.rooms.require(user, room_id, Action.MODERATE)
        if mode not in ("everyone", "teachers"):
            raise Invalid(
                "mode: everyone or teachers.",
                field="mode",
                rule="one_of",
                options=["everyone", "teachers"],
            )

        async def apply(tx: Tx) -> None:
            await tx.execute("UPDATE rooms SET chat_mode = ? WHERE id = ?", (mode, room_id))
            await audit(tx, room_id, user, "chat_mode", "room", room_id, mode=mode)
            await tx.emit(room_id, "room:chat_mode", {"room_id": room_id, "chat_mode": mode})

        await self.db.write(apply)

    async def log_call_action(
        self, user: User, room_id: str, session_id: str, action: str, target_id: str
    ) -> None:
        """Record a teacher's control in a live call (`call_mute`, `call_remove`, ...) on a
        participant: the call itself lives in memory, its moderation in the room's log."""
        await self.db.write(
            lambda tx: audit(tx, room_id, user, action, "user", target_id, session_id=session_id)
        )

    async def audit_log(self, user: User, room_id: str) -> list[dict[str, Any]]:
        """Every moderation action in the room, oldest first (teachers only), each naming what
        it acted on: a person's name, a thread's title, a post's author and opening words (a
        reported post's for a report) with its thread, so the client can link to it."""
        await self.rooms.require(user, room_id, Action.READ_AUDIT)
        rows = await self.db.fetchall(
            "SELECT audit_log.*, actor.display_name,"
            " target_user.display_name AS user_name, target_thread.title AS thread_title,"
            " target_room.name AS room_name, post.id AS post_id, post.thread_id AS post_thread,"
            " post.body AS post_body, post.author_id AS post_author,"
            " post_author.display_name AS post_author_name"
            " FROM audit_log JOIN users actor ON actor.id = audit_log.actor_id"
            " LEFT JOIN users target_user"
            "  ON audit_log.target_kind = 'user' AND target_user.id = audit_log.target_id"
            " LEFT JOIN threads target_thread"
            "  ON audit_log.target_kind = 'thread' AND target_thread.id = audit_log.target_id"
            " LEFT JOIN rooms target_room"
            "  ON audit_log.target_kind = 'room' AND target_room.id = audit_log.target_id"
            " LEFT JOIN reports report"
            "  ON audit_log.target_kind = 'report' AND report.id = audit_log.target_id"
            " LEFT JOIN posts post ON post.id = CASE audit_log.target_kind"
            "  WHEN 'post' THEN audit_log.target_id WHEN 'report' THEN report.post_id END"
            " LEFT JOIN users post_author ON post_author.id = post.author_id"
            " WHERE audit_log.room_id = ? ORDER BY audit_log.created_at, audit_log.id LIMIT 1000",
            (room_id,),
        )
        return [
            {
                "id": r["id"],
                "action": r["action"],
                "actor": {"id": r["actor_id"], "display_name": r["display_name"]},
                "target": audit_target(r),
                "detail": json.loads(r["detail"]),
                "created_at": iso(r["created_at"]),
            }
            for r in rows
        ]

    @staticmethod
    async def _resolve_reports(tx: Tx, post_id: str, user: User, resolution: str) -> None:
        await tx.execute(
            "UPDATE reports SET resolved_at = ?, resolved_by = ?, resolution = ?"
            " WHERE post_id = ? AND resolved_at IS NULL",
            (tx.clock(), user.id, resolution, post_id),
        )
