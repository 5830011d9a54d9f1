"""The encoded forwarding path: one `Publication` per published track fans out to `Forwarder`s.

The publisher's receiver hands each reassembled encoded video frame to `Publication.on_frame` on
the event loop (see `aiortc_private.tap_receiver`); audio packets go on as they arrive
(`Publication.on_packet`). The frame is packetised once (rtp.py), then each subscriber slot's
`Forwarder` writes its own RTP header in front of the shared payloads and sends them through its
connection's SRTP transport: nothing is decoded or re-encoded, and nothing but a header is built
per subscriber. aiortc's `RTCRtpSender` behind each slot still negotiates, sends RTCP sender
reports (fed by `aiortc_private.count_sent`) and relays PLI/FIR and NACK to us; its own RTP loop
waits on an `IdleTrack` that never yields a frame.

Packets go to the subscriber's socket at once (asyncio holds only what the kernel refuses at that
instant), so there is no frame queue per subscriber: a slow subscriber loses packets in the
network and sends NACK (answered from a short history of what its slot sent) or PLI (relayed to
the publisher as a keyframe request). When frames are lost between the publisher and the SFU,
aiortc asks the publisher for a keyframe and every slot waits for it (`Publication.on_loss`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from aiortc import MediaStreamTrack, RTCRtpCodecParameters, RTCRtpReceiver, RTCRtpSender
from aiortc import clock as rtc_clock
from aiortc.jitterbuffer import JitterFrame
from aiortc.mediastreams import MediaStreamError
from aiortc.rtcrtpparameters import RTCRtpSendParameters
from aiortc.rtp import RtpPacket

from . import aiortc_private, rtp
from .keyframes import KeyframeRequester, keyframe_detector
from .model import TrackInfo

logger = logging.getLogger(__name__)

CLOCK_RATE = {"audio": 48000, "video": 90000}  # Opus and every video codec in RTP
FRAME_STEP = {"audio": 960, "video": 3000}  # 20 ms, and 1/30 s: the gap left at a switch
HISTORY = 512  # video packets a slot keeps for retransmission (about 4 s at 500 kbit/s)
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
                self._codec = codec
                self._packetize = rtp.packetizer(codec)
                self._is_keyframe = keyframe_detector(codec.mimeType)
            if self.info.kind != "video" or not self.enabled or not self._sinks or not frame.data:
                return
            packets = rtp.Packets(
                codec.mimeType.lower(),
                frame.timestamp,
                self._is_keyframe(frame.data),
                self._packetize(frame.data),
                self._packetize is rtp.vp8_chunks,
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
        try:
            mime_type = codec.mimeType.lower()
            payloads = [packet.payload]
            self._fan_out(
                rtp.Packets(
                    mime_type, packet.timestamp, True, payloads, False, packet.sequence_number
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


class IdleTrack(MediaStreamTrack):
    """The track aiortc's sender loop reads from: it yields nothing until stopped, since the
    slot's `Forwarder` sends the RTP itself."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind
        self._stopped = asyncio.Event()

    async def recv(self) -> None:  # type: ignore[override]
        await self._stopped.wait()
        raise MediaStreamError

    def stop(self) -> None:
        super().stop()
        self._stopped.set()


