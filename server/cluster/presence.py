"""Who is online, over every node: each node's share in Redis, read back as a union.

Redis 7.0 has no per-field expiry, so each node keeps one hash per room, `tr:presence:<room>:<node>`
(user id → member JSON), with `EX 30`, and rewrites all of them every 10 s with its heartbeat in
the sorted set `tr:nodes`: a Redis restarted empty is whole again within one round, and a node
that died drops out within 30 s (its heartbeat is 20 s old, and the others' next round notices). The union counts each user once, this node's record first.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import redis.asyncio

NODES = "tr:nodes"
TTL = 30
ALIVE = 20  # a node whose heartbeat (every 10 s) is older is gone: one beat may be late
FORGET = 120  # a node silent this long leaves the heartbeat set altogether


@dataclass(frozen=True)
class Heartbeat:
    """One heartbeat's answer. `continuous` is False when this node's previous heartbeat had
    gone from Redis (restarted empty, or this node silent past `FORGET`): the other nodes' may
    have gone with it, so `alive` cannot yet tell who died."""

    alive: list[str]
    continuous: bool


def room_key(room_id: str, node: str) -> str:
    return f"tr:presence:{room_id}:{node}"


class SharedPresence:
    """This node's presence hashes and heartbeat, and the union of every live node's."""

    def __init__(
        self, client: redis.asyncio.Redis, node: str, clock: Callable[[], float] = time.time
    ) -> None:
        self.client = client
        self.node = node
        self.clock = clock

    async def write(self, rooms: dict[str, list[dict[str, Any]]]) -> None:
        """Replace this node's hash of each room in `rooms` (an empty list deletes it)."""
        pipe = self.client.pipeline(transaction=True)
        for room_id, members in rooms.items():
            key = room_key(room_id, self.node)
            pipe.delete(key)
            if members:
                pipe.hset(key, mapping={m["id"]: json.dumps(m) for m in members})
                pipe.expire(key, TTL)
        await pipe.execute()

    async def heartbeat(self) -> Heartbeat:
        """Say this node is alive; the nodes that are (this one included), and whether this
        node's previous heartbeat was still there."""
        now = self.clock()
        pipe = self.client.pipeline(transaction=True)
        pipe.zscore(NODES, self.node)
        pipe.zadd(NODES, {self.node: now})
        pipe.zremrangebyscore(NODES, "-inf", now - FORGET)
        pipe.zrangebyscore(NODES, now - ALIVE, "+inf")
        previous, *_, alive = await pipe.execute()
        return Heartbeat(sorted(_text(node) for node in alive), previous is not None)

    async def leave(self, room_ids: list[str]) -> None:
        """This node stops: its share goes at once rather than after 30 s."""
        pipe = self.client.pipeline(transaction=True)
        pipe.zrem(NODES, self.node)
        for room_id in room_ids:
            pipe.delete(room_key(room_id, self.node))
        await pipe.execute()

    async def union(self, room_id: str, local: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Everyone online in the room on a live node, each user once (`local` is ours)."""
        alive: list[Any] = await self.client.zrangebyscore(NODES, self.clock() - ALIVE, "+inf")
        others = sorted(name for name in map(_text, alive) if name != self.node)
        users = {member["id"]: member for member in local}
        if others:
            pipe = self.client.pipeline(transaction=False)
            for node in others:
                pipe.hgetall(room_key(room_id, node))
            for share in await pipe.execute():
                for user_id, member in sorted(share.items()):
                    users.setdefault(_text(user_id), json.loads(member))
        return list(users.values())


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
