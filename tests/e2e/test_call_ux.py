"""The call as teachers and pupils expect it: "live now", a planned session started from its
entry, confirmations before ending or removing, initials for cameras that are off, a speaker view
and full screen, mute everyone and the participant list, the phone layout, a device preview."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Page, expect

from tests.e2e.conftest import Visitor, Visitors
from tests.e2e.flows import create_room, sign_up_teacher, teacher_and_pupil, tid
from tests.e2e.test_video import sees_video_of, user_id

# datetime-local text for `minutes` from now on the page's own clock and zone.
LOCAL_IN = """(minutes) => {
    const d = new Date(Date.now() + minutes * 60000);
    const p = (n) => String(n).padStart(2, "0");
    return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}"""


async def join_call(v: Visitor) -> None:
    await v.page.click(tid("tab-video"))
    await v.page.click(tid("join-video"))
    await expect(v.page.locator(tid("leave-video"))).to_be_visible()


async def plan(page: Page, title: str, when: str) -> None:
    await page.fill(tid("session-title"), title)
    await page.fill(tid("session-when"), when)
    await page.click(tid("session-schedule"))
    await expect(page.locator(f"{tid('session-list')} li", has_text=title)).to_be_visible()


@pytest.mark.timeout(150)
async def test_a_planned_session_starts_from_its_entry_and_the_room_shows_live_now(
    visitors: Visitors,
) -> None:
    teacher, pupil, room_id, _code = await teacher_and_pupil(visitors)
    for v in (teacher, pupil):
        await v.page.click(tid("tab-video"))
    await expect(pupil.page.locator(tid("video-live"))).to_be_hidden()

    await plan(teacher.page, "Vistula and Rhône", "2030-03-04T10:30")
    entry = teacher.page.locator(f"{tid('session-list')} li", has_text="Vistula and Rhône")
    await entry.get_by_role("button", name="Start Vistula and Rhône").click()
    await expect(teacher.page.locator(tid("leave-video"))).to_be_visible()
    await expect(entry).to_contain_text("Live now")

    # The pupil sees it live, on the Video tab and on the entry, with no unnamed second one.
    listed = pupil.page.locator(f"{tid('session-list')} li")
    await expect(listed).to_have_count(1)
    await expect(listed).to_contain_text("Vistula and Rhône")
    await expect(listed).to_contain_text("Teraz na żywo")
    await expect(pupil.page.locator(tid("video-live"))).to_be_visible()
    await pupil.goto("#/rooms")
    card = pupil.page.locator(tid(f"room-{room_id}"))
    await expect(card.locator(tid("room-live"))).to_be_visible()
    await pupil.shot("rooms-live-now")

    await teacher.page.click(tid("end-call"))
    await teacher.page.click(tid("confirm-ok"))
    await expect(teacher.page.locator(tid("join-video"))).to_be_visible()
    await expect(teacher.page.locator(tid("video-live"))).to_be_hidden()
    await pupil.page.reload()
    await expect(pupil.page.locator(tid("room-list"))).to_be_visible()
    await expect(card).to_be_visible()
    await expect(card.locator(tid("room-live"))).to_have_count(0)

    # Joining at the planned time starts the planned session, not a new "Live session".
    await plan(teacher.page, "Oder and Loire", await teacher.page.evaluate(LOCAL_IN, 10))
    await teacher.page.click(tid("join-video"))
    await expect(teacher.page.locator(tid("leave-video"))).to_be_visible()
    listed = teacher.page.locator(f"{tid('session-list')} li")
    await expect(listed).to_have_count(1)
    await expect(listed).to_contain_text("Oder and Loire")
    await expect(listed).to_contain_text("Live now")
    assert teacher.errors == [] and pupil.errors == []


@pytest.mark.timeout(180)
async def test_the_call_asks_before_removing_or_ending_and_shows_who_is_there(
    visitors: Visitors,
) -> None:
    teacher, pupil, _room_id, _code = await teacher_and_pupil(visitors)
    await teacher.page.set_viewport_size({"width": 1280, "height": 800})
    teacher_id, pupil_id = await user_id(teacher.page), await user_id(pupil.page)
    for v in (teacher, pupil):
        await join_call(v)
    await sees_video_of(pupil.page, teacher_id)
    page = teacher.page

    # Pupils arrive with the camera off (the room's default): the teacher sees their initials and
    # name, not black; once they switch it on, their video; off again, the initials again.
    pupils_tile = page.locator(f'figure.tile[data-user-id="{pupil_id}"]')
    await expect(pupils_tile).to_have_count(1)
    await expect(pupils_tile).to_have_class(re.compile(r"\bcam-off\b"))
    await expect(pupils_tile.locator(tid("tile-initials"))).to_be_visible()
    await pupil.page.click(tid("camera-toggle"))
    await expect(pupils_tile).not_to_have_class(re.compile(r"\bcam-off\b"))
    await expect(pupils_tile.locator(tid("tile-initials"))).to_be_hidden()
    await sees_video_of(page, pupil_id)
    await pupil.page.click(tid("camera-toggle"))
    await expect(pupils_tile).to_have_class(re.compile(r"\bcam-off\b"))
    await expect(pupils_tile.locator(tid("tile-initials"))).to_have_text("Z")
    await expect(pupils_tile.locator(tid("tile-initials"))).to_be_visible()
    await expect(pupils_tile.locator(".avatar-name")).to_have_text("Zofia")

    # The participant list, then "mute everyone".
    await page.click(tid("participants-toggle"))
    people = page.locator(tid("participant-list"))
    await expect(people.locator("li")).to_have_count(2)
    pupil_row = people.locator(f'li[data-user-id="{pupil_id}"]')
    await expect(pupil_row).to_contain_text("Zofia")
    await expect(pupil_row).to_contain_text("Camera off")
    await page.click(tid("mute-all"))
    mic = pupil.page.locator(tid("mic-toggle"))
    await expect(mic).to_have_attribute("data-state", "muted-by-teacher")
    await expect(pupil_row).to_contain_text("Microphone muted")
    await expect(
        pupil_row.get_by_role("button", name="Allow the microphone of Zofia")
    ).to_be_visible()

    # The speaker view: one tile large; any tile goes full screen.
    await page.click(tid("participants-toggle"))
    await page.click(tid("layout-toggle"))
    await expect(page.locator(tid("layout-toggle"))).to_have_attribute("aria-pressed", "true")
    main = page.locator("figure.tile.main")
    await expect(main).to_have_count(1)
    other = page.locator("figure.tile:not(.main):visible").first
    main_box, other_box = await main.bounding_box(), await other.bounding_box()
    assert main_box and other_box and main_box["width"] > 2 * other_box["width"]
    await teacher.shot("call-desktop-speaker")
    await main.hover()
    await main.locator(tid("tile-fullscreen")).click()
    await expect(main.locator(tid("tile-fullscreen"))).to_have_attribute("aria-pressed", "true")
    assert await page.evaluate("document.fullscreenElement?.classList.contains('main')") is True
    await main.locator(tid("tile-fullscreen")).click()
    await expect(main.locator(tid("tile-fullscreen"))).to_have_attribute("aria-pressed", "false")
    await page.click(tid("layout-toggle"))
    await expect(page.locator("figure.tile.main")).to_have_count(0)
    await teacher.shot("call-desktop")

    # Removing someone asks first; "Cancel" (or Escape) changes nothing.
    await pupils_tile.hover()
    remove = pupils_tile.locator(tid("remove-participant"))
    await expect(remove).to_contain_text("Remove")
    await expect(remove).to_have_attribute("aria-label", "Remove Zofia from the call")
    await remove.click()
    dialog = page.get_by_role("dialog", name="Remove Zofia from the call?")
    await expect(dialog).to_be_visible()
    await expect(page.locator(tid("confirm-cancel"))).to_be_focused()
    await teacher.shot("call-confirm-remove")
    await page.click(tid("confirm-cancel"))
    await expect(dialog).to_have_count(0)
    await expect(remove).to_be_focused()
    await remove.click()
    await page.keyboard.press("Escape")
    await expect(dialog).to_have_count(0)
    await expect(pupil.page.locator(tid("leave-video"))).to_be_visible()
    await remove.click()
    await page.click(tid("confirm-ok"))
    await expect(pupil.page.locator(tid("join-video"))).to_be_visible()

    # Ending for everyone asks first too.
    await page.click(tid("end-call"))
    await expect(page.get_by_role("dialog", name="End the session for everyone?")).to_be_visible()
    await page.click(tid("confirm-cancel"))
    await expect(page.locator(tid("leave-video"))).to_be_visible()
    await page.click(tid("end-call"))
    await page.click(tid("confirm-ok"))
    await expect(page.locator(tid("join-video"))).to_be_visible()
    assert teacher.errors == [] and pupil.errors == []


@pytest.mark.timeout(150)
async def test_on_a_phone_the_controls_are_in_reach_and_destructive_ones_keep_their_words(
    visitors: Visitors,
) -> None:
    teacher, pupil, _room_id, _code = await teacher_and_pupil(visitors)
    pupil_id = await user_id(pupil.page)
    for v in (teacher, pupil):
        await v.page.set_viewport_size({"width": 390, "height": 844})
        await join_call(v)
    await pupil.page.click(tid("camera-toggle"))  # pupils arrive with the camera off
    await sees_video_of(teacher.page, pupil_id)
    page = teacher.page
    await page.evaluate("window.scrollTo(0, 0)")
    for name in ("mic-toggle", "camera-toggle", "participants-toggle", "end-call", "leave-video"):
        box = await page.locator(tid(name)).bounding_box()
        assert box is not None and box["y"] >= 0 and box["y"] + box["height"] <= 844, (name, box)
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390, (name, box)
    for name, words in (("end-call", "End for everyone"), ("leave-video", "Leave")):
        label = page.locator(f"{tid(name)} .ctl-label")
        label_box = await label.bounding_box()
        assert label_box is not None and label_box["width"] > 20, (name, label_box)
        await expect(label).to_have_text(words)
        await expect(page.get_by_role("button", name=words, exact=True)).to_have_count(1)
    # Icon-only controls keep their accessible names.
    await expect(page.get_by_role("button", name="Microphone", exact=True)).to_have_count(1)
    await teacher.shot("call-phone")
    await pupil.shot("call-phone-pupil")

    await page.click(tid("end-call"))
    dialog = page.get_by_role("dialog", name="End the session for everyone?")
    await expect(dialog).to_be_visible()
    box = await dialog.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
    await teacher.shot("call-phone-confirm-end")
    await page.click(tid("confirm-ok"))
    await expect(page.locator(tid("join-video"))).to_be_visible()
    assert teacher.errors == [] and pupil.errors == []


# What the local tile sends: the microphone's device id.
SENT_MIC = """() => {
    const video = document.querySelector('[data-testid="local-video"]');
    const [track] = video && video.srcObject ? video.srcObject.getAudioTracks() : [];
    return track ? track.getSettings().deviceId : null;
}"""
PREVIEW_MIC = SENT_MIC.replace("local-video", "preview-video")


@pytest.mark.timeout(120)
async def test_a_preview_with_device_choice_comes_before_joining(visitors: Visitors) -> None:
    teacher = await visitors.new()
    await sign_up_teacher(teacher, "marie", "Marie Curie", "FR")
    await create_room(teacher, "Rivers of Europe")
    page = teacher.page
    await page.click(tid("tab-video"))
    await page.click(tid("preview-start"))
    preview = page.locator(tid("preview-video"))
    await expect(preview).to_be_visible()
    await page.wait_for_function(
        "() => document.querySelector('[data-testid=\"preview-video\"]').videoWidth > 0"
    )
    mics = page.locator(f"{tid('mic-select')} option")
    await expect(page.locator(f"{tid('camera-select')} option")).not_to_have_count(0)
    await expect(mics).not_to_have_count(0)
    await expect(page.get_by_label("Microphone level")).to_be_visible()
    chosen = await mics.last.get_attribute("value")
    assert chosen
    await page.select_option(tid("mic-select"), chosen)
    await page.wait_for_function(f"(want) => ({PREVIEW_MIC})() === want", arg=chosen)
    await teacher.shot("video-preview")

    await page.click(tid("join-video"))
    await expect(page.locator(tid("leave-video"))).to_be_visible()
    assert await page.evaluate(SENT_MIC) == chosen
    await page.click(tid("leave-video"))
    await expect(page.locator(tid("join-video"))).to_be_visible()
    # The choice is remembered for the next call.
    await page.click(tid("preview-start"))
    await expect(page.locator(tid("mic-select"))).to_have_value(chosen)
    assert teacher.errors == []
