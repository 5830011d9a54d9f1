"""In Chromium, a teacher and a pupil on different nodes of a cluster see each other's video, and
the web client joins again by itself when the call's home node dies: the teacher's after its
socket reconnects to the other node, the pupil's on `media:rejoin`."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest
from playwright.async_api import Browser, Page, expect

from server.cluster.bus import redis_client
from tests.cluster.harness import Cluster
from tests.e2e.conftest import Visitors
from tests.e2e.flows import create_invite, create_room, join_as_new_pupil, sign_up_teacher, tid
from tests.e2e.test_video import sees_video_of, user_id

Start = Callable[..., Awaitable[Cluster]]
# Resolves once a tile (not one marked old) of the user decodes new frames.
DECODING = """async (userId) => {
    const pause = () => new Promise((resolve) => setTimeout(resolve, 300));
    for (;;) {
        const video = document.querySelector(`video[data-user-id="${userId}"]:not([data-old])`);
        const before = video ? video.getVideoPlaybackQuality().totalVideoFrames : null;
        await pause();
        if (before !== null && video.getVideoPlaybackQuality().totalVideoFrames > before + 3) {
            return true;
        }
    }
}"""
MARK_OLD = (
    "document.querySelectorAll('video[data-user-id]').forEach((v) => { v.dataset.old = '1'; })"
)


async def decodes_new_video_of(page: Page, other: str) -> None:
    async with asyncio.timeout(60):
        assert await page.evaluate(DECODING, other) is True


@pytest.mark.timeout(240)
async def test_teacher_and_pupil_on_two_nodes_see_each_other_across_a_failover(
    start_cluster: Start, browser: Browser
) -> None:
    cluster = await start_cluster(ice_servers="[]", session_check_seconds="600")
    # The teacher reaches node A while it lives, node B after; the pupil always node B.
    teachers, pupils = (
        Visitors(browser, cluster.url("a-first")),
        Visitors(browser, cluster.url("b")),
    )
    client = redis_client(cluster.redis.url)
    try:
        teacher = await teachers.new()
        await sign_up_teacher(teacher, "marie", "Marie Curie", "FR")
        await create_room(teacher, "Tides", "Two nodes, one lesson.")
        code = await create_invite(teacher)
        pupil = await pupils.new(locale="pl-PL")
        await join_as_new_pupil(pupil, code, "Zofia", "zofia")
        teacher_id, pupil_id = await user_id(teacher.page), await user_id(pupil.page)

        for v in (teacher, pupil):  # the teacher starts the session: node A is its home
            await v.page.click(tid("tab-video"))
            await v.page.click(tid("join-video"))
            await expect(v.page.locator(tid("leave-video"))).to_be_visible()
            if v is teacher:
                status = v.page.locator(".call-status")
                await expect(status).to_have_text("You are in the call.", timeout=20_000)
        await pupil.page.click(tid("camera-toggle"))
        await sees_video_of(teacher.page, pupil_id)
        await sees_video_of(pupil.page, teacher_id)
        (session_key,) = await client.keys("tr:home:*")
        assert await client.get(session_key) == b"node-a"

        for v in (teacher, pupil):
            await v.page.evaluate(MARK_OLD)
        assert cluster.a.process is not None
        cluster.a.process.kill()
        # Both clients tear down (the old tiles go) and join again by themselves: node B is the
        # new home, and each decodes the other's video on a new tile.
        for v in (teacher, pupil):
            await expect(v.page.locator("video[data-old]")).to_have_count(0, timeout=40_000)
        await decodes_new_video_of(teacher.page, pupil_id)
        await decodes_new_video_of(pupil.page, teacher_id)
        assert await client.get(session_key) == b"node-b"
        assert teacher.errors == [] and pupil.errors == []
    finally:
        for made in (*teachers.made, *pupils.made):
            await made.context.close()
        await client.aclose()
