"""Forum search: ranked full-text matches over thread titles and post bodies, with snippets."""

from __future__ import annotations

import re
from typing import Any

from rooms.errors import Invalid
from rooms.forum_shapes import AUTHOR_COLUMNS, THREAD_SELECT, author, thread_json
from rooms.models import User, iso
from rooms.policy import Action, may
from rooms.rooms import Rooms
from rooms.store.db import Database

MAX_QUERY = 200
WORD = re.compile(r"\w+", re.UNICODE)


def fts_query(text: str) -> str:
    """The user's words as an FTS5 query that cannot be a syntax error: each word a quoted phrase,
    all required, the last one also as a prefix (search as you type)."""
    words = WORD.findall(text)[:12]
    if not words:
        raise Invalid("q: type at least one word.")
    phrases = [f'"{word}"' for word in words]
    phrases[-1] += "*"
    return " ".join(phrases)


class Search:
    """Searches one room's forum; members never see hidden or deleted posts."""

    def __init__(self, db: Database, rooms: Rooms) -> None:
        self.db = db
        self.rooms = rooms

    async def search(self, user: User, room_id: str, q: str, limit: int = 50) -> dict[str, Any]:
        """`{threads, posts}` matching every word of `q`, best first; posts carry a `snippet`."""
        role = await self.rooms.require(user, room_id, Action.READ_FORUM)
        if len(q) > MAX_QUERY:
            raise Invalid(f"q: at most {MAX_QUERY} characters.")
        query = fts_query(q)
        threads = await self.db.fetchall(
            f"{THREAD_SELECT} JOIN threads_fts ON threads_fts.rowid = threads.rowid"
            " WHERE threads_fts MATCH ? AND threads.room_id = ? AND threads.deleted_at IS NULL"
            " ORDER BY bm25(threads_fts) LIMIT ?",
            (query, room_id, limit),
        )
        hidden = "" if may(role, Action.MODERATE) else " AND posts.hidden = 0"
        posts = await self.db.fetchall(
            f"SELECT posts.*, {AUTHOR_COLUMNS},"
            " snippet(posts_fts, 0, '[', ']', '…', 12) AS snippet"
            " FROM posts_fts JOIN posts ON posts.rowid = posts_fts.rowid"
            " JOIN users ON users.id = posts.author_id"
            " JOIN threads ON threads.id = posts.thread_id AND threads.deleted_at IS NULL"
            f" WHERE posts_fts MATCH ? AND posts.room_id = ? AND posts.deleted_at IS NULL{hidden}"
            " ORDER BY bm25(posts_fts) LIMIT ?",
            (query, room_id, limit),
        )
        return {
            "threads": [thread_json(row) for row in threads],
            "posts": [
                {
                    "id": row["id"],
                    "room_id": row["room_id"],
                    "thread_id": row["thread_id"],
                    "seq": row["seq"],
                    "author": author(row),
                    "body": row["body"],
                    "html": row["html"],
                    "snippet": row["snippet"],
                    "created_at": iso(row["created_at"]),
                    "edited_at": iso(row["edited_at"]),
                }
                for row in posts
            ],
        }
