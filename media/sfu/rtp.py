"""RTP packets for the forwarding path: packetise a frame once, address it per subscriber.

A publisher's frame is split into RTP payloads once (`packetize`), whoever receives it. What
differs per subscriber slot is only the 12-byte RTP header (its ssrc, payload type, sequence
number and timestamp), its header extension block (the slot's mid, fixed per slot) and, for VP8,
the 4-byte payload descriptor carrying a picture ID that stays continuous when last-N switches
the publisher behind the slot. So each subscriber costs a header pack and one join per packet.

The VP8 layout is RFC 7741 as aiortc writes it (aiortc.codecs.vpx): X=1, S on a frame's first
packet, partition 0, and a 15-bit picture ID (the M bit set). H.264 goes through aiortc's own
packetiser (RFC 6184, FU-A and STAP-A); an Opus frame is one payload (RFC 7587).
"""

from __future__ import annotations

import random
import struct
from collections.abc import Callable
from fractions import Fraction
from typing import NamedTuple

import av
from aiortc import RTCRtpCodecParameters
from aiortc.codecs import get_encoder
from aiortc.rtcrtpparameters import RTCRtpSendParameters
from aiortc.rtp import HeaderExtensionsMap, RtpPacket

PACKET_MAX = 1300  # payload bytes per packet, descriptor included (aiortc uses the same)
VP8_DESCRIPTOR = 4  # bytes: flags, X extension (I), 15-bit picture ID
PICTURE_ID_MOD = 1 << 15
VIDEO_TIME_BASE = Fraction(1, 90000)
HEADER = struct.Struct("!BBHII")  # V/P/X/CC, M/PT, sequence number, timestamp, ssrc


def random_sequence_number() -> int:
    """A random first sequence number, as RFC 3550 asks, from the lower half of the range (as
    aiortc and libwebrtc do): a receiver that lost every packet before a wrap would count the
    SRTP rollover wrong and fail to authenticate everything after it."""
    return random.getrandbits(15)


def random_timestamp() -> int:
    """A random first timestamp, as RFC 3550 asks."""
    return random.getrandbits(32)


class Packets(NamedTuple):
    """One encoded frame packetised for every subscriber (`mime_type` in lower case). VP8
    payloads lack their descriptor: the subscriber's slot writes its own. `sequence` is the
    publisher's sequence number of a packet forwarded as it came (audio), so the slot keeps its
    gaps and order."""

    mime_type: str
    timestamp: int
    keyframe: bool
    payloads: list[bytes]
    sequence: int | None = None

    @property
    def vp8(self) -> bool:
        """Whether the payloads are VP8 bodies that need a descriptor (see `vp8_chunks`)."""
        return self.mime_type == "video/vp8"


Packetizer = Callable[[bytes], list[bytes]]


def vp8_chunks(data: bytes) -> list[bytes]:
    """Split a VP8 frame into payload bodies that leave room for the 4-byte descriptor."""
    size = PACKET_MAX - VP8_DESCRIPTOR
    return [data[pos : pos + size] for pos in range(0, len(data), size)]


def vp8_descriptors(picture_id: int) -> tuple[bytes, bytes]:
    """The descriptors of a frame's first packet (S=1) and of its other packets (S=0)."""
    pid = struct.pack("!H", 0x8000 | (picture_id % PICTURE_ID_MOD))
    return b"\x90\x80" + pid, b"\x80\x80" + pid


def _single(data: bytes) -> list[bytes]:
    return [data]


def packetizer(codec: RTCRtpCodecParameters) -> Packetizer:
    """The payload splitter for a codec: VP8 bodies, aiortc's H.264 packetiser, or one payload."""
    mime_type = codec.mimeType.lower()
    if mime_type == "video/vp8":
        return vp8_chunks
    if mime_type == "video/h264":
        encoder = get_encoder(codec)  # packs without encoding; builds no codec context

        def h264(data: bytes) -> list[bytes]:
            packet = av.Packet(data)
            packet.pts, packet.time_base = 0, VIDEO_TIME_BASE  # pack() converts a timestamp
            return encoder.pack(packet)[0]

        return h264
    return _single


class Route(NamedTuple):
    """Where one subscriber slot sends: learnt from the parameters aiortc starts its sender with."""

    ssrc: int
    payload_types: dict[str, int]  # lower-case mimeType -> negotiated payload type
    first_byte: int  # V=2, X if there is an extension block
    extensions: bytes  # the header extension block, with the slot's mid


def route(ssrc: int, parameters: RTCRtpSendParameters) -> Route:
    """Build a slot's route from its sender's ssrc and negotiated send parameters."""
    payload_types: dict[str, int] = {}
    for codec in parameters.codecs:
        if codec.payloadType is not None:
            payload_types.setdefault(codec.mimeType.lower(), codec.payloadType)
    extensions_map = HeaderExtensionsMap()
    extensions_map.configure(parameters)
    template = RtpPacket()
    template.extensions.mid = parameters.muxId or None
    serialized = template.serialize(extensions_map)
    return Route(ssrc, payload_types, serialized[0], serialized[HEADER.size :])
