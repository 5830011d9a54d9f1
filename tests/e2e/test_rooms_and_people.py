"""A teacher founds a room and invites; a pupil joins with the code; both see who is online."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from tests.e2e.conftest import Visitors
from tests.e2e.flows import teacher_and_pupil, tid


@pytest.mark.timeout(90)
async def test_pupil_joins_with_code_and_both_see_each_other_online(visitors: Visitors) -> None:
    teacher, pupil, room_id, code = await teacher_and_pupil(visitors)

    # The pupil's "My rooms" lists the room as a link that opens it.
    await pupil.goto("#/rooms")
    link = pupil.page.locator(tid(f"room-{room_id}"))
    await expect(link).to_contain_text("Rivers of Europe")
    await link.click()
    await expect(pupil.page.locator(tid("forum"))).to_be_visible()

    # Presence: the teacher's People tab shows the pupil online, with role and flag.
    await teacher.page.click(tid("tab-people"))
    pupil_row = teacher.page.locator(f'{tid("person")}[data-online="true"]', has_text="Zofia")
    await expect(pupil_row).to_be_visible()
    await expect(pupil_row).to_contain_text("Pupil")
    teacher_row = teacher.page.locator(tid("person"), has_text="Marie Curie")
    await expect(teacher_row.locator('.flag[aria-label="France"]')).to_have_count(1)
    await expect(teacher_row).to_contain_text("Owner")
    await teacher.shot("people")

    # Pupils get no teacher tools; the pupil's client speaks Polish from navigator.language.
    await expect(pupil.page.locator(tid("tab-teach"))).to_have_count(0)
    await expect(pupil.page.locator("html")).to_have_attribute("lang", "pl")

    # The teacher revokes the code; the list marks it revoked.
    await teacher.page.click(tid("tab-teach"))
    teacher.page.once("dialog", lambda dialog: dialog.accept())
    await teacher.page.locator(
        f'{tid("invite")}[data-code="{code}"] {tid("revoke-invite")}'
    ).click()
    revoked = teacher.page.locator(f'{tid("invite")}[data-code="{code}"]')
    await expect(revoked).to_have_attribute("data-state", "revoked")
    await teacher.shot("teacher-tools")

    assert teacher.errors == [] and pupil.errors == []


@pytest.mark.timeout(90)
async def test_removed_pupil_leaves_the_room_with_a_message(visitors: Visitors) -> None:
    teacher, pupil, room_id, _code = await teacher_and_pupil(visitors)
    await expect(pupil.page.locator(tid("forum"))).to_be_visible()

    await teacher.page.click(tid("tab-people"))
    row = teacher.page.locator(f'{tid("person")}[data-online="true"]', has_text="Zofia")
    teacher.page.once("dialog", lambda dialog: dialog.accept())
    await row.get_by_role("button", name="Remove").click()
    await expect(teacher.page.locator(tid("person"), has_text="Zofia")).to_have_count(0)

    # The pupil's client heard `moderation {action: "remove"}`: back to "My rooms", told why.
    await expect(pupil.page.locator(tid("room-list"))).to_be_visible()
    await expect(pupil.page.get_by_role("alert")).to_contain_text("Rivers of Europe")
    await expect(pupil.page.locator(tid(f"room-{room_id}"))).to_have_count(0)
    await pupil.shot("removed")
    assert teacher.errors == [] and pupil.errors == []
