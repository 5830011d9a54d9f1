"""A teacher and a pupil press Join within a second of each other, in either order, and the pupil
then turns her camera on: both must see the other's video playing, every time.

A race shows only sometimes, so the scenario repeats (`race` tests: `--race-rounds`, or
TWINROOMS_RACE_ROUNDS); the teacher ends the session between rounds.
"""

from __future__ import annotations

import asyncio
import contextlib
import random

import pytest
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import expect

from tests.e2e.conftest import Visitor, Visitors
from tests.e2e.flows import teacher_and_pupil, tid
from tests.e2e.test_video import PLAYING, user_id

SPREAD = 1.0  # seconds between the two presses of Join, at most
SEES_WITHIN = 20.0  # seconds, once both pressed Join, for each to see the other's video playing

END_LIVE_SESSION = """async (roomId) => {
    const sessions = await (await fetch(`/api/rooms/${roomId}/sessions`)).json();
    for (const s of sessions.filter((s) => s.status === "live")) {
        await fetch(`/api/sessions/${s.id}/end`, { method: "POST" });
    }
}"""


async def sees_playing(viewer: Visitor, other: str) -> None:
    tile = viewer.page.locator(f'{tid("video-grid")} video[data-user-id="{other}"]')
    await expect(tile).to_have_count(1, timeout=SEES_WITHIN * 1000)
    assert await viewer.page.evaluate(PLAYING, other) is True


async def one_round(
    teacher: Visitor, pupil: Visitor, ids: dict[int, str], rng: random.Random
) -> None:
    first, second = (teacher, pupil) if rng.random() < 0.5 else (pupil, teacher)
    await first.page.click(tid("join-video"))
    await asyncio.sleep(rng.uniform(0, SPREAD))
    await second.page.click(tid("join-video"))
    # The room asks pupils to arrive with the camera off; she turns it on.
    camera = pupil.page.locator(tid("camera-toggle"))
    await expect(camera).to_have_attribute("aria-pressed", "false")
    await camera.click()
    await expect(camera).to_have_attribute("aria-pressed", "true")
    async with asyncio.timeout(SEES_WITHIN + 10):
        await asyncio.gather(
            sees_playing(teacher, ids[id(pupil)]), sees_playing(pupil, ids[id(teacher)])
        )


async def back_to_the_join_button(teacher: Visitor, pupil: Visitor, room_id: str) -> None:
    """End whatever is live and leave any call or wait, so the next round starts afresh."""
    await teacher.page.evaluate(END_LIVE_SESSION, room_id)
    for visitor in (teacher, pupil):
        leave = visitor.page.locator(tid("leave-video"))
        with contextlib.suppress(PlaywrightError):
            if await leave.is_visible():
                await leave.click(timeout=2_000)
        await expect(visitor.page.locator(tid("join-video"))).to_be_enabled()


@pytest.mark.race(seconds=60)
async def test_a_teacher_and_a_pupil_joining_at_once_see_each_other(
    visitors: Visitors, race_rounds: int
) -> None:
    teacher, pupil, room_id, _code = await teacher_and_pupil(visitors)
    ids = {id(teacher): await user_id(teacher.page), id(pupil): await user_id(pupil.page)}
    for v in (teacher, pupil):
        await v.page.click(tid("tab-video"))
    # Arriving first, the pupil is told (in Polish) that she waits for her teacher to start the
    # session, and gets in at the start.
    await pupil.page.click(tid("join-video"))
    await expect(pupil.page.locator(tid("call-waiting"))).to_contain_text("rozpocznie zajęcia")
    await teacher.page.click(tid("join-video"))
    await expect(pupil.page.locator(tid("call-waiting"))).to_be_hidden()
    # Her camera is off (the room's default): the teacher sees her tile, with her initials.
    seated = teacher.page.locator(f'figure.tile.cam-off[data-user-id="{ids[id(pupil)]}"]')
    await expect(seated).to_be_visible(timeout=SEES_WITHIN * 1000)
    await sees_playing(pupil, ids[id(teacher)])
    await back_to_the_join_button(teacher, pupil, room_id)

    rng = random.Random(7)
    failed: dict[int, str] = {}
    for number in range(race_rounds):
        try:
            await one_round(teacher, pupil, ids, rng)
        except (AssertionError, TimeoutError, PlaywrightError) as exc:
            failed[number] = repr(exc)[:300]
            await teacher.shot(f"join-race-{number}-teacher")
            await pupil.shot(f"join-race-{number}-pupil")
        await back_to_the_join_button(teacher, pupil, room_id)
    assert not failed, f"{len(failed)} of {race_rounds} rounds failed: {failed}"
    assert teacher.errors == [] and pupil.errors == []
