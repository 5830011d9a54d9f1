"""Rate limits shared by the nodes: the same token buckets, kept in Redis.

One Lua script per hit reads and refills the bucket on Redis's own clock (`TIME`), so several
nodes spend from one bucket and never disagree on time. A bucket expires once it would be full
again (`PEXPIRE` of its period). If Redis fails, the node falls back to its own in-process
buckets for a moment (fail-open per node: a client is then limited per node, never locked out),
and counts it.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable

import redis.asyncio
from prometheus_client import Counter

from rooms.errors import RateLimited
from rooms.ratelimit import Rate, RateLimiter

log = logging.getLogger(__name__)
PAUSE = 2.0  # after a failure, local buckets for this long: no request waits on a dead Redis

# KEYS[1] bucket; ARGV burst, period (ms), cost. Returns -1 (spent) or milliseconds to wait.
BUCKET = """
local now = redis.call('TIME')
now = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local burst = tonumber(ARGV[1])
local period = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'stamp')
local tokens = tonumber(state[1]) or burst
local stamp = tonumber(state[2]) or now
local refill = burst / period
tokens = math.min(burst, tokens + math.max(0, now - stamp) * refill)
local wait = -1
if tokens < cost then
  wait = math.ceil((cost - tokens) / refill)
else
  tokens = tokens - cost
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'stamp', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(period))
return wait
"""


class SharedRateLimiter(RateLimiter):
    """`RateLimiter` on Redis (`tr:rl:<bucket>:<key>`), falling back to the in-process one."""

    def __init__(
        self,
        client: redis.asyncio.Redis,
        fallbacks: Counter,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(clock=clock)
        self.client = client
        self.fallbacks = fallbacks
        self.script = client.register_script(BUCKET)
        self._paused_until = 0.0

    async def hit(self, key: str, rate: Rate, cost: float = 1.0) -> None:
        if time.monotonic() >= self._paused_until:
            try:
                wait = await self.script(
                    keys=[f"tr:rl:{key}"], args=[rate.burst, rate.period * 1000, cost]
                )
            except Exception as exc:  # Redis away: limit on this node alone for now
                log.warning("shared rate limits unavailable, limiting per node: %s", exc)
                self._paused_until = time.monotonic() + PAUSE
            else:
                if int(wait) >= 0:
                    raise RateLimited(max(1, math.ceil(int(wait) / 1000)))
                return
        self.fallbacks.inc()
        await super().hit(key, rate, cost)
