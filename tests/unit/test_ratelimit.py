"""Token buckets: a burst, then refusals that say when to retry, then refill over time."""

from __future__ import annotations

import pytest

from rooms.errors import Invalid, RateLimited
from rooms.ratelimit import Rate, RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_a_burst_passes_then_the_bucket_refuses_with_a_retry_time() -> None:
    clock = Clock()
    limiter = RateLimiter(clock=clock)
    rate = Rate(20, 10)
    for _ in range(20):
        await limiter.hit("chat:ana", rate)
    with pytest.raises(RateLimited) as caught:
        await limiter.hit("chat:ana", rate)
    assert caught.value.retry_after == 1
    await limiter.hit("chat:bob", rate)  # buckets are per key
    clock.now += 0.5
    await limiter.hit("chat:ana", rate)  # half a second refills one token (20 per 10 s)


async def test_retry_after_is_a_whole_number_of_seconds() -> None:
    clock = Clock()
    limiter = RateLimiter(clock=clock)
    await limiter.hit("login:1.2.3.4", Rate(1, 60))
    with pytest.raises(RateLimited) as caught:
        await limiter.hit("login:1.2.3.4", Rate(1, 60))
    assert caught.value.retry_after == 60


@pytest.mark.parametrize("text", ["10", "a/b", "0/60", "5/0", "-1/3"])
def test_a_bad_rate_is_refused(text: str) -> None:
    with pytest.raises(Invalid):
        Rate.parse(text)
