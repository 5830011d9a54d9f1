"""The session summary's Markdown: times, attendance, chat quoting, files."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from rooms.markdown import mentions, render
from rooms.sessions import LiveSession
from rooms.summary import body, facts


def at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def session(start: str, end: str) -> LiveSession:
    return LiveSession("s", "r", "Rivers *live*", "ended", None, at(start), at(end), "t", None)


def test_a_session_across_midnight_dates_the_times_of_the_next_day() -> None:
    people: list[Any] = [
        {
            "user_id": "u1",
            "joined_at": at("2026-11-23T23:30:00"),
            "left_at": at("2026-11-24T00:15:00"),
            "display_name": "Zofia",
            "country": "PL",
        }
    ]
    chat: list[Any] = [
        {"created_at": at("2026-11-24T00:01:02"), "author": "Ana", "body": "hi @zofia <b>x</b>"}
    ]
    files: list[Any] = [{"name": "notes.txt", "version": 1}, {"name": "map_v.png", "version": 3}]
    text = body(facts(session("2026-11-23T23:30:00", "2026-11-24T00:20:00"), people, chat, files))

    assert "**Rivers \\*live\\***" in text  # the title is quoted, then made bold
    assert "2026-11-23, 23:30:00-2026-11-24 00:20:00 UTC (50 min 00 s)" in text
    assert "- Zofia (PL): 23:30:00-2026-11-24 00:15:00 UTC, 45 min 00 s" in text
    assert "- 2026-11-24 00:01:02 **Ana**: hi \\@zofia \\<b\\>x\\</b\\>" in text
    assert "- notes\\.txt\n- map\\_v\\.png (version 3)" in text
    assert mentions(text) == [] and "<b>" not in render(text)


def test_an_empty_session_says_so() -> None:
    text = body(facts(session("2026-11-23T09:00:00", "2026-11-23T09:00:05"), [], [], []))
    assert "(5 s)" in text and "### Participants (0)" in text
    assert "- nobody joined" in text and "- no messages" in text and "- no files" in text
