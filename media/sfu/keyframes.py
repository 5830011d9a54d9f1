"""Keyframe detection in encoded frames, and throttled keyframe requests to a publisher.

A subscriber can only start decoding at a keyframe, so the SFU asks publishers for one when a
subscriber joins, when a last-N slot switches publisher, and when a subscriber sends PLI/FIR.
Publishers pay for every keyframe (a VP8 keyframe is several times a delta frame), so requests are
coalesced to one per `interval` per published track; a request inside the window is deferred to
its end, never dropped, or a late joiner could wait for the encoder's next natural keyframe
(aiortc's VP8 encoder makes one every 3,000 frames).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

KEYFRAME_INTERVAL = 0.4  # seconds between PLIs to one publisher track


def vp8_is_keyframe(data: bytes) -> bool:
    """RFC 6386 9.1: bit 0 of the frame tag is 0 for a key frame (the data is a whole frame)."""
    return len(data) > 0 and data[0] & 0x01 == 0


def h264_is_keyframe(data: bytes) -> bool:
    """Annex B stream (aiortc's depayloader adds start codes): an IDR slice or an SPS starts one."""
    start = data.find(b"\x00\x00\x01")
    while start != -1 and start + 3 < len(data):
        if data[start + 3] & 0x1F in (5, 7):
            return True
        start = data.find(b"\x00\x00\x01", start + 3)
    return False


def _always(data: bytes) -> bool:
    # Audio frames decode independently.
    return True


KEYFRAME_DETECTORS: dict[str, Callable[[bytes], bool]] = {
    "video/vp8": vp8_is_keyframe,
    "video/h264": h264_is_keyframe,
}


def keyframe_detector(mime_type: str) -> Callable[[bytes], bool]:
    """Return the keyframe test for a codec's mimeType; audio codecs always start a stream."""
    return KEYFRAME_DETECTORS.get(mime_type.lower(), _always)


class KeyframeRequester:
    """Sends keyframe requests for one published track, at most one per `interval` seconds.

    `send` does the sending (an RTCP PLI); `clock` is injectable so the throttle can be tested
    without sleeping. `close()` cancels a deferred request and any send still running.
    """

    def __init__(
        self,
        send: Callable[[], Awaitable[None]],
        interval: float = KEYFRAME_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._send = send
        self._interval = interval
        self._clock = clock
        self._last = -interval
        self._deferred: asyncio.TimerHandle | None = None
        self._sending: set[asyncio.Future[None]] = set()
        self.sent = 0

    def request(self) -> None:
        """Ask for a keyframe now, or at the end of the current throttle window."""
        if self._deferred is not None:
            return
        wait = self._last + self._interval - self._clock()
        if wait <= 0:
            self._fire()
        else:
            self._deferred = asyncio.get_running_loop().call_later(wait, self._fire)

    def _fire(self) -> None:
        self._deferred = None
        self._last = self._clock()
        self.sent += 1
        future = asyncio.ensure_future(self._send())
        self._sending.add(future)
        future.add_done_callback(self._sending.discard)

    def close(self) -> None:
        """Drop a deferred request and cancel sends in flight."""
        if self._deferred is not None:
            self._deferred.cancel()
            self._deferred = None
        for future in list(self._sending):
            future.cancel()
