"""Connections that change after they are up: a screen share added and stopped, a new
microphone that grows subscribers' connections, and a client that goes away."""

from __future__ import annotations

import pytest

from media.sfu import OfferNeeded, ParticipantGone

from .conftest import Harness
from .peers import SyntheticCamera, ToneMicrophone, wait_until


@pytest.mark.timeout(60)
async def test_screen_share_added_by_renegotiation_reaches_subscribers(harness: Harness) -> None:
    sfu = harness.sfu()
    sfu.join("s1", "a", "ua")
    sfu.join("s1", "b", "ub")
    publisher = harness.client()
    await publisher.publish(sfu, "s1", "a", [SyntheticCamera(), ToneMicrophone()])
    b = await harness.subscriber(sfu, "s1", "b")
    await wait_until(lambda: b.frames("video") >= 3)

    screen = SyntheticCamera(160, 120)
    await publisher.publish(sfu, "s1", "a", [screen], {screen.id: "screen"})
    shared = next(t for t in sfu.tracks("s1") if t.source == "screen")
    assert shared.track_id == screen.id and shared.user_id == "ua"
    await wait_until(lambda: any((160, 120) in r.sizes for r in b.of_kind("video")))
    assert [s.source for s in sfu.slots("s1", "b") if s.user_id == "ua"].count("screen") == 1

    sfu.unpublish("s1", "a", shared.mid)
    assert "screen" not in {t.source for t in sfu.tracks("s1")}
    assert "screen" not in {s.source for s in sfu.slots("s1", "b")}


@pytest.mark.timeout(60)
async def test_new_microphone_renegotiates_subscribers_with_a_new_audio_line(
    harness: Harness,
) -> None:
    sfu = harness.sfu()
    for pid in ("a", "b", "c"):
        sfu.join("s1", pid, "u" + pid)
    await harness.client().publish(sfu, "s1", "a", [ToneMicrophone()])
    c = await harness.subscriber(sfu, "s1", "c")
    await wait_until(lambda: c.frames("audio") >= 3)

    await harness.client().publish(sfu, "s1", "b", [ToneMicrophone()])
    await wait_until(lambda: any(isinstance(e, OfferNeeded) for e in harness.events))
    # The harness answered the re-offer: c now hears both microphones on two m-lines.
    await wait_until(lambda: sum(1 for r in c.of_kind("audio") if r.frames >= 3) == 2)
    users = {s.user_id for s in sfu.slots("s1", "c") if s.kind == "audio"}
    assert users == {"ua", "ub"}


@pytest.mark.timeout(60)
async def test_a_client_that_closes_its_connection_is_removed(harness: Harness) -> None:
    sfu = harness.sfu()
    sfu.join("s1", "a", "ua")
    sfu.join("s1", "b", "ub")
    publisher = harness.client()
    await publisher.publish(sfu, "s1", "a", [SyntheticCamera(), ToneMicrophone()])
    b = await harness.subscriber(sfu, "s1", "b")
    await wait_until(lambda: b.frames("video") >= 3)

    await publisher.close()  # DTLS close_notify tells the SFU

    await wait_until(lambda: "a" not in sfu._sessions["s1"].participants, within=10)
    gone = [e for e in harness.events if isinstance(e, ParticipantGone)]
    assert [(e.participant_id, e.reason) for e in gone] == [("a", "closed")]
    assert sfu.tracks("s1") == []
    assert all(s.user_id is None for s in sfu.slots("s1", "b"))


@pytest.mark.timeout(60)
async def test_a_renegotiated_subscriber_keeps_its_video_without_waiting_for_a_keyframe(
    harness: Harness,
) -> None:
    sfu = harness.sfu()
    for pid in ("a", "b", "c"):
        sfu.join("s1", pid, "u" + pid)
    await harness.client().publish(sfu, "s1", "a", [SyntheticCamera(), ToneMicrophone()])
    c = await harness.subscriber(sfu, "s1", "c")
    await wait_until(lambda: c.frames("video") >= 10)
    video = next(
        s.forwarder for s in sfu._sessions["s1"].participants["c"].slots if s.forwarder.source
    )
    dropped, sent = video.frames_dropped, video.frames_out

    await harness.client().publish(sfu, "s1", "b", [ToneMicrophone()])
    await wait_until(lambda: sum(1 for r in c.of_kind("audio") if r.frames >= 3) == 2)
    await wait_until(lambda: video.frames_out >= sent + 15)
    # aiortc restarts every sender of a renegotiated connection; the slot carries on as it was.
    assert video.frames_dropped == dropped
