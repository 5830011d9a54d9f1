"""The one pipeline from a commit to this node's live connections.

`Store.on_commit` hands every committed transaction (`Commit`: its sequenced room events and its
live effects) to `Dispatcher.committed`, which queues it; one task takes the commits in order:
- each room event goes through the `Sequencer`, which delivers it to the room's channel once, in
  `room_seq` order; an event that carries a live effect (`member:remove`, `member:edit`,
  `rooms.effects.of_event`) has it applied right after its emit, before the room's next event;
- each unsequenced live effect (a session ended, a room deleted, a report filed) is applied.

Applying an effect is the only place where the hub and the calls hear of a change made through the
domain services; views make one service call and never call the hub. A node of a cluster plugs in
here: it publishes each commit's events and effects after applying them locally, and feeds what it
receives from others to `Sequencer.feed` and `Dispatcher.apply`, which are idempotent for events
(the sequencer drops duplicates) and local for effects (each node acts on its own sockets).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Protocol

from rooms.effects import (
    LiveEffect,
    MemberRemoved,
    ReportFiled,
    RoleChanged,
    RoomDeleted,
    SessionEnded,
    of_event,
)
from rooms.events import EventLog
from rooms.store.db import Commit, RoomEvent
from server.realtime.sequencer import Sequencer

if TYPE_CHECKING:
    from server.realtime.hub import Hub

log = logging.getLogger(__name__)
SETTLE_SECONDS = 5.0


class LiveMedia(Protocol):
    """What the node's live calls must hear so that nobody keeps media they may no longer have."""

    async def socket_gone(self, sid: str) -> None: ...
    async def member_removed(self, room_id: str, user_id: str) -> None: ...
    async def role_changed(self, room_id: str, user_id: str, role: str) -> None: ...
    async def room_deleted(self, room_id: str) -> None: ...


class Peers(Protocol):
    """The other nodes of a cluster: they hear of each local commit once it is applied here."""

    def share(self, commit: Commit) -> None: ...


class Dispatcher:
    """Feeds committed events to the sequencer and applies live effects to the hub and calls."""

    def __init__(self, hub: Hub, log_: EventLog) -> None:
        self.hub = hub
        self.media: LiveMedia | None = None  # the calls, once live media is installed
        self.peers: Peers | None = None  # the other nodes of a cluster
        self.sequencer = Sequencer(log_.latest, log_.raw, self.deliver)
        self._outbox: asyncio.Queue[Commit] = asyncio.Queue()
        self._queued = 0
        self._done = 0
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []
        self._pump: asyncio.Task[None] | None = None

    def committed(self, commit: Commit) -> None:
        """The commit listener: queue the commit (runs on the loop, never blocks)."""
        self._outbox.put_nowait(commit)
        self._queued += 1

    async def start(self) -> None:
        self._pump = asyncio.create_task(self._run(), name="live-dispatch")

    async def stop(self) -> None:
        """Apply what is queued (briefly), then stop."""
        if self._pump is None:
            return
        try:
            await asyncio.wait_for(self._outbox.join(), timeout=SETTLE_SECONDS)
        except TimeoutError:
            log.warning("stopping with live effects still queued")
        self._pump.cancel()
        await asyncio.gather(self._pump, return_exceptions=True)

    async def settled(self) -> None:
        """Return once every commit queued before this call has been applied here (a write's
        reply then follows its live effects on this node); at most `SETTLE_SECONDS`."""
        target = self._queued
        if self._done >= target or self._pump is None or self._pump.done():
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append((target, future))
        try:
            await asyncio.wait_for(asyncio.shield(future), timeout=SETTLE_SECONDS)
        except TimeoutError:
            log.warning("live effects are lagging behind the writes")

    async def _run(self) -> None:
        while True:
            commit = await self._outbox.get()
            try:
                for event in commit.events:
                    await self.sequencer.feed(event)
                for effect in commit.effects:
                    await self.apply(effect)
            except Exception:  # clients resume with `since`; the next commit goes on
                log.exception("applying a commit failed")
            finally:
                if self.peers is not None:  # the other nodes apply it even if this node failed
                    try:
                        self.peers.share(commit)
                    except Exception:  # their tail check still brings the events
                        log.exception("sharing a commit failed")
                self._done += 1
                self._wake()
                self._outbox.task_done()

    def _wake(self) -> None:
        waiting = []
        for target, future in self._waiters:
            if target <= self._done:
                if not future.done():
                    future.set_result(None)
            else:
                waiting.append((target, future))
        self._waiters = waiting

    async def deliver(self, event: RoomEvent) -> None:
        """The sequencer's output: emit the event to the room, then apply its live effect."""
        await self.hub.emit(event.event, event.data, room=event.room_id, local=True)
        effect = of_event(event.event, event.data)
        if effect is not None:
            await self.apply(effect)

    async def apply(self, effect: LiveEffect) -> None:
        """Make one live effect happen on this node; a failing part does not stop the others."""
        media = self.media
        if isinstance(effect, MemberRemoved):
            if media is not None:
                await _safely(media.member_removed(effect.room_id, effect.user_id))
            await _safely(self.hub.kick(effect.room_id, effect.user_id, by=effect.by))
        elif isinstance(effect, RoleChanged):
            if media is not None:
                await _safely(media.role_changed(effect.room_id, effect.user_id, effect.role))
        elif isinstance(effect, SessionEnded):
            await _safely(self.hub.disconnect_session(effect.session_digest))
        elif isinstance(effect, RoomDeleted):
            if media is not None:
                await _safely(media.room_deleted(effect.room_id))
            await _safely(self.hub.close_room(effect.room_id))
        elif isinstance(effect, ReportFiled):
            await _safely(self.hub.to_teachers(effect.room_id, "report:new", effect.report))
        else:
            log.error("no handler for the live effect %r", effect)

    async def socket_gone(self, sid: str) -> None:
        """A socket disconnected: it leaves every call on this node."""
        if self.media is not None:
            await _safely(self.media.socket_gone(sid))


async def _safely(step: Awaitable[None]) -> None:
    try:
        await step
    except Exception:
        log.exception("a live effect failed")
