"""The sequencer: each room's events reach its sockets once, in `room_seq` order, with no hole.

Sequence numbers are gapless per room: `Tx.next_seq` holds the room's row lock until the commit,
and a job that rolls back gives its number back. So a node that knows the last number it emitted
for a room (its mark) knows exactly what comes next, and can tell a duplicate (at or below the
mark) from an event that arrived early (a hole before it). Events may reach the sequencer twice
or out of order (from this node's commits and, in a cluster, from other nodes' through a bus that
orders nothing); it emits only `mark + 1`, drops what is at or below the mark, and keeps early
events until the hole before them is filled from `room_events`, where every committed event is.

A mark is kept only for rooms with a socket subscribed on this node. The first subscriber starts it
from the room's latest sequence number, read after the socket entered the room's channel and while
the room's events are held back: what committed before that read reaches the client through its
replay or its load over HTTP, and everything after it comes through here.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from rooms.store.db import RoomEvent

log = logging.getLogger(__name__)
Latest = Callable[[str], Awaitable[int]]
Read = Callable[[str, int, int], Awaitable[list[RoomEvent]]]  # (room, after, upto)
Deliver = Callable[[RoomEvent], Awaitable[None]]


@dataclass
class _Room:
    """One room's place in its stream: the mark, early events, the local subscribers."""

    subscribers: set[str] = field(default_factory=set)
    mark: int | None = None  # None until the first subscriber has read the latest number
    early: dict[int, RoomEvent] = field(default_factory=dict)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class Sequencer:
    """Per room with local subscribers: an emitted high-water mark, and the gapless, ordered,
    duplicate-free delivery of the room's events above it."""

    def __init__(self, latest: Latest, read: Read, deliver: Deliver) -> None:
        self._latest = latest
        self._read = read
        self._deliver = deliver
        self._rooms: dict[str, _Room] = {}

    def mark(self, room_id: str) -> int | None:
        """The last sequence number delivered to the room's sockets here (None: not watched)."""
        room = self._rooms.get(room_id)
        return room.mark if room is not None else None

    def watched(self) -> list[str]:
        """The rooms with local subscribers (what a catch-up must check)."""
        return list(self._rooms)

    async def watch(self, room_id: str, sid: str) -> None:
        """Count `sid` among the room's subscribers; the first one starts the room's mark from its
        latest sequence number (the socket must already be in the room's channel). Returns once
        the mark is set, so a reply read after it cannot miss an event."""
        room = self._rooms.get(room_id)
        if room is None:
            room = self._rooms[room_id] = _Room()
        room.subscribers.add(sid)
        if room.mark is not None:
            return
        async with room.lock:  # taken at once by the first watcher: events wait behind it
            if room.mark is not None:  # another watcher started it meanwhile
                return
            try:
                room.mark = await self._latest(room_id)
            except BaseException:
                room.subscribers.discard(sid)
                if not room.subscribers and self._rooms.get(room_id) is room:
                    del self._rooms[room_id]
                raise
            await self._drain(room_id, room)

    def unwatch(self, room_id: str, sid: str) -> None:
        """`sid` left the room's channel; the room's mark goes with its last subscriber."""
        room = self._rooms.get(room_id)
        if room is None:
            return
        room.subscribers.discard(sid)
        if not room.subscribers:
            del self._rooms[room_id]

    def unwatch_all(self, sid: str) -> None:
        """`sid` disconnected: it leaves every room."""
        for room_id in list(self._rooms):
            self.unwatch(room_id, sid)

    async def feed(self, event: RoomEvent) -> None:
        """Take one committed event (from this node's commits or another node's): deliver it and
        any early ones it unblocks, in order, or keep it until the hole before it is filled."""
        room = self._rooms.get(event.room_id)
        if room is None:  # no socket here listens: a later first subscriber starts from the log
            return
        if room.mark is not None and event.seq <= room.mark:
            return
        room.early.setdefault(event.seq, event)
        async with room.lock:
            if room.mark is not None:
                await self._drain(event.room_id, room)

    async def catch_up(self, room_id: str, upto: int) -> None:
        """Fill the room's stream up to `upto` from the log (a tail check: an event whose
        delivery was lost reaches the sockets late, never not at all)."""
        room = self._rooms.get(room_id)
        if room is None:
            return
        async with room.lock:
            if room.mark is not None and upto > room.mark:
                await self._fill(room_id, room, upto)
                await self._drain(room_id, room)

    async def _drain(self, room_id: str, room: _Room) -> None:
        """Deliver what follows the mark, filling a hole from the log when an event waits beyond
        it. Runs under the room's lock, with the mark set."""
        assert room.mark is not None
        while room.early and self._rooms.get(room_id) is room:
            for seq in [seq for seq in room.early if seq <= room.mark]:
                del room.early[seq]
            if not room.early:
                return
            event = room.early.pop(room.mark + 1, None)
            if event is None:
                if not await self._fill(room_id, room, min(room.early) - 1):
                    return  # not readable yet: the next event or catch-up tries again
                continue
            room.mark = event.seq
            try:
                await self._deliver(event)
            except Exception:  # the socket's next resume (`since`) has it; the stream goes on
                log.exception("delivering %s %s failed", event.event, event.seq)

    async def _fill(self, room_id: str, room: _Room, upto: int) -> bool:
        """Read the room's events after the mark up to `upto` into the early ones; whether the
        next one was among them."""
        assert room.mark is not None
        try:
            missing = await self._read(room_id, room.mark, upto)
        except Exception:
            log.exception("reading the events of room %s failed", room_id)
            return False
        for event in missing:
            room.early.setdefault(event.seq, event)
        return room.mark + 1 in room.early
