"""Two nodes behind nginx serve one room as one server: presence, chat, removals and logouts
reach sockets on the other node, in order and without holes."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

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
    cluster = await start(**settings)
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
    sent = []
    for i in range(10):
        sio = on_a if i % 2 else on_b
        reply = await ack(sio, "chat:send", {"room_id": room_id, "body": f"message {i}"})
        assert reply["ok"], reply
        sent.append(reply["post"]["room_seq"] if "room_seq" in reply["post"] else None)
    for inbox in (inbox_a, inbox_b):
        await inbox.wait_for(
            lambda e, d: (
                e == "post:new"
                and d.get("post", d).get("body_text", "") == "message 9"
                or (e == "post:new" and "message 9" in str(d))
            )
        )
        got = seqs(inbox, room_id)
        assert got == list(range(got[0], got[0] + len(got))), got  # strictly increasing, no hole
        bodies = [str(d) for e, d in inbox.items if e == "post:new"]
        assert len(bodies) == 10 and all(f"message {i}" in bodies[i] for i in range(10))
