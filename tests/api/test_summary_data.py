"""A session summary as data: the facts each client words in its reader's language and zone,
stored beside the English Markdown that search still finds; the default session title flagged."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from tests.api.files_helpers import upload
from tests.conftest import Person, join_as_pupil

People = Callable[..., Awaitable[Person]]
Room = dict[str, Any]
pytestmark = [pytest.mark.timeout(60), pytest.mark.both_engines]


async def ended_session(room: Room, people: People) -> tuple[Person, Person, dict[str, Any]]:
    """A session started by the owner's joining the call, with a pupil's chat line and a file."""
    owner: Person = room["_owner"]
    pupil = await join_as_pupil(people, owner, room["id"], "zofia")
    sio = await owner.connect()
    joined = await sio.call("media:join", {"room_id": room["id"]}, timeout=10)
    assert joined["ok"], joined
    chat = await pupil.connect()
    sent = await chat.call(
        "chat:send", {"room_id": room["id"], "body": "the  xylophone\nsounds"}, timeout=10
    )
    assert sent["ok"], sent
    await upload(owner, room["id"], "map.png", b"not really a png")
    ended = await owner.call("POST", f"/api/sessions/{joined['session']['id']}/end")
    return owner, pupil, ended


async def test_the_summary_thread_and_post_carry_its_facts_as_data(
    room: Room, people: People
) -> None:
    owner, pupil, ended = await ended_session(room, people)
    assert ended["title"] == "Live session" and ended["title_default"] is True

    threads = await pupil.call("GET", f"/api/rooms/{room['id']}/threads")
    thread = next(t for t in threads if t["id"] == ended["summary_thread_id"])
    assert thread["title"].startswith("Session summary: Live session (")  # the stored fallback
    assert thread["summary"] == {
        "id": ended["id"],
        "title": "Live session",
        "title_default": True,
        "started_at": ended["started_at"],
        "ended_at": ended["ended_at"],
    }
    [post] = await pupil.call("GET", f"/api/threads/{thread['id']}/posts")
    assert "the xylophone sounds" in post["body"]  # the English Markdown stays, for search
    data = post["summary"]
    assert data["session"] == thread["summary"]
    [owner_visit] = data["participants"]
    assert owner_visit["id"] == owner.user["id"] and owner_visit["country"] == "FR"
    assert owner_visit["display_name"] == owner.user["display_name"]
    [visit] = owner_visit["visits"]
    assert visit["joined_at"].endswith("Z") and visit["left_at"] == ended["ended_at"]
    assert isinstance(owner_visit["seconds"], int)
    [line] = data["chat"]["lines"]
    assert line["body"] == "the xylophone sounds" and line["author"] == pupil.user["display_name"]
    assert line["at"].endswith("Z") and data["chat"]["earlier"] == 0
    assert data["files"] == [{"name": "map.png", "version": 1}]

    # Other threads and posts carry no summary, the chat's included.
    chat = next(t for t in threads if t["kind"] == "chat")
    assert "summary" not in chat and chat["title"] == "Chat"
    assert all(
        "summary" not in p for p in await pupil.call("GET", f"/api/threads/{chat['id']}/posts")
    )


async def test_search_still_finds_the_summary_by_its_text(room: Room, people: People) -> None:
    _, pupil, ended = await ended_session(room, people)
    found = await pupil.call("GET", f"/api/rooms/{room['id']}/search?q=xylophone")
    assert ended["summary_thread_id"] in {p["thread_id"] for p in found["posts"]}
    found = await pupil.call("GET", f"/api/rooms/{room['id']}/search?q=summary")
    assert [t["id"] for t in found["threads"]] == [ended["summary_thread_id"]]


async def test_the_live_event_and_the_replay_carry_the_summary(room: Room, people: People) -> None:
    owner: Person = room["_owner"]
    pupil = await join_as_pupil(people, owner, room["id"], "zofia")
    sio = await pupil.connect()
    opened = await sio.call("room:join", {"room_id": room["id"]}, timeout=10)
    live = await owner.call(
        "POST", f"/api/rooms/{room['id']}/sessions", {"title": "Rivers"}, status=201
    )
    assert live["title_default"] is False
    await owner.call("POST", f"/api/sessions/{live['id']}/start")
    await owner.call("POST", f"/api/sessions/{live['id']}/end")
    replay = await sio.call(
        "room:join", {"room_id": room["id"], "since": opened["seq"]}, timeout=10
    )
    by_event = {e["event"]: e["data"] for e in replay["missed"]}
    assert by_event["thread:new"]["summary"]["title"] == "Rivers"
    assert by_event["thread:new"]["summary"]["title_default"] is False
    post = by_event["post:new"]
    assert post["summary"]["participants"] == [] and post["summary"]["files"] == []


async def test_editing_a_summary_by_hand_drops_its_data(room: Room, people: People) -> None:
    owner, pupil, ended = await ended_session(room, people)
    thread_id = ended["summary_thread_id"]
    [post] = await owner.call("GET", f"/api/threads/{thread_id}/posts")
    edited = await owner.call("PATCH", f"/api/posts/{post['id']}", {"body": "Good work, all."})
    assert "summary" not in edited
    renamed = await owner.call("PATCH", f"/api/threads/{thread_id}", {"title": "Monday"})
    assert "summary" not in renamed and renamed["title"] == "Monday"
    [post] = await pupil.call("GET", f"/api/threads/{thread_id}/posts")
    assert "summary" not in post
