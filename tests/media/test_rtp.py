"""The RTP a subscriber slot writes, read back with aiortc's own parsers (no network)."""

from __future__ import annotations

import os

import av
import pytest
from aiortc import RTCConfiguration, RTCPeerConnection
from aiortc.codecs import vpx
from aiortc.jitterbuffer import JitterFrame
from aiortc.rtcrtpparameters import (
    RTCRtcpParameters,
    RTCRtpCodecParameters,
    RTCRtpHeaderExtensionParameters,
    RTCRtpSendParameters,
)
from aiortc.rtp import HeaderExtensionsMap, RtpPacket

from media.sfu import rtp
from media.sfu.forwarder import FRAME_STEP, Forwarder
from media.sfu.keyframes import vp8_is_keyframe
from media.sfu.model import TrackInfo
from media.sfu.publication import Publication

VP8 = RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90000, payloadType=97)
OPUS = RTCRtpCodecParameters(mimeType="audio/opus", clockRate=48000, channels=2, payloadType=96)
MID = RTCRtpHeaderExtensionParameters(id=1, uri="urn:ietf:params:rtp-hdrext:sdes:mid")


def parameters(codec: RTCRtpCodecParameters, mid: str) -> RTCRtpSendParameters:
    return RTCRtpSendParameters(
        codecs=[codec], headerExtensions=[MID], muxId=mid, rtcp=RTCRtcpParameters()
    )


def vp8_frames(count: int) -> list[bytes]:
    """Real VP8 frames from libvpx: a noisy 320x240 keyframe spans several packets."""
    encoder = av.CodecContext.create("libvpx", "w")
    encoder.width, encoder.height, encoder.pix_fmt = 320, 240, "yuv420p"
    encoder.bit_rate = 2_000_000
    encoder.options = {"deadline": "realtime"}
    frames: list[bytes] = []
    for index in range(count):
        frame = av.VideoFrame(320, 240, "yuv420p")
        for plane in frame.planes:
            plane.update(os.urandom(plane.buffer_size))
        frame.pts = index
        frames += [bytes(p) for p in encoder.encode(frame)]
    return frames


class Wire:
    """Where a started `Forwarder` writes: the datagrams, parsed as a receiver would."""

    def __init__(self, forwarder: Forwarder, codec: RTCRtpCodecParameters, mid: str) -> None:
        self.sent: list[bytes] = []
        self.map = HeaderExtensionsMap()
        self.map.configure(parameters(codec, mid))
        forwarder.start(0x1234, parameters(codec, mid), self.write)

    def write(self, data: bytes) -> None:
        self.sent.append(data)

    def packets(self) -> list[RtpPacket]:
        return [RtpPacket.parse(data, self.map) for data in self.sent]


def video_packets(data: bytes, timestamp: int) -> rtp.Packets:
    return rtp.Packets("video/vp8", timestamp, vp8_is_keyframe(data), rtp.vp8_chunks(data))


@pytest.mark.timeout(20)
async def test_vp8_frames_reassemble_with_aiortcs_depacketiser() -> None:
    forwarder = Forwarder("video")
    wire = Wire(forwarder, VP8, "3")
    frames = vp8_frames(3)
    assert len(frames[0]) > 2 * rtp.PACKET_MAX  # the keyframe takes several packets
    for index, data in enumerate(frames):
        forwarder.forward(video_packets(data, 1000 + index * 3000), ntp=0)

    packets = wire.packets()
    assert {(p.ssrc, p.payload_type, p.extensions.mid) for p in packets} == {(0x1234, 97, "3")}
    numbers = [p.sequence_number for p in packets]
    assert numbers == [(numbers[0] + i) & 0xFFFF for i in range(len(packets))]
    by_frame: dict[int, list[RtpPacket]] = {}
    for packet in packets:
        by_frame.setdefault(packet.timestamp, []).append(packet)
    assert len(by_frame) == 3
    picture_ids = []
    for group, data in zip(by_frame.values(), frames, strict=True):
        assert [p.marker for p in group] == [0] * (len(group) - 1) + [1]
        descriptors = [vpx.VpxPayloadDescriptor.parse(p.payload)[0] for p in group]
        assert [d.partition_start for d in descriptors] == [1] + [0] * (len(group) - 1)
        assert len({d.picture_id for d in descriptors}) == 1
        picture_ids.append(descriptors[0].picture_id)
        assert b"".join(vpx.vp8_depayload(p.payload) for p in group) == data
    assert picture_ids == [0, 1, 2]
    assert forwarder.frames_out == 3 and forwarder.packets_out == len(packets)


@pytest.mark.timeout(20)
async def test_a_slot_starts_at_a_keyframe_and_keeps_one_timeline_across_a_switch() -> None:
    forwarder = Forwarder("video")
    wire = Wire(forwarder, VP8, "0")
    key, delta = vp8_frames(2)
    forwarder.forward(video_packets(delta, 5000), ntp=0)
    assert wire.sent == [] and forwarder.frames_dropped == 1  # it cannot start on a delta frame
    forwarder.forward(video_packets(key, 8000), ntp=0)
    forwarder.forward(video_packets(delta, 11000), ntp=0)
    first = wire.packets()
    start = first[0].timestamp
    assert first[-1].timestamp == (start + 3000) & 0xFFFFFFFF

    forwarder.restart()  # what a last-N switch does: another publisher, another clock
    forwarder.forward(video_packets(delta, 900_000), ntp=0)
    assert len(wire.sent) == len(first)  # still waiting for the new source's keyframe
    forwarder.forward(video_packets(key, 900_000 + 3000), ntp=0)
    after = wire.packets()[len(first) :]
    gap = (after[0].timestamp - first[-1].timestamp) & 0xFFFFFFFF
    assert FRAME_STEP["video"] <= gap < 90000  # continues forward, by about the wall time
    assert after[0].sequence_number == (first[-1].sequence_number + 1) & 0xFFFF
    descriptor = vpx.VpxPayloadDescriptor.parse(after[0].payload)[0]
    assert descriptor.picture_id == 2  # continuous for the subscriber's decoder


