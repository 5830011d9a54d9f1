"""Socket.IO: authenticated connections, room:join, presence, removal and resume with `since`."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest
import socketio
from aiohttp.test_utils import TestServer

from rooms.events import MAX_MISSED
from server.keys import SERVICES
from tests.conftest import Person, join_as_pupil
from tests.realtime.inbox import Inbox

People = Callable[..., Awaitable[Person]]
Room = dict[str, Any]
pytestmark = pytest.mark.timeout(30)


async def refused(url: str, **kwargs: Any) -> None:
    """Assert the server refuses this connection (the client's HTTP session is closed after)."""
    async with aiohttp.ClientSession() as session:
        sio = socketio.AsyncClient(reconnection=False, http_session=session)
        with pytest.raises(socketio.exceptions.ConnectionError):
            await sio.connect(url, transports=["websocket"], wait_timeout=5, **kwargs)


async def test_an_anonymous_socket_is_refused(people: People, server: Any) -> None:
    await refused(str(server.make_url("/")))


async def test_an_expired_or_forged_token_is_refused_and_a_fresh_one_accepted(
    people: People, server: Any
) -> None:
    teacher = await people()
    token = (await teacher.call("POST", "/api/auth/token"))["token"]
    for bad in (token[:-2] + "xx", teacher.id + ".1.abc"):
        await refused(str(server.make_url("/")), auth={"token": bad})
    sio = socketio.AsyncClient(reconnection=False)
    await sio.connect(
        str(server.make_url("/")), transports=["websocket"], auth={"token": token}, wait_timeout=5
    )
    assert sio.connected
    await sio.disconnect()


async def test_a_socket_from_a_foreign_origin_is_refused(people: People, server: Any) -> None:
    teacher = await people()
    headers = {
        "Cookie": f"twinrooms_session={teacher.session_token()}",
        "Origin": "http://evil.test",
    }
    await refused(str(server.make_url("/")), headers=headers)


async def test_members_see_each_others_presence_and_tabs_count_once(
    people: People, room: Room
) -> None:
    owner: Person = room["_owner"]
    pupil = await join_as_pupil(people, owner, room["id"], "lena")
    owner_sio = await owner.connect()
    inbox = Inbox(owner_sio, "presence")
    ack = await owner_sio.call("room:join", {"room_id": room["id"]})
    assert ack["ok"] and ack["seq"] >= 1 and ack["missed"] == []
    assert [u["id"] for u in ack["presence"]["users"]] == [owner.id]
    for _ in range(2):  # two tabs
        tab = await pupil.connect()
        assert (await tab.call("room:join", {"room_id": room["id"]}))["ok"]
    presence = await inbox.wait_for(lambda _, d: len(d["users"]) == 2)
    users = {u["id"]: u for u in presence["users"]}
    assert users[pupil.id] == {
        **users[pupil.id],
        "role": "member",
        "display_name": "Lena",
        "country": "FR",
    }
    await pupil.sockets[0].disconnect()
    await pupil.sockets[1].disconnect()
    await inbox.wait_for(lambda _, d: [u["id"] for u in d["users"]] == [owner.id])


async def test_an_outsider_cannot_join_a_room_channel(people: People, room: Room) -> None:
    outsider = await people("outsider")
    sio = await outsider.connect()
    ack = await sio.call("room:join", {"room_id": room["id"]})
    assert ack == {
        "ok": False,
        "error": {
            "code": "not_found",
            "message": "No such room.",
            "reason": "not_found",
            "params": {"kind": "room"},
        },
    }


@pytest.mark.parametrize(
    "payload", [None, "room", {"room_id": 5}, {"room_id": "x", "since": -1}, {}]
)
async def test_bad_payloads_get_an_error_ack(room: Room, payload: Any) -> None:
    owner: Person = room["_owner"]
    sio = await owner.connect()
    ack = await sio.call("room:join", payload)
    assert ack["ok"] is False and ack["error"]["code"] == "invalid"


async def test_a_removed_member_is_told_and_hears_nothing_more(people: People, room: Room) -> None:
    owner: Person = room["_owner"]
    pupil = await join_as_pupil(people, owner, room["id"])
    other = await join_as_pupil(people, owner, room["id"])
    sio = await pupil.connect()
    inbox = Inbox(sio, "moderation", "member:new", "room:edit")
    await sio.call("room:join", {"room_id": room["id"]})
    await owner.call("DELETE", f"/api/rooms/{room['id']}/members/{pupil.id}", status=204)
    notice = await inbox.wait_for(lambda name, _: name == "moderation")
    assert notice == {
        "room_id": room["id"],
        "action": "remove",
        "user_id": pupil.id,
        "by": owner.id,
    }
    await owner.call("PATCH", f"/api/rooms/{room['id']}", {"name": "Secret plans"})
    observer = await other.connect()
    watch = Inbox(observer, "room:edit")
    await observer.call("room:join", {"room_id": room["id"]})
    await owner.call("PATCH", f"/api/rooms/{room['id']}", {"name": "More plans"})
    await watch.wait_for(lambda _, d: d["name"] == "More plans")
    assert [name for name, _ in inbox.items] == ["moderation"]
    ack = await sio.call("room:join", {"room_id": room["id"]})
    assert ack["error"]["code"] == "not_found"


async def test_join_with_since_returns_what_was_missed_in_order(people: People, room: Room) -> None:
    owner: Person = room["_owner"]
    sio = await owner.connect()
    first = await sio.call("room:join", {"room_id": room["id"]})
    for name in ("One", "Two", "Three"):
        await owner.call("PATCH", f"/api/rooms/{room['id']}", {"name": name})
    resumed = await sio.call("room:join", {"room_id": room["id"], "since": first["seq"]})
    assert [m["data"]["name"] for m in resumed["missed"]] == ["One", "Two", "Three"]
    assert [m["data"]["room_seq"] for m in resumed["missed"]] == [
        first["seq"] + i for i in (1, 2, 3)
    ]
    assert resumed["seq"] == first["seq"] + 3


async def test_a_long_absence_is_replayed_in_bounded_batches(
    people: People, room: Room, server: TestServer
) -> None:
    owner: Person = room["_owner"]
    sio = await owner.connect()
    first = await sio.call("room:join", {"room_id": room["id"]})
    assert first["missed"] == [] and first["has_more"] is False
    forum, user = server.app[SERVICES].forum, await server.app[SERVICES].accounts.user(owner.id)
    await asyncio.gather(*(forum.chat(user, room["id"], f"m{i}") for i in range(MAX_MISSED + 20)))

    batch = await sio.call("room:join", {"room_id": room["id"], "since": first["seq"]})
    assert len(batch["missed"]) == MAX_MISSED and batch["has_more"] is True
    last = batch["missed"][-1]["data"]["room_seq"]
    rest = await sio.call("room:join", {"room_id": room["id"], "since": last})
    assert len(rest["missed"]) == 20 and rest["has_more"] is False
    seqs = [m["data"]["room_seq"] for m in batch["missed"] + rest["missed"]]
    assert seqs == list(range(first["seq"] + 1, rest["seq"] + 1))


async def test_logout_closes_the_sessions_sockets(room: Room) -> None:
    owner: Person = room["_owner"]
    sio = await owner.connect()
    closed = asyncio.Event()
    sio.on("disconnect", closed.set)
    await owner.call("POST", "/api/auth/logout", status=204)
    await asyncio.wait_for(closed.wait(), 5)
