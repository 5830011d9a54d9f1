"""The page's polite live region tells screen-reader users what changes out of their sight.

News of the call (who joins, leaves, raises a hand, waits in the lobby), of a new post in the
open topic and of a new report for teachers, each in the reader's own language.
"""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from tests.e2e.conftest import Visitors
from tests.e2e.flows import teacher_and_pupil, tid


@pytest.mark.timeout(150)
async def test_posts_reports_and_the_call_are_announced(visitors: Visitors) -> None:
    teacher, pupil, _room_id, _code = await teacher_and_pupil(visitors)
    heard_by_teacher = teacher.page.locator(tid("announcer"))
    heard_by_pupil = pupil.page.locator(tid("announcer"))
    await expect(heard_by_teacher).to_have_attribute("aria-live", "polite")

    # A new post in the topic the pupil has open, announced in Polish.
    await teacher.page.click(tid("tab-forum"))
    await teacher.page.fill(tid("thread-title"), "Our river in winter")
    await teacher.page.fill(tid("thread-body"), "Post a photo of your river, please.")
    await teacher.page.click(tid("thread-submit"))
    await pupil.page.locator(tid("thread-list")).get_by_role("link").first.click()
    await expect(pupil.page.locator(tid("post"))).to_have_count(1)
    await teacher.page.fill(tid("reply-body"), "And its name, too.")
    await teacher.page.click(tid("reply-submit"))
    await expect(heard_by_pupil).to_contain_text("Nowy wpis od Marie Curie w tym wątku")
    # One's own posts are not news.
    await pupil.page.fill(tid("reply-body"), "The Vistula.")
    await pupil.page.click(tid("reply-submit"))
    await expect(teacher.page.locator(tid("post"))).to_have_count(3)
    await expect(heard_by_pupil).not_to_contain_text("Zofia")

    # A report reaches the teacher wherever they are in the room.
    await pupil.page.locator(tid("report-post")).first.click()
    await pupil.page.fill(tid("report-reason"), "Just testing")
    await pupil.page.click(tid("report-send"))
    await expect(heard_by_teacher).to_contain_text("A post was reported")

    # With the lobby on, the teacher in the call hears who waits, joins, raises a hand, leaves.
    await teacher.page.click(tid("tab-teach"))
    settings = teacher.page.locator(tid("room-settings"))
    await settings.locator("#set-lobby").check()
    await settings.locator("button[type=submit]").click()
    await expect(teacher.page.locator("#toasts")).to_contain_text("Settings saved.")
    await teacher.page.click(tid("tab-video"))
    await teacher.page.click(tid("join-video"))
    await expect(teacher.page.locator(tid("leave-video"))).to_be_visible()
    await pupil.page.click(tid("tab-video"))
    await pupil.page.click(tid("join-video"))
    await expect(heard_by_teacher).to_contain_text("Zofia is waiting")
    await teacher.page.locator(tid("lobby-queue")).get_by_role("button", name="Let in").click()
    await expect(heard_by_teacher).to_contain_text("Zofia joined the call")
    await expect(pupil.page.locator(tid("raise-hand"))).to_be_visible()
    await pupil.page.click(tid("raise-hand"))
    await expect(heard_by_teacher).to_contain_text("Zofia raised their hand")
    await pupil.page.click(tid("leave-video"))
    await expect(heard_by_teacher).to_contain_text("Zofia left the call")
    # Nobody hears news of themselves.
    await expect(heard_by_pupil).not_to_contain_text("Zofia")
    assert teacher.errors == [] and pupil.errors == []
