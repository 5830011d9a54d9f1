"""A call participant for signalling tests: a real Socket.IO client and real aiortc peers.

The peers are `tests.media.peers.Client`s (RTCConfiguration(iceServers=[]), gathering on
127.0.0.1 only); everything between them and the SFU travels as `media:*` events.
"""

from __future__ import annotations

import asyncio
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
        sio.on("media:offer", self._on_offer)

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
        await self.must("media:answer", sdp=await self.sub.answer_sdp(ack["sdp"]))
        return ack

    async def _on_offer(self, data: Any) -> None:
        # Answer the SFU's re-offers as a browser would (the inbox also records them).
        self.inbox.items.append(("media:offer", data))
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
