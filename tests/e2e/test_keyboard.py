"""The client with the keyboard alone: sign in, open a room, chat, upload, join and leave a call.

Every step presses keys (Tab, Shift+Tab, Enter, Space, arrows) and checks where focus lands;
nothing is clicked once the accounts exist.
"""

from __future__ import annotations

import pytest
from playwright.async_api import Page, expect

from tests.e2e.conftest import Visitors
from tests.e2e.flows import PASSWORD, create_room, sign_up_teacher, teacher_and_pupil, tid
from tests.e2e.test_files import png

FOCUSED_MATCHES = (
    "(selector) => Boolean(document.activeElement && document.activeElement.matches(selector))"
)


async def focused(page: Page, selector: str) -> bool:
    return bool(await page.evaluate(FOCUSED_MATCHES, selector))


async def tab_to(page: Page, selector: str, most: int = 30, key: str = "Tab") -> int:
    """Press `key` until the element matching `selector` has focus; how many presses it took."""
    for presses in range(1, most + 1):
        await page.keyboard.press(key)
        if await focused(page, selector):
            return presses
    active = await page.evaluate("document.activeElement && document.activeElement.outerHTML")
    raise AssertionError(f"{selector} not reached in {most} presses of {key}; focus on {active}")


async def expect_focus(page: Page, selector: str) -> None:
    await page.wait_for_function(FOCUSED_MATCHES, arg=selector, timeout=15_000)


@pytest.mark.timeout(120)
async def test_sign_in_open_a_room_chat_upload_and_call_with_the_keyboard(
    visitors: Visitors,
) -> None:
    teacher = await visitors.new()
    await sign_up_teacher(teacher, "marie", "Marie Curie", "FR")
    room_id = await create_room(teacher, "Rivers of Europe")
    page = teacher.page
    await page.click(tid("sign-out"))
    await expect(page.locator(tid("login-username"))).to_be_visible()

    # Sign in: Tab to the username, type, Tab to the password, type, Enter.
    await page.goto(f"{teacher.base}/#/login")
    await expect(page.locator(tid("login-username"))).to_be_visible()
    await tab_to(page, tid("login-username"))
    await page.keyboard.type("marie")
    await tab_to(page, tid("login-password"), most=3)
    await page.keyboard.type(PASSWORD)
    await page.keyboard.press("Enter")
    await expect(page.locator(tid("room-list"))).to_be_visible()

    # Open the room from My rooms: focus lands on the room's heading, not on <body>.
    await tab_to(page, tid(f"room-{room_id}"))
    await page.keyboard.press("Enter")
    await expect_focus(page, "h1.room-title")

    # The skip link (Shift+Tab back to the top of the page) goes straight to the chat box.
    await tab_to(page, "#skip-chat", key="Shift+Tab", most=12)
    await page.keyboard.press("Enter")
    await expect_focus(page, tid("chat-input"))
    for text in ("Bonjour", "Dzień dobry", "Buongiorno"):
        await page.keyboard.type(text)
        await page.keyboard.press("Enter")
        await expect(page.locator(tid("chat-message"), has_text=text)).to_have_count(1)
        await expect_focus(page, tid("chat-input"))

    # The log is one stop: its messages' Delete buttons are out of the tab order until a
    # message is chosen with the arrow keys; then Tab reaches that message's button alone.
    await tab_to(page, tid("chat-log"), key="Shift+Tab", most=2)
    assert await tab_to(page, tid("chat-input"), most=1) == 1
    await tab_to(page, tid("chat-log"), key="Shift+Tab", most=2)
    await page.keyboard.press("ArrowUp")
    message = page.locator(tid("chat-message"), has_text="Buongiorno")
    await expect(message).to_be_focused()
    await page.keyboard.press("ArrowUp")
    message = page.locator(tid("chat-message"), has_text="Dzień dobry")
    await expect(message).to_be_focused()
    await page.keyboard.press("Tab")
    await expect(message.locator(".chat-del")).to_be_focused()
    assert await tab_to(page, tid("chat-input"), most=1) == 1

    # Upload a file: the Files tab, then the file picker opened from the keyboard.
    await tab_to(page, tid("tab-files"), key="Shift+Tab", most=40)
    await page.keyboard.press("Enter")
    # Listening for the chooser starts first: Playwright turns the browser's interception of file
    # choosers on in the background, and a Space pressed at once could open one before it is on.
    async with page.expect_file_chooser() as chooser:
        await tab_to(page, tid("file-input"), most=10)
        await page.keyboard.press("Space")
    await (await chooser.value).set_files(
        files=[{"name": "river.png", "mimeType": "image/png", "buffer": png()}]
    )
    await expect(page.locator(tid("file"), has_text="river.png")).to_be_visible()

    # Join the call: Leave takes Join's place and focus; leaving gives it back to Join.
    await tab_to(page, tid("tab-video"), key="Shift+Tab", most=20)
    await page.keyboard.press("Enter")
    await tab_to(page, tid("join-video"), most=10)
    await page.keyboard.press("Enter")
    await expect(page.locator(tid("leave-video"))).to_be_visible()
    await expect_focus(page, tid("leave-video"))
    await page.keyboard.press("Enter")
    await expect(page.locator(tid("join-video"))).to_be_visible()
    await expect_focus(page, tid("join-video"))
    assert teacher.errors == []


