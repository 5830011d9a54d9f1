"""A live session's summary, posted as a forum thread of its room when the session ends.

The summary lists who attended (with countries, join and leave times and time spent), how long the
session lasted, the room's chat written meanwhile and the files shared meanwhile. It is written
by the forum's own `write_thread` inside the transaction that ends the session, so it appears to
clients exactly like a thread a teacher opened: `thread:new`, then `post:new`. Names and chat lines
are quoted with every Markdown character escaped (`@` too: quoting a chat line mentions nobody).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from rooms.forum_writes import write_thread
from rooms.models import User
from rooms.store.db import Row, Tx

if TYPE_CHECKING:
    from rooms.sessions import LiveSession

_PUNCTUATION = re.compile(r"([\\`*_{}\[\]()#+\-.!<>|~&@])")
CHAT_LINES = 500  # the chat thread itself keeps every message


def _text(value: str) -> str:
    # Names and chat lines are quoted as plain text: one line, every Markdown character escaped.
    return _PUNCTUATION.sub(r"\\\1", " ".join(value.split()))


def _clock(epoch: float, day: str = "") -> str:
    """The time of day in UTC, with the date too when it is not `day` (the session's first)."""
    moment = datetime.fromtimestamp(epoch, UTC)
    date = moment.strftime("%Y-%m-%d")
    return moment.strftime("%H:%M:%S") if date == day else f"{date} {moment:%H:%M:%S}"


def _duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    return f"{minutes} min {secs:02d} s" if minutes else f"{secs} s"


def _participants(rows: Iterable[Row], day: str) -> list[str]:
    by_user: dict[str, list[Row]] = {}
    for row in rows:
        by_user.setdefault(row["user_id"], []).append(row)
    lines = []
    for visits in by_user.values():
        spans = ", ".join(
            f"{_clock(v['joined_at'], day)}-{_clock(v['left_at'], day)}" for v in visits
        )
        spent = sum(v["left_at"] - v["joined_at"] for v in visits)
        first = visits[0]
        name, country = _text(first["display_name"]), _text(first["country"])
        lines.append(f"- {name} ({country}): {spans} UTC, {_duration(spent)}")
    return lines or ["- nobody joined"]


def _chat(rows: list[Row], day: str) -> list[str]:
    lines = [
        f"- {_clock(r['created_at'], day)} **{_text(r['author'])}**: {_text(r['body'])}"
        for r in rows[-CHAT_LINES:]
    ]
    if len(rows) > CHAT_LINES:
        lines.insert(0, f"- ({len(rows) - CHAT_LINES} earlier messages are in the chat)")
    return lines or ["- no messages"]


def _files(rows: Iterable[Row]) -> list[str]:
    lines = [
        f"- {_text(row['name'])}" + (f" (version {row['version']})" if row["version"] > 1 else "")
        for row in rows
    ]
    return lines or ["- no files"]


def body(session: LiveSession, people: list[Row], chat: list[Row], files: list[Row]) -> str:
    """The summary's Markdown."""
    started, ended = session.started_at or 0.0, session.ended_at or 0.0
    day = datetime.fromtimestamp(started, UTC).strftime("%Y-%m-%d")
    head = (
        f"**{_text(session.title)}**, {day}, {_clock(started, day)}-{_clock(ended, day)} UTC "
        f"({_duration(ended - started)})"
    )
    sections = [
        head,
        f"### Participants ({len({p['user_id'] for p in people})})",
        "\n".join(_participants(people, day)),
        "### Chat",
        "\n".join(_chat(chat, day)),
        "### Files shared",
        "\n".join(_files(files)),
    ]
    return "\n\n".join(sections) + "\n"


async def _gather(tx: Tx, session: LiveSession) -> tuple[list[Row], list[Row], list[Row]]:
    people = await tx.fetchall(
        "SELECT a.user_id, a.joined_at, a.left_at, u.display_name, u.country"
        " FROM session_attendance a JOIN users u ON u.id = a.user_id"
        " WHERE a.session_id = ? ORDER BY a.joined_at, a.user_id",
        (session.id,),
    )
    span = (session.room_id, session.started_at, session.ended_at)
    chat = await tx.fetchall(
        "SELECT p.body, p.created_at, u.display_name AS author FROM posts p"
        " JOIN threads t ON t.id = p.thread_id JOIN users u ON u.id = p.author_id"
        " WHERE t.room_id = ? AND t.kind = 'chat' AND p.created_at BETWEEN ? AND ?"
        " AND p.deleted_at IS NULL AND p.hidden = 0 ORDER BY p.seq",
        span,
    )
    # Every upload meanwhile, new versions of older files included.
    files = await tx.fetchall(
        "SELECT f.name, v.version FROM file_versions v JOIN files f ON f.id = v.file_id"
        " WHERE v.room_id = ? AND v.created_at BETWEEN ? AND ? AND f.deleted_at IS NULL"
        " ORDER BY v.created_at, f.name",
        span,
    )
    return people, chat, files


async def post_summary(tx: Tx, session: LiveSession, author: User) -> str:
    """Write the summary thread and its first post in `tx`; return the thread's id."""
    people, chat, files = await _gather(tx, session)
    day = datetime.fromtimestamp(session.started_at or 0.0, UTC).strftime("%Y-%m-%d")
    title = f"Session summary: {session.title} ({day})"
    source = body(session, people, chat, files)
    thread = await write_thread(tx, session.room_id, author, title, source, tx.clock())
    return str(thread["id"])
