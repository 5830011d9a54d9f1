"""A live session's summary, posted as a forum thread of its room when the session ends.

The summary lists who attended (with countries, join and leave times and time spent), how long the
session lasted, the room's chat written meanwhile and the files shared meanwhile. It is written
by the forum's own `write_thread` inside the transaction that ends the session, so it appears to
clients exactly like a thread a teacher opened: `thread:new`, then `post:new`. Names and chat lines
are quoted with every Markdown character escaped (`@` too: quoting a chat line mentions nobody).

The title and Markdown are English with times in UTC: they are what search finds and what a
client shows that knows nothing else. Beside them the thread and post carry the same facts as
data (`summary`), which the web client words in its reader's language and time zone.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from rooms.forum_writes import write_thread
from rooms.models import User, iso
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


def _participants(rows: Iterable[Row]) -> list[dict[str, Any]]:
    by_user: dict[str, list[Row]] = {}
    for row in rows:
        by_user.setdefault(row["user_id"], []).append(row)
    return [
        {
            "id": user_id,
            "display_name": visits[0]["display_name"],
            "country": visits[0]["country"],
            "visits": [
                {"joined_at": iso(v["joined_at"]), "left_at": iso(v["left_at"])} for v in visits
            ],
            "seconds": round(sum(v["left_at"] - v["joined_at"] for v in visits)),
        }
        for user_id, visits in by_user.items()
    ]


def _epoch(moment: str | None) -> float:
    return datetime.fromisoformat(moment).timestamp() if moment else 0.0


def facts(
    session: LiveSession, people: list[Row], chat: list[Row], files: list[Row]
) -> dict[str, Any]:
    """The summary as data: what each client words in its reader's language and zone. Times are
    ISO 8601 UTC; names, chat lines and file names are the people's own words, one line each."""
    return {
        "session": session_facts(session),
        "participants": _participants(people),
        "chat": {
            "lines": [
                {
                    "at": iso(r["created_at"]),
                    "author": " ".join(r["author"].split()),
                    "body": " ".join(r["body"].split()),
                }
                for r in chat[-CHAT_LINES:]
            ],
            "earlier": max(0, len(chat) - CHAT_LINES),
        },
        "files": [{"name": r["name"], "version": r["version"]} for r in files],
    }


def session_facts(session: LiveSession) -> dict[str, Any]:
    """The session as the summary thread names it: `title_default` marks the default title,
    which clients show in their reader's words."""
    return {
        "id": session.id,
        "title": session.title,
        "title_default": session.title_default,
        "started_at": iso(session.started_at or 0.0),
        "ended_at": iso(session.ended_at or 0.0),
    }


def body(summary: dict[str, Any]) -> str:
    """The summary's Markdown, in English and UTC: what search finds and what a client that does
    not know `summary` shows."""
    session = summary["session"]
    started, ended = _epoch(session["started_at"]), _epoch(session["ended_at"])
    day = datetime.fromtimestamp(started, UTC).strftime("%Y-%m-%d")
    head = (
        f"**{_text(session['title'])}**, {day}, {_clock(started, day)}-{_clock(ended, day)} UTC "
        f"({_duration(ended - started)})"
    )
    people = [
        f"- {_text(p['display_name'])} ({_text(p['country'])}): "
        + ", ".join(
            f"{_clock(_epoch(v['joined_at']), day)}-{_clock(_epoch(v['left_at']), day)}"
            for v in p["visits"]
        )
        + f" UTC, {_duration(p['seconds'])}"
        for p in summary["participants"]
    ]
    chat = [
        f"- {_clock(_epoch(line['at']), day)} **{_text(line['author'])}**: {_text(line['body'])}"
        for line in summary["chat"]["lines"]
    ]
    if summary["chat"]["earlier"]:
        chat.insert(0, f"- ({summary['chat']['earlier']} earlier messages are in the chat)")
    files = [
        f"- {_text(f['name'])}" + (f" (version {f['version']})" if f["version"] > 1 else "")
        for f in summary["files"]
    ]
    sections = [
        head,
        f"### Participants ({len(summary['participants'])})",
        "\n".join(people or ["- nobody joined"]),
        "### Chat",
        "\n".join(chat or ["- no messages"]),
        "### Files shared",
        "\n".join(files or ["- no files"]),
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
    """Write the summary thread and its first post in `tx`; return the thread's id.

    The title and body are English and UTC (what search finds); the thread carries the
    session's facts and the post the whole summary as `summary` data for clients to word.
    """
    people, chat, files = await _gather(tx, session)
    summary = facts(session, people, chat, files)
    day = datetime.fromtimestamp(session.started_at or 0.0, UTC).strftime("%Y-%m-%d")
    title = f"Session summary: {session.title} ({day})"
    thread = await write_thread(
        tx,
        session.room_id,
        author,
        title,
        body(summary),
        tx.clock(),
        summary=(summary["session"], summary),
    )
    return str(thread["id"])
