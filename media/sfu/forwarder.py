"""What goes out: one `Forwarder` per subscriber slot (a sendonly m-line), fed by a `Publication`.

A forwarder writes only its own RTP header in front of the payloads its publication packetised
once for everyone, and sends through its connection's SRTP transport, so nothing but a header is
built per subscriber. aiortc's `RTCRtpSender` behind the slot still negotiates, sends RTCP sender
reports (fed by `aiortc_private.count_sent`) and relays PLI/FIR and NACK to us; its own RTP loop
waits on an `IdleTrack` that never yields a frame.

Packets go to the subscriber's socket at once (asyncio holds only what the kernel refuses at that
instant), so there is no frame queue per subscriber: a slow subscriber loses packets in the
network and sends NACK (answered from a short history of what its slot sent) or PLI (relayed to
the publisher as a keyframe request).
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from aiortc import MediaStreamTrack, RTCRtpSender
from aiortc.mediastreams import MediaStreamError
from aiortc.rtcrtpparameters import RTCRtpSendParameters

from . import aiortc_private, rtp

if TYPE_CHECKING:
    from .publication import Publication

CLOCK_RATE = {"audio": 48000, "video": 90000}  # Opus and every video codec in RTP
FRAME_STEP = {"audio": 960, "video": 3000}  # 20 ms, and 1/30 s: the gap left at a switch
HISTORY = 512  # video packets a slot keeps for retransmission (about 4 s at 500 kbit/s)


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
        # Video packets sent lately, by sequence number: their header and VP8 descriptor, and
        # the payload every slot fed by the same frame shares.
        self._history: list[tuple[bytes, bytes, bytes] | None] = (
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
            descriptor = middle if index else start
            if history:
                history[sequence % HISTORY] = (header, descriptor, payload)
            write(b"".join((header, extensions, descriptor, payload)))
            octets += len(descriptor) + len(payload)
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
        if sent is None or self._route is None:
            return
        header, descriptor, payload = sent
        if int.from_bytes(header[2:4], "big") != sequence_number:
            return
        try:
            self._write(b"".join((header, self._route.extensions, descriptor, payload)))
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
