"""Real aiortc peers for the SFU tests: synthetic camera and microphone, and a client.

Every connection uses `RTCConfiguration(iceServers=[])` and gathers on 127.0.0.1 only, so no
test contacts a STUN server or sends media off the loopback interface.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import struct
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import av
from aiortc import (
    AudioStreamTrack,
    MediaStreamTrack,
    RTCConfiguration,
    RTCPeerConnection,
    RTCSessionDescription,
    VideoStreamTrack,
)
from aiortc.mediastreams import MediaStreamError

from media.sfu import Sfu
from media.sfu.aiortc_private import gather_on

LOOPBACK = ["127.0.0.1"]


class SyntheticCamera(VideoStreamTrack):
    """Moving diagonal stripes at 30 fps, cheap enough to run several at once on two cores."""

    def __init__(self, width: int = 320, height: int = 240) -> None:
        super().__init__()
        self.width, self.height = width, height
        size = av.VideoFrame(width, height, "yuv420p").planes[0].buffer_size
        self._luma = bytes(range(256)) * (size // 256 + 2)
        self._size = size
        self._count = 0

    async def recv(self) -> av.VideoFrame:
        pts, time_base = await self.next_timestamp()
        frame = av.VideoFrame(self.width, self.height, "yuv420p")
        shift = (self._count * 4) % 256
        self._count += 1
        frame.planes[0].update(self._luma[shift : shift + self._size])
        for plane in frame.planes[1:]:
            plane.update(bytes([128]) * plane.buffer_size)
        frame.pts, frame.time_base = pts, time_base
        return frame


class ToneMicrophone(AudioStreamTrack):
    """A loud 400 Hz tone: aiortc's sender marks its packets with a high audio level."""

    _TONE = b"".join(
        struct.pack("<h", int(12000 * math.sin(2 * math.pi * i / 20))) for i in range(160)
    )

    async def recv(self) -> av.AudioFrame:
        frame = await super().recv()
        assert isinstance(frame, av.AudioFrame)
        frame.planes[0].update(self._TONE)
        return frame


@dataclass
class Received:
    """What a client decoded from one incoming track."""

    kind: str
    frames: int = 0
    first_at: float | None = None
    last_at: float | None = None
    sizes: set[tuple[int, int]] = field(default_factory=set)
    samples: int = 0
    ended: bool = False


class Client:
    """One browser stand-in: a publishing or subscribing connection, decoding what it receives."""

    def __init__(self) -> None:
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.received: dict[str, Received] = {}  # by our transceiver's mid
        self.connected_at: float | None = None
        self._consumers: list[asyncio.Task[None]] = []
        self.pc.on("track", self._on_track)
        self.pc.on("connectionstatechange", self._on_state)

    def _on_state(self) -> None:
        if self.pc.connectionState == "connected" and self.connected_at is None:
            self.connected_at = time.monotonic()

    def _on_track(self, track: MediaStreamTrack) -> None:
        mid = next(t.mid for t in self.pc.getTransceivers() if t.receiver.track is track)
        received = self.received[mid or ""] = Received(track.kind)
        self._consumers.append(asyncio.ensure_future(self._consume(track, received)))

    async def _consume(self, track: MediaStreamTrack, received: Received) -> None:
        with contextlib.suppress(MediaStreamError):
            while True:
                frame = await track.recv()
                now = time.monotonic()
                received.frames += 1
                received.first_at = received.first_at or now
                received.last_at = now
                if isinstance(frame, av.VideoFrame):
                    received.sizes.add((frame.width, frame.height))
                elif isinstance(frame, av.AudioFrame):
                    received.samples += frame.samples
        received.ended = True

    async def publish(
        self,
        sfu: Sfu,
        session_id: str,
        participant_id: str,
        tracks: Sequence[MediaStreamTrack],
        sources: dict[str, str] | None = None,
    ) -> None:
        """Offer `tracks` to the SFU and apply its answer."""
        for track in tracks:
            self.pc.addTransceiver(track, direction="sendonly")
        async with asyncio.timeout(10):
            offer = await self.offer_sdp()
            answer = await sfu.publish(session_id, participant_id, offer, sources)
            await self.pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))

    async def offer_sdp(self) -> str:
        """Create and apply a local offer gathered on loopback."""
        offer = await self.pc.createOffer()
        with gather_on(LOOPBACK):
            await self.pc.setLocalDescription(offer)
        return str(self.pc.localDescription.sdp)

    async def subscribe(self, sfu: Sfu, session_id: str, participant_id: str) -> None:
        """Ask the SFU for its offer, answer it."""
        async with asyncio.timeout(10):
            offer = await sfu.subscribe(session_id, participant_id)
            await sfu.answer(session_id, participant_id, await self.answer_sdp(offer))

    async def answer_sdp(self, offer: str) -> str:
        """Apply a remote offer and return our answer gathered on loopback."""
        await self.pc.setRemoteDescription(RTCSessionDescription(offer, "offer"))
        answer = await self.pc.createAnswer()
        with gather_on(LOOPBACK):
            await self.pc.setLocalDescription(answer)
        return str(self.pc.localDescription.sdp)

    def of_kind(self, kind: str) -> list[Received]:
        """Received tracks of one kind, in m-line order."""
        return [r for _, r in sorted(self.received.items()) if r.kind == kind]

    def frames(self, kind: str) -> int:
        """Frames decoded so far over every received track of one kind."""
        return sum(r.frames for r in self.of_kind(kind))

    async def close(self) -> None:
        """Close the connection and stop consuming."""
        await self.pc.close()
        for task in self._consumers:
            task.cancel()
        await asyncio.gather(*self._consumers, return_exceptions=True)


async def wait_until(predicate: Callable[[], object], within: float = 10.0) -> float:
    """Poll `predicate()` until true; return the seconds it took, or fail the test."""
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > within:
            raise AssertionError(f"condition not met within {within} s")
        await asyncio.sleep(0.02)
    return time.monotonic() - start
