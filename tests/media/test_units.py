"""The SFU's pure parts: keyframe detection and throttling, last-N, the private API check."""

from __future__ import annotations

import asyncio

import av
import pytest
from aiortc import RTCRtpSender

from media.sfu import MediaError, Sfu, SfuConfig, aiortc_private, lastn
from media.sfu.keyframes import KeyframeRequester, h264_is_keyframe, vp8_is_keyframe


@pytest.mark.timeout(10)
def test_vp8_keyframes_are_told_apart_from_delta_frames() -> None:
    encoder = av.CodecContext.create("libvpx", "w")
    encoder.width, encoder.height, encoder.pix_fmt = 64, 48, "yuv420p"
    encoder.options = {"deadline": "realtime"}
    packets = []
    for index in range(3):
        frame = av.VideoFrame(64, 48, "yuv420p")
        frame.pts = index
        packets += [bytes(p) for p in encoder.encode(frame)]
    assert [vp8_is_keyframe(p) for p in packets] == [True, False, False]
    assert not vp8_is_keyframe(b"")


@pytest.mark.timeout(10)
def test_h264_idr_and_sps_start_keyframes() -> None:
    sps, idr, slice_ = (
        b"\x00\x00\x00\x01\x67\x42",
        b"\x00\x00\x00\x01\x65\x88",
        b"\x00\x00\x01\x41\x9a",
    )
    assert h264_is_keyframe(sps + idr)
    assert h264_is_keyframe(idr)
    assert not h264_is_keyframe(slice_)
    assert not h264_is_keyframe(b"")


@pytest.mark.timeout(10)
async def test_keyframe_requests_are_coalesced_and_deferred_not_dropped() -> None:
    now = [100.0]
    sent: list[float] = []

    async def send() -> None:
        sent.append(now[0])

    requester = KeyframeRequester(send, interval=0.05, clock=lambda: now[0])
    requester.request()
    for _ in range(5):
        requester.request()  # inside the window: folded into one deferred request
    await asyncio.sleep(0)
    assert requester.sent == 1
    now[0] += 0.05
    await asyncio.sleep(0.1)
    assert requester.sent == 2 and len(sent) == 2
    requester.close()


def test_last_n_ranks_spotlight_then_screen_then_latest_speaker() -> None:
    def candidate(key: str, spoke: float, order: int, **flags: bool) -> lastn.Candidate:
        return lastn.Candidate(
            key=key,
            spotlit=flags.get("spotlit", False),
            screen=flags.get("screen", False),
            last_spoke=spoke,
            order=order,
        )

    people = [
        candidate("old", 1.0, 0),
        candidate("new", 5.0, 1),
        candidate("silent", 0.0, 2),
        candidate("screen", 0.0, 3, screen=True),
        candidate("spot", 0.0, 4, spotlit=True),
    ]
    assert lastn.choose(people, 3) == ["spot", "screen", "new"]
    assert lastn.choose(people[:3], 9) == ["new", "old", "silent"]
    # Sticky: "b" keeps slot 1 when "a" gives way to "c".
    assert lastn.assign(["a", "b", None], ["b", "c"]) == ["c", "b", None]
    assert lastn.assign([None, None], []) == [None, None]


def test_private_api_check_fails_loudly_when_aiortc_changes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    aiortc_private.check()  # the pinned aiortc has every name
    monkeypatch.delattr(RTCRtpSender, "_send_keyframe")
    with pytest.raises(MediaError) as caught:
        aiortc_private.check()
    assert caught.value.code == "unsupported"
    assert "_send_keyframe" in caught.value.message
    with pytest.raises(MediaError):
        Sfu(SfuConfig(addresses=["127.0.0.1"]))


def test_config_refuses_bad_values() -> None:
    with pytest.raises(MediaError):
        SfuConfig(addresses=["not-an-ip"])
    with pytest.raises(MediaError):
        SfuConfig(last_n=-1)
    with pytest.raises(MediaError):
        SfuConfig(ice_servers=[{"username": "x"}])
    config = SfuConfig(ice_servers=[{"urls": "turn:turn.example:3478", "username": "u"}])
    servers = config.rtc_configuration().iceServers
    assert servers is not None and servers[0].username == "u"
    assert SfuConfig().rtc_configuration().iceServers == []
