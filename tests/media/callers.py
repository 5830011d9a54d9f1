"""A call participant for signalling tests: a real Socket.IO client and real aiortc peers.

The peers are `tests.media.peers.Client`s (RTCConfiguration(iceServers=[]), gathering on
127.0.0.1 only); everything between them and the SFU travels as `media:*` events.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import socketio
from aiortc import MediaStreamTrack, RTCSessionDescription

from tests.conftest import Person
from tests.realtime.inbox import Inbox

from .peers import Client

EVENTS = (
    "media:slots",
    "media:state",
    "media:tracks",
    "media:hand",
    "media:speaking",
    "moderation",
    "session:new",
    "session:edit",
)


class Participant:
    """One person in a room's call: their socket, their inbox and their two connections."""

    def __init__(self, person: Person, sio: socketio.AsyncClient, room_id: str) -> None:
        self.person = person
        self.sio = sio
        self.room_id = room_id
        self.inbox = Inbox(sio, *EVENTS)
        self.pub = Client()
        self.sub = Client()
        self._answering: set[asyncio.Future[Any]] = set()
        self._closed = False
        self.slots: dict[str, dict[str, Any]] = {}  # mid -> slot, as last told
        self.slots_version = 0
        sio.on("media:offer", self._on_offer)
        sio.on("media:slots", self._on_slots)

    @classmethod
    async def connect(cls, person: Person, room_id: str) -> Participant:
        participant = cls(person, await person.connect(), room_id)
        ack = await participant.sio.call("room:join", {"room_id": room_id}, timeout=10)
        assert ack["ok"], ack
        return participant

    @property
    def id(self) -> str:
        return self.person.id

    async def ask(self, event: str, **data: Any) -> dict[str, Any]:
        """Send a `media:*` event for this room and return the ack, whatever it says."""
        ack: dict[str, Any] = await self.sio.call(
            event, {"room_id": self.room_id, **data}, timeout=15
        )
        return ack

    async def must(self, event: str, **data: Any) -> dict[str, Any]:
        ack = await self.ask(event, **data)
        assert ack["ok"], (event, ack)
        return ack

    async def publish(self, tracks: list[MediaStreamTrack], sources: dict[str, str]) -> None:
        for track in tracks:
            self.pub.pc.addTransceiver(track, direction="sendonly")
        ack = await self.must("media:publish", sdp=await self.pub.offer_sdp(), sources=sources)
        await self.pub.pc.setRemoteDescription(RTCSessionDescription(ack["sdp"], "answer"))

    async def subscribe(self) -> dict[str, Any]:
        ack = await self.must("media:subscribe")
        self._apply_slots(ack)
        await self.must("media:answer", sdp=await self.sub.answer_sdp(ack["sdp"]))
        return ack

    async def enter(self) -> dict[str, Any]:
        """Join the call as the web client does: while no session is live, wait for a teacher
        to start one (`session:new` or `session:edit`, live) and join again."""
        seen = len(self.live_sessions())
        ack = await self.must("media:join")
        while ack["waiting"] and ack["session"] is None:
            # Counted from before the join: a start that crossed it arrived before its ack.
            await self.inbox.wait_for(self._started_since(seen), within=20)
            seen = len(self.live_sessions())
            ack = await self.must("media:join")
        return ack

    def _started_since(self, seen: int) -> Callable[[str, Any], bool]:
        return lambda event, data: len(self.live_sessions()) > seen

    def live_sessions(self) -> list[Any]:
        return [
            d
            for e, d in self.inbox.items
            if e in ("session:new", "session:edit") and d["status"] == "live"
        ]

    def _on_slots(self, data: Any) -> None:
        self.inbox.add("media:slots", data)
        self._apply_slots(data)

    def _apply_slots(self, data: Any) -> None:
        # Announcements may arrive out of order (and the subscribe ack among them): the highest
        # version is the latest.
        if data["version"] > self.slots_version:
            self.slots_version = data["version"]
            self.slots = {slot["mid"]: slot for slot in data["slots"]}

    def video_frames_of(self, user_id: str) -> int:
        """Frames decoded on the video m-lines the SFU says carry `user_id` now."""
        mids = [
            mid
            for mid, slot in self.slots.items()
            if slot["kind"] == "video" and slot["user_id"] == user_id
        ]
        return sum(self.sub.received[mid].frames for mid in mids if mid in self.sub.received)

    async def _on_offer(self, data: Any) -> None:
        # Answer the SFU's re-offers as a browser would (the inbox also records them).
        self.inbox.add("media:offer", data)
        if self._closed:
            return
        answering = asyncio.ensure_future(self.sub.answer_sdp(data["sdp"]))
        self._answering.add(answering)
        try:
            sdp = await answering
        finally:
            self._answering.discard(answering)
        await self.must("media:answer", sdp=sdp)

    def video_frames(self) -> int:
        return self.sub.frames("video")

    def audio_frames(self) -> int:
        return self.sub.frames("audio")

    async def close(self) -> None:
        # An answer still gathering ICE candidates finishes first: closing under it leaks sockets.
        self._closed = True
        await asyncio.gather(*self._answering, return_exceptions=True)
        await self.pub.close()
        await self.sub.close()