@pytest.mark.timeout(20)
async def test_nack_resends_the_packet_the_slot_sent() -> None:
    forwarder = Forwarder("video")
    wire = Wire(forwarder, VP8, "0")
    (key,) = vp8_frames(1)
    forwarder.forward(video_packets(key, 0), ntp=0)
    lost = wire.packets()[1]
    await forwarder.retransmit(lost.sequence_number)
    assert wire.sent[-1] == wire.sent[1] and forwarder.retransmitted == 1
    await forwarder.retransmit((lost.sequence_number + 1000) & 0xFFFF)  # never sent: ignored
    assert forwarder.retransmitted == 1


@pytest.mark.timeout(20)
async def test_audio_marks_only_the_first_packet_of_a_talkspurt() -> None:
    forwarder = Forwarder("audio")
    wire = Wire(forwarder, OPUS, "1")
    for index in range(3):
        frame = rtp.Packets("audio/opus", index * 960, True, [b"opus%d" % index])
        forwarder.forward(frame, ntp=0)
    packets = wire.packets()
    assert [p.marker for p in packets] == [1, 0, 0]
    assert [p.payload for p in packets] == [b"opus0", b"opus1", b"opus2"]
    assert [p.payload_type for p in packets] == [96, 96, 96]


@pytest.mark.timeout(20)
async def test_a_codec_the_subscriber_did_not_negotiate_is_not_sent() -> None:
    forwarder = Forwarder("video")
    wire = Wire(forwarder, VP8, "0")
    forwarder.forward(rtp.Packets("video/h264", 0, True, [b"\x65nal"]), ntp=0)
    assert wire.sent == [] and forwarder.frames_dropped == 1


H264 = RTCRtpCodecParameters(mimeType="video/H264", clockRate=90000, payloadType=102)


@pytest.mark.timeout(20)
async def test_a_publication_survives_a_bad_frame_and_restarts_its_slots_after_a_loss() -> None:
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    receiver = pc.addTransceiver("video", direction="recvonly").receiver  # never started
    info = TrackInfo("a", "ua", "video", "camera", "track", "0")
    publication = Publication(info, receiver)
    forwarder = Forwarder("video")
    wire = Wire(forwarder, VP8, "0")
    forwarder.feed_from(publication)
    key, delta = vp8_frames(2)

    publication.on_frame(VP8, JitterFrame(key, 0))
    publication.on_frame(VP8, JitterFrame(delta, 3000))
    assert forwarder.frames_out == 2
    # An H.264 frame whose last NAL unit is empty makes aiortc's packetiser raise: the frame is
    # dropped, and nothing reaches aiortc's receive loop (which would close the connection).
    publication.on_frame(H264, JitterFrame(b"\x00\x00\x00\x01\x41\x00\x00\x01", 6000))
    assert publication.frames_in == 3 and forwarder.frames_out == 2

    publication.on_loss()  # aiortc gave up on lost packets: the next delta frame is undecodable
    publication.on_frame(VP8, JitterFrame(delta, 9000))
    assert forwarder.frames_out == 2 and forwarder.frames_dropped == 1
    publication.on_frame(VP8, JitterFrame(key, 12000))
    assert forwarder.frames_out == 3 and len(wire.packets()) > 2
    publication.close()
    await pc.close()


def test_first_sequence_numbers_leave_room_before_the_wrap() -> None:
    assert max(rtp.random_sequence_number() for _ in range(2000)) < 0x8000


@pytest.mark.timeout(20)
async def test_audio_keeps_the_publishers_gaps_and_order_and_continues_after_a_switch() -> None:
    forwarder = Forwarder("audio")
    wire = Wire(forwarder, OPUS, "1")

    def packet(sequence: int, timestamp: int) -> rtp.Packets:
        return rtp.Packets("audio/opus", timestamp, True, [b"%d" % sequence], sequence)

    for sequence in (100, 101, 103, 102):  # 102 arrives late
        forwarder.forward(packet(sequence, sequence * 960), ntp=0)
    forwarder.restart()  # another speaker in this slot, with a sequence of their own
    forwarder.forward(packet(40000, 7), ntp=0)
    out = [p.sequence_number for p in wire.packets()]
    first = out[0]
    assert [(n - first) & 0xFFFF for n in out] == [0, 1, 3, 2, 4]
    assert [p.payload for p in wire.packets()] == [b"100", b"101", b"103", b"102", b"40000"]
    stamps = [p.timestamp for p in wire.packets()]
    assert (stamps[2] - stamps[0]) & 0xFFFFFFFF == 3 * 960  # the gap is kept in time too
    assert [p.marker for p in wire.packets()] == [1, 0, 0, 0, 1]  # a new talkspurt per speaker
