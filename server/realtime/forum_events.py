"""Socket.IO events of the forum: `chat:send`."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from rooms.forum import Forum
from rooms.ratelimit import Rate, RateLimiter
from server.inputs import Payload, validate
from server.realtime.hub import Caller, Handler


class ChatMessage(Payload):
    room_id: str = Field(max_length=64)
    body: str = Field(max_length=4000)
    thread_id: str | None = Field(default=None, max_length=64)


def handlers(forum: Forum, limiter: RateLimiter, rate: Rate) -> dict[str, Handler]:
    """`chat:send`, acknowledged with the post only once it is committed."""
    # Teachers get twice the pupils' burst: they answer a whole class at once.
    teacher_rate = Rate(rate.burst * 2, rate.period)

    async def send_chat(caller: Caller, data: Any) -> dict[str, Any]:
        message = validate(ChatMessage, data)
        bucket = rate if caller.user.role == "pupil" else teacher_rate
        await limiter.hit(f"chat:{caller.user.id}", bucket)
        post = await forum.chat(caller.user, message.room_id, message.body, message.thread_id)
        return {"post": post}

    return {"chat:send": send_chat}