class Forwarder:
    """One sendonly m-line of a subscriber (a slot): which publication feeds it, and its RTP.

    It keeps one continuous RTP stream whoever feeds it: its own ssrc and sequence numbers,
    timestamps rebased at every source switch, and for VP8 its own picture IDs. Video starts
    (and restarts after a switch, a pause or a send failure) at a keyframe.
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.track = IdleTrack(kind)
        self.source: Publication | None = None
        self.frames_out = 0
        self.frames_dropped = 0
        self.packets_out = 0
        self.retransmitted = 0
        self._sender: RTCRtpSender | None = None
        self._route: rtp.Route | None = None
        self._write: aiortc_private.RtpWriter | None = None
        # Video packets sent lately, by sequence number: their own head, and the payload that
        # every slot fed by the same frame shares.
        self._history: list[tuple[bytes, bytes] | None] = (
            [None] * HISTORY if kind == "video" else []
        )
        self._sequence = rtp.random_sequence_number()
        self._sequence_offset = 0
        self._picture_id = 0
        self._need_keyframe = kind == "video"
        self._talkspurt = True  # audio: the marker bit goes on the first packet after a gap
        self._offset: int | None = None
        self._next_timestamp = rtp.random_timestamp()
        self._last_sent: float | None = None
        self._stopped = False

    @property
    def sequence(self) -> int:
        """The RTP sequence number of the slot's next packet."""
        return self._sequence

    def bind(self, sender: RTCRtpSender) -> None:
        """Take over sending for `sender` (call once, right after creating its transceiver)."""
        self._sender = sender
        aiortc_private.on_send(sender, self._started)
        aiortc_private.on_keyframe_request(sender, self.request_keyframe)
        aiortc_private.on_nack(sender, self.retransmit)
        aiortc_private.own_stream(sender)

    def _started(self, ssrc: int, parameters: RTCRtpSendParameters) -> None:
        # aiortc starts the sender once DTLS is up: from now on packets can go out.
        if self._sender is not None:
            self.start(ssrc, parameters, aiortc_private.rtp_writer(self._sender))

    def start(
        self, ssrc: int, parameters: RTCRtpSendParameters, write: aiortc_private.RtpWriter
    ) -> None:
        """Send as `ssrc` with the negotiated `parameters`, each packet through `write`.

        Only the first call counts: aiortc starts a sender again after every renegotiation of
        its connection, but keeps the parameters it started with (and so does the slot, whose
        video would otherwise wait for a keyframe each time the connection grows a slot).
        """
        if self._stopped or self._route is not None:
            return
        self._route = rtp.route(ssrc, parameters)
        self._write = write
        self.restart()
        self.request_keyframe()

    def feed_from(self, source: Publication | None) -> None:
        """Switch which publication feeds this slot (None: none); no renegotiation needed."""
        if source is self.source:
            return
        if self.source is not None:
            self.source.detach(self)
        self.source = source
        self.restart()
        if source is not None and not self._stopped:
            source.attach(self)

    def restart(self) -> None:
        """Wait for a keyframe and rebase timestamps, keeping the output timeline going."""
        self._need_keyframe = self.kind == "video"
        self._talkspurt = True
        self._offset = None

    def request_keyframe(self) -> None:
        """Ask the current source for a keyframe (the subscriber sent PLI/FIR, or we dropped)."""
        if self.source is not None:
            self.source.keyframes.request()

    def forward(self, packets: rtp.Packets, ntp: int) -> None:
        """Send one packetised frame to this slot's subscriber, or drop it if it cannot start
        there (not connected yet, waiting for a keyframe, a codec the subscriber lacks)."""
        route, write = self._route, self._write
        if route is None or write is None:
            return
        payload_type = route.payload_types.get(packets.mime_type)
        if payload_type is None:
            self.frames_dropped += 1
            return
        if self._need_keyframe:
            if not packets.keyframe:
                # Ask again (throttled) while waiting: a PLI is one UDP packet and can be lost.
                self.frames_dropped += 1
                self.request_keyframe()
                return
            self._need_keyframe = False
        if self._offset is None:
            self._offset = self._rebase() - packets.timestamp
            if packets.sequence is not None:
                self._sequence_offset = (self._sequence - packets.sequence) & 0xFFFF
        timestamp = (packets.timestamp + self._offset) & 0xFFFFFFFF
        self._next_timestamp = timestamp + FRAME_STEP[self.kind]
        self._last_sent = time.monotonic()
        try:
            octets = self._send(packets, route, write, payload_type, timestamp)
        except ConnectionError:
            self.restart()  # the connection closed (or its SRTP refused): restart at a keyframe
            return
        self.frames_out += 1
        if self._sender is not None:
            aiortc_private.count_sent(self._sender, ntp, timestamp, len(packets.payloads), octets)

    def _send(
        self,
        packets: rtp.Packets,
        route: rtp.Route,
        write: aiortc_private.RtpWriter,
        payload_type: int,
        timestamp: int,
    ) -> int:
        pack, ssrc, extensions, first = (
            rtp.HEADER.pack,
            route.ssrc,
            route.extensions,
            route.first_byte,
        )
        history, sequence = self._history, self._sequence
        if packets.sequence is not None:  # forwarded as it came: keep the publisher's gaps
            sequence = (packets.sequence + self._sequence_offset) & 0xFFFF
        last = len(packets.payloads) - 1
        head_size = rtp.HEADER.size + len(extensions)  # before the payload's own descriptor
        octets = marks = 0
        if packets.vp8:
            start, middle = rtp.vp8_descriptors(self._picture_id)
            self._picture_id += 1
        else:
            start = middle = b""
        if self.kind == "audio":
            marks = 0x80 if self._talkspurt else 0
            self._talkspurt = False
        for index, payload in enumerate(packets.payloads):
            if self.kind == "video":
                marks = 0x80 if index == last else 0
            header = pack(first, marks | payload_type, sequence, timestamp, ssrc)
            head = header + extensions + (middle if index else start)
            if history:
                history[sequence % HISTORY] = (head, payload)
            write(head + payload)
            octets += len(head) - head_size + len(payload)
            sequence = (sequence + 1) & 0xFFFF
            if (sequence - self._sequence) & 0xFFFF < 0x8000:  # a late packet does not go back
                self._sequence = sequence
        self.packets_out += last + 1
        return octets

    async def retransmit(self, sequence_number: int) -> None:
        """Answer the subscriber's NACK: resend on the media ssrc what this slot sent."""
        if not self._history or self._write is None:
            return
        sent = self._history[sequence_number % HISTORY]
        if sent is None or int.from_bytes(sent[0][2:4], "big") != sequence_number:
            return
        try:
            self._write(sent[0] + sent[1])
        except ConnectionError:  # closed, or older than the SRTP replay window
            return
        self.retransmitted += 1

    def _rebase(self) -> int:
        # After a switch or a pause, let the output clock advance by the wall time that passed,
        # so the subscriber's jitter buffer sees timestamps that match arrival times.
        if self._last_sent is None:
            return self._next_timestamp
        idle = int((time.monotonic() - self._last_sent) * CLOCK_RATE[self.kind])
        return self._next_timestamp + max(0, idle - FRAME_STEP[self.kind])

    def stop(self) -> None:
        """Stop feeding this slot and end its idle track (aiortc's sender loop exits)."""
        self._stopped = True
        if self.source is not None:
            self.source.detach(self)
            self.source = None
        self._route = self._write = None
        self.track.stop()
