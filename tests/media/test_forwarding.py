"""Publisher to subscribers through the SFU with real aiortc peers on 127.0.0.1."""

from __future__ import annotations

import asyncio

import pytest
from aiortc import RTCRtpSender, RTCSessionDescription
from aiortc.rtp import RtpPacket, is_rtcp

from media.sfu import Sfu, aiortc_private

from .conftest import Harness
from .peers import Client, SyntheticCamera, ToneMicrophone, wait_until


async def receives(client: Client, kind: str, frames: int) -> None:
    await wait_until(lambda: client.frames(kind) >= frames)


async def camera_to_b(sfu: Sfu, harness: Harness) -> tuple[Client, Client]:
    """Participant a publishes a camera in session s1 and b receives it; returns both clients."""
    sfu.join("s1", "a", "ua")
    sfu.join("s1", "b", "ub")
    publisher = harness.client()
    await publisher.publish(sfu, "s1", "a", [SyntheticCamera()])
    b = await harness.subscriber(sfu, "s1", "b")
    await receives(b, "video", 10)
    return publisher, b


@pytest.mark.timeout(60)
async def test_subscribers_decode_forwarded_video_and_audio(harness: Harness) -> None:
    sfu = harness.sfu()
    for pid, user in [("a", "ua"), ("b", "ub"), ("c", "uc")]:
        sfu.join("s1", pid, user)
    publisher = harness.client()
    await publisher.publish(sfu, "s1", "a", [SyntheticCamera(320, 240), ToneMicrophone()])
    b = await harness.subscriber(sfu, "s1", "b")
    c = await harness.subscriber(sfu, "s1", "c")

    for client in (b, c):
        await receives(client, "video", 5)
        await receives(client, "audio", 5)
        video = [r for r in client.of_kind("video") if r.frames]
        assert len(video) == 1 and video[0].sizes == {(320, 240)}
        assert sum(r.samples for r in client.of_kind("audio")) > 0

    # Passthrough: the SFU's receivers were tapped (their decoder thread exits before
    # building a decoder) and every forwarded frame went through the fan-out.
    session = sfu._sessions["s1"]
    for publication in session.publications.values():
        assert aiortc_private.is_tapped(publication._receiver)
        assert publication.frames_in > 0
    slots = [slot.forwarder for p in session.participants.values() for slot in p.slots]
    assert sum(f.frames_out for f in slots if f.kind == "video") >= 10
    # Each slot is a media stream of its own: browsers synchronise audio and video only within
    # a stream, and a slot's video and another slot's audio may be different people.
    sdp = b.pc.remoteDescription.sdp.splitlines()
    streams = [line.split()[0] for line in sdp if line.startswith("a=msid:")]
    assert len(streams) >= 2 and len(set(streams)) == len(streams)


@pytest.mark.timeout(60)
async def test_sfu_gathers_only_on_configured_addresses(harness: Harness) -> None:
    sfu = harness.sfu()
    sfu.join("s1", "a", "ua")
    publisher = harness.client()
    for track in (SyntheticCamera(), ToneMicrophone()):
        publisher.pc.addTransceiver(track, direction="sendonly")
    answer = await sfu.publish("s1", "a", await publisher.offer_sdp())
    candidates = [line for line in answer.splitlines() if line.startswith("a=candidate")]
    assert candidates and all(" 127.0.0.1 " in line for line in candidates)


@pytest.mark.timeout(60)
async def test_late_joiner_decodes_video_within_a_second(harness: Harness) -> None:
    sfu = harness.sfu()
    sfu.join("s1", "a", "ua")
    sfu.join("s1", "late", "ul")
    publisher = harness.client()
    await publisher.publish(sfu, "s1", "a", [SyntheticCamera(), ToneMicrophone()])
    # Let the publisher's only natural keyframe (its first frame) go by.
    await wait_until(
        lambda: (
            sfu._sessions["s1"].publications
            and all(p.frames_in > 60 for p in sfu._sessions["s1"].publications.values())
        )
    )
    late = await harness.subscriber(sfu, "s1", "late")
    await wait_until(lambda: late.connected_at is not None)
    assert late.connected_at is not None
    await wait_until(lambda: late.frames("video") >= 1, within=5)
    first = min(r.first_at for r in late.of_kind("video") if r.first_at is not None)
    video = next(p for p in sfu._sessions["s1"].publications.values() if p.info.kind == "video")
    assert video.keyframes.sent >= 1  # the joiner's PLI made the publisher send a keyframe
    print(f"late joiner: first decoded frame {first - late.connected_at:.3f} s after connected")
    assert first - late.connected_at < 1.0


