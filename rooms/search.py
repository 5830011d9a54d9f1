"""Forum search: ranked full-text matches over thread titles and post bodies, with snippets.

Each engine has its own full-text index and query syntax; the statements are the store's dialect."""

from __future__ import annotations

import re
from typing import Any

from rooms.errors import Invalid
from rooms.forum_shapes import AUTHOR_COLUMNS, THREAD_SELECT, author, thread_json
from rooms.models import User, iso
from rooms.policy import Action, may
from rooms.rooms import Rooms
from rooms.store.db import Store

MAX_QUERY = 200
WORD = re.compile(r"\w+", re.UNICODE)


def query_words(text: str) -> list[str]:
    """The user's words (at most 12): only words ever reach the engine's query syntax, so no input
    can be a syntax error or an operator."""
    words = WORD.findall(text)[:12]
    if not words:
        raise Invalid("q: type at least one word.", field="q", rule="required")
    return words


class Search:
    """Searches one room's forum; members never see hidden or deleted posts."""

    def __init__(self, db: Store, rooms: Rooms) -> None:
        self.db = db
        self.rooms = rooms

    async def search(self, user: User, room_id: str, q: str, limit: int = 50) -> dict[str, Any]:
        """`{threads, posts}` matching every word of `q`, best first; posts carry a `snippet`."""
        role = await self.rooms.require(user, room_id, Action.READ_FORUM)
        if len(q) > MAX_QUERY:
            raise Invalid(
                f"q: at most {MAX_QUERY} characters.", field="q", rule="max_length", max=MAX_QUERY
            )
        dialect = self.db.dialect
        query = dialect.search_query(query_words(q))
        threads = await self.db.fetchall(
            dialect.search_threads.format(thread_select=THREAD_SELECT), (query, room_id, limit)
        )
        hidden = "" if may(role, Action.MODERATE) else " AND posts.hidden = 0"
        posts = await self.db.fetchall(
            dialect.search_posts.format(author_columns=AUTHOR_COLUMNS, hidden=hidden),
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
