"""Live chat and forum events: delivery, order, resume with `since`, limits, outsiders."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from rooms.ratelimit import Rate
from server.app import create_app
from server.config import Settings
from tests.conftest import Person, join_as_pupil
from tests.realtime.inbox import Inbox

People = Callable[..., Awaitable[Person]]
Room = dict[str, Any]
pytestmark = pytest.mark.timeout(60)


async def joined(person: Person, room_id: str, *events: str) -> tuple[Any, Inbox, dict[str, Any]]:
    sio = await person.connect()
    inbox = Inbox(sio, *events)
    ack = await sio.call("room:join", {"room_id": room_id})
    assert ack["ok"], ack
    return sio, inbox, ack


async def test_a_chat_message_reaches_members_live_and_not_outsiders(
    people: People, room: Room
) -> None:
    owner: Person = room["_owner"]
    pupil = await join_as_pupil(people, owner, room["id"])
    outsider = await people("outsider")
    outsider_room = await outsider.call("POST", "/api/rooms", {"name": "Elsewhere"}, status=201)
    sender, _, _ = await joined(owner, room["id"])
    _, inbox, _ = await joined(pupil, room["id"], "post:new")
    _, outside, _ = await joined(outsider, outsider_room["id"], "post:new")
    ack = await sender.call("chat:send", {"room_id": room["id"], "body": "Bonjour *tout le monde*"})
    assert ack["ok"] and ack["post"]["html"] == "<p>Bonjour <em>tout le monde</em></p>\n"
    delivered = await inbox.wait_for(lambda _, d: d["id"] == ack["post"]["id"])
    assert delivered["room_seq"] == delivered["seq"] == ack["post"]["seq"]
    assert delivered["author"] == {"id": owner.id, "display_name": "Owner", "country": "FR"}
    await asyncio.sleep(0.3)
    assert outside.items == []
    # acknowledged means committed: the post is there for anyone who reads now
    [chat] = [
        t
        for t in await pupil.call("GET", f"/api/rooms/{room['id']}/threads")
        if t["kind"] == "chat"
    ]
    assert [p["id"] for p in await pupil.call("GET", f"/api/threads/{chat['id']}/posts")] == [
        ack["post"]["id"]
    ]


async def test_a_hundred_rapid_messages_arrive_in_the_order_sent(
    people: People, room: Room
) -> None:
    owner: Person = room["_owner"]
    pupil = await join_as_pupil(people, owner, room["id"])
    sender, _, _ = await joined(owner, room["id"])
    _, inbox, _ = await joined(pupil, room["id"], "post:new")
    acks: list[Any] = []
    for i in range(100):  # fire without waiting: the server must keep one client's order
        await sender.emit(
            "chat:send", {"room_id": room["id"], "body": f"m{i}"}, callback=acks.append
        )
    await inbox.wait_for(lambda _, d: d["body"] == "m99", within=20)
    received = inbox.named("post:new")
    assert [d["body"] for d in received] == [f"m{i}" for i in range(100)]
    seqs = [d["seq"] for d in received]
    assert seqs == sorted(seqs) and len(set(seqs)) == 100


async def test_resume_after_a_disconnect_loses_nothing(people: People, room: Room) -> None:
    owner: Person = room["_owner"]
    pupil = await join_as_pupil(people, owner, room["id"])
    sender, _, _ = await joined(owner, room["id"])
    listener, inbox, first = await joined(pupil, room["id"], "post:new")
    await sender.call("chat:send", {"room_id": room["id"], "body": "before"})
    before = await inbox.wait_for(lambda _, d: d["body"] == "before")
    await listener.disconnect()
    for body in ("while away 1", "while away 2"):
        assert (await sender.call("chat:send", {"room_id": room["id"], "body": body}))["ok"]
    thread = await owner.call(
        "POST", f"/api/rooms/{room['id']}/threads", {"title": "New", "body": "topic"}, status=201
    )
    again = await pupil.connect()
    resumed = await again.call("room:join", {"room_id": room["id"], "since": before["room_seq"]})
    missed = [
        (m["event"], m["data"].get("body") or m["data"].get("title")) for m in resumed["missed"]
    ]
    assert missed == [
        ("post:new", "while away 1"),
        ("post:new", "while away 2"),
        ("thread:new", "New"),
        ("post:new", "topic"),
    ]
    assert resumed["seq"] == thread["last_seq"] > first["seq"]


async def test_a_forum_post_over_http_is_delivered_live(people: People, room: Room) -> None:
    owner: Person = room["_owner"]
    pupil = await join_as_pupil(people, owner, room["id"])
    _, inbox, _ = await joined(
        pupil, room["id"], "thread:new", "post:new", "post:edit", "post:delete"
    )
    thread = await owner.call(
        "POST", f"/api/rooms/{room['id']}/threads", {"title": "Maps", "body": "first"}, status=201
    )
    post = await owner.call(
        "POST", f"/api/threads/{thread['id']}/posts", {"body": "second"}, status=201
    )
    await owner.call("PATCH", f"/api/posts/{post['id']}", {"body": "second, edited"})
    await owner.call("DELETE", f"/api/posts/{post['id']}", status=204)
    deleted = await inbox.wait_for(lambda name, _: name == "post:delete")
    assert deleted == {
        "id": post["id"],
        "room_id": room["id"],
        "thread_id": thread["id"],
        "seq": post["seq"],
        "room_seq": deleted["room_seq"],
    }
    assert [name for name, _ in inbox.items] == [
        "thread:new",
        "post:new",
        "post:new",
        "post:edit",
        "post:delete",
    ]
    room_seqs = [data["room_seq"] for _, data in inbox.items]
    assert room_seqs == sorted(room_seqs)


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        (None, "invalid"),
        ({"room_id": "x"}, "invalid"),
        ({"room_id": "x", "body": ""}, "invalid"),
        ({"room_id": "x", "body": 5}, "invalid"),
        ({"room_id": "nowhere", "body": "hi"}, "not_found"),
    ],
)
async def test_bad_chat_messages_get_an_error_ack(room: Room, payload: Any, code: str) -> None:
    owner: Person = room["_owner"]
    sio = await owner.connect()
    ack = await sio.call("chat:send", payload)
    assert ack["ok"] is False and ack["error"]["code"] == code


async def test_a_chat_message_over_four_thousand_characters_is_refused(room: Room) -> None:
    owner: Person = room["_owner"]
    sio = await owner.connect()
    ack = await sio.call("chat:send", {"room_id": room["id"], "body": "x" * 4001})
    assert ack["error"]["code"] == "invalid" and "body" in ack["error"]["message"]
    assert (await sio.call("chat:send", {"room_id": room["id"], "body": "x" * 4000}))["ok"]


async def test_teachers_only_chat_and_guests_cannot_chat(people: People, room: Room) -> None:
    owner: Person = room["_owner"]
    pupil = await join_as_pupil(people, owner, room["id"])
    sio = await pupil.connect()
    await owner.call("PUT", f"/api/rooms/{room['id']}/chat_mode", {"mode": "teachers"})
    ack = await sio.call("chat:send", {"room_id": room["id"], "body": "can I?"})
    assert ack["error"]["code"] == "forbidden"
    await owner.call("PATCH", f"/api/rooms/{room['id']}/members/{pupil.id}", {"role": "guest"})
    await owner.call("PUT", f"/api/rooms/{room['id']}/chat_mode", {"mode": "everyone"})
    assert (await sio.call("chat:send", {"room_id": room["id"], "body": "now?"}))["error"][
        "code"
    ] == "forbidden"


async def test_a_pupil_may_burst_twenty_messages_then_is_told_when_to_retry(
    settings: Settings, people: People
) -> None:
    strict = replace(settings, rate_chat=Rate(20, 10))
    server = TestServer(create_app(strict), host="127.0.0.1")
    await server.start_server()
    try:
        from aiohttp.test_utils import TestClient

        client = TestClient(server)
        await client.start_server()
        owner = Person(client, server)
        owner.user = await owner.call(
            "POST",
            "/api/auth/signup",
            {
                "username": "strict",
                "password": "correct horse",
                "display_name": "S",
                "country": "DE",
            },
            status=201,
        )
        room = await owner.call("POST", "/api/rooms", {"name": "R"}, status=201)
        invite = await owner.call(
            "POST", f"/api/rooms/{room['id']}/invites", {"role": "member"}, status=201
        )
        pupil = Person(TestClient(server), server)
        await pupil.client.start_server()
        await pupil.call(
            "POST",
            "/api/join",
            {"code": invite["code"], "username": "kid", "password": "pupil password"},
        )
        sio = await pupil.connect()
        acks = [
            await sio.call("chat:send", {"room_id": room["id"], "body": f"m{i}"}) for i in range(21)
        ]
        assert all(a["ok"] for a in acks[:20])
        assert acks[20]["error"]["code"] == "rate_limited" and acks[20]["error"]["retry_after"] >= 1
        await sio.disconnect()
        assert pupil.http is not None
        await pupil.http.close()
        await pupil.client.session.close()
        await client.session.close()
    finally:
        await server.close()