@pytest.mark.timeout(60)
async def test_muting_stops_forwarded_media_and_unmuting_resumes_it(harness: Harness) -> None:
    sfu = harness.sfu()
    sfu.join("s1", "a", "ua")
    sfu.join("s1", "b", "ub")
    await harness.client().publish(sfu, "s1", "a", [SyntheticCamera(), ToneMicrophone()])
    b = await harness.subscriber(sfu, "s1", "b")
    await wait_until(lambda: b.frames("video") >= 5 and b.frames("audio") >= 5)

    sfu.mute("s1", "a", "audio")
    sfu.mute("s1", "a", "video")
    await _quiet(b, "audio")
    await _quiet(b, "video")

    sfu.unmute("s1", "a", "audio")
    sfu.unmute("s1", "a", "video")
    video, audio = b.frames("video"), b.frames("audio")
    await wait_until(lambda: b.frames("video") > video + 3, within=3)
    await wait_until(lambda: b.frames("audio") > audio + 3, within=3)


async def _quiet(client: Client, kind: str) -> None:
    # Allow in-flight frames to land, then require silence for a full second.
    await asyncio.sleep(0.5)
    before = client.frames(kind)
    await asyncio.sleep(1.0)
    assert client.frames(kind) == before, f"{kind} still arriving after mute"


@pytest.mark.timeout(60)
async def test_a_nack_is_answered_through_the_subscribers_srtp_session(harness: Harness) -> None:
    sfu = harness.sfu()
    _, b = await camera_to_b(sfu, harness)
    slots = sfu._sessions["s1"].participants["b"].slots
    video = next(s.forwarder for s in slots if s.forwarder.source is not None)

    await video.retransmit((video.sequence - 3) & 0xFFFF)  # sent moments ago: resent
    await video.retransmit((video.sequence + 100) & 0xFFFF)  # never sent: nothing to resend
    assert video.retransmitted == 1
    frames = b.frames("video")
    await receives(b, "video", frames + 5)  # and the stream goes on


@pytest.mark.timeout(60)
async def test_h264_is_forwarded_when_the_publisher_prefers_it(harness: Harness) -> None:
    sfu = harness.sfu()
    sfu.join("s1", "a", "ua")
    sfu.join("s1", "b", "ub")
    publisher = harness.client()
    transceiver = publisher.pc.addTransceiver(SyntheticCamera(320, 240), direction="sendonly")
    capabilities = RTCRtpSender.getCapabilities("video").codecs
    transceiver.setCodecPreferences([c for c in capabilities if c.mimeType == "video/H264"])
    answer = await sfu.publish("s1", "a", await publisher.offer_sdp())
    await publisher.pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))
    assert "H264/90000" in answer and "VP8/90000" not in answer

    b = await harness.subscriber(sfu, "s1", "b")
    await receives(b, "video", 5)
    video = [r for r in b.of_kind("video") if r.frames]
    assert len(video) == 1 and video[0].sizes == {(320, 240)}


def lose(client: Client, *, retransmissions: int | None) -> list[int]:
    """Make the network between `client` and the SFU lose the client's next video packet, and
    its first `retransmissions` retransmissions (None: all). Returns the lost sequence numbers.
    """
    sender = client.pc.getSenders()[0]
    transport = sender.transport
    send_rtp = transport._send_rtp
    lost: list[int] = []
    repairs_lost = [0]

    async def lossy(data: bytes) -> None:
        if not is_rtcp(data):
            packet = RtpPacket.parse(data)
            repair = packet.ssrc == sender._rtx_ssrc and bool(lost)
            if repair and (retransmissions is None or repairs_lost[0] < retransmissions):
                repairs_lost[0] += 1
                return
            if packet.ssrc == sender._ssrc and not lost:
                lost.append(packet.sequence_number)
                return
        await send_rtp(data)

    transport._send_rtp = lossy  # type: ignore[method-assign]
    return lost


@pytest.mark.timeout(60)
async def test_a_lost_retransmission_is_asked_for_again(harness: Harness) -> None:
    sfu = harness.sfu()
    publisher, b = await camera_to_b(sfu, harness)

    lost = lose(publisher, retransmissions=1)
    await wait_until(lambda: bool(lost))
    frames = b.frames("video")
    # aiortc asks for a missing packet once per new gap; on a clean network the SFU asks again.
    await wait_until(lambda: b.frames("video") >= frames + 15, within=6)
    video = next(p for p in sfu._sessions["s1"].publications.values() if p.info.kind == "video")
    assert video.stalls == 0  # repaired by the retransmission, no keyframe needed


@pytest.mark.timeout(60)
async def test_video_recovers_within_seconds_from_a_packet_lost_for_good(harness: Harness) -> None:
    sfu = harness.sfu()
    publisher, b = await camera_to_b(sfu, harness)

    lost = lose(publisher, retransmissions=None)  # one packet, and every retransmission of it
    await wait_until(lambda: bool(lost))
    frames = b.frames("video")
    # aiortc alone would hold every later frame until 512 packets piled up behind the hole.
    await wait_until(lambda: b.frames("video") >= frames + 15, within=6)
    video = next(p for p in sfu._sessions["s1"].publications.values() if p.info.kind == "video")
    assert video.stalls == 1
