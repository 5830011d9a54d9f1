"""The forum's JSON shapes and the SQL that reads them, shared by the forum's services."""

from __future__ import annotations

import json
from typing import Any

from rooms.models import iso
from rooms.store.db import Dialect, Row


def unread_by(reader: str) -> str:
    """The condition for a post, with the reader's `thread_reads` row joined, that counts as
    unread for `reader` (an SQL expression: a placeholder or a column): not deleted, not
    hidden, written by someone else, after the reader's last read. The thread list and the
    room list count by this one rule."""
    return (
        "posts.deleted_at IS NULL AND posts.hidden = 0"
        f" AND posts.author_id != {reader}"
        " AND posts.seq > COALESCE(thread_reads.last_read_seq, 0)"
    )


AUTHOR_COLUMNS = "users.display_name AS author_name, users.country AS author_country"
THREAD_SELECT = (
    f"SELECT threads.*, {AUTHOR_COLUMNS} FROM threads JOIN users ON users.id = threads.author_id"
)


def post_select(dialect: Dialect) -> str:
    """The SELECT of posts with their author and reactions (the reaction map is the engine's)."""
    return (
        f"SELECT posts.*, {AUTHOR_COLUMNS}, {dialect.reaction_map} AS reaction_map"
        " FROM posts JOIN users ON users.id = posts.author_id"
    )


def author(row: Row, prefix: str = "author") -> dict[str, Any]:
    return {
        "id": row[f"{prefix}_id"],
        "display_name": row[f"{prefix}_name"],
        "country": row[f"{prefix}_country"],
    }


def _summary(row: Row, shaped: dict[str, Any]) -> dict[str, Any]:
    # Only a session summary's thread and first post carry one: other posts stay as small as ever.
    if row["summary"]:
        shaped["summary"] = json.loads(row["summary"])
    return shaped


def post_json(row: Row) -> dict[str, Any]:
    """A post as the contract shapes it, plus `hidden`, `reactions` and `mentions`, and
    `summary` (the facts the client words) on a session summary's post."""
    reactions = json.loads(row["reaction_map"]) if row["reaction_map"] else {}
    return _summary(
        row,
        {
            "id": row["id"],
            "room_id": row["room_id"],
            "thread_id": row["thread_id"],
            "seq": row["seq"],
            "author": author(row),
            "body": row["body"],
            "html": row["html"],
            "created_at": iso(row["created_at"]),
            "edited_at": iso(row["edited_at"]),
            "hidden": bool(row["hidden"]),
            "reactions": {emoji: sorted(ids) for emoji, ids in sorted(reactions.items())},
        },
    )


def post_ref(post: dict[str, Any]) -> dict[str, Any]:
    """Which post, and nothing of what it says: all `post:delete` carries, and, with `hidden`,
    all that `post:hide` may (its text stays with the teachers, who hold it already)."""
    return {
        "id": post["id"],
        "room_id": post["room_id"],
        "thread_id": post["thread_id"],
        "seq": post["seq"],
    }


def thread_json(row: Row) -> dict[str, Any]:
    """A thread, with `summary` (the session's title and times) on a session summary's."""
    return _summary(
        row,
        {
            "id": row["id"],
            "room_id": row["room_id"],
            "title": row["title"],
            "kind": row["kind"],
            "author": author(row),
            "pinned": bool(row["pinned"]),
            "locked": bool(row["locked"]),
            "post_count": row["post_count"],
            "last_seq": row["last_seq"],
            "created_at": iso(row["created_at"]),
        },
    )
