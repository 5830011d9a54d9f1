"""The encoded forwarding path: one `Publication` per published track fans out to `ForwardedTrack`s.

This is MediaRelay's shape without decoding: the publisher's receiver hands each reassembled
encoded frame to `Publication.on_frame` on the event loop (see `aiortc_private.tap_receiver`),
which pushes it into each subscriber's bounded queue; no reader task and no copy per subscriber.
Each subscriber's `RTCRtpSender` pulls `av.Packet`s from its `ForwardedTrack`, and since they are
packets, not frames, aiortc only packetises them (`RTCRtpSender._next_encoded_frame`).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from fractions import Fraction
from typing import NamedTuple

import av
from aiortc import MediaStreamTrack, RTCRtpReceiver
from aiortc.jitterbuffer import JitterFrame
from aiortc.mediastreams import MediaStreamError

from . import aiortc_private
from .keyframes import KeyframeRequester, keyframe_detector
from .model import TrackInfo

CLOCK_RATE = {"audio": 48000, "video": 90000}  # Opus and every video codec in RTP
FRAME_STEP = {"audio": 960, "video": 3000}  # 20 ms, and 1/30 s: the gap left at a switch
QUEUE_FRAMES = {"audio": 25, "video": 16}  # about half a second either way
STALE_AFTER = 3.0  # seconds without frames after which a video is no longer offered to last-N
SPEAKING_LEVEL = 50  # ssrc-audio-level at or under this (louder than -50 dBov) counts as speech


class EncodedFrame(NamedTuple):
    """A whole encoded frame as reassembled by aiortc, with its unwrapped RTP timestamp."""

    data: bytes
    timestamp: int
    keyframe: bool


class Publication:
    """One published track on the SFU: its description, its receiver, and the tracks it feeds.

    `enabled` is the classroom switch (mute, stop video): while False nothing is forwarded.
    `last_spoke` is the monotonic time of the last RTP packet whose audio level was speech.
    """

    def __init__(self, info: TrackInfo, receiver: RTCRtpReceiver) -> None:
        self.info = info
        self.enabled = True
        self.ended = False
        self.last_spoke = 0.0
        self.frames_in = 0
        self.last_frame_at = time.monotonic()  # creation counts, so a new track gets a chance
        self.keyframes = KeyframeRequester(self._send_pli)
        self._receiver = receiver
        self._sinks: list[ForwardedTrack] = []
        self._is_keyframe: Callable[[bytes], bool] | None = None
        aiortc_private.tap_receiver(
            receiver, self.on_frame, self.on_audio_level if info.kind == "audio" else None
        )

    def on_frame(self, mime_type: str | None, frame: JitterFrame | None) -> None:
        """Fan one encoded frame out to every attached track (None, None: the stream ended)."""
        if mime_type is None or frame is None:
            self.ended = True
            return
        self.frames_in += 1
        self.last_frame_at = time.monotonic()
        if not self.enabled or not self._sinks:
            return
        if self._is_keyframe is None:
            self._is_keyframe = keyframe_detector(mime_type)
        encoded = EncodedFrame(frame.data, frame.timestamp, self._is_keyframe(frame.data))
        for sink in self._sinks:
            sink.push(encoded)

    def live(self, now: float) -> bool:
        """Whether frames arrived lately (a client that stops a track may never say so)."""
        return now - self.last_frame_at < STALE_AFTER

    def on_audio_level(self, level: int) -> None:
        """Note speech from the ssrc-audio-level header extension (0 loudest, 127 silence)."""
        if level <= SPEAKING_LEVEL and self.enabled:
            self.last_spoke = time.monotonic()

    def set_enabled(self, enabled: bool) -> None:
        """Start or stop forwarding; on restart every subscriber waits for a fresh keyframe."""
        if enabled and not self.enabled:
            for sink in self._sinks:
                sink.restart()
            self.keyframes.request()
        self.enabled = enabled

    def attach(self, sink: ForwardedTrack) -> None:
        """Start feeding `sink` (it waits for a keyframe, which is requested)."""
        self._sinks.append(sink)
        self.keyframes.request()

    def detach(self, sink: ForwardedTrack) -> None:
        """Stop feeding `sink`."""
        if sink in self._sinks:
            self._sinks.remove(sink)

    def close(self) -> None:
        """Detach every track (they keep waiting for another source) and cancel requests."""
        for sink in list(self._sinks):
            sink.feed_from(None)
        self.keyframes.close()

    async def _send_pli(self) -> None:
        sources = aiortc_private.media_ssrcs(self._receiver)
        if self.info.kind == "video" and sources:
            await aiortc_private.send_pli(self._receiver, sources[0])


class ForwardedTrack(MediaStreamTrack):
    """The track behind one subscriber m-line (a slot): `recv()` yields encoded `av.Packet`s.

    It holds at most `QUEUE_FRAMES[kind]` frames. When full, audio drops its oldest frame and
    video drops everything and waits for the next keyframe (requesting one), so a slow subscriber
    costs frames, never memory. Timestamps are rebased at every source switch so the subscriber
    sees one continuous RTP stream whoever feeds the slot.
    """

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind
        self.source: Publication | None = None
        self.frames_out = 0
        self.frames_dropped = 0
        self._frames: deque[EncodedFrame] = deque()
        self._ready = asyncio.Event()
        self._need_keyframe = kind == "video"
        self._offset: int | None = None
        self._next_pts = 0
        self._last_sent: float | None = None
        self._time_base = Fraction(1, CLOCK_RATE[kind])

    def feed_from(self, source: Publication | None) -> None:
        """Switch which publication feeds this slot (None: none); no renegotiation needed."""
        if source is self.source:
            return
        if self.source is not None:
            self.source.detach(self)
        self.source = source
        self.restart()
        if source is not None:
            source.attach(self)

    def restart(self) -> None:
        """Forget queued frames and wait for a keyframe, keeping the output timeline going."""
        self.frames_dropped += len(self._frames)
        self._frames.clear()
        self._need_keyframe = self.kind == "video"
        self._offset = None

    def request_keyframe(self) -> None:
        """Ask the current source for a keyframe (the subscriber sent PLI/FIR, or we dropped)."""
        if self.source is not None:
            self.source.keyframes.request()

    def push(self, frame: EncodedFrame) -> None:
        """Queue one frame; called synchronously from the publication's fan-out."""
        if self._need_keyframe:
            if not frame.keyframe:
                # Ask again (throttled) while waiting: a PLI is one UDP packet and can be lost.
                self.frames_dropped += 1
                self.request_keyframe()
                return
            self._need_keyframe = False
        if len(self._frames) >= QUEUE_FRAMES[self.kind]:
            if self.kind == "audio":
                self._frames.popleft()
                self.frames_dropped += 1
            elif not frame.keyframe:
                self.restart()
                self.frames_dropped += 1
                self.request_keyframe()
                return
            else:
                self.restart()
                self._need_keyframe = False
        self._frames.append(frame)
        self._ready.set()

    async def recv(self) -> av.Packet:
        """Return the next encoded frame as an `av.Packet` in the RTP clock of its kind."""
        while not self._frames:
            if self.readyState != "live":
                raise MediaStreamError
            self._ready.clear()
            await self._ready.wait()
        frame = self._frames.popleft()
        if self._offset is None:
            self._offset = self._rebase() - frame.timestamp
        pts = frame.timestamp + self._offset
        self._next_pts = pts + FRAME_STEP[self.kind]
        self._last_sent = time.monotonic()
        packet = av.Packet(frame.data)
        packet.pts = pts
        packet.time_base = self._time_base
        self.frames_out += 1
        return packet

    def _rebase(self) -> int:
        # After a switch or a pause, let the output clock advance by the wall time that passed,
        # so the subscriber's jitter buffer sees timestamps that match arrival times.
        if self._last_sent is None:
            return self._next_pts
        idle = int((time.monotonic() - self._last_sent) * CLOCK_RATE[self.kind])
        return self._next_pts + max(0, idle - FRAME_STEP[self.kind])

    def stop(self) -> None:
        """End the track and wake a pending `recv()` so the sender's loop exits."""
        super().stop()
        if self.source is not None:
            self.source.detach(self)
            self.source = None
        self._ready.set()
