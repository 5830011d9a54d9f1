"""The Socket.IO side of a node: authenticated connections, rooms, presence and live events.

Client events are registered from tables (`{"room:join": join_room, ...}`) through one wrapper that
answers every event with an ack, `{"ok": true, ...}` or `{"ok": false, "error": ...}`. Handlers run
one at a time per client (`async_handlers=False`), so one client's events are handled in order.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import socketio
from aiohttp import web

from rooms.errors import NotFound, NotSignedIn
from rooms.events import EventLog
from rooms.models import User
from rooms.policy import Action, may
from server.config import Settings
from server.errors import ack_error
from server.keys import Services
from server.metrics import Metrics
from server.realtime import fanout
from server.realtime.connections import Connections
from server.realtime.dispatcher import Dispatcher
from server.realtime.limits import EventLimits
from server.realtime.presence import Presence

if TYPE_CHECKING:
    from server.cluster.node import ClusterNode

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Caller:
    """Who sent a socket event: the connection and its authenticated user; `node` names the
    cluster node holding the socket when the event was forwarded from there (else None)."""

    sid: str
    user: User
    node: str | None = None


Handler = Callable[[Caller, Any], Awaitable[dict[str, Any]]]


def room_channel(room_id: str) -> str:
    return f"room:{room_id}"


def user_channel(user_id: str) -> str:
    return f"user:{user_id}"


def refusal(code: str, message: str) -> socketio.exceptions.ConnectionRefusedError:
    """A refused connection: the client's `connect_error` has `message` and `data: {code, message}`."""
    return socketio.exceptions.ConnectionRefusedError(message, {"code": code, "message": message})


