"""Redis is a convenience, never a single point of failure: with it gone, each node serves its
clients and the tail check carries events between nodes; back empty, everything heals."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable
from typing import Any

from server.cluster.bus import redis_client
from server.cluster.presence import SharedPresence
from tests.cluster.harness import Cluster, Node, Visitor, ack
from tests.cluster.test_live import online, record, room_with_pupil, seqs
from tests.redis_server import RedisServer

People = Callable[..., Awaitable[Visitor]]
Start = Callable[..., Awaitable[Cluster]]


async def health(node: Node, status: str) -> dict[str, Any]:
    async def poll() -> dict[str, Any]:
        while True:
            answer = await asyncio.to_thread(node.healthz)
            if answer is not None and answer["status"] == status:
                return answer
            await asyncio.sleep(0.2)

    return await asyncio.wait_for(poll(), 20)


async def test_a_redis_outage_and_an_empty_restart_lose_and_repeat_nothing(
    start_cluster: Start, people: People
) -> None:
    cluster, teacher, pupil, room_id = await room_with_pupil(start_cluster, people)
    on_a, on_b = await pupil.connect(), await teacher.connect()
    inbox_a, inbox_b = record(on_a), record(on_b)
    assert (await ack(on_a, "room:join", {"room_id": room_id}))["ok"]
    assert (await ack(on_b, "room:join", {"room_id": room_id}))["ok"]
    await inbox_a.wait_for(online(inbox_a, pupil.id, teacher.id))
    acked: list[int] = []

    async def send(count: int, pause: float = 0.0) -> None:
        for _ in range(count):
            i = len(acked)
            reply = await ack(
                on_a if i % 2 else on_b, "chat:send", {"room_id": room_id, "body": f"m{i}"}
            )
            assert reply["ok"], reply
            acked.append(reply["post"]["room_seq"])
            await asyncio.sleep(pause)

    await send(4)
    cluster.redis.stop()
    await health(cluster.a, "degraded")
    assert await asyncio.to_thread(cluster.a.healthz) == {"status": "degraded", "redis": "down"}
    await send(16, pause=0.5)  # about 10 s without Redis, posts on both nodes
    before_restart = len(inbox_a.named("presence")), len(inbox_b.named("presence"))
    cluster.redis.start()  # empty: no presence, no buckets, nobody subscribed
    await health(cluster.a, "ok")
    await health(cluster.b, "ok")
    await send(4)
    last = max(acked)
    for inbox in (inbox_a, inbox_b):
        await inbox.wait_for(lambda e, d: e == "post:new" and d.get("room_seq") == last, within=10)
        got = seqs(inbox, room_id)
        assert got == list(range(got[0], got[0] + len(got))), got  # once each, in order
        delivered = [d["room_seq"] for e, d in inbox.items if e == "post:new"]
        assert delivered == sorted(acked)
    # Presence is whole again after the restart: each side sees both again, pushed anew.
    for inbox, count in zip((inbox_a, inbox_b), before_restart, strict=True):

        async def fresh_union(inbox: Any = inbox, count: int = count) -> None:
            while True:
                recent = inbox.named("presence")[count:]
                if recent and {u["id"] for u in recent[-1]["users"]} == {pupil.id, teacher.id}:
                    return
                await asyncio.sleep(0.1)

        await asyncio.wait_for(fresh_union(), 15)


async def test_a_frozen_redis_degrades_health_and_events_still_cross_nodes(
    start_cluster: Start, people: People
) -> None:
    cluster, teacher, pupil, room_id = await room_with_pupil(start_cluster, people)
    on_a, on_b = await pupil.connect(), await teacher.connect()
    inbox_a = record(on_a)
    assert (await ack(on_a, "room:join", {"room_id": room_id}))["ok"]
    assert (await ack(on_b, "room:join", {"room_id": room_id}))["ok"]
    await inbox_a.wait_for(online(inbox_a, pupil.id, teacher.id))
    assert cluster.redis.process is not None
    cluster.redis.process.send_signal(signal.SIGSTOP)  # up, but answering nothing
    try:
        await health(cluster.a, "degraded")
        # Written on B, acked there, and carried to A by the tail check.
        reply = await ack(on_b, "chat:send", {"room_id": room_id, "body": "frozen"})
        assert reply["ok"], reply
        await inbox_a.wait_for(lambda e, d: e == "post:new" and "frozen" in str(d), within=15)
        assert "twinrooms_ratelimit_local_total 0.0" not in await cluster.metrics(cluster.b)
    finally:
        cluster.redis.process.send_signal(signal.SIGCONT)
    await health(cluster.a, "ok")


async def test_a_heartbeat_shows_that_redis_lost_the_previous_one(redis: RedisServer) -> None:
    # A Redis restarted empty between two rounds (an outage shorter than a round) is seen only
    # through this: the node then judges no other node on that round.
    client = redis_client(redis.url)
    try:
        a, b = SharedPresence(client, "node-a"), SharedPresence(client, "node-b")
        assert not (await a.heartbeat()).continuous  # nothing before the first
        await b.heartbeat()
        beat = await a.heartbeat()
        assert beat.continuous and beat.alive == ["node-a", "node-b"]
        await client.flushall()
        beat = await a.heartbeat()
        assert not beat.continuous and beat.alive == ["node-a"]
        assert (await a.heartbeat()).continuous
    finally:
        await client.aclose()