@pytest.mark.timeout(120)
async def test_reactions_keep_focus_and_escape_closes_the_report_and_edit_forms(
    visitors: Visitors,
) -> None:
    teacher, pupil, _room_id, _code = await teacher_and_pupil(visitors)
    await teacher.page.click(tid("tab-forum"))
    await teacher.page.fill(tid("thread-title"), "Our river in winter")
    await teacher.page.fill(tid("thread-body"), "Post a photo of your river, please.")
    await teacher.page.click(tid("thread-submit"))
    await expect(teacher.page.locator(tid("post"))).to_have_count(1)
    page = pupil.page
    await page.locator(tid("thread-list")).get_by_role("link").first.click()
    # Opening a topic puts focus on its title.
    await expect(page.locator("h2.thread-h")).to_be_focused()
    post = page.locator(tid("post")).first

    # Reactions wait behind one button, whose choices take focus when it opens; a reaction
    # redraws the post and focus stays on it (now pressed), then, taken back, on the button.
    add = post.locator(tid("add-reaction"))
    await add.focus()
    await page.keyboard.press("Enter")
    await expect(post.locator(f"{tid('reaction-picker')} .reaction").first).to_be_focused()
    await page.keyboard.press("Enter")
    thumbs = post.locator(".reactions > .reaction:not(.reaction-add)")
    await expect(thumbs).to_have_attribute("aria-pressed", "true")
    await expect(thumbs).to_be_focused()
    await page.keyboard.press("Space")
    await expect(thumbs).to_have_count(0)
    await expect(add).to_be_focused()

    # Escape closes the report form and gives focus back to Report.
    await tab_to(page, tid("report-post"), most=10)
    await page.keyboard.press("Enter")
    await expect(page.locator(tid("report-reason"))).to_be_focused()
    await page.keyboard.type("Not sure")
    await page.keyboard.press("Escape")
    await expect(page.locator(tid("report-form"))).to_have_count(0)
    await expect(post.locator(tid("report-post"))).to_be_focused()

    # The pupil's own reply: Escape closes its edit form, focus back on Edit, text unchanged.
    await page.fill(tid("reply-body"), "The Vistula is frozen near the bank.")
    await page.click(tid("reply-submit"))
    reply = page.locator(tid("post")).nth(1)
    edit = reply.get_by_role("button", name="Edytuj")
    await edit.focus()
    await page.keyboard.press("Enter")
    await expect(page.locator(f"{tid('edit-form')} textarea")).to_be_focused()
    await page.keyboard.type(" Not this.")
    await page.keyboard.press("Escape")
    await expect(page.locator(tid("edit-form"))).to_have_count(0)
    await expect(reply.get_by_role("button", name="Edytuj")).to_be_focused()
    await expect(reply).not_to_contain_text("Not this.")
    assert teacher.errors == [] and pupil.errors == []
