"""Teachers' moderation screens: a report names the author and links to the post, the audit log
names what was acted on, a post's earlier versions, the forum mute, and "My mentions"."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.async_api import expect

from tests.e2e.axe import assert_no_violations
from tests.e2e.conftest import Visitor, Visitors
from tests.e2e.flows import sign_in, teacher_and_pupil, tid


async def call(v: Visitor, method: str, path: str, body: Any = None) -> Any:
    """A request with the visitor's own session (for the steps this test does not look at)."""
    response = await v.context.request.fetch(
        f"{v.base}{path}", method=method, data=body, headers={"Origin": v.base}
    )
    assert response.ok, f"{method} {path}: {response.status} {await response.text()}"
    return await response.json() if response.status != 204 else None


async def settled(v: Visitor) -> None:
    # A toast fading in has not reached its final contrast yet.
    await v.page.wait_for_function(
        "document.getAnimations().every((a) => a.playState !== 'running')"
    )


@pytest.mark.timeout(120)
async def test_reports_audit_history_mute_and_mentions(visitors: Visitors) -> None:
    first_teacher, first_pupil, room_id, _ = await teacher_and_pupil(visitors)
    # The same two again in browsers that may run axe-core.
    teacher = await visitors.new(bypass_csp=True)
    pupil = await visitors.new(locale="pl-PL", bypass_csp=True)
    await sign_in(teacher, "marie")
    await sign_in(pupil, "zofia")
    thread = await call(
        teacher,
        "POST",
        f"/api/rooms/{room_id}/threads",
        {"title": "Rivers", "body": "Which river is longest? @zofia"},
    )
    first = (await call(teacher, "GET", f"/api/threads/{thread['id']}/posts"))[0]
    reply = await call(
        pupil, "POST", f"/api/threads/{thread['id']}/posts", {"body": "The Danube, I think"}
    )
    await call(pupil, "PATCH", f"/api/posts/{reply['id']}", {"body": "The Volga!"})
    await call(pupil, "POST", f"/api/posts/{first['id']}/report", {"reason": "unclear"})

    # The report names the post's author and links to the post, which opens in focus.
    page = teacher.page
    await teacher.goto(f"#/room/{room_id}/teach")
    report = page.locator(tid("report"))
    await expect(report.locator(tid("report-author"))).to_contain_text("Marie Curie")
    await assert_no_violations(page, "report queue")
    await report.locator(tid("report-link")).click()
    linked = page.locator(f"#post-{first['id']}")
    await expect(linked).to_have_class(re.compile(r"\blinked\b"))
    await expect(linked.locator("article")).to_be_focused()

    # A teacher reads the earlier version of an edited post, as text.
    edited = page.locator(f"#post-{reply['id']}")
    await edited.locator(tid("post-history-toggle")).click()
    await expect(edited.locator(tid("post-history"))).to_contain_text("The Danube, I think")
    await expect(edited.locator(tid("post-history-toggle"))).to_have_attribute(
        "aria-expanded", "true"
    )
    await assert_no_violations(page, "post history")

    # Hiding the post: the audit log names its author and words, and links to it.
    await call(teacher, "POST", f"/api/posts/{reply['id']}/hide", {"hidden": True})
    await page.click(tid("tab-teach"))
    entry = page.locator(f'{tid("audit-entry")}[data-action="post_hide"]')
    await expect(entry).to_contain_text("Zofia")
    await expect(entry.locator(tid("audit-post-link"))).to_contain_text("The Volga!")
    href = await entry.locator(tid("audit-post-link")).get_attribute("href")
    assert href == f"#/room/{room_id}/forum/{thread['id']}/{reply['id']}"

    # The forum mute: for how long, until when, and lifting it.
    await page.click(tid("tab-people"))
    row = page.locator(tid("person"), has_text="Zofia")
    await row.locator(tid("mute-length")).select_option("60")
    await row.locator(tid("mute-member")).click()
    await expect(row.locator(tid("muted-until"))).to_be_visible()
    await expect(row.locator(tid("unmute-member"))).to_be_focused()
    await settled(teacher)
    await assert_no_violations(page, "people with a muted pupil")
    answer = await pupil.context.request.post(
        f"{pupil.base}/api/threads/{thread['id']}/posts",
        data={"body": "still here"},
        headers={"Origin": pupil.base},
    )
    assert answer.status == 403
    await row.locator(tid("unmute-member")).click()
    await expect(row.locator(tid("mute-member"))).to_be_visible()
    await page.click(tid("tab-teach"))
    await expect(page.locator(f'{tid("audit-entry")}[data-action="member_mute"]')).to_have_count(2)
    await expect(
        page.locator(f'{tid("audit-entry")}[data-action="member_mute"]').first
    ).to_contain_text("Zofia")

    # "My mentions" lists the post that mentions the pupil, with its room and a link to it.
    await pupil.goto("#/rooms")
    await pupil.page.click(tid("my-mentions"))
    mention = pupil.page.locator(tid("mention"))
    await expect(mention).to_have_count(1)
    await expect(mention).to_contain_text("Rivers of Europe")
    await expect(mention).to_contain_text("Which river is longest?")
    await assert_no_violations(pupil.page, "my mentions")
    await mention.locator(tid("mention-link")).click()
    await expect(pupil.page.locator(f"#post-{first['id']}")).to_have_class(
        re.compile(r"\blinked\b")
    )
    assert teacher.errors == [] and pupil.errors == [] and first_teacher.errors == []
    assert first_pupil.errors == []
