"""Classroom control, errors and shutdown on the SFU, with real aiortc peers on 127.0.0.1."""

from __future__ import annotations

import asyncio

import pytest
from aiortc import AudioStreamTrack

from media.sfu import MediaError, SlotsChanged, SpeakersChanged

from .conftest import Harness, open_connections
from .peers import SyntheticCamera, ToneMicrophone, wait_until


@pytest.mark.timeout(60)
async def test_removed_participant_connections_close(harness: Harness) -> None:
    sfu = harness.sfu()
    for pid in ("a", "b", "c"):
        sfu.join("s1", pid, "u" + pid)
    await harness.client().publish(sfu, "s1", "a", [SyntheticCamera(), ToneMicrophone()])
    b = await harness.subscriber(sfu, "s1", "b")
    c = await harness.subscriber(sfu, "s1", "c")
    await wait_until(lambda: all(r.frames for r in b.of_kind("video")[:1]) and b.of_kind("video"))
    b_side = sfu._sessions["s1"].participants["b"].subscriber
    assert b_side is not None

    await sfu.remove("s1", "b")

    assert b_side.connectionState == "closed"
    assert "b" not in sfu._sessions["s1"].participants
    # The SFU's senders said goodbye (RTCP BYE): b's incoming tracks end.
    await wait_until(lambda: all(r.ended for r in b.received.values() if r.frames), within=5)
    with pytest.raises(MediaError) as caught:
        sfu.slots("s1", "b")
    assert caught.value.code == "not_found"
    frames = c.frames("video")
    await wait_until(lambda: c.frames("video") > frames + 5)


@pytest.mark.timeout(60)
async def test_malformed_sdp_raises_media_error_and_others_are_served(harness: Harness) -> None:
    sfu = harness.sfu()
    for pid in ("a", "bad", "b"):
        sfu.join("s1", pid, "u" + pid)
    for sdp in ("garbage", "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n", ""):
        with pytest.raises(MediaError) as caught:
            await sfu.publish("s1", "bad", sdp)
        assert caught.value.code == "invalid"
    with pytest.raises(MediaError):
        await sfu.answer("s1", "bad", "v=0\r\n")

    await harness.client().publish(sfu, "s1", "a", [SyntheticCamera(), ToneMicrophone()])
    b = await harness.subscriber(sfu, "s1", "b")
    await wait_until(lambda: b.frames("video") >= 3)


@pytest.mark.timeout(60)
async def test_track_map_names_sources_the_client_labelled(harness: Harness) -> None:
    sfu = harness.sfu()
    sfu.join("s1", "a", "ua")
    client = harness.client()
    camera, screen, microphone = SyntheticCamera(), SyntheticCamera(), ToneMicrophone()
    await client.publish(sfu, "s1", "a", [camera, screen, microphone], {screen.id: "screen"})
    by_track = {t.track_id: t for t in sfu.tracks("s1")}
    assert by_track[screen.id].source == "screen"
    assert by_track[camera.id].source == "camera"
    assert by_track[microphone.id].source == "microphone"
    assert {t.user_id for t in by_track.values()} == {"ua"}
    mids = {t.mid for t in by_track.values()}
    assert mids == {t.mid for t in client.pc.getTransceivers()}
    sfu.join("s1", "x", "ux")
    with pytest.raises(MediaError) as caught:
        await harness.client().publish(sfu, "s1", "x", [SyntheticCamera()], {"0": "webcam"})
    assert caught.value.code == "invalid"


@pytest.mark.timeout(60)
async def test_last_n_limits_videos_to_the_latest_speaker_and_the_spotlight(
    harness: Harness,
) -> None:
    sfu = harness.sfu(last_n=1)
    for pid in ("talker", "quiet", "spot", "viewer"):
        sfu.join("s1", pid, "u-" + pid)
    await harness.client().publish(sfu, "s1", "quiet", [SyntheticCamera(), AudioStreamTrack()])
    await harness.client().publish(sfu, "s1", "spot", [SyntheticCamera(), AudioStreamTrack()])
    await harness.client().publish(sfu, "s1", "talker", [SyntheticCamera(), ToneMicrophone()])
    viewer = await harness.subscriber(sfu, "s1", "viewer")

    def video_users() -> list[str | None]:
        return [s.user_id for s in sfu.slots("s1", "viewer") if s.kind == "video"]

    await wait_until(lambda: video_users() == ["u-talker"], within=5)
    await wait_until(lambda: viewer.frames("video") >= 5)
    assert len(viewer.of_kind("video")) == 1  # one m-line: at most last_n videos

    sfu.spotlight("s1", "spot")
    assert video_users() == ["u-spot"]
    changed = [e for e in harness.events if isinstance(e, SlotsChanged)]
    assert changed[-1].participant_id == "viewer"
    assert [s.user_id for s in changed[-1].slots if s.kind == "video"] == ["u-spot"]
    frames = viewer.frames("video")
    await wait_until(lambda: viewer.frames("video") > frames + 5)


@pytest.mark.timeout(60)
async def test_ending_a_session_leaves_no_connections_or_tasks(harness: Harness) -> None:
    before = asyncio.all_tasks()
    sfu = harness.sfu()
    for pid in ("a", "b", "c"):
        sfu.join("s1", pid, "u" + pid)
    await harness.client().publish(sfu, "s1", "a", [SyntheticCamera(), ToneMicrophone()])
    await harness.client().publish(sfu, "s1", "b", [SyntheticCamera(), ToneMicrophone()])
    c = await harness.subscriber(sfu, "s1", "c")
    await wait_until(lambda: c.frames("video") >= 5)

    await sfu.end_session("s1")
    assert sfu.session_ids() == []
    for client in harness.clients:
        await client.close()
    await asyncio.sleep(0.3)  # aiortc's own fire-and-forget tasks finish on their own

    assert open_connections() == []
    left = asyncio.all_tasks() - before - {asyncio.current_task()}
    assert not left, left


@pytest.mark.timeout(60)
async def test_speakers_are_announced_and_a_muted_microphone_stops_speaking(
    harness: Harness,
) -> None:
    sfu = harness.sfu()
    sfu.join("s1", "a", "ua")
    sfu.join("s1", "b", "ub")
    await harness.client().publish(sfu, "s1", "a", [ToneMicrophone()])
    await harness.client().publish(sfu, "s1", "b", [AudioStreamTrack()])  # silence

    def speakers() -> list[tuple[str, ...]]:
        return [e.participant_ids for e in harness.events if isinstance(e, SpeakersChanged)]

    await wait_until(lambda: ("a",) in speakers())
    assert all("b" not in ids for ids in speakers())  # silence is not speech
    sfu.mute("s1", "a", "audio")
    await wait_until(lambda: speakers()[-1] == ())
