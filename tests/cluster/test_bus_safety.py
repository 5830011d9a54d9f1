"""Nobody who can reach Redis can act through the bus: forged, stale and replayed messages are
dropped before any effect, counted by reason, and the listener keeps running."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

import redis.asyncio

from server.cluster.bus import CHANNEL, bus_key, sign
from tests.cluster.harness import SECRET_KEY, Cluster, Node, Visitor, ack
from tests.cluster.test_live import online, record, room_with_pupil

People = Callable[..., Awaitable[Visitor]]
Start = Callable[..., Awaitable[Cluster]]
REASONS = ("unsigned", "bad_mac", "replayed", "stale", "not_json", "too_large", "unknown_type")


def counts(text: str) -> dict[str, float]:
    found = re.findall(r'twinrooms_bus_rejected_total\{reason="(\w+)"\} ([0-9.]+)', text)
    return {reason: float(value) for reason, value in found}


async def rejected(cluster: Cluster, node: Node) -> dict[str, float]:
    """The node's rejection counters once every forged message has been counted (bounded)."""

    async def poll() -> dict[str, float]:
        while True:
            seen = counts(await cluster.metrics(node))
            if all(seen.get(reason, 0) >= 1 for reason in REASONS):
                return seen
            await asyncio.sleep(0.1)

    return await asyncio.wait_for(poll(), 10)


async def test_forged_stale_and_replayed_messages_are_refused_and_counted(
    start_cluster: Start, people: People
) -> None:
    cluster, teacher, pupil, room_id = await room_with_pupil(start_cluster, people)
    client = redis.asyncio.from_url(cluster.redis.url, protocol=2)
    spy = client.pubsub()
    await spy.subscribe(CHANNEL)
    on_a, on_b = await pupil.connect(), await teacher.connect()
    inbox_a = record(on_a)
    assert (await ack(on_a, "room:join", {"room_id": room_id}))["ok"]
    assert (await ack(on_b, "room:join", {"room_id": room_id}))["ok"]
    await inbox_a.wait_for(online(inbox_a, pupil.id, teacher.id))
    captured: bytes | None = None
    while captured is None:  # a real message from node B, captured on the wire
        message = await asyncio.wait_for(spy.get_message(timeout=1), 5)
        if (
            message is not None
            and message["type"] == "message"
            and b'"node":"node-b"' in message["data"]
        ):
            captured = message["data"]
    forged: dict[str, Any] = {
        "v": 1,
        "node": "node-b",
        "boot": "forger",
        "n": 1,
        "ts": time.time(),
        "type": "emit",
        "body": {"event": "forged", "data": {"room_id": room_id}, "room": room_id},
    }
    key = bus_key(SECRET_KEY.encode())
    attempts = [
        json.dumps(forged).encode(),  # unsigned
        sign(b"not the cluster's key", {**forged, "n": 2}),  # bad MAC
        captured,  # a real message, replayed
        sign(key, {**forged, "n": 3, "ts": time.time() - 120}),  # stale
        b"\x80 not json",
        b"{" + b" " * 70_000 + b"}",  # over 64 KiB
        sign(key, {**forged, "n": 4, "type": "exec"}),  # unknown type
    ]
    for raw in attempts:
        await client.publish(CHANNEL, raw)
    for node in (cluster.a, cluster.b):
        seen = await rejected(cluster, node)
        assert {reason: seen[reason] for reason in REASONS} == dict.fromkeys(REASONS, 1.0)
    # The bus still works, and the pupil never received anything forged.
    assert (await ack(on_b, "chat:send", {"room_id": room_id, "body": "still here"}))["ok"]
    await inbox_a.wait_for(lambda e, d: e == "post:new" and "still here" in str(d))
    assert inbox_a.named("forged") == []
    await spy.aclose()
    await client.aclose()
