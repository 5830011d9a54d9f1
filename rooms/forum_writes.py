"""Writing threads and posts inside a transaction: the one place a post is inserted.

`Forum` calls these once it has checked the author's rights and input; the session summary calls
`write_thread` too, so a summary reaches clients exactly like a thread a teacher opened. Each post
takes the room's next sequence number, and its `post:new` event carries that same number.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from rooms import markdown
from rooms.forum_shapes import THREAD_SELECT, thread_json
from rooms.ids import new_id
from rooms.models import User, iso
from rooms.store.db import SEQ, Reader, Row, SequencedWrite, Store, Tx


async def write_thread(
    tx: Tx,
    room_id: str,
    author: User,
    title: str,
    body: str,
    now: float,
    *,
    summary: tuple[dict[str, Any], dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Insert a forum thread whose `body` is its first post, in `tx`: `thread:new`, `post:new`.

    Callers have checked the author's rights and the title and body; the session summary uses it
    too, so a summary appears to clients exactly like a thread a teacher opened. Its `summary`
    is the thread's and the first post's data, stored beside the title and body.
    """
    thread_id = new_id()
    thread_data, post_data = summary if summary is not None else (None, None)
    await tx.execute(
        "INSERT INTO threads (id, room_id, kind, title, author_id, created_at, summary)"
        " VALUES (?, ?, 'forum', ?, ?, ?, ?)",
        (thread_id, room_id, title, author.id, now, _json(thread_data)),
    )
    await tx.emit(room_id, "thread:new", await _thread_in(tx, thread_id))
    await write_post(tx, thread_id, room_id, author, body, now, summary=post_data)
    return await _thread_in(tx, thread_id)


def _json(data: dict[str, Any] | None) -> str | None:
    return json.dumps(data, separators=(",", ":")) if data is not None else None


async def write_post(
    tx: Tx,
    thread_id: str,
    room_id: str,
    author: User,
    body: str,
    now: float,
    *,
    summary: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Insert a post in `tx` with the room's next sequence number, and record its `post:new`."""
    # Rendering first: the sequence number locks the room's row until the commit (on PostgreSQL,
    # for every node), so nothing slow may come after it.
    html = markdown.render(body)
    mentioned = await _mentioned(tx, room_id, markdown.mentions(body))
    return await tx.sequenced(
        post_write(thread_id, room_id, author, body, html, now, mentioned, summary)
    )


async def add_post(
    db: Store,
    target: Callable[[Reader], Awaitable[Row]],
    author: User,
    body: str,
    clock: Callable[[], float],
) -> dict[str, Any]:
    """A post as a write of its own, once its input is checked. `target` reads the thread (its
    `id` and `room_id`) and raises if the author may not write there now; it reads in the
    post's own transaction where the store can (`Store.write_checked`), so that a mute or a lock
    committed meanwhile still stops the post.

    A post that mentions no one is the hot path of the chat: one `SequencedWrite`, which the
    store may send whole (on PostgreSQL one round trip, its own transaction). Who a post
    mentions is read in the post's transaction, so a mention takes a job."""
    if markdown.mentions(body):

        async def job(tx: Tx) -> dict[str, Any]:
            thread = await target(tx)
            return await write_post(tx, thread["id"], thread["room_id"], author, body, clock())

        return await db.write(job)
    html = markdown.render(body)

    def write(thread: Row) -> SequencedWrite:
        return post_write(thread["id"], thread["room_id"], author, body, html, clock(), [])

    return await db.write_checked(target, write)


def post_write(
    thread_id: str,
    room_id: str,
    author: User,
    body: str,
    html: str,
    now: float,
    mentioned: list[str],
    summary: dict[str, Any] | None = None,
) -> SequencedWrite:
    """A post as data: its row, its mentions' rows and its `post:new`, all under the room's next
    sequence number (`SEQ`). Its thread's count and last number follow from the row (triggers)."""
    post_id = new_id()
    statements: list[tuple[str, tuple[Any, ...]]] = [
        (
            "INSERT INTO posts (id, room_id, thread_id, seq, author_id, body, html, created_at,"
            " summary) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (post_id, room_id, thread_id, SEQ, author.id, body, html, now, _json(summary)),
        ),
        *(
            (
                "INSERT INTO mentions (post_id, user_id, room_id, created_at) VALUES (?, ?, ?, ?)",
                (post_id, user_id, room_id, now),
            )
            for user_id in mentioned
        ),
    ]
    post = {
        "id": post_id,
        "room_id": room_id,
        "thread_id": thread_id,
        "seq": SEQ,
        "author": {"id": author.id, "display_name": author.display_name, "country": author.country},
        "body": body,
        "html": html,
        "created_at": iso(now),
        "edited_at": None,
        "hidden": False,
        "reactions": {},
        "mentions": mentioned,
    }
    if summary is not None:
        post["summary"] = summary
    return SequencedWrite(room_id, "post:new", post, tuple(statements))


async def _mentioned(tx: Tx, room_id: str, names: list[str]) -> list[str]:
    """The ids of the room's members among `names` (usernames)."""
    if not names:
        return []
    marks = ", ".join("?" for _ in names)
    rows = await tx.fetchall(
        f"SELECT users.id FROM users JOIN memberships ON memberships.user_id = users.id"
        f" WHERE memberships.room_id = ? AND users.username IN ({marks})",
        (room_id, *names),
    )
    return [row["id"] for row in rows]


async def _thread_in(tx: Tx, thread_id: str) -> dict[str, Any]:
    row = await tx.fetchone(f"{THREAD_SELECT} WHERE threads.id = ?", (thread_id,))
    assert row is not None
    return thread_json(row)
