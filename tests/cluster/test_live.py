"""Two nodes behind nginx serve one room as one server: presence, chat, removals and logouts
reach sockets on the other node, in order and without holes."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import socketio

from tests.cluster.harness import Cluster, Visitor, ack, pupil_in
from tests.realtime.inbox import Inbox

People = Callable[..., Awaitable[Visitor]]
Start = Callable[..., Awaitable[Cluster]]


def record(sio: socketio.AsyncClient) -> Inbox:
    """Every event the socket receives, in order."""
    inbox = Inbox(sio)

    async def anything(event: str, data: Any = None) -> None:
        inbox.add(event, data)

    sio.on("*", anything)
    return inbox


def seqs(inbox: Inbox, room_id: str) -> list[int]:
    return [
        data["room_seq"]
        for _, data in inbox.items
        if isinstance(data, dict) and data.get("room_id") == room_id and "room_seq" in data
    ]


def online(inbox: Inbox, *user_ids: str) -> Callable[[str, Any], bool]:
    def check(event: str, data: Any) -> bool:
        return event == "presence" and {u["id"] for u in data["users"]} >= set(user_ids)

    return check


async def room_with_pupil(
    start: Start, people: People, **settings: str
) -> tuple[Cluster, Visitor, Visitor, str]:
    # Sessions are checked rarely: a socket closed at logout is closed by the bus, not a sweep.
    cluster = await start(**{"session_check_seconds": "600", **settings})
    teacher = await people(cluster.url("b"))
    room = await teacher.call("POST", "/api/rooms", {"name": "Rivers"}, status=201)
    pupil = await pupil_in(people, teacher, room["id"], cluster.url("a"))
    return cluster, teacher, pupil, room["id"]


async def test_presence_and_chat_cross_nodes_in_order_without_holes(
    start_cluster: Start, people: People
) -> None:
    _, teacher, pupil, room_id = await room_with_pupil(start_cluster, people)
    on_a, on_b = await pupil.connect(), await teacher.connect()
    inbox_a, inbox_b = record(on_a), record(on_b)
    assert (await ack(on_a, "room:join", {"room_id": room_id}))["ok"]
    assert (await ack(on_b, "room:join", {"room_id": room_id}))["ok"]
    await inbox_a.wait_for(online(inbox_a, pupil.id, teacher.id))
    await inbox_b.wait_for(online(inbox_b, pupil.id, teacher.id))
    for i in range(10):
        sio = on_a if i % 2 else on_b
        reply = await ack(sio, "chat:send", {"room_id": room_id, "body": f"message {i}"})
        assert reply["ok"], reply
    for inbox in (inbox_a, inbox_b):
        await inbox.wait_for(lambda e, d: e == "post:new" and "message 9" in str(d))
        assert_in_order_without_holes(inbox, room_id)
        bodies = [str(d) for e, d in inbox.items if e == "post:new"]
        assert len(bodies) == 10 and all(f"message {i}" in bodies[i] for i in range(10))


def assert_in_order_without_holes(inbox: Inbox, room_id: str) -> None:
    got = seqs(inbox, room_id)
    assert got == list(range(got[0], got[0] + len(got))), got


async def test_a_removal_on_b_reaches_the_pupil_on_a_first_and_last(
    start_cluster: Start, people: People
) -> None:
    cluster, teacher, pupil, room_id = await room_with_pupil(start_cluster, people)
    on_a, on_b = await pupil.connect(), await teacher.connect()
    witness = await teacher.connect(cluster.url("a"))  # the teacher's second tab, on node A
    inbox_a, inbox_w = record(on_a), record(witness)
    for sio in (on_a, on_b, witness):
        assert (await ack(sio, "room:join", {"room_id": room_id}))["ok"]
    await inbox_a.wait_for(online(inbox_a, pupil.id, teacher.id))
    await teacher.call("DELETE", f"/api/rooms/{room_id}/members/{pupil.id}", status=204)
    notice = await inbox_a.wait_for(lambda e, d: e == "moderation", within=5)
    assert notice["action"] == "remove" and notice["user_id"] == pupil.id
    heard = len(inbox_a.items)
    # The room goes on talking; the teacher's socket on node A hears it, the pupil's does not.
    assert (await ack(on_b, "chat:send", {"room_id": room_id, "body": "after"}))["ok"]
    await inbox_w.wait_for(lambda e, d: e == "post:new" and "after" in str(d))
    later = [e for e, d in inbox_a.items[heard:] if isinstance(d, dict) and d.get("room_id")]
    assert later == []
    again = await ack(on_a, "room:join", {"room_id": room_id})
    assert again["ok"] is False and again["error"]["code"] == "not_found"


async def test_a_logout_on_b_closes_the_sessions_socket_on_a(
    start_cluster: Start, people: People
) -> None:
    cluster, _, pupil, _ = await room_with_pupil(start_cluster, people)
    on_a = await pupil.connect()
    closed = asyncio.Event()
    on_a.on("disconnect", closed.set)
    await pupil.call("POST", "/api/auth/logout", status=204, base=cluster.url("b"))
    await asyncio.wait_for(closed.wait(), 5)  # the session sweep would take 600 s here


async def test_reports_and_room_deletion_reach_the_other_node_and_polling_is_off(
    start_cluster: Start, people: People
) -> None:
    cluster, teacher, pupil, room_id = await room_with_pupil(start_cluster, people)
    on_a, on_b = await pupil.connect(), await teacher.connect()
    inbox_a, inbox_b = record(on_a), record(on_b)
    for sio in (on_a, on_b):
        assert (await ack(sio, "room:join", {"room_id": room_id}))["ok"]
    post = (await ack(on_b, "chat:send", {"room_id": room_id, "body": "report me"}))["post"]
    # A pupil's report on node A reaches the teacher on node B (and never a pupil).
    await pupil.call("POST", f"/api/posts/{post['id']}/report", {"reason": "spam"}, status=201)
    await inbox_b.wait_for(lambda e, d: e == "report:new")
    # The teacher deletes the room on node B: the pupil's socket on node A is told.
    await teacher.call("DELETE", f"/api/rooms/{room_id}", status=204)
    await inbox_a.wait_for(lambda e, d: e == "room:delete" and d["id"] == room_id)
    assert inbox_a.named("report:new") == []
    # Long-polling would need a client's requests on one node: a cluster refuses it.
    async with aiohttp.ClientSession() as http:
        url = cluster.url() + "/socket.io/?EIO=4&transport=polling"
        async with http.get(url) as answer:
            assert answer.status == 400
