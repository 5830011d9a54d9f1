"""Two participants see each other's video through the SFU; a teacher mutes a pupil."""

from __future__ import annotations

import asyncio
import re

import pytest
from playwright.async_api import Page, expect

from tests.e2e.conftest import Visitors
from tests.e2e.flows import (
    create_invite,
    create_room,
    join_as_new_pupil,
    sign_up_teacher,
    teacher_and_pupil,
    tid,
)

# Resolves once the user's tile shows decoded frames and its clock advances (the caller bounds it).
PLAYING = """async (userId) => {
    const pause = () => new Promise((resolve) => setTimeout(resolve, 500));
    for (;;) {
        const video = document.querySelector(`video[data-user-id="${userId}"]`);
        const before = video && video.videoWidth > 0 ? video.currentTime : null;
        await pause();
        if (before !== null && video.videoWidth > 0 && video.currentTime > before) return true;
    }
}"""


async def user_id(page: Page) -> str:
    return str(await page.evaluate("fetch('/api/me').then((r) => r.json()).then((u) => u.id)"))


async def sees_video_of(page: Page, other: str, within: float = 30) -> None:
    tile = page.locator(f'{tid("video-grid")} video[data-user-id="{other}"]')
    await expect(tile).to_have_count(1, timeout=30_000)
    # evaluate awaits the promise (wait_for_function would take a pending promise for true).
    async with asyncio.timeout(within):
        assert await page.evaluate(PLAYING, other) is True


@pytest.mark.timeout(150)
async def test_two_participants_see_each_other_and_teacher_mutes_pupil(
    visitors: Visitors,
) -> None:
    teacher, pupil, _room_id, _code = await teacher_and_pupil(visitors)
    teacher_id, pupil_id = await user_id(teacher.page), await user_id(pupil.page)

    for v in (teacher, pupil):
        await v.page.click(tid("tab-video"))
        await v.page.click(tid("join-video"))
        await expect(v.page.locator(tid("leave-video"))).to_be_visible()

    # The room asks pupils to arrive with the camera off; she turns it on.
    await pupil.page.click(tid("camera-toggle"))
    await sees_video_of(teacher.page, pupil_id)
    await sees_video_of(pupil.page, teacher_id)
    pupil_video = teacher.page.locator(f'video[data-user-id="{pupil_id}"]')
    tile = teacher.page.locator("figure.tile", has=pupil_video)
    await expect(tile.locator("figcaption")).to_contain_text("Zofia")
    # Chromium's fake microphone beeps: the SFU hears speech and the teacher sees whose it is.
    await expect(tile).to_have_class(re.compile(r"\bspeaking\b"), timeout=20_000)
    await teacher.shot("video-call")
    await pupil.shot("video-call-pupil")

    # The teacher mutes the pupil; the pupil's microphone button says so and is held off.
    await tile.hover()
    await tile.locator(tid("mute-participant")).click()
    mic = pupil.page.locator(tid("mic-toggle"))
    await expect(mic).to_have_attribute("data-state", "muted-by-teacher")
    await expect(mic).to_be_disabled()
    await expect(pupil.page.locator(tid("call-notice"))).to_be_visible()
    await sees_video_of(pupil.page, teacher_id)  # the pupil's mute stops nobody else's media
    await pupil.shot("video-muted")

    await expect(tile.locator(tid("mute-participant"))).to_have_attribute(
        "aria-label", "Allow the microphone of Zofia"
    )

    # The teacher takes the pupil out of the call and locks it: the pupil cannot come back.
    await tile.hover()
    await tile.locator(tid("remove-participant")).click()
    await teacher.page.click(tid("confirm-ok"))  # removing someone asks first
    await expect(pupil.page.locator(tid("join-video"))).to_be_visible()
    tile_gone = teacher.page.locator(f'video[data-user-id="{pupil_id}"]:visible')
    await expect(tile_gone).to_have_count(0, timeout=20_000)
    await teacher.page.click(tid("lock-call"))
    await expect(teacher.page.locator(tid("lock-call"))).to_have_attribute("aria-pressed", "true")
    await pupil.page.click(tid("join-video"))
    await expect(pupil.page.locator(".form-error[role=alert]:visible")).to_have_count(1)
    await expect(pupil.page.locator(tid("join-video"))).to_be_enabled()

    # The teacher ends the session for everyone; its summary thread appears in the forum.
    await teacher.page.click(tid("end-call"))
    await teacher.page.click(tid("confirm-ok"))
    await expect(teacher.page.locator(tid("join-video"))).to_be_visible()
    await teacher.page.click(tid("tab-forum"))
    await expect(teacher.page.locator(tid("forum"))).to_contain_text("Session summary")
    assert teacher.errors == [] and pupil.errors == []


@pytest.mark.timeout(150)
async def test_a_partner_teacher_is_offered_no_controls_over_the_owner(
    visitors: Visitors,
) -> None:
    owner = await visitors.new()
    await sign_up_teacher(owner, "marie", "Marie Curie", "FR")
    await create_room(owner, "Rivers of Europe")
    code = await create_invite(owner, "teacher")
    partner = await visitors.new(locale="pl-PL")
    await join_as_new_pupil(partner, code, "Jan", "jan")
    owner_id, partner_id = await user_id(owner.page), await user_id(partner.page)
    for v in (owner, partner):
        await v.page.click(tid("tab-video"))
        await v.page.click(tid("join-video"))
        await expect(v.page.locator(tid("leave-video"))).to_be_visible()
    await sees_video_of(partner.page, owner_id)
    await sees_video_of(owner.page, partner_id)

    owners_tile = partner.page.locator(
        "figure.tile", has=partner.page.locator(f'video[data-user-id="{owner_id}"]')
    )
    await owners_tile.hover()
    await expect(owners_tile.locator(tid("spotlight-participant"))).to_have_count(1)
    for tool in ("mute-participant", "video-off-participant", "remove-participant"):
        await expect(owners_tile.locator(tid(tool))).to_have_count(0)
    partners_tile = owner.page.locator(
        "figure.tile", has=owner.page.locator(f'video[data-user-id="{partner_id}"]')
    )
    await partners_tile.hover()
    await expect(partners_tile.locator(tid("mute-participant"))).to_have_count(1)
    assert owner.errors == [] and partner.errors == []


@pytest.mark.timeout(90)
async def test_a_planned_session_appears_for_the_pupil_in_their_time_zone(
    visitors: Visitors,
) -> None:
    teacher, pupil, _room_id, _code = await teacher_and_pupil(visitors)
    for v in (teacher, pupil):
        await v.page.click(tid("tab-video"))
    await expect(pupil.page.locator(tid("session-schedule"))).to_have_count(0)

    # 10:30 on the teacher's wall clock (Europe/Paris, winter) is 09:30 UTC.
    await teacher.page.fill(tid("session-title"), "Vistula and Rhône")
    await teacher.page.fill(tid("session-when"), "2030-03-04T10:30")
    await teacher.page.click(tid("session-schedule"))

    item = pupil.page.locator(f"{tid('session-list')} li", has_text="Vistula and Rhône")
    await expect(item).to_be_visible()
    await expect(item.locator("time")).to_have_attribute("datetime", "2030-03-04T09:30:00.000Z")
    await expect(item.locator("time")).to_contain_text("10:30")
    await pupil.shot("video-schedule")

    await teacher.page.get_by_role("button", name="Cancel Vistula and Rhône").click()
    await expect(item).to_have_count(0)
    assert teacher.errors == [] and pupil.errors == []
