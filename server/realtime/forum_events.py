"""Socket.IO events of the forum: `chat:send`."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from rooms.forum import Forum
from server.inputs import Payload, validate
from server.realtime.hub import Caller, Handler


class ChatMessage(Payload):
    room_id: str = Field(max_length=64)
    body: str = Field(max_length=4000)
    thread_id: str | None = Field(default=None, max_length=64)


def handlers(forum: Forum) -> dict[str, Handler]:
    """`chat:send`, acknowledged with the post only once it is committed (its rate limit, like
    every event's, is the hub's)."""

    async def send_chat(caller: Caller, data: Any) -> dict[str, Any]:
        message = validate(ChatMessage, data)
        post = await forum.chat(caller.user, message.room_id, message.body, message.thread_id)
        return {"post": post}

    return {"chat:send": send_chat}
