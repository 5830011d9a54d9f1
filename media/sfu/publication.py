"""What comes in: one `Publication` per published track, fed by the publisher's receiver.

The publisher's receiver hands each reassembled encoded video frame to `Publication.on_frame` on
the event loop (see `aiortc_private.tap_receiver`), which packetises it once (rtp.py) and gives
the payloads to the `Forwarder` of every subscriber slot it feeds; audio packets go on as they
arrive (`Publication.on_packet`). Nothing is decoded or re-encoded.

When frames are lost between the publisher and the SFU, aiortc asks the publisher for a keyframe
and every slot waits for it (`Publication.on_loss`); a packet that stays missing is asked for
again and then given up on (`Publication.check_stall`), since aiortc's jitter buffer would wait
for it for hundreds of packets.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from aiortc import RTCRtpCodecParameters, RTCRtpReceiver
from aiortc import clock as rtc_clock
from aiortc.jitterbuffer import JitterFrame
from aiortc.rtp import RtpPacket

from . import aiortc_private, rtp
from .keyframes import KeyframeRequester, keyframe_detector
from .model import TrackInfo

if TYPE_CHECKING:
    from .forwarder import Forwarder

logger = logging.getLogger(__name__)

STALE_AFTER = 3.0  # seconds without frames after which a video is no longer offered to last-N
RENACK_AFTER = 0.25  # seconds a missing packet holds video frames back before it is asked again
STALL_AFTER = 1.0  # ... before it is given up and a keyframe asked for instead
SPEAKING_LEVEL = 50  # ssrc-audio-level at or under this (louder than -50 dBov) counts as speech


class Publication:
    """One published track on the SFU: its description, its receiver, and the slots it feeds.

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
        self.last_packet_at = 0.0
        self.stalls = 0
        self._sending: set[asyncio.Future[None]] = set()
        self.keyframes = KeyframeRequester(self._send_pli)
        self._receiver = receiver
        self._sinks: list[Forwarder] = []
        self._codec: RTCRtpCodecParameters | None = None
        self._mime_type = ""
        self._packetize: rtp.Packetizer = rtp.vp8_chunks
        self._is_keyframe: Callable[[bytes], bool] = keyframe_detector("")
        aiortc_private.tap_receiver(
            receiver,
            self.on_frame,
            self._on_end,
            self.on_loss,
            self.on_packet,
        )

    def _on_end(self) -> None:
        self.ended = True

    def on_frame(self, codec: RTCRtpCodecParameters, frame: JitterFrame) -> None:
        """Packetise one encoded video frame once and send it through every attached slot
        (audio frames only count: audio is forwarded packet by packet, see `on_packet`).

        Nothing raises out of here: called inside aiortc's receive loop, an exception would end
        the publisher's connection, and with it their media for everyone.
        """
        self.frames_in += 1
        self.last_frame_at = time.monotonic()
        try:
            if codec is not self._codec:
                self._codec, self._mime_type = codec, codec.mimeType.lower()
                self._packetize = rtp.packetizer(codec)
                self._is_keyframe = keyframe_detector(codec.mimeType)
            if self.info.kind != "video" or not self.enabled or not self._sinks or not frame.data:
                return
            packets = rtp.Packets(
                self._mime_type,
                frame.timestamp,
                self._is_keyframe(frame.data),
                self._packetize(frame.data),
            )
            self._fan_out(packets)
        except Exception:
            logger.exception("dropped a frame of %s that could not be forwarded", self.info.mid)

    def on_packet(self, packet: RtpPacket) -> None:
        """Note each media packet's arrival; for audio, note speech from the ssrc-audio-level header
        extension (0 loudest, 127 silence) and forward the packet as it arrives. An Opus packet
        is a whole frame, so there is nothing to reassemble, and aiortc's jitter buffer would
        add 80 ms or more."""
        if packet.payload and not aiortc_private.is_retransmission(self._receiver, packet):
            self.last_packet_at = time.monotonic()  # media, not padding or a repair
        if self.info.kind != "audio":
            return
        level = packet.extensions.audio_level
        if level is not None and level[1] <= SPEAKING_LEVEL and self.enabled:
            self.last_spoke = time.monotonic()
        codec = self._codec  # learnt from aiortc's first reassembled frame
        if (
            codec is None
            or packet.payload_type != codec.payloadType
            or not packet.payload
            or not self.enabled
            or not self._sinks
        ):
            return
        payloads = [packet.payload]
        try:
            self._fan_out(
                rtp.Packets(
                    self._mime_type, packet.timestamp, True, payloads, packet.sequence_number
                )
            )
        except Exception:
            logger.exception("dropped a packet of %s that could not be forwarded", self.info.mid)

    def _fan_out(self, packets: rtp.Packets) -> None:
        ntp = rtc_clock.current_ntp_time()
        for sink in tuple(self._sinks):
            try:
                sink.forward(packets, ntp)
            except Exception:
                # One slot's failure must not cost the other subscribers this frame.
                logger.exception("forwarding to a subscriber slot failed; it waits for a keyframe")
                sink.restart()

    def check_stall(self, now: float) -> None:
        """Help a video whose media packets arrive but whose frames do not while a packet is
        missing: aiortc's jitter buffer waits for it (up to 512 packets behind), and aiortc asks
        for it again only when another packet goes missing. First ask again (NACK); if frames
        are still held back after `STALL_AFTER`, give up on it (see
        `aiortc_private.forget_missing_packets`) and ask for a keyframe, which every slot then
        waits for, as after any loss. (Without a missing packet a frame may just wait for the
        next one: aiortc hands a frame on when the next begins, and a still screen share sends
        few.)"""
        held = now - self.last_frame_at
        if (
            self.info.kind != "video"
            or held < RENACK_AFTER
            or now - self.last_packet_at > STALL_AFTER / 2
            or not aiortc_private.missing_packets(self._receiver)
        ):
            return
        if held < STALL_AFTER:
            nack = aiortc_private.send_nack_again(self._receiver)
            if nack is not None:
                self._run(nack)
            return
        logger.info("video %s stalled on a lost packet; asking for a keyframe", self.info.mid)
        self.stalls += 1
        self.last_frame_at = now  # one reset per stall, not one per tick
        aiortc_private.forget_missing_packets(self._receiver)
        self.on_loss()
        self.keyframes.request()

    def _run(self, send: Awaitable[None]) -> None:
        task = asyncio.ensure_future(send)
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    def live(self, now: float) -> bool:
        """Whether frames arrived lately (a client that stops a track may never say so)."""
        return now - self.last_frame_at < STALE_AFTER

    def on_loss(self) -> None:
        """aiortc lost frames of this track beyond repair and asked for a keyframe: delta frames
        would now be decoded against a missing reference, so every slot waits for it."""
        if self.info.kind == "video":
            for sink in self._sinks:
                sink.restart()

    def set_enabled(self, enabled: bool) -> None:
        """Start or stop forwarding; on restart every subscriber waits for a fresh keyframe."""
        if enabled and not self.enabled:
            for sink in self._sinks:
                sink.restart()
            self.keyframes.request()
        self.enabled = enabled

    def attach(self, sink: Forwarder) -> None:
        """Start feeding `sink` (it waits for a keyframe, which is requested)."""
        self._sinks.append(sink)
        self.keyframes.request()

    def detach(self, sink: Forwarder) -> None:
        """Stop feeding `sink`."""
        if sink in self._sinks:
            self._sinks.remove(sink)

    def close(self) -> None:
        """Detach every slot (they keep waiting for another source) and cancel requests."""
        for sink in list(self._sinks):
            sink.feed_from(None)
        self.keyframes.close()
        for task in list(self._sending):
            task.cancel()

    async def _send_pli(self) -> None:
        sources = aiortc_private.media_ssrcs(self._receiver)
        if self.info.kind == "video" and sources:
            await aiortc_private.send_pli(self._receiver, sources[0])
