"""My rooms shows each room's description, its unread forum posts and "live now"."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from tests.e2e.axe import describe, violations
from tests.e2e.conftest import Visitors
from tests.e2e.flows import create_invite, create_room, join_as_new_pupil, sign_up_teacher, tid

START = """async (roomId) => {
    const post = (url) => fetch(url, {method: "POST", headers: {"Content-Type": "application/json"},
        body: "{}"}).then((r) => r.json());
    const session = await post(`/api/rooms/${roomId}/sessions`);
    return (await post(`/api/sessions/${session.id}/start`)).status;
}"""


@pytest.mark.timeout(120)
async def test_room_cards_show_description_unread_and_live(visitors: Visitors) -> None:
    teacher = await visitors.new()
    await sign_up_teacher(teacher, "marie", "Marie Curie", "FR")
    room_id = await create_room(teacher, "Rivers of Europe", "Lyon and Kraków study their rivers.")
    code = await create_invite(teacher)
    pupil = await visitors.new(bypass_csp=True)
    await join_as_new_pupil(pupil, code, "Zofia", "zofia")
    t, p = teacher.page, pupil.page

    await t.click(tid("tab-forum"))
    await t.fill(tid("thread-title"), "Our river in winter")
    await t.fill(tid("thread-body"), "Is it frozen?")
    await t.click(tid("thread-submit"))
    await t.fill(tid("reply-body"), "Send photos, please.")
    await t.click(tid("reply-submit"))
    await expect(t.locator(tid("post"))).to_have_count(2)

    await pupil.goto("#/rooms")
    card = p.locator(tid("room-list")).locator("li", has=p.locator(tid(f"room-{room_id}")))
    await expect(card).to_contain_text("Lyon and Kraków study their rivers.")
    await expect(card.locator(tid("room-unread"))).to_have_text("2 new posts")
    await expect(card.locator(tid("room-live"))).to_have_count(0)

    assert await t.evaluate(START, room_id) == "live"
    await p.reload()
    await expect(card.locator(tid("room-live"))).to_be_visible()
    found = await violations(p)
    assert found == [], describe(found)
    await pupil.shot("my-rooms")

    # Reading the topic clears the count.
    await p.click(tid(f"room-{room_id}"))
    await p.click(tid("tab-forum"))
    await p.locator(tid("thread-list")).get_by_role("link").first.click()
    await expect(p.locator(tid("post"))).to_have_count(2)
    await pupil.goto("#/rooms")
    await expect(card.locator(tid("room-live"))).to_be_visible()
    await expect(card.locator(tid("room-unread"))).to_have_count(0)
    assert teacher.errors == [] and pupil.errors == []
