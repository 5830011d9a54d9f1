"""Token-bucket rate limits, kept in process (a Redis-backed limiter serves clusters)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from rooms.errors import Invalid, RateLimited


@dataclass(frozen=True)
class Rate:
    """A bucket of `burst` tokens refilled evenly over `period` seconds ("N/S" in settings)."""

    burst: int
    period: float

    @classmethod
    def parse(cls, text: str) -> Rate:
        burst, _, period = text.partition("/")
        try:
            rate = cls(int(burst), float(period))
        except ValueError:
            raise Invalid(f"a rate is 'N/S', e.g. 10/60, not {text!r}") from None
        if rate.burst < 1 or rate.period <= 0:
            raise Invalid(f"a rate needs N >= 1 and S > 0, not {text!r}")
        return rate


class RateLimiter:
    """Per-key token buckets: `hit` takes a token or raises `RateLimited` with a retry time.

    Buckets are created lazily and forgotten once full again, so memory stays proportional to the
    keys that were active within one period.
    """

    def __init__(self, *, clock: Callable[[], float]) -> None:
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}

    async def hit(self, key: str, rate: Rate, cost: float = 1.0) -> None:
        now = self.clock()
        tokens, stamp = self._buckets.get(key, (float(rate.burst), now))
        refill = rate.burst / rate.period
        tokens = min(float(rate.burst), tokens + (now - stamp) * refill)
        if tokens < cost:
            self._buckets[key] = (tokens, now)
            raise RateLimited(max(1, math.ceil((cost - tokens) / refill)))
        self._buckets[key] = (tokens - cost, now)
        if len(self._buckets) > 100_000:
            self._forget_full(now, refill, rate.burst)

    def _forget_full(self, now: float, refill: float, burst: int) -> None:
        for key, (tokens, stamp) in list(self._buckets.items()):
            if tokens + (now - stamp) * refill >= burst:
                del self._buckets[key]
