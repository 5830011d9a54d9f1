"""Live sessions over HTTP: scheduling, the upcoming list, start, end with a summary, cancel."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.conftest import Person, assert_unknown_as_made_up, join_as_pupil

People = Callable[..., Awaitable[Person]]
Room = dict[str, Any]
pytestmark = [pytest.mark.timeout(60), pytest.mark.both_engines]


def later(hours: float) -> str:
    return (datetime.now(UTC) + timedelta(hours=hours)).isoformat().replace("+00:00", "Z")


async def schedule(owner: Person, room_id: str, hours: float, title: str = "Rivers") -> Any:
    body = {"title": title, "scheduled_at": later(hours)}
    return await owner.call("POST", f"/api/rooms/{room_id}/sessions", body, status=201)


async def test_teachers_schedule_and_members_see_upcoming_sessions_in_order(
    room: Room, people: People
) -> None:
    owner: Person = room["_owner"]
    second = await schedule(owner, room["id"], 48, "  Second   meeting ")
    first = await schedule(owner, room["id"], 2)
    assert second["title"] == "Second meeting" and second["status"] == "scheduled"
    assert second["scheduled_at"].endswith("Z") and second["started_at"] is None

    pupil = await join_as_pupil(people, owner, room["id"], "zofia")
    listed = await pupil.call("GET", f"/api/rooms/{room['id']}/sessions")
    assert [s["id"] for s in listed] == [first["id"], second["id"]]
    got = await pupil.call("GET", f"/api/sessions/{first['id']}")
    assert got["attendance"] == [] and got["room_id"] == room["id"]

    refused = await pupil.call(
        "POST", f"/api/rooms/{room['id']}/sessions", {"title": "Mine"}, status=403
    )
    assert refused["error"]["code"] == "forbidden"
    await pupil.call("POST", f"/api/sessions/{first['id']}/start", status=403)
    await pupil.call("DELETE", f"/api/sessions/{first['id']}", status=403)


async def test_bad_schedules_are_refused_with_the_field_named(room: Room) -> None:
    owner: Person = room["_owner"]
    path = f"/api/rooms/{room['id']}/sessions"
    for body, field in (
        ({"scheduled_at": later(-1)}, "scheduled_at"),
        ({"scheduled_at": "tomorrow"}, "scheduled_at"),
        ({"scheduled_at": "2030-01-01T09:00:00"}, "scheduled_at"),  # no zone: ambiguous
        ({"title": 7}, "title"),
        ({"title": "x" * 121}, "title"),
    ):
        error = (await owner.call("POST", path, body, status=400))["error"]
        assert error["code"] == "invalid" and error["message"].startswith(field), body


async def test_start_end_and_cancel_follow_the_session_lifecycle(room: Room) -> None:
    owner: Person = room["_owner"]
    planned = await schedule(owner, room["id"], 1)
    other = await schedule(owner, room["id"], 3)

    live = await owner.call("POST", f"/api/sessions/{planned['id']}/start")
    assert live["status"] == "live" and live["started_at"] is not None
    clash = await owner.call("POST", f"/api/sessions/{other['id']}/start", status=409)
    assert clash["error"]["code"] == "conflict"
    await owner.call("DELETE", f"/api/sessions/{planned['id']}", status=409)

    ended = await owner.call("POST", f"/api/sessions/{planned['id']}/end")
    assert ended["status"] == "ended" and ended["summary_thread_id"]
    await owner.call("POST", f"/api/sessions/{planned['id']}/end", status=409)
    threads = await owner.call("GET", f"/api/rooms/{room['id']}/threads")
    summary = next(t for t in threads if t["id"] == ended["summary_thread_id"])
    assert summary["title"].startswith("Session summary: Rivers")
    [post] = await owner.call("GET", f"/api/threads/{summary['id']}/posts")
    assert "### Participants (0)" in post["body"] and "- nobody joined" in post["body"]

    await owner.call("DELETE", f"/api/sessions/{other['id']}", status=204)
    assert await owner.call("GET", f"/api/rooms/{room['id']}/sessions") == []
    await owner.call("GET", f"/api/sessions/{other['id']}", status=404)


async def test_room_lists_say_which_rooms_are_live_now(room: Room, people: People) -> None:
    owner: Person = room["_owner"]
    pupil = await join_as_pupil(people, owner, room["id"], "zofia")
    other = await owner.call("POST", "/api/rooms", {"name": "Quiet room"}, status=201)

    async def live_rooms(person: Person) -> tuple[list[str], list[str]]:
        listed = await person.call("GET", "/api/rooms")
        me = await person.call("GET", "/api/me")
        return [r["id"] for r in listed if r["live"]], [r["id"] for r in me["rooms"] if r["live"]]

    assert await live_rooms(owner) == ([], [])
    planned = await schedule(owner, room["id"], 1)
    assert await live_rooms(pupil) == ([], [])  # planned is not live
    await owner.call("POST", f"/api/sessions/{planned['id']}/start")
    assert await live_rooms(pupil) == ([room["id"]], [room["id"]])
    assert await live_rooms(owner) == ([room["id"]], [room["id"]])
    assert other["id"] not in (await live_rooms(owner))[0]
    await owner.call("POST", f"/api/sessions/{planned['id']}/end")
    assert await live_rooms(pupil) == ([], [])


async def test_outsiders_learn_nothing_about_a_rooms_sessions(room: Room, people: People) -> None:
    owner: Person = room["_owner"]
    planned = await schedule(owner, room["id"], 1)
    stranger = await people("stranger")
    await stranger.call("GET", f"/api/rooms/{room['id']}/sessions", status=404)
    await stranger.call("GET", f"/api/sessions/{planned['id']}", status=404)
    await stranger.call("POST", f"/api/sessions/{planned['id']}/start", status=404)
    await stranger.call("POST", f"/api/sessions/{planned['id']}/end", status=404)
    anonymous = await people(signup=False)
    await anonymous.call("GET", f"/api/rooms/{room['id']}/sessions", status=401)


async def test_another_rooms_session_gets_the_answer_of_a_made_up_id(
    room: Room, people: People
) -> None:
    owner: Person = room["_owner"]
    planned = await schedule(owner, room["id"], 1)
    live = await owner.call("POST", f"/api/rooms/{room['id']}/sessions", {}, status=201)
    await owner.call("POST", f"/api/sessions/{live['id']}/start")
    teacher = await people("elsewhere")
    await teacher.call("POST", "/api/rooms", {"name": "Other"}, status=201)
    routes = [("GET", ""), ("POST", "/start"), ("POST", "/end"), ("DELETE", "")]
    ids = [planned["id"], live["id"]]
    await assert_unknown_as_made_up(teacher, "/api/sessions", ids, routes, "No such session.")


async def test_media_end_names_a_session_of_the_room_it_is_sent_for(
    room: Room, people: People
) -> None:
    owner: Person = room["_owner"]
    live = await owner.call("POST", f"/api/rooms/{room['id']}/sessions", {}, status=201)
    await owner.call("POST", f"/api/sessions/{live['id']}/start")
    theirs = await owner.call("POST", "/api/rooms", {"name": "Owner's second"}, status=201)
    stranger = await people("elsewhere")
    mine = await stranger.call("POST", "/api/rooms", {"name": "Other"}, status=201)
    expected = {
        "code": "not_found",
        "message": "No such session.",
        "reason": "not_found",
        "params": {"kind": "session"},
    }
    for person, room_id in ((stranger, mine["id"]), (owner, theirs["id"])):
        sio = await person.connect()
        for session_id in (live["id"], "nosuchsession"):
            ack = await sio.call(
                "media:end", {"room_id": room_id, "session_id": session_id}, timeout=10
            )
            assert ack == {"ok": False, "error": expected}, (person.id, session_id)
    got = await owner.call("GET", f"/api/sessions/{live['id']}")
    assert got["status"] == "live"


async def test_session_titles_lose_control_and_direction_characters(room: Room) -> None:
    owner: Person = room["_owner"]
    planned = await schedule(owner, room["id"], 2, "\u202eRivers\u0000 \u2066and seas\u2069")
    assert planned["title"] == "Rivers and seas"
    empty = await schedule(owner, room["id"], 3, "\u202e\u0000")
    assert empty["title"] == "Live session"


async def test_a_teacher_joining_the_call_starts_the_session_planned_around_now(
    room: Room,
) -> None:
    owner: Person = room["_owner"]
    far = await schedule(owner, room["id"], 5)
    near = await schedule(owner, room["id"], 0.25, "Now-ish")
    sio = await owner.connect()
    joined = await sio.call("media:join", {"room_id": room["id"]}, timeout=10)
    assert joined["ok"] and joined["session"]["id"] == near["id"]
    assert joined["session"]["status"] == "live"
    listed = await owner.call("GET", f"/api/rooms/{room['id']}/sessions")
    assert [(s["id"], s["status"]) for s in listed] == [
        (near["id"], "live"),
        (far["id"], "scheduled"),
    ]


async def test_two_teachers_joining_at_once_share_one_session(room: Room, people: People) -> None:
    owner: Person = room["_owner"]
    invite = await owner.call(
        "POST", f"/api/rooms/{room['id']}/invites", {"role": "teacher"}, status=201
    )
    partner = await people("partner", country="PL")
    await partner.call("POST", "/api/join", {"code": invite["code"]})
    sockets = [await owner.connect(), await partner.connect()]
    acks = await asyncio.gather(
        *(sio.call("media:join", {"room_id": room["id"]}, timeout=10) for sio in sockets)
    )
    assert all(ack["ok"] for ack in acks), acks
    assert acks[0]["session"]["id"] == acks[1]["session"]["id"]
    listed = await owner.call("GET", f"/api/rooms/{room['id']}/sessions")
    assert [s["status"] for s in listed] == ["live"]
