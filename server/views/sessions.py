"""Live sessions over HTTP: schedule, list, read, start and end.

Joining and the media itself travel over Socket.IO (`media:*`); ending a session here also closes
its media on this node and posts its summary thread.
"""

from __future__ import annotations

from aiohttp import web
from pydantic import AwareDatetime, Field

from server.inputs import Payload, body
from server.realtime.calls import CALLS
from server.session import signed_in

routes = web.RouteTableDef()


class NewSession(Payload):
    title: str | None = Field(default=None, max_length=120)
    # ISO 8601 with a zone ("2026-12-01T09:00:00Z"), like every time of the API.
    scheduled_at: AwareDatetime | None = Field(default=None, strict=False)


@routes.post("/api/rooms/{room_id}/sessions")
async def schedule(request: web.Request) -> web.Response:
    user = await signed_in(request)
    data = await body(request, NewSession)
    sessions = request.app[CALLS].sessions
    at = data.scheduled_at.timestamp() if data.scheduled_at is not None else None
    session = await sessions.schedule(user, request.match_info["room_id"], data.title, at)
    return web.json_response(session.to_json(), status=201)


@routes.get("/api/rooms/{room_id}/sessions")
async def upcoming(request: web.Request) -> web.Response:
    user = await signed_in(request)
    sessions = await request.app[CALLS].sessions.upcoming(user, request.match_info["room_id"])
    return web.json_response([session.to_json() for session in sessions])


@routes.get("/api/sessions/{session_id}")
async def get(request: web.Request) -> web.Response:
    user = await signed_in(request)
    sessions = request.app[CALLS].sessions
    session = await sessions.get(user, request.match_info["session_id"])
    attendance = await sessions.attendance(session.id)
    return web.json_response({**session.to_json(), "attendance": attendance})


@routes.post("/api/sessions/{session_id}/start")
async def start(request: web.Request) -> web.Response:
    user = await signed_in(request)
    sessions = request.app[CALLS].sessions
    scheduled = await sessions.get(user, request.match_info["session_id"])
    session = await sessions.start(user, scheduled.room_id, scheduled.id)
    return web.json_response(session.to_json())


@routes.delete("/api/sessions/{session_id}")
async def cancel(request: web.Request) -> web.Response:
    user = await signed_in(request)
    await request.app[CALLS].sessions.cancel(user, request.match_info["session_id"])
    return web.Response(status=204)


@routes.post("/api/sessions/{session_id}/end")
async def end(request: web.Request) -> web.Response:
    user = await signed_in(request)
    session = await request.app[CALLS].end(user, request.match_info["session_id"])
    return web.json_response(session.to_json())
