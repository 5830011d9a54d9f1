"""A node's part in a cluster: what it shares on the bus, and what it does with what it hears.

- Room events: after the dispatcher has fed a local commit to this node's sequencer, its events
  are published (`room_event`); every other node feeds them to its own sequencer, which drops
  duplicates and fills holes from `room_events`. Every 2 s, and at once after each (re)subscribe,
  a tail check compares `rooms.last_seq` with the marks of the rooms that have sockets here, so
  with the bus down every event still arrives within about 2 s.
- Live effects of a commit (a session ended, a room deleted, a report filed) are published
  (`logout`, `room_deleted`, `to_teachers`) and applied by every node to its own sockets.
  Removals and role changes need nothing: every node applies them when its sequencer emits the
  `member:remove` or `member:edit` event.
- Unsequenced emits this node makes of its own accord (`media:*`, `moderation` from a call,
  hands) travel as `emit`; presence as `presence`, a nudge to read the union from Redis.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from rooms.effects import LiveEffect, from_message
from rooms.events import EventLog
from rooms.store.db import Commit, RoomEvent
from server.cluster.bus import Bus, Rejected, redis_client
from server.cluster.presence import SharedPresence
from server.config import Settings
from server.metrics import Metrics

if TYPE_CHECKING:
    from server.realtime.hub import Hub

log = logging.getLogger(__name__)
TAIL_SECONDS = 2.0
HEARTBEAT_SECONDS = 10.0
EFFECT_TYPES = {
    "session_ended": "logout",
    "room_deleted": "room_deleted",
    "report_filed": "to_teachers",
}
KIND_OF = {type_: kind for kind, type_ in EFFECT_TYPES.items()}
# A live session's media home (`server/cluster/home.py`): requests and answers, sockets gone,
# sessions ended, homes stopping.
MEDIA_TYPES = ("media_call", "media_reply", "media_gone", "media_ended", "media_rejoin")
TYPES = ("room_event", "emit", "presence", *EFFECT_TYPES.values(), *MEDIA_TYPES)
Receiver = Callable[[dict[str, Any]], Awaitable[None]]
GoneHook = Callable[[set[str]], Awaitable[None]]


class ClusterNode:
    """Plugs the hub and the dispatcher into the bus and the shared presence."""

    def __init__(self, settings: Settings, hub: Hub, log_: EventLog, metrics: Metrics) -> None:
        self.hub = hub
        self.log = log_
        self.node = settings.node_id
        self.client = redis_client(settings.redis_url)
        self.presence = SharedPresence(self.client, self.node)
        self.bus = Bus(
            settings.redis_url,
            settings.secret_key,
            self.node,
            TYPES,
            self._receive,
            metrics.bus_rejected,
            metrics.bus_dropped,
            self._subscribed,
        )
        self._alive: list[str] = []
        self._gone: set[str] = set()
        self.receivers: dict[str, Receiver] = {}  # the media home's message types
        self.on_gone: list[GoneHook] = []  # told of the nodes whose heartbeat died
        self.on_subscribed: list[Callable[[], Awaitable[None]]] = []  # after each (re)subscribe
        self._tasks: list[asyncio.Task[None]] = []
        self._written = False  # whether the last presence round reached Redis

    def alive(self, node: str) -> bool:
        """False for a node whose heartbeat died (and has not come back) since this one started."""
        return node not in self._gone

    @property
    def up(self) -> bool:
        """Whether the bus is connected (else `/healthz` says degraded)."""
        return self.bus.subscribed

    async def start(self) -> None:
        await self.bus.start()
        self._tasks = [
            asyncio.create_task(self._tail_loop(), name="cluster-tail"),
            asyncio.create_task(self._heartbeat_loop(), name="cluster-heartbeat"),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        try:
            rooms = self.hub.presence.room_ids()
            await asyncio.wait_for(self.presence.leave(rooms), timeout=2)
            for room_id in rooms:
                self.bus.publish("presence", {"room_id": room_id})
            await asyncio.sleep(0.1)  # let the outbox send them
        except Exception:
            log.warning("could not withdraw this node's presence; it expires within 30 s")
        await self.bus.stop()
        await self.client.aclose()

    # Outgoing.

    def share(self, commit: Commit) -> None:
        """A local commit, already applied here: its events and effects for the other nodes."""
        for event in commit.events:
            body = {"room_id": event.room_id, "seq": event.seq, "event": event.event}
            self.bus.publish("room_event", {**body, "data": event.data})
        for effect in commit.effects:
            type_ = EFFECT_TYPES.get(effect.kind)
            if type_ is not None:
                self.bus.publish(type_, dataclasses.asdict(effect))

    def emitted(self, event: str, data: Any, room: str | None, to: str | None) -> None:
        """An unsequenced emit this node made: the other nodes send it to their sockets."""
        target = {"room": room} if room is not None else {"to": to}
        self.bus.publish("emit", {"event": event, "data": data, **target})

    async def presence_changed(self, room_id: str) -> None:
        """Who is online here in the room changed: rewrite our share, tell the other nodes,
        and send the union to our own sockets."""
        if self.up:  # else the next heartbeat round writes it: no join waits on a lost Redis
            try:
                await self.presence.write({room_id: self.hub.presence.users(room_id)})
            except Exception as exc:
                log.warning("presence not shared (Redis: %s); showing this node's view", exc)
        self.bus.publish("presence", {"room_id": room_id})
        await self.push_presence(room_id)

    async def presence_payload(self, room_id: str) -> dict[str, Any]:
        """The room's presence over every live node; this node's view alone without Redis."""
        local = self.hub.presence.users(room_id)
        if self.up:
            try:
                return {"room_id": room_id, "users": await self.presence.union(room_id, local)}
            except Exception as exc:
                log.warning("presence union unavailable (Redis: %s)", exc)
        return {"room_id": room_id, "users": local}

    async def push_presence(self, room_id: str) -> None:
        if self.hub.presence.sockets_in(room_id):
            payload = await self.presence_payload(room_id)
            await self.hub.emit("presence", payload, room=room_id, local=True)

    # Incoming: every body is checked before it is used (it came from another process).

    async def _receive(self, type_: str, body: dict[str, Any]) -> None:
        if type_ == "room_event":
            await self.hub.sequencer.feed(_room_event(body))
        elif type_ == "emit":
            event, data, room, to = (body.get(k) for k in ("event", "data", "room", "to"))
            if not isinstance(event, str) or (room is None) == (to is None):
                raise Rejected("malformed")
            if not isinstance(room if room is not None else to, str):
                raise Rejected("malformed")
            if to is not None and not self.hub.connected(to):
                return
            await self.hub.emit(event, data, room=room, to=to, local=True)
        elif type_ == "presence":
            room_id = body.get("room_id")
            if not isinstance(room_id, str):
                raise Rejected("malformed")
            await self.push_presence(room_id)
        elif type_ in self.receivers:
            await self.receivers[type_](body)
        else:
            try:
                effect: LiveEffect = from_message({"type": KIND_OF[type_], "body": body})
            except ValueError:
                raise Rejected("malformed") from None
            await self.hub.dispatcher.apply(effect)

    async def _subscribed(self) -> None:
        """(Re)subscribed: Redis may have restarted empty, so rewrite and catch up at once."""
        self._spawn(self._after_subscribe())

    async def _after_subscribe(self) -> None:
        for hook in self.on_subscribed:
            try:
                await hook()
            except Exception:
                log.exception("a step after subscribing failed")
        await self._round()
        await self.tail_check()
        for room_id in self.hub.presence.room_ids():
            self.bus.publish("presence", {"room_id": room_id})  # others read our share again
            await self.push_presence(room_id)

    def _spawn(self, step: Any) -> None:
        task = asyncio.create_task(step)
        self._tasks.append(task)
        task.add_done_callback(
            lambda done: self._tasks.remove(done) if done in self._tasks else None
        )

    async def tail_check(self) -> None:
        """Fill every watched room up to its committed latest number from `room_events`."""
        watched = self.hub.sequencer.watched()
        if not watched:
            return
        for room_id, latest in (await self.log.latest_of(watched)).items():
            await self.hub.sequencer.catch_up(room_id, latest)

    async def _tail_loop(self) -> None:
        while True:
            await asyncio.sleep(TAIL_SECONDS)
            try:
                await self.tail_check()
            except Exception:
                log.exception("the tail check failed; the next one tries again")

    async def _round(self) -> None:
        """Heartbeat and rewrite every share; push presence where a node has gone."""
        try:
            beat = await self.presence.heartbeat()
            rooms = self.hub.presence.room_ids()
            await self.presence.write({r: self.hub.presence.users(r) for r in rooms})
        except Exception as exc:
            if self._written:
                log.warning("presence heartbeat failed (Redis: %s)", exc)
            self._written = False
            return
        alive = beat.alive
        recovering, self._written = not (self._written and beat.continuous), True
        if recovering:
            # Redis is back (perhaps empty, perhaps after an outage shorter than a round, which
            # only the missing heartbeat of this node shows), and the other nodes write theirs
            # again within a round: judging them on this one would count the living as gone.
            self._alive = sorted(set(self._alive) | set(alive))
            return
        gone = set(self._alive) - set(alive)
        self._alive = alive
        self._gone = (self._gone | gone) - set(alive)
        if gone:
            for room_id in rooms:
                await self.push_presence(room_id)
            for hook in self.on_gone:
                try:
                    await hook(gone)
                except Exception:
                    log.exception("could not tidy up after the nodes %s", sorted(gone))

    async def _heartbeat_loop(self) -> None:
        while True:
            await self._round()
            await asyncio.sleep(HEARTBEAT_SECONDS if self._written else 1.0)


def _room_event(body: dict[str, Any]) -> RoomEvent:
    room_id, seq, event, data = (body.get(k) for k in ("room_id", "seq", "event", "data"))
    if not (
        isinstance(room_id, str)
        and isinstance(seq, int)
        and seq > 0
        and isinstance(event, str)
        and isinstance(data, dict)
    ):
        raise Rejected("malformed")
    return RoomEvent(room_id, seq, event, data)
