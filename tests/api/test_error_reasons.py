"""Errors are data: every error carries a `reason` and `params` a client words in its own
language, beside the contract's `code` and English `message`, over HTTP and in socket acks."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from tests.conftest import Person, join_as_pupil

People = Callable[..., Awaitable[Person]]
Room = dict[str, Any]


async def test_an_invalid_username_names_its_field_rule_and_limits(people: People) -> None:
    visitor = await people(signup=False)
    body = await visitor.call(
        "POST",
        "/api/auth/signup",
        {"username": "x", "password": "correct horse", "display_name": "X", "country": "DE"},
        status=400,
    )
    error = body["error"]
    assert error["code"] == "invalid" and error["message"].startswith("username: 3-32")
    assert error["reason"] == "invalid"
    assert error["params"] == {"field": "username", "rule": "username", "min": 3, "max": 32}


async def test_a_missing_or_mistyped_field_is_named(people: People) -> None:
    teacher = await people()
    missing = await teacher.call("POST", "/api/rooms", {}, status=400)
    assert missing["error"]["params"] == {"field": "name", "rule": "required"}
    typed = await teacher.call("POST", "/api/rooms", {"name": 5}, status=400)
    assert typed["error"]["params"] == {"field": "name", "rule": "format"}
    long = await teacher.call("POST", "/api/rooms", {"name": "R", "description": "d" * 4001}, 400)
    assert long["error"]["params"] == {"field": "description", "rule": "max_length", "max": 4000}


async def test_a_muted_pupil_is_told_when_the_mute_ends(people: People, room: Room) -> None:
    owner: Person = room["_owner"]
    pupil = await join_as_pupil(people, owner, room["id"])
    event = await owner.call("PUT", f"/api/rooms/{room['id']}/mutes/{pupil.id}", {"minutes": 30})
    threads = await pupil.call("GET", f"/api/rooms/{room['id']}/threads")
    chat = next(t for t in threads if t["kind"] == "chat")

    body = await pupil.call(
        "POST", f"/api/threads/{chat['id']}/posts", {"body": "hello"}, status=403
    )
    error = body["error"]
    assert error["code"] == "forbidden" and "muted" in error["message"]
    assert error["reason"] == "muted"
    assert error["params"]["until"] == event["until"]
    assert error["params"]["minutes"] == 30
    assert datetime.fromisoformat(error["params"]["until"]) > datetime.now(UTC)

    sio = await pupil.connect()
    ack = await sio.call("chat:send", {"room_id": room["id"], "body": "hi"}, timeout=10)
    assert ack["ok"] is False
    assert ack["error"]["code"] == "forbidden"
    assert ack["error"]["reason"] == "muted"
    assert ack["error"]["params"]["until"] == event["until"]


async def test_other_refusals_say_which_rule(people: People, room: Room) -> None:
    owner: Person = room["_owner"]
    pupil = await join_as_pupil(people, owner, room["id"])
    founding = await pupil.call("POST", "/api/rooms", {"name": "Mine"}, status=403)
    assert founding["error"]["reason"] == "pupil_room"
    await owner.call("PUT", f"/api/rooms/{room['id']}/chat_mode", {"mode": "teachers"})
    sio = await pupil.connect()
    ack = await sio.call("chat:send", {"room_id": room["id"], "body": "hi"}, timeout=10)
    assert ack["error"]["reason"] == "chat_teachers_only" and ack["error"]["params"] == {}
    missing = await owner.call("GET", "/api/threads/nosuchthread", status=404)
    assert missing["error"]["params"] == {"kind": "thread"}
