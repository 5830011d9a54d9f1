"""Socket.IO events for entering and leaving a room's live channel."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from rooms.events import EventLog
from server.inputs import Count, Payload, validate
from server.realtime.hub import Caller, Handler, Hub


class JoinRoom(Payload):
    room_id: str = Field(max_length=64)
    since: Count | None = None


class LeaveRoom(Payload):
    room_id: str = Field(max_length=64)


def handlers(hub: Hub, log: EventLog) -> dict[str, Handler]:
    """`room:join` (presence, the latest seq and what was missed) and `room:leave`."""

    async def join_room(caller: Caller, data: Any) -> dict[str, Any]:
        request = validate(JoinRoom, data)
        await hub.join(caller, request.room_id)  # subscribe first: nothing can fall in between
        seq = await log.latest(request.room_id)
        missed, has_more = (
            await log.since(caller.user, request.room_id, request.since)
            if request.since is not None
            else ([], False)
        )
        reply: dict[str, Any] = {
            "presence": await hub.presence_payload(request.room_id),
            "seq": seq,
        }
        return {**reply, "missed": missed, "has_more": has_more}

    async def leave_room(caller: Caller, data: Any) -> dict[str, Any]:
        request = validate(LeaveRoom, data)
        await hub.leave(caller.sid, request.room_id)
        return {}

    return {"room:join": join_room, "room:leave": leave_room}
