"""axe-core finds nothing on any page or state of the client, in English and in French."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import expect

from tests.e2e.axe import describe, violations
from tests.e2e.conftest import Visitor, Visitors
from tests.e2e.flows import (
    create_invite,
    create_room,
    join_as_new_pupil,
    sign_up_teacher,
    tid,
)
from tests.e2e.test_files import png


class Audit:
    """Runs axe on each state as the test reaches it and keeps what it found, state by state."""

    def __init__(self) -> None:
        self.found: dict[str, list[dict[str, Any]]] = {}

    async def check(self, v: Visitor, state: str) -> None:
        # Let the page settle: live regions and lists fill in after the visible element.
        await v.page.wait_for_load_state("networkidle")
        self.found[state] = await violations(v.page)

    def report(self) -> str:
        return "\n".join(
            f"[{state}]\n{describe(found)}" for state, found in self.found.items() if found
        )


@pytest.mark.timeout(240)
@pytest.mark.parametrize("locale", ["en-GB", "fr-FR"])
async def test_no_axe_violations_on_any_page_or_state(visitors: Visitors, locale: str) -> None:
    audit = Audit()
    teacher = await visitors.new(locale, bypass_csp=True)
    await teacher.goto("#/login")
    await expect(teacher.page.locator(tid("login-username"))).to_be_visible()
    await audit.check(teacher, "signed out: sign in")
    await teacher.goto("#/signup")
    await expect(teacher.page.locator(tid("signup-username"))).to_be_visible()
    await audit.check(teacher, "signed out: sign up")

    await sign_up_teacher(teacher, "marie", "Marie Curie", "FR")
    await audit.check(teacher, "rooms, none yet")
    room_id = await create_room(teacher, "Rivers of Europe", "Lyon and Kraków study their rivers.")
    code = await create_invite(teacher)

    pupil = await visitors.new(locale, bypass_csp=True)
    await pupil.goto("#/login")
    await pupil.page.click(tid("have-code"))
    await expect(pupil.page.locator(tid("join-code"))).to_be_visible()
    await audit.check(pupil, "signed out: join with a code")
    assert await join_as_new_pupil(pupil, code, "Zofia", "zofia") == room_id

    # The forum with a topic, and the chat with messages from both sides.
    await teacher.page.click(tid("tab-forum"))
    await teacher.page.fill(tid("thread-title"), "Our river in winter")
    await teacher.page.fill(tid("thread-body"), "Post a photo of *your* river, please.")
    await teacher.page.click(tid("thread-submit"))
    await expect(teacher.page.locator(tid("post"))).to_have_count(1)
    for v, text in ((pupil, "Dzień dobry from **Kraków**!"), (teacher, "Bonjour à tous")):
        await v.page.fill(tid("chat-input"), text)
        await v.page.press(tid("chat-input"), "Enter")
    await expect(teacher.page.locator(tid("chat-message"))).to_have_count(2)
    await expect(pupil.page.locator(tid("chat-message"))).to_have_count(2)
    await audit.check(teacher, "thread (teacher)")
    await audit.check(pupil, "forum (pupil)")
    await teacher.page.click(tid("tab-forum"))
    await expect(teacher.page.locator(tid("thread-list"))).to_be_visible()
    await audit.check(teacher, "forum (teacher)")

    # The pupil opens the topic, replies, reacts and reports the teacher's post.
    await pupil.page.locator(tid("thread-list")).get_by_role("link").first.click()
    await pupil.page.fill(tid("reply-body"), "The Vistula is frozen near the bank.")
    await pupil.page.click(tid("reply-submit"))
    await expect(pupil.page.locator(tid("post"))).to_have_count(2)
    await pupil.page.locator(tid("post")).first.locator(tid("add-reaction")).click()
    await audit.check(pupil, "thread with the reactions to choose from (pupil)")
    await pupil.page.locator(tid("post")).first.locator(".reaction-picker .reaction").first.click()
    await pupil.page.locator(tid("report-post")).first.click()
    await expect(pupil.page.locator(tid("report-reason"))).to_be_visible()
    await audit.check(pupil, "thread with the report form (pupil)")
    await pupil.page.fill(tid("report-reason"), "Just testing")
    await pupil.page.click(tid("report-send"))
    await expect(pupil.page.locator(tid("report-reason"))).to_have_count(0)

    # Rooms with a room card, then the files, people and teacher tools of the room.
    await teacher.goto("#/rooms")
    await expect(teacher.page.locator(tid(f"room-{room_id}"))).to_be_visible()
    await audit.check(teacher, "rooms")
    await teacher.page.click(tid(f"room-{room_id}"))
    await teacher.page.click(tid("tab-files"))
    await teacher.page.set_input_files(
        tid("file-input"),
        files=[{"name": "river.png", "mimeType": "image/png", "buffer": png()}],
    )
    await expect(
        teacher.page.locator(f"{tid('file-list')} li", has_text="river.png")
    ).to_be_visible()
    await audit.check(teacher, "files")
    await teacher.page.click(tid("tab-people"))
    await expect(teacher.page.locator(tid("person"))).to_have_count(2)
    await audit.check(teacher, "people")
    await teacher.page.click(tid("tab-teach"))
    await expect(teacher.page.locator(f"{tid('report-queue')} li[data-report-id]")).to_have_count(1)
    await audit.check(teacher, "teacher tools")

    # The video lobby, a call with both of them, and the call ended by the teacher.
    for v in (teacher, pupil):
        await v.page.click(tid("tab-video"))
        await expect(v.page.locator(tid("join-video"))).to_be_visible()
    await audit.check(pupil, "video lobby")
    for v in (teacher, pupil):
        await v.page.click(tid("join-video"))
        await expect(v.page.locator(tid("leave-video"))).to_be_visible()
    for v in (teacher, pupil):
        await expect(v.page.locator("figure.tile.remote:visible")).to_have_count(1, timeout=30_000)
    await pupil.page.click(tid("raise-hand"))
    await expect(teacher.page.locator("figure.tile.remote .hand")).to_have_count(1)
    await audit.check(teacher, "in a call (teacher)")
    await audit.check(pupil, "in a call (pupil)")
    await teacher.page.click(tid("end-call"))
    await audit.check(teacher, "asked to end the call (teacher)")
    await teacher.page.click(tid("confirm-ok"))  # ending for everyone asks first
    for v in (teacher, pupil):
        await expect(v.page.locator(tid("join-video"))).to_be_visible()
    await audit.check(teacher, "call ended (teacher)")
    await audit.check(pupil, "call ended (pupil)")

    # The session's summary, worded by the client, and a muted pupil's notice.
    threads = await (await pupil.page.request.get(f"/api/rooms/{room_id}/threads")).json()
    summary_id = next(th["id"] for th in threads if "summary" in th)
    await pupil.goto(f"#/room/{room_id}/forum/{summary_id}")
    await expect(pupil.page.locator(tid("summary"))).to_be_visible()
    await audit.check(pupil, "session summary (pupil)")
    me = await (await pupil.page.request.get("/api/me")).json()
    mute = f"/api/rooms/{room_id}/mutes/{me['id']}"
    assert (await teacher.page.request.put(mute, data={"minutes": 10})).ok
    await expect(pupil.page.locator(tid("mute-notice"))).to_be_visible()
    await audit.check(pupil, "muted (pupil)")

    report = audit.report()
    assert report == "", f"axe-core found violations:\n{report}"
    assert teacher.errors == [] and pupil.errors == []
