"""Socket.IO `media:*` events: WebRTC signalling with the SFU and the classroom controls.

Each participant has a publishing connection (the client offers: `media:publish`) and a receiving
one (the server offers: `media:subscribe`, answered by `media:answer`; later re-offers arrive as
`media:offer`). SDP carries every ICE candidate: there is no trickle ICE.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, Literal

from aiohttp import web
from pydantic import Field

from rooms.policy import Action
from rooms.sessions import LiveSessions
from server.cluster.home import MediaHome
from server.config import Settings
from server.inputs import Payload, validate
from server.keys import Services
from server.realtime.calls import CALLS, Calls
from server.realtime.classroom import ACTIONS, ROOM_ACTIONS, Classroom
from server.realtime.hub import Caller, Handler, Hub
from server.realtime.ice import SFU, sfu_config
from server.views import sessions as session_views

SDP_LIMIT = 64 * 1024
HOME = web.AppKey("media_home", MediaHome)
ID = 64


class InRoom(Payload):
    room_id: str = Field(max_length=ID)


class Publish(InRoom):
    sdp: str = Field(max_length=SDP_LIMIT)
    sources: dict[str, Literal["camera", "microphone", "screen"]] = Field(
        default_factory=dict, max_length=16
    )


class Answer(InRoom):
    sdp: str = Field(max_length=SDP_LIMIT)


class Target(InRoom):
    user_id: str = Field(max_length=ID)


class Moderation(InRoom):
    action: str = Field(max_length=32)  # checked against the table of actions
    user_id: str | None = Field(default=None, max_length=ID)


class Hand(InRoom):
    raised: bool
    user_id: str | None = Field(default=None, max_length=ID)


class Spotlight(InRoom):
    user_id: str | None = Field(default=None, max_length=ID)


class End(InRoom):
    session_id: str | None = Field(default=None, max_length=ID)


def handlers(calls: Calls, classroom: Classroom, *, enter: bool = True) -> dict[str, Handler]:
    """The `media:*` table for `Hub.register`. Without `enter`, `media:join` leaves the socket's
    subscription to the room to the node that holds the socket (a cluster's edge)."""

    async def join(caller: Caller, data: Any) -> dict[str, Any]:
        room_id = validate(InRoom, data).room_id
        if enter:
            await classroom.enter(caller, room_id)
        return await classroom.join(caller, room_id)

    async def publish(caller: Caller, data: Any) -> dict[str, Any]:
        request = validate(Publish, data)
        call, seat = calls.seat(caller, request.room_id)
        return {"sdp": await calls.publish(call, seat, request.sdp, request.sources)}

    async def subscribe(caller: Caller, data: Any) -> dict[str, Any]:
        request = validate(InRoom, data)
        call, seat = calls.seat(caller, request.room_id)
        return await calls.subscribe(call, seat)

    async def answer(caller: Caller, data: Any) -> dict[str, Any]:
        request = validate(Answer, data)
        call, seat = calls.seat(caller, request.room_id)
        await calls.answer(call, seat, request.sdp)
        return {}

    async def leave(caller: Caller, data: Any) -> dict[str, Any]:
        await calls.leave(caller.sid, validate(InRoom, data).room_id)
        return {}

    async def end(caller: Caller, data: Any) -> dict[str, Any]:
        request = validate(End, data)
        await calls.rooms.require(caller.user, request.room_id, Action.START_SESSION)
        session_id = request.session_id or await calls.live_session_id(request.room_id)
        ended = await calls.end(caller.user, session_id, request.room_id)
        return {"session": ended.to_json()}

    return {
        "media:join": join,
        "media:publish": publish,
        "media:subscribe": subscribe,
        "media:answer": answer,
        "media:leave": leave,
        "media:end": end,
        **control_handlers(classroom),
    }


def control_handlers(classroom: Classroom) -> dict[str, Handler]:
    """Teachers' controls (`moderation`, and a shorthand event per action), hands, spotlight."""

    async def moderate(caller: Caller, data: Any) -> dict[str, Any]:
        request = validate(Moderation, data)
        return await classroom.moderate(caller, request.room_id, request.action, request.user_id)

    def shorthand(action: str, model: type[InRoom]) -> Handler:
        async def run(caller: Caller, data: Any) -> dict[str, Any]:
            request = validate(model, data)
            user_id = request.user_id if isinstance(request, Target) else None
            return await classroom.moderate(caller, request.room_id, action, user_id)

        return run

    async def hand(caller: Caller, data: Any) -> dict[str, Any]:
        request = validate(Hand, data)
        await classroom.hand(caller, request.room_id, request.raised, request.user_id)
        return {}

    async def spotlight(caller: Caller, data: Any) -> dict[str, Any]:
        request = validate(Spotlight, data)
        await classroom.spotlight(caller, request.room_id, request.user_id)
        return {}

    table: dict[str, Handler] = {"media:moderate": moderate, "media:hand": hand}
    table["media:spotlight"] = spotlight
    for action in ACTIONS:
        model = InRoom if action in ROOM_ACTIONS else Target
        table[f"media:{action}"] = shorthand(action, model)
    return table


def install(app: web.Application, hub: Hub, services: Services, settings: Settings) -> None:
    """Wire live sessions into the app: the SFU, the `media:*` events, the session routes, the
    calls as the dispatcher's live media, and the cleanup that closes every connection at stop."""
    sessions = LiveSessions(services.db, services.rooms, clock=services.db.clock)
    calls = Calls(hub, services.rooms, sessions, sfu_config(settings))
    classroom = Classroom(calls, settings, services.moderation, services.db.clock)
    if hub.cluster is None:
        hub.register(handlers(calls, classroom))
        hub.dispatcher.media = calls  # live effects (removals, role changes...) reach the calls
    else:
        # Each live session has one home node; the others forward its requests there.
        table = handlers(calls, classroom, enter=False)
        home = MediaHome(hub.cluster, calls, classroom, table)
        calls.home = home
        hub.register({name: home.route(name, handler) for name, handler in table.items()})
        hub.dispatcher.media = home
        app[HOME] = home
        app.on_shutdown.append(_hand_over)
    app[CALLS], app[SFU] = calls, calls.sfu
    app.router.add_routes(session_views.routes)
    app.cleanup_ctx.append(_close_calls)


async def _hand_over(app: web.Application) -> None:
    """A stopping node gives its sessions up first: its sockets may take seconds to close."""
    await app[HOME].leaving(list(app[CALLS].calls.values()))


async def _close_calls(app: web.Application) -> AsyncIterator[None]:
    home = app.get(HOME)
    if home is not None:
        await home.start()
    yield
    await app[CALLS].close()
    if home is not None:
        await home.stop()
