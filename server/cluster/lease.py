"""The archive sweeper's lease in a cluster: one node collects unused blobs at a time.

`SET tr:lease:sweep <node>:<token> NX PX` takes it; a compare-and-delete script gives it back, so
a node never releases a lease that lapsed and was taken by another. A node that dies holding it
frees it when it expires. Redis unreachable means no lease: the sweep is skipped and runs at the
next round (the pin protocol keeps blobs safe either way; the lease saves duplicate work).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import redis.asyncio

log = logging.getLogger(__name__)
KEY = "tr:lease:sweep"
TTL_MS = 15 * 60 * 1000  # longer than a sweep; a lapsed lease only means duplicate work

RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class RedisLease:
    """`Lease` (server/sweeper.py) held in Redis; one holder on this node at a time as well."""

    def __init__(self, client: redis.asyncio.Redis, node: str) -> None:
        self.client = client
        self.node = node
        self._lock = asyncio.Lock()
        self._release = client.register_script(RELEASE)

    @asynccontextmanager
    async def hold(self) -> AsyncIterator[bool]:
        """Hold the lease for the block; False when another node has it or Redis is away."""
        async with self._lock:
            value = f"{self.node}:{secrets.token_hex(8)}"
            try:
                taken = bool(await self.client.set(KEY, value, nx=True, px=TTL_MS))
            except Exception as exc:
                log.warning("no sweep lease (Redis: %s); the next sweep tries again", exc)
                taken = False
            try:
                yield taken
            finally:
                if taken:
                    try:
                        await self._release(keys=[KEY], args=[value])
                    except Exception:  # it lapses by itself
                        log.warning("could not give the sweep lease back; it expires")

    async def close(self) -> None:
        await self.client.aclose()
