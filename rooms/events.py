"""The per-room event log: what a client missed since the sequence number it holds."""

from __future__ import annotations

import json
from typing import Any

from rooms.store.db import Database

MAX_MISSED = 500


class EventLog:
    """Reads back the room events that every committed change recorded with its sequence number."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def latest(self, room_id: str) -> int:
        row = await self.db.fetchone("SELECT last_seq FROM rooms WHERE id = ?", (room_id,))
        return int(row["last_seq"]) if row is not None else 0

    async def since(self, room_id: str, since: int) -> tuple[list[dict[str, Any]], bool]:
        """At most `MAX_MISSED` events after `since`, in order, as `{event, data}`, and whether
        more follow (the client asks again from the last one's `room_seq`)."""
        rows = await self.db.fetchall(
            "SELECT event, data FROM room_events WHERE room_id = ? AND seq > ? ORDER BY seq LIMIT ?",
            (room_id, since, MAX_MISSED + 1),
        )
        events = [{"event": row["event"], "data": json.loads(row["data"])} for row in rows]
        return events[:MAX_MISSED], len(events) > MAX_MISSED
