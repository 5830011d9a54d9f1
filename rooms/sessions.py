"""Live video sessions of a room: scheduling, start and end, and who attended when.

A room has at most one live session at a time (a partial unique index holds that even against
two teachers starting at once). Start and end are sequenced room events (`session:new`,
`session:edit`); the end also posts the session's summary thread in the same transaction, so a
session is never ended without its summary nor summarised twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rooms.errors import Conflict, Invalid, NotFound
from rooms.ids import new_id
from rooms.models import User, iso
from rooms.policy import Action
from rooms.rooms import Rooms
from rooms.store.db import Row, Store, Tx, UniqueViolation
from rooms.summary import post_summary
from rooms.text import one_line

DEFAULT_TITLE = "Live session"
MAX_TITLE = 120
DUE_WINDOW = 3600.0  # a teacher joining the call up to an hour early or late starts the plan


@dataclass(frozen=True)
class LiveSession:
    """A session of a room: `status` is "scheduled", "live" or "ended"; times are epochs."""

    id: str
    room_id: str
    title: str
    status: str
    scheduled_at: float | None
    started_at: float | None
    ended_at: float | None
    created_by: str
    summary_thread_id: str | None

    @classmethod
    def from_row(cls, row: Row) -> LiveSession:
        return cls(
            row["id"],
            row["room_id"],
            row["title"],
            row["status"],
            row["scheduled_at"],
            row["started_at"],
            row["ended_at"],
            row["created_by"],
            row["summary_thread_id"],
        )

    @property
    def title_default(self) -> bool:
        """Whether the session has the default title, which clients word in their reader's
        language (the stored title stays English)."""
        return self.title == DEFAULT_TITLE

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "room_id": self.room_id,
            "title": self.title,
            "title_default": self.title_default,
            "status": self.status,
            "scheduled_at": iso(self.scheduled_at),
            "started_at": iso(self.started_at),
            "ended_at": iso(self.ended_at),
            "created_by": self.created_by,
            "summary_thread_id": self.summary_thread_id,
        }


def check_title(title: str | None) -> str:
    title = one_line(title or "") or DEFAULT_TITLE
    if len(title) > MAX_TITLE:
        raise Invalid(
            f"title: at most {MAX_TITLE} characters.",
            field="title",
            rule="max_length",
            max=MAX_TITLE,
        )
    return title


class LiveSessions:
    """Schedules, starts and ends a room's live sessions and records attendance.

    Teachers (`Action.START_SESSION`) schedule, start and end; any member who may see the room
    lists them. `attend`/`leave` are called by the media side once membership is checked.
    """

    def __init__(self, db: Store, rooms: Rooms, *, clock: Callable[[], float]) -> None:
        self.db = db
        self.rooms = rooms
        self.clock = clock

    async def schedule(
        self, user: User, room_id: str, title: str | None, scheduled_at: float | None
    ) -> LiveSession:
        """Plan a session (optionally at `scheduled_at`, a UTC epoch in the future)."""
        await self.rooms.require(user, room_id, Action.START_SESSION)
        if scheduled_at is not None and scheduled_at < self.clock():
            raise Invalid(
                "scheduled_at: must be in the future.", field="scheduled_at", rule="future"
            )
        session_id, title = new_id(), check_title(title)

        async def insert(tx: Tx) -> None:
            await tx.execute(
                "INSERT INTO live_sessions (id, room_id, title, status, scheduled_at, created_by,"
                " created_at) VALUES (?, ?, ?, 'scheduled', ?, ?, ?)",
                (session_id, room_id, title, scheduled_at, user.id, tx.clock()),
            )
            await tx.emit(room_id, "session:new", await _json(tx, session_id))

        await self.db.write(insert)
        return await self._find(session_id)

    async def upcoming(self, user: User, room_id: str) -> list[LiveSession]:
        """The room's live and scheduled sessions, the live one first, then by planned time."""
        await self.rooms.require(user, room_id, Action.VIEW_ROOM)
        rows = await self.db.fetchall(
            "SELECT * FROM live_sessions WHERE room_id = ? AND status IN ('live', 'scheduled')"
            " ORDER BY status = 'scheduled', COALESCE(scheduled_at, created_at), id",
            (room_id,),
        )
        return [LiveSession.from_row(row) for row in rows]

    async def get(self, user: User, session_id: str) -> LiveSession:
        """One session, for a member of its room."""
        session = await self._find(session_id)
        thing = ("session", session_id)
        await self.rooms.require(user, session.room_id, Action.VIEW_ROOM, thing=thing)
        return session

    async def live(self, room_id: str) -> LiveSession | None:
        """The room's live session, if any (no access check: callers have done theirs)."""
        row = await self.db.fetchone(
            "SELECT * FROM live_sessions WHERE room_id = ? AND status = 'live'", (room_id,)
        )
        return LiveSession.from_row(row) if row is not None else None

    async def due(self, room_id: str) -> LiveSession | None:
        """The scheduled session planned closest to now, within `DUE_WINDOW` either side."""
        now = self.clock()
        row = await self.db.fetchone(
            "SELECT * FROM live_sessions WHERE room_id = ? AND status = 'scheduled'"
            " AND scheduled_at BETWEEN ? AND ? ORDER BY ABS(scheduled_at - ?), id LIMIT 1",
            (room_id, now - DUE_WINDOW, now + DUE_WINDOW, now),
        )
        return LiveSession.from_row(row) if row is not None else None

    async def start(self, user: User, room_id: str, session_id: str | None = None) -> LiveSession:
        """Start a scheduled session, or (no id) a new one now; `Conflict` if one is live."""
        await self.rooms.require(user, room_id, Action.START_SESSION)
        if session_id is not None and (await self._find(session_id)).room_id != room_id:
            raise NotFound("session", session_id)
        new = session_id is None
        session_id = session_id or new_id()

        async def apply(tx: Tx) -> None:
            now = tx.clock()
            if new:
                await tx.execute(
                    "INSERT INTO live_sessions (id, room_id, title, status, started_at,"
                    " created_by, started_by, created_at) VALUES (?, ?, ?, 'live', ?, ?, ?, ?)",
                    (session_id, room_id, DEFAULT_TITLE, now, user.id, user.id, now),
                )
            elif not await tx.execute(
                "UPDATE live_sessions SET status = 'live', started_at = ?, started_by = ?"
                " WHERE id = ? AND status = 'scheduled'",
                (now, user.id, session_id),
            ):
                raise Conflict(
                    "This session has already started or ended.", reason="session_started"
                )
            event = "session:new" if new else "session:edit"
            await tx.emit(room_id, event, await _json(tx, session_id))

        try:
            await self.db.write(apply)
        except UniqueViolation:
            raise Conflict(
                "A session is already live in this room.", reason="session_live"
            ) from None
        return await self._find(session_id)

    async def cancel(self, user: User, session_id: str) -> None:
        """Call off a scheduled session (teachers); `session:delete` tells the room."""
        session = await self.get(user, session_id)
        await self.rooms.require(user, session.room_id, Action.START_SESSION)

        async def apply(tx: Tx) -> None:
            if not await tx.execute(
                "DELETE FROM live_sessions WHERE id = ? AND status = 'scheduled'", (session_id,)
            ):
                raise Conflict(
                    "Only a session that has not started can be cancelled.",
                    reason="session_not_scheduled",
                )
            await tx.emit(
                session.room_id, "session:delete", {"id": session_id, "room_id": session.room_id}
            )

        await self.db.write(apply)

    async def end(self, user: User, session_id: str, room_id: str | None = None) -> LiveSession:
        """End a live session: close attendance, post its summary thread, emit `session:edit`.

        With `room_id`, a session of another room is not found, whatever the caller's rights there.
        """
        session = await self.get(user, session_id)
        if room_id is not None and session.room_id != room_id:
            raise NotFound("session", session_id)
        await self.rooms.require(user, session.room_id, Action.START_SESSION)

        async def apply(tx: Tx) -> None:
            now = tx.clock()
            if not await tx.execute(
                "UPDATE live_sessions SET status = 'ended', ended_at = ?, ended_by = ?"
                " WHERE id = ? AND status = 'live'",
                (now, user.id, session_id),
            ):
                raise Conflict("This session is not live.", reason="session_not_live")
            await tx.execute(
                "UPDATE session_attendance SET left_at = ? WHERE session_id = ? AND left_at IS NULL",
                (now, session_id),
            )
            row = await tx.fetchone("SELECT * FROM live_sessions WHERE id = ?", (session_id,))
            assert row is not None
            thread_id = await post_summary(tx, LiveSession.from_row(row), user)
            await tx.execute(
                "UPDATE live_sessions SET summary_thread_id = ? WHERE id = ?",
                (thread_id, session_id),
            )
            await tx.emit(session.room_id, "session:edit", await _json(tx, session_id))

        await self.db.write(apply)
        return await self._find(session_id)

    async def attend(self, session_id: str, user_id: str) -> None:
        """Record that a user joined the live session (once while they stay)."""

        async def apply(tx: Tx) -> None:
            # Only while the session is live: a join racing with its end records nothing. This
            # (unchanging) UPDATE also locks the session's row, so two joins of one user on
            # different connections check and insert one after the other.
            if not await tx.execute(
                "UPDATE live_sessions SET status = status WHERE id = ? AND status = 'live'",
                (session_id,),
            ):
                return
            if await tx.fetchone(
                "SELECT 1 FROM session_attendance WHERE session_id = ? AND user_id = ?"
                " AND left_at IS NULL",
                (session_id, user_id),
            ):
                return
            await tx.execute(
                "INSERT INTO session_attendance (session_id, user_id, joined_at) VALUES (?, ?, ?)",
                (session_id, user_id, tx.clock()),
            )

        await self.db.write(apply)

    async def leave(self, session_id: str, user_id: str) -> None:
        """Record that a user left the session (their last connection to it went)."""
        await self.db.write(
            lambda tx: tx.execute(
                "UPDATE session_attendance SET left_at = ? WHERE session_id = ? AND user_id = ?"
                " AND left_at IS NULL",
                (tx.clock(), session_id, user_id),
            )
        )

    async def attendance(self, session_id: str) -> list[dict[str, Any]]:
        """Every attendance row of a session: `{user_id, joined_at, left_at}` (ISO times)."""
        rows = await self.db.fetchall(
            "SELECT * FROM session_attendance WHERE session_id = ? ORDER BY joined_at, user_id",
            (session_id,),
        )
        return [
            {
                "user_id": r["user_id"],
                "joined_at": iso(r["joined_at"]),
                "left_at": iso(r["left_at"]),
            }
            for r in rows
        ]

    async def _find(self, session_id: str) -> LiveSession:
        row = await self.db.fetchone("SELECT * FROM live_sessions WHERE id = ?", (session_id,))
        if row is None:
            raise NotFound("session", session_id)
        return LiveSession.from_row(row)


async def _json(tx: Tx, session_id: str) -> dict[str, Any]:
    row = await tx.fetchone("SELECT * FROM live_sessions WHERE id = ?", (session_id,))
    assert row is not None
    return LiveSession.from_row(row).to_json()
