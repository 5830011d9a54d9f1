"""A live session's media home: the one node whose calls, classroom and SFU hold the session.

The node that receives the first `media:join` of a live session claims it with
`SET tr:home:<session> <node> NX EX 15`, renewed every 5 s by compare-and-expire and given back
(compare-and-delete) when the session ends or the node stops. Every other node is an edge for the
session: it keeps its sockets and their room subscriptions, and forwards each `media:*` request
(`{event, sid, user, edge_node, data}`) over the bus to the home, which answers it as if the
socket were its own (`Caller.node` names the edge) and emits to the socket through `Hub.emit`.
SDP carries every candidate, so the media itself flows straight between the client and the home.

- Liveness: an edge reports each socket that goes (`media_gone`) to the homes it forwarded to;
  the home keeps a tombstone for 60 s, so that a join racing the disconnect gets no seat, and
  drops the seats of an edge whose heartbeat died.
- Failover: the home mirrors the call's policy (mutes, lock, lobby admissions, spotlight, hands)
  in `tr:call:<session>` at every change, and the next home loads it with its claim. An edge
  checks the claims of the sessions it forwarded to every 2 s: when one is gone, or held by
  another node, it sends `media:rejoin {room_id, session_id}` to its sockets in that call. A home
  that stops gracefully gives its claims up and sends `media:rejoin` at once.
- Redis unreachable: calls already held keep their media; a request whose home is another node
  answers 503 `unavailable`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

from rooms.errors import DomainError, Unavailable
from rooms.models import User
from server.cluster.bus import Rejected
from server.cluster.node import ClusterNode
from server.errors import ack_error
from server.realtime.call_state import Call, Elsewhere
from server.realtime.calls import Calls
from server.realtime.classroom import Classroom
from server.realtime.hub import Caller, Handler

log = logging.getLogger(__name__)
HOME_TTL = 15  # seconds a claim lives without renewal
RENEW_SECONDS = 5.0
RPC_SECONDS = 10.0
TOMBSTONE_SECONDS = 60.0
WATCH_SECONDS = 2.0  # how often an edge checks the claims of the homes it forwards to
# After Redis was away (maybe back empty), homes need one renewal round to claim their sessions
# again: edges wait that long before taking a missing claim for a home that has gone.
QUIET_SECONDS = 2 * RENEW_SECONDS + WATCH_SECONDS
POLICY_TTL = 12 * 3600  # a policy outlives any lesson; ending the session deletes it
ID = 64

RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('EXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


def home_key(session_id: str) -> str:
    return f"tr:home:{session_id}"


def call_key(session_id: str) -> str:
    return f"tr:call:{session_id}"


def _text(value: bytes | str | None) -> str | None:
    return value.decode() if isinstance(value, bytes) else value


def _ident(value: Any) -> str:
    if not isinstance(value, str) or not value or len(value) > 2 * ID:
        raise Rejected("malformed")
    return value


@dataclass
class Following:
    """An edge's sockets in a call held by another node."""

    room_id: str
    home: str
    sids: set[str] = field(default_factory=set)


