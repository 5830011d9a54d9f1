"""Limits per user: how many sockets one user may hold open at once (and why a connection is
refused), the rate of every client event by class, and presence broadcasts only on change."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

import aiohttp
import pytest
import socketio
from aiohttp.test_utils import TestServer

from server.config import Settings
from server.session import COOKIE
from tests.conftest import Person, join_as_pupil
from tests.realtime.inbox import Inbox

People = Callable[..., Awaitable[Person]]
Room = dict[str, Any]
pytestmark = pytest.mark.timeout(30)
DEFAULT_CAP = 10  # MAX_SOCKETS_PER_USER


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The event buckets as shipped (other suites scale them up)."""
    return replace(settings, rate_events=1)


async def refusal(server: TestServer, **kwargs: Any) -> Any:
    """The `connect_error` of a connection the server must refuse: `{message, data}`."""
    errors: list[Any] = []
    async with aiohttp.ClientSession() as session:
        sio = socketio.AsyncClient(reconnection=False, http_session=session)
        sio.on("connect_error", errors.append)
        with pytest.raises(socketio.exceptions.ConnectionError):
            await sio.connect(
                str(server.make_url("/")), transports=["websocket"], wait_timeout=5, **kwargs
            )
    assert len(errors) == 1, errors
    return errors[0]


async def test_a_user_holds_at_most_the_cap_of_sockets_and_the_next_is_refused(
    people: People, server: TestServer
) -> None:
    pupil, classmate = await people(), await people()
    for _ in range(DEFAULT_CAP):
        await pupil.connect()
    cookie = {"Cookie": f"{COOKIE}={pupil.session_token()}"}
    error = await refusal(server, headers=cookie)
    assert error["data"]["code"] == "too_many_connections" and "10" in error["message"]
    assert error["data"]["message"] == error["message"]
    token = (await pupil.call("POST", "/api/auth/token"))["token"]
    error = await refusal(server, auth={"token": token})
    assert error["data"]["code"] == "too_many_connections"
    assert all(sio.connected for sio in pupil.sockets)

    await classmate.connect()  # the cap is per user, not per node
    await pupil.sockets[0].disconnect()
    again = await pupil.connect()  # a closed socket frees its place
    assert again.connected


async def test_a_refused_connection_says_why_in_its_data(server: TestServer) -> None:
    error = await refusal(server)
    assert error == {
        "message": "Sign in first.",
        "data": {"code": "not_signed_in", "message": "Sign in first."},
    }


def limited(ack: dict[str, Any]) -> bool:
    """Whether an ack is the rate limit's answer (checking its shape on the way)."""
    if ack["ok"] or ack["error"]["code"] != "rate_limited":
        return False
    assert ack["error"]["retry_after"] >= 1 and ack["error"]["message"], ack
    return True


async def test_a_pupils_hands_are_limited_to_a_burst(people: People, room: Room) -> None:
    owner: Person = room["_owner"]
    pupil = await join_as_pupil(people, owner, room["id"])
    teacher, sio = await owner.connect(), await pupil.connect()
    for member in (teacher, sio):
        assert (await member.call("media:join", {"room_id": room["id"]}))["ok"]
    acks = [
        await sio.call("media:hand", {"room_id": room["id"], "raised": i % 2 == 0})
        for i in range(45)
    ]
    assert all(ack["ok"] for ack in acks[:15])  # a burst of 15 for a pupil
    assert sum(limited(ack) for ack in acks) >= 25  # refilled at one every two seconds


async def test_signalling_is_generous_but_joins_are_limited(people: People, room: Room) -> None:
    owner: Person = room["_owner"]
    pupil = await join_as_pupil(people, owner, room["id"])
    sio = await pupil.connect()
    for _ in range(100):  # far more than a join and its renegotiations exchange
        ack = await sio.call("media:answer", {"room_id": room["id"], "sdp": "v=0"})
        assert ack["error"]["code"] == "not_found"  # no seat: an answer, not a rate limit
    acks = [await sio.call("room:join", {"room_id": room["id"]}) for _ in range(45)]
    assert all(ack["ok"] for ack in acks[:30])
    assert sum(limited(ack) for ack in acks) >= 10
    other = await pupil.connect()  # the bucket is the user's, not the socket's
    assert limited(await other.call("room:join", {"room_id": room["id"]}))
    # Other classes keep their own buckets.
    ack = await other.call("chat:send", {"room_id": room["id"], "body": "still here"})
    assert ack["ok"], ack


async def test_presence_is_broadcast_only_when_it_changes(people: People, room: Room) -> None:
    owner: Person = room["_owner"]
    pupil = await join_as_pupil(people, owner, room["id"])
    watcher = await owner.connect()
    inbox = Inbox(watcher, "presence", "room:edit")
    await watcher.call("room:join", {"room_id": room["id"]})
    tab, other_tab = await pupil.connect(), await pupil.connect()
    for sio in (tab, tab, tab, other_tab, other_tab):  # re-joins and a second tab
        assert (await sio.call("room:join", {"room_id": room["id"]}))["ok"]
    # A room event after the joins: every presence they caused arrives before it.
    await owner.call("PATCH", f"/api/rooms/{room['id']}", {"name": "Marker"})
    await inbox.wait_for(lambda name, _: name == "room:edit")
    presences = inbox.named("presence")
    assert [sorted(u["id"] for u in p["users"]) for p in presences] == [
        [owner.id],
        sorted([owner.id, pupil.id]),
    ]


async def test_reactions_are_limited_per_user(people: People, room: Room) -> None:
    owner: Person = room["_owner"]
    pupil = await join_as_pupil(people, owner, room["id"])
    sio = await owner.connect()
    post = (await sio.call("chat:send", {"room_id": room["id"], "body": "React!"}))["post"]
    path = f"/api/posts/{post['id']}/reactions"
    statuses = []
    for i in range(40):
        response = await pupil.client.post(path, json={"emoji": "👍", "on": i % 2 == 0})
        statuses.append(response.status)
        if response.status == 429:
            assert int(response.headers["Retry-After"]) >= 1
            assert (await response.json())["error"]["code"] == "rate_limited"
    assert statuses[:20] == [200] * 20 and statuses.count(429) >= 15