class Hub:
    """Connections, room subscriptions and presence, and the one way out to sockets.

    Everything sent to sockets or done to them goes through `emit`, `enter`, `leave_channel`,
    `disconnect` and `disconnect_session`: on one node these act on the local Socket.IO server;
    they are the seam where a cluster node also publishes to the others. What a committed change
    means for live connections reaches the hub through its `Dispatcher`, never from a view.
    """

    def __init__(
        self, sio: socketio.AsyncServer, services: Services, metrics: Metrics, settings: Settings
    ) -> None:
        self.sio = sio
        self.services = services
        self.metrics = metrics
        self.presence = Presence()
        self.connections = Connections(
            services.accounts, services.tokens, per_user=settings.max_sockets_per_user
        )
        self.check_seconds = settings.session_check_seconds
        self.limits = EventLimits(services.limiter, settings)
        self.dispatcher = Dispatcher(self, EventLog(services.db))
        self.sequencer = self.dispatcher.sequencer
        self._sweeper: asyncio.Task[None] | None = None
        self.cluster: ClusterNode | None = None  # set by `create_app` in cluster mode
        sio.on("connect", self._connect)
        sio.on("disconnect", self._disconnect)
        services.db.on_commit(self.dispatcher.committed)

    def register(self, handlers: dict[str, Handler]) -> None:
        """Answer each named client event through `handler`, with an ack in every case; every
        event spends from its class's bucket (`limits.py`) before anything else is done."""
        for name, handler in handlers.items():
            self.limits.check(name)
            self.sio.on(name, self._wrap(name, handler))

    def _wrap(self, name: str, handler: Handler) -> Callable[..., Awaitable[dict[str, Any]]]:
        # Arguments after the payload are ignored: a client sending more must still get its ack.
        async def run(sid: str, data: Any = None, *_extra: Any) -> dict[str, Any]:
            try:
                user = self.connections.user(sid)
                if user is None:
                    raise NotSignedIn("Sign in first.")
                await self.limits.spend(name, user)
                result = await handler(Caller(sid, user), data)
            except Exception as exc:
                self.metrics.events.labels(name, "error").inc()
                return ack_error(exc)
            self.metrics.events.labels(name, "ok").inc()
            return {"ok": True, **result}

        return run

    async def start(self) -> None:
        await self.dispatcher.start()
        if self.cluster is not None:
            await self.cluster.start()
        self._sweeper = asyncio.create_task(self._sweep(), name="session-sweep")

    async def stop(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            await asyncio.gather(self._sweeper, return_exceptions=True)
        await self.dispatcher.stop()
        if self.cluster is not None:
            await self.cluster.stop()

    # The seam: every emit, subscription and disconnect of the node passes here.

    async def emit(
        self,
        event: str,
        data: Any,
        *,
        room: str | None = None,
        to: str | None = None,
        local: bool = False,
    ) -> None:
        """Send `event` to the sockets in a room's channel (`room`, a room id) or to one socket
        (`to`, its sid); exactly one of the two. In a cluster the other nodes send it to their
        sockets too, unless `local`: what every node does anyway (a sequenced event, a live
        effect, presence) is sent by each to its own sockets only."""
        if room is not None and to is None:
            channel = room_channel(room)
        elif to is not None and room is None:
            channel = to
        else:
            raise ValueError("emit: either room or to")
        await fanout.send(self.sio, event, data, channel)
        if self.cluster is not None and not local and (to is None or not self.connected(to)):
            self.cluster.emitted(event, data, room, to)

    async def enter(self, sid: str, room_id: str) -> None:
        """Put a socket in the room's channel."""
        await self.sio.enter_room(sid, room_channel(room_id))

    async def leave_channel(self, sid: str, room_id: str) -> None:
        """Take a socket out of the room's channel: it receives nothing more from the room."""
        await self.sio.leave_room(sid, room_channel(room_id))
        self.sequencer.unwatch(room_id, sid)

    async def disconnect(self, sid: str) -> None:
        """Close one socket."""
        await self.sio.disconnect(sid)

    async def disconnect_session(self, session_digest: str) -> None:
        """Close the sockets of a session (by its SHA-256) that has just ended (logout, a new
        login), those opened with its socket tokens included."""
        for sid in self.connections.of_session(session_digest):
            await self.disconnect(sid)

    async def _connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        connection = await self.connections.authenticate(environ, auth)
        if connection is None:
            raise refusal("not_signed_in", "Sign in first.")
        # Checked and counted with no await in between: simultaneous connects cannot pass the cap.
        if not self.connections.admit(sid, connection):
            cap = self.connections.per_user
            message = f"At most {cap} connections at once; close a tab or window."
            raise refusal("too_many_connections", message)
        await self.sio.enter_room(sid, user_channel(connection.user.id))
        self.metrics.sockets.set(len(self.connections))

    async def _disconnect(self, sid: str, reason: Any = None) -> None:
        self.connections.drop(sid)
        self.sequencer.unwatch_all(sid)
        try:
            await self.dispatcher.socket_gone(sid)  # one part's failure must not keep it online
        finally:
            for room_id in self.presence.drop_socket(sid):
                await self.broadcast_presence(room_id)
            self.metrics.sockets.set(len(self.connections))
        self.metrics.rooms_online.set(self.presence.room_count())

    async def join(self, caller: Caller, room_id: str) -> None:
        """Subscribe the caller's socket to the room if a member, and tell the room when that
        changes who is online (a second tab or a re-join changes nothing: no broadcast).

        The socket enters the channel before the room's mark is read (`Sequencer.watch`), and a
        reply built after this returns reads the log after both: nothing can fall between.

        A removal's effect (`kick`) may run while the socket is on its way in, or not run here at
        all (a room nobody here watched yet drops its events, and the mark then starts after the
        removal). So once the socket is in, the membership is read again: either the kick comes
        after this and finds the socket, or that read comes after the removal's commit."""
        member = await self.services.rooms.member_of(room_id, caller.user.id)
        if member is None:
            raise NotFound("room", room_id)
        await self.enter(caller.sid, room_id)
        try:
            await self.sequencer.watch(room_id, caller.sid)
            changed = self.presence.add(room_id, caller.sid, member.to_json())
            still = await self.services.rooms.member_of(room_id, caller.user.id)
        except BaseException:
            await self.leave(caller.sid, room_id)
            raise
        if still is None:
            await self.leave(caller.sid, room_id)
            raise NotFound("room", room_id)
        self.metrics.rooms_online.set(self.presence.room_count())
        if changed:
            await self.broadcast_presence(room_id)

    async def leave(self, sid: str, room_id: str) -> None:
        """Unsubscribe a socket from the room, and tell the room if that changes who is online."""
        await self.leave_channel(sid, room_id)
        if self.presence.remove(room_id, sid):
            await self.broadcast_presence(room_id)
        self.metrics.rooms_online.set(self.presence.room_count())

    async def broadcast_presence(self, room_id: str) -> None:
        """Who is online in the room changed here: tell the room (over every node)."""
        if self.cluster is not None:
            await self.cluster.presence_changed(room_id)
        else:
            await self.emit("presence", self.presence.payload(room_id), room=room_id)

    async def presence_payload(self, room_id: str) -> dict[str, Any]:
        """Who is online in the room, over every node of a cluster."""
        if self.cluster is not None:
            return await self.cluster.presence_payload(room_id)
        return self.presence.payload(room_id)

    async def to_teachers(self, room_id: str, event: str, data: dict[str, Any]) -> None:
        """Emit to the sockets of the room's online teachers only (their role read now)."""
        for member in self.presence.users(room_id):
            role = await self.services.rooms.role(room_id, member["id"])
            if role is not None and may(role, Action.MODERATE):
                for sid in self.presence.sockets_of(room_id, member["id"]):
                    await self.emit(event, data, to=sid, local=True)

    def connected(self, sid: str) -> bool:
        """Whether the socket is still connected (and signed in)."""
        return self.connections.user(sid) is not None

    async def kick(self, room_id: str, user_id: str, *, by: str) -> None:
        """A member was removed: tell their sockets here, take them out of the room's channel and
        presence at once, and tell the room."""
        notice = {"room_id": room_id, "action": "remove", "user_id": user_id, "by": by}
        joined = set(self.presence.sockets_of(room_id, user_id))
        for sid in self.connections.sockets_of(user_id):  # those still on their way in too
            if sid in joined:
                await self.emit("moderation", notice, to=sid, local=True)
            await self.leave(sid, room_id)
        await self.emit("moderation", notice, room=room_id, local=True)

    async def close_room(self, room_id: str) -> None:
        """The room was deleted: tell its sockets here and take them all out of it."""
        await self.emit(
            "room:delete", {"id": room_id, "room_id": room_id}, room=room_id, local=True
        )
        for sid in self.presence.all_sockets(room_id):
            await self.leave(sid, room_id)

    async def _sweep(self) -> None:
        """Every `SESSION_CHECK_SECONDS`, close the sockets whose session has expired or ended
        elsewhere: a quiet socket would otherwise keep receiving its rooms' events."""
        while True:
            await asyncio.sleep(self.check_seconds)
            try:
                for sid in await self.connections.expired():
                    await self.disconnect(sid)
            except Exception:  # the next round tries again
                log.exception("session sweep failed")


HUB = web.AppKey("hub", Hub)