class MediaHome:
    """Claims sessions for this node, forwards requests for sessions held elsewhere, answers
    those forwarded here, and sends `media:rejoin` when a home goes."""

    def __init__(
        self, cluster: ClusterNode, calls: Calls, classroom: Classroom, table: dict[str, Handler]
    ) -> None:
        self.cluster = cluster
        self.node = cluster.node
        self.client = cluster.client
        self.calls = calls
        self.classroom = classroom
        self.table = table  # the handlers as the home runs them
        self.held: dict[str, str] = {}  # session id -> room id, claimed by this node
        self.edges: dict[str, str] = {}  # (as a home) forwarded sid -> the node that holds it
        self.tombstones: dict[str, float] = {}  # (as a home) forwarded sids that went
        self.homes_of: dict[str, set[str]] = {}  # (as an edge) sid -> homes it was forwarded to
        self.following: dict[str, Following] = {}  # (as an edge) by session id
        self._pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._policies: dict[str, dict[str, Any]] = {}  # waiting to be written, by session id
        self._writer: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._loops: list[asyncio.Task[None]] = []
        self.stopping = False  # set once this node gives its sessions up: it claims no more
        self._quiet_until = 0.0  # no claim checks before (monotonic): Redis was away
        self._subscriptions = 0
        self._renew = self.client.register_script(RENEW)
        self._release = self.client.register_script(RELEASE)
        cluster.receivers.update(
            {
                "media_call": self._on_call,
                "media_reply": self._on_reply,
                "media_gone": self._on_gone,
                "media_ended": self._on_ended,
                "media_rejoin": self._on_rejoin,
            }
        )
        cluster.on_gone.append(self._nodes_gone)
        cluster.on_subscribed.append(self._resubscribed)

    async def start(self) -> None:
        self._loops = [
            asyncio.create_task(self._renew_loop(), name="media-home-renew"),
            asyncio.create_task(self._watch_loop(), name="media-home-watch"),
        ]

    async def stop(self) -> None:
        for task in [*self._loops, *self._tasks]:
            task.cancel()
        await asyncio.gather(*self._loops, *self._tasks, return_exceptions=True)

    # As a home: claims and policy (`Calls.home`).

    async def take(self, session_id: str, room_id: str) -> dict[str, Any] | None:
        """Claim the session (`Elsewhere` if another node holds it) and read its policy."""
        key = home_key(session_id)
        if self.stopping:
            raise Unavailable("This server is stopping; join again in a moment.", retry_after=1)
        try:
            for _ in range(3):  # a claim may lapse between the SET and the GET
                if await self.client.set(key, self.node, nx=True, ex=HOME_TTL):
                    break
                holder = _text(await self.client.get(key))
                if holder == self.node:
                    break
                if holder is not None:
                    raise Elsewhere(holder)
            raw = await self.client.get(call_key(session_id))
        except Elsewhere:
            raise
        except Exception as exc:
            log.warning("cannot claim a session (Redis: %s)", exc)
            raise Unavailable("The call cannot start just now; try again shortly.") from None
        self.held[session_id] = room_id
        # Removals and role changes reach calls through the room's sequenced events, which a node
        # delivers only for rooms it watches: the home watches the room while it holds the call.
        await self.calls.hub.sequencer.watch(room_id, _watcher(session_id))
        policy = json.loads(raw) if raw else None
        return policy if isinstance(policy, dict) else None

    def alive(self, caller: Caller) -> bool:
        """A forwarded socket is alive unless its edge reported it gone or the edge died."""
        if caller.sid in self.tombstones or caller.node is None:
            return False
        self.edges[caller.sid] = caller.node
        return self.cluster.alive(caller.node)

    def mirror(self, call: Call) -> None:
        """Queue the call's policy for `tr:call:<session>`; one writer keeps them in order."""
        if call.session.id not in self.held:
            return
        self._policies[call.session.id] = call.policy()
        if self._writer is None or self._writer.done():
            self._writer = self._spawn(self._write_policies())

    async def _write_policies(self) -> None:
        while self._policies:
            session_id = next(iter(self._policies))
            policy = self._policies.pop(session_id)
            try:
                await self.client.set(call_key(session_id), json.dumps(policy), ex=POLICY_TTL)
            except Exception as exc:
                log.warning("the call's policy was not mirrored (Redis: %s)", exc)

    async def release(self, session_id: str) -> None:
        """The session ended: its claim and policy go."""
        room_id = self.held.pop(session_id, None)
        self._policies.pop(session_id, None)
        if room_id is not None:
            self.calls.hub.sequencer.unwatch(room_id, _watcher(session_id))
        try:
            await self._release(keys=[home_key(session_id)], args=[self.node])
            await self.client.delete(call_key(session_id))
        except Exception as exc:
            log.warning("the ended session's claim expires by itself (Redis: %s)", exc)

    def ended(self, session_id: str, room_id: str) -> None:
        """The session ended on this node: its home, wherever it is, closes the call."""
        self.following.pop(session_id, None)  # its claim goes: no reason to join again
        self.cluster.bus.publish("media_ended", {"session_id": session_id, "room_id": room_id})

    async def leaving(self, calls: list[Call]) -> None:
        """This node stops: give the claims up, then tell every participant to join again (the
        next join makes another node the home, with the policy mirrored here)."""
        self.stopping = True
        for call in calls:
            if call.session.id not in self.held:
                continue
            room_id = self.held.pop(call.session.id)
            self.calls.hub.sequencer.unwatch(room_id, _watcher(call.session.id))
            with contextlib.suppress(Exception):
                await self._release(keys=[home_key(call.session.id)], args=[self.node])
            notice = {"room_id": call.room_id, "session_id": call.session.id}
            for sid in [*call.seats, *call.waiting]:
                if sid not in self.edges:
                    await self.calls.hub.emit("media:rejoin", notice, to=sid, local=True)
            self.cluster.bus.publish("media_rejoin", {**notice, "home": self.node})
        await asyncio.sleep(0.1)  # let the outbox send them before the bus stops

    async def _renew_loop(self) -> None:
        while True:
            await asyncio.sleep(RENEW_SECONDS)
            await self._renew_all()

    async def _renew_all(self) -> None:
        for session_id in list(self.held):
            try:
                await self._renew_one(session_id)
            except Exception as exc:  # Redis away: the media keeps flowing meanwhile
                log.warning("could not renew a session's claim (Redis: %s)", exc)

    async def _resubscribed(self) -> None:
        """Redis is back, perhaps empty: claim our sessions again at once, and give the other
        homes time to do the same before taking a missing claim for a home that has gone."""
        self._subscriptions += 1
        if self._subscriptions > 1:  # the first one is this node's start
            self._quiet_until = time.monotonic() + QUIET_SECONDS
        await self._renew_all()

    async def _renew_one(self, session_id: str) -> None:
        key = home_key(session_id)
        if await self._renew(keys=[key], args=[self.node, HOME_TTL]):
            return
        # Lapsed (Redis restarted empty, or was away too long): take it again if nobody has.
        if not await self.client.set(key, self.node, nx=True, ex=HOME_TTL):
            holder = _text(await self.client.get(key))
            if holder != self.node:
                log.warning("session %s moved to %s", session_id, holder)

    # As an edge: routing.

    def route(self, name: str, handler: Handler) -> Handler:
        """`handler` where the session's home is this node (or none is claimed yet: this node
        claims it); a request forwarded to the home otherwise."""

        async def run(caller: Caller, data: Any) -> dict[str, Any]:
            room_id = data.get("room_id") if isinstance(data, dict) else None
            if not isinstance(room_id, str) or not room_id or len(room_id) > ID:
                return await handler(caller, data)  # its validation answers
            if name == "media:join":
                await self.classroom.enter(caller, room_id)
            home = await self._home_of(room_id)
            if home is None:
                try:
                    return await handler(caller, data)
                except Elsewhere as exc:  # claimed by another node a moment ago
                    home = exc.node
            return await self._forward(home, name, caller, room_id, data)

        return run

    async def _home_of(self, room_id: str) -> str | None:
        """The node holding the room's live session; None for this node or no claim yet."""
        call = self.calls.calls.get(room_id)
        if call is not None and self.calls.current(call) and call.session.id in self.held:
            return None
        session = await self.calls.sessions.live(room_id)
        if session is None:
            return None
        try:
            holder = _text(await self.client.get(home_key(session.id)))
        except Exception as exc:
            log.warning("cannot find the session's home (Redis: %s)", exc)
            raise Unavailable("The call's server cannot be reached; try again shortly.") from None
        return None if holder in (None, self.node) else holder

    async def _forward(
        self, home: str, name: str, caller: Caller, room_id: str, data: Any
    ) -> dict[str, Any]:
        if not self.cluster.up:
            raise Unavailable("The call's server cannot be reached; try again shortly.")
        request_id = secrets.token_hex(12)
        answer: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = answer
        self.homes_of.setdefault(caller.sid, set()).add(home)
        body = {
            "to": home,
            "id": request_id,
            "event": name,
            "sid": caller.sid,
            "user": caller.user.to_json(),
            "edge_node": self.node,
            "data": data,
        }
        self.cluster.bus.publish("media_call", body)
        try:
            reply = await asyncio.wait_for(answer, RPC_SECONDS)
        except TimeoutError:
            if time.monotonic() >= self._quiet_until:  # a home that is gone: rejoin
                await self._check_claims()
            raise Unavailable("The call's server did not answer; try again shortly.") from None
        finally:
            self._pending.pop(request_id, None)
        if reply.get("ok") is not True:
            error = reply.get("error")
            if not isinstance(error, dict):
                raise Unavailable()
            if error.get("code") == "unavailable":
                raise Unavailable(str(error.get("message")))
            raise DomainError(str(error.get("message")), code=str(error.get("code")))
        result = {k: v for k, v in reply.items() if k != "ok"}
        self._follow(name, caller.sid, room_id, home, result)
        return result

    def _follow(self, name: str, sid: str, room_id: str, home: str, result: dict[str, Any]) -> None:
        """Remember which of our sockets sit or wait in a call held elsewhere."""
        if name == "media:join":
            session = result.get("session")
            if isinstance(session, dict) and isinstance(session.get("id"), str):
                following = self.following.get(session["id"])
                if following is None or following.home != home:
                    following = self.following[session["id"]] = Following(room_id, home)
                following.sids.add(sid)
        elif name in ("media:leave", "media:end"):
            for following in self.following.values():
                if following.room_id == room_id:
                    following.sids.discard(sid)

    async def _watch_loop(self) -> None:
        while True:
            await asyncio.sleep(WATCH_SECONDS)
            now = time.monotonic()
            if not self.cluster.up:
                self._quiet_until = now + QUIET_SECONDS
            elif now >= self._quiet_until:
                try:
                    await self._check_claims()
                except Exception as exc:  # Redis away: no rejoin, the media may still flow
                    log.warning("cannot check the calls' homes (Redis: %s)", exc)
                    self._quiet_until = now + QUIET_SECONDS
            for sid, at in list(self.tombstones.items()):
                if now - at > TOMBSTONE_SECONDS:
                    del self.tombstones[sid]

    async def _check_claims(self) -> None:
        """Send `media:rejoin` for every followed call whose home no longer holds it."""
        if not self.following:
            return
        ids = list(self.following)
        holders = await self.client.mget([home_key(i) for i in ids])
        for session_id, holder in zip(ids, holders, strict=True):
            following = self.following.get(session_id)
            if following is not None and _text(holder) != following.home:
                await self._rejoin(session_id)

    async def _rejoin(self, session_id: str) -> None:
        following = self.following.pop(session_id, None)
        if following is None:
            return
        notice = {"room_id": following.room_id, "session_id": session_id}
        for sid in sorted(following.sids):
            if self.calls.hub.connected(sid):
                await self.calls.hub.emit("media:rejoin", notice, to=sid, local=True)

    async def socket_gone(self, sid: str) -> None:
        """A socket of this node went: it leaves calls here, and the homes it reached hear."""
        await self.calls.socket_gone(sid)
        for home in sorted(self.homes_of.pop(sid, set())):
            self.cluster.bus.publish("media_gone", {"to": home, "sid": sid})
        for following in self.following.values():
            following.sids.discard(sid)

    # The rest of `LiveMedia` (server/realtime/dispatcher.py): the calls held here.

    async def member_removed(self, room_id: str, user_id: str) -> None:
        await self.calls.member_removed(room_id, user_id)

    async def role_changed(self, room_id: str, user_id: str, role: str) -> None:
        await self.calls.role_changed(room_id, user_id, role)

    async def room_deleted(self, room_id: str) -> None:
        for session_id, following in list(self.following.items()):
            if following.room_id == room_id:  # the call ends with the room: nobody rejoins
                del self.following[session_id]
        await self.calls.room_deleted(room_id)

    # Bus messages (checked before use: they came from another process).

    async def _on_call(self, body: dict[str, Any]) -> None:
        if body.get("to") != self.node:
            return
        request_id, sid, edge = (_ident(body.get(k)) for k in ("id", "sid", "edge_node"))
        event, user = body.get("event"), body.get("user")
        if not isinstance(event, str) or not isinstance(user, dict):
            raise Rejected("malformed")
        try:
            caller = Caller(sid, User(**user), node=edge)
        except TypeError:
            raise Rejected("malformed") from None
        self._spawn(self._serve(request_id, event, caller, body.get("data")))

    async def _serve(self, request_id: str, event: str, caller: Caller, data: Any) -> None:
        handler = self.table.get(event)
        try:
            if handler is None:
                raise Unavailable()
            if caller.sid in self.tombstones:
                raise Unavailable("This connection has closed.")
            self.edges[caller.sid] = caller.node or ""
            reply: dict[str, Any] = {"ok": True, **await handler(caller, data)}
        except Elsewhere:  # the session moved on meanwhile: the client asks again
            reply = ack_error(Unavailable())
        except Exception as exc:
            reply = ack_error(exc)
        body = {"to": caller.node, "id": request_id, "reply": reply}
        self.cluster.bus.publish("media_reply", body)

    async def _on_reply(self, body: dict[str, Any]) -> None:
        if body.get("to") != self.node:
            return
        answer = self._pending.get(_ident(body.get("id")))
        reply = body.get("reply")
        if not isinstance(reply, dict):
            raise Rejected("malformed")
        if answer is not None and not answer.done():
            answer.set_result(reply)

    async def _on_gone(self, body: dict[str, Any]) -> None:
        if body.get("to") != self.node:
            return
        sid = _ident(body.get("sid"))
        self.tombstones[sid] = time.monotonic()
        self.edges.pop(sid, None)
        await self.calls.socket_gone(sid)

    async def _on_ended(self, body: dict[str, Any]) -> None:
        session_id, room_id = _ident(body.get("session_id")), _ident(body.get("room_id"))
        self.following.pop(session_id, None)  # its claim goes: no reason to join again
        call = self.calls.calls.get(room_id)
        if call is not None and call.session.id == session_id:
            await self.calls.close_session(session_id, room_id)

    async def _on_rejoin(self, body: dict[str, Any]) -> None:
        session_id = _ident(body.get("session_id"))
        following = self.following.get(session_id)
        if following is not None and following.home == body.get("home"):
            await self._rejoin(session_id)

    async def _nodes_gone(self, gone: set[str]) -> None:
        """Edges whose heartbeat died: their sockets leave the calls held here."""
        for sid, edge in list(self.edges.items()):
            if edge in gone:
                del self.edges[sid]
                self.tombstones[sid] = time.monotonic()
                await self.calls.socket_gone(sid)

    def _spawn(self, step: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.create_task(step)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task


def _watcher(session_id: str) -> str:
    """The sequencer subscriber standing for the home (no socket has this id)."""
    return f"home:{session_id}"
