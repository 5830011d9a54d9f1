"""Chat messages and forum posts written on one side appear live on the other."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from tests.e2e.conftest import Visitors
from tests.e2e.flows import teacher_and_pupil, tid


@pytest.mark.timeout(90)
async def test_chat_message_reaches_the_other_side_live(visitors: Visitors) -> None:
    teacher, pupil, _room_id, _code = await teacher_and_pupil(visitors)
    await teacher.page.click(tid("tab-forum"))

    await pupil.page.fill(tid("chat-input"), "Dzień dobry from **Kraków**!")
    await pupil.page.press(tid("chat-input"), "Enter")
    await expect(pupil.page.locator(tid("chat-input"))).to_have_value("")

    message = teacher.page.locator(tid("chat-message"), has_text="Dzień dobry from")
    await expect(message).to_be_visible()
    # The server renders the Markdown: bold arrives as <strong>, never as raw asterisks.
    await expect(message.locator("strong")).to_have_text("Kraków")

    await teacher.page.fill(tid("chat-input"), "Bonjour <b>tout le monde</b>")
    await teacher.page.press(tid("chat-input"), "Enter")
    reply = pupil.page.locator(tid("chat-message"), has_text="Bonjour")
    await expect(reply).to_be_visible()
    # Raw HTML in a message stays text: no <b> element was made from it.
    await expect(reply.locator("b")).to_have_count(0)
    await expect(reply).to_contain_text("<b>tout le monde</b>")
    assert teacher.errors == [] and pupil.errors == []


@pytest.mark.timeout(90)
async def test_messages_typed_quickly_all_go_out_in_order(visitors: Visitors) -> None:
    """A message typed while the previous one is still on its way is neither dropped nor
    overtaken (Enter used to be ignored until the first was acknowledged, and the box then
    emptied, losing what had been typed meanwhile)."""
    teacher, pupil, _room_id, _code = await teacher_and_pupil(visitors)
    texts = [f"Quick {n}" for n in range(1, 5)]
    # Typed and sent within one task of the page: none can have been acknowledged in between.
    await pupil.page.locator(tid("chat-input")).evaluate(
        """(box, texts) => {
            for (const text of texts) {
                box.value = text;
                box.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter", bubbles: true }));
            }
        }""",
        texts,
    )
    for visitor in (pupil, teacher):
        messages = visitor.page.locator(tid("chat-message"))
        await expect(messages).to_have_count(len(texts))
        got = await messages.all_inner_texts()
        assert all(text in line for text, line in zip(texts, got, strict=True)), got
    await expect(pupil.page.locator(tid("chat-input"))).to_have_value("")
    assert teacher.errors == [] and pupil.errors == []


@pytest.mark.timeout(90)
async def test_forum_thread_and_reply_appear_live(visitors: Visitors) -> None:
    teacher, pupil, room_id, _code = await teacher_and_pupil(visitors)
    await teacher.page.click(tid("tab-forum"))
    await expect(pupil.page.locator(tid("forum"))).to_be_visible()

    # The teacher opens a topic; it appears in the pupil's list without a reload.
    await teacher.page.fill(tid("thread-title"), "Our river in winter")
    await teacher.page.fill(tid("thread-body"), "Post a photo of *your* river, please.")
    await teacher.page.click(tid("thread-submit"))
    await expect(teacher.page.locator(tid("post"))).to_have_count(1)
    topic = pupil.page.locator(tid("thread-list")).get_by_role("link", name="Our river in winter")
    await expect(topic).to_be_visible()
    unread = pupil.page.locator(f"{tid('thread-list')} {tid('unread')}")
    await expect(unread).to_contain_text("1")  # the teacher's first post, unread by the pupil
    await topic.click()
    first = pupil.page.locator(tid("post")).first
    await expect(first.locator("em")).to_have_text("your")

    # The pupil replies; the teacher, on the same topic, sees it arrive.
    await pupil.page.fill(tid("reply-body"), "The Vistula is frozen near the bank.")
    await pupil.page.click(tid("reply-submit"))
    await expect(teacher.page.locator(tid("post"))).to_have_count(2)
    await expect(teacher.page.locator(tid("post")).nth(1)).to_contain_text("Vistula is frozen")
    await expect(pupil.page.locator(tid("post"))).to_have_count(2)
    await pupil.shot("forum-thread")

    # Read on screen: back in the list, the pupil has nothing unread there; the server agrees.
    await pupil.page.click(tid("tab-forum"))
    await expect(
        pupil.page.locator(tid("thread-list")).get_by_role("link", name="Our river in winter")
    ).to_be_visible()
    await expect(unread).to_have_count(0)
    listed = await pupil.page.evaluate(
        "(id) => fetch(`/api/rooms/${id}/threads`).then((r) => r.json())", room_id
    )
    assert [th["unread"] for th in listed if th["title"] == "Our river in winter"] == [0]
    assert teacher.errors == [] and pupil.errors == []


@pytest.mark.timeout(90)
async def test_messages_missed_while_offline_arrive_once_after_reconnect(
    visitors: Visitors,
) -> None:
    teacher, pupil, _room_id, _code = await teacher_and_pupil(visitors)
    await teacher.page.fill(tid("chat-input"), "Before the tunnel")
    await teacher.page.press(tid("chat-input"), "Enter")
    await expect(pupil.page.locator(tid("chat-message"))).to_have_count(1)

    # The pupil's connection drops; the client says so.
    await pupil.context.set_offline(True)
    await expect(pupil.page.locator(".conn.offline")).to_be_visible()
    for text in ("Missed one", "Missed two"):
        await teacher.page.fill(tid("chat-input"), text)
        await teacher.page.press(tid("chat-input"), "Enter")
    await expect(teacher.page.locator(tid("chat-message"))).to_have_count(3)

    # Back online: room:join {since} brings exactly what was missed, in order, once.
    await pupil.context.set_offline(False)
    messages = pupil.page.locator(tid("chat-message"))
    await expect(messages).to_have_count(3)
    await expect(messages.nth(1)).to_contain_text("Missed one")
    await expect(messages.nth(2)).to_contain_text("Missed two")
    await expect(pupil.page.locator(".conn.offline")).to_have_count(0)
    await pupil.page.wait_for_timeout(500)
    await expect(messages).to_have_count(3)
    assert teacher.errors == [] and pupil.errors == []


@pytest.mark.timeout(90)
async def test_a_report_reaches_the_teachers_queue_live_and_hiding_resolves_it(
    visitors: Visitors,
) -> None:
    teacher, pupil, _room_id, _code = await teacher_and_pupil(visitors)
    await teacher.page.click(tid("tab-forum"))
    await teacher.page.fill(tid("thread-title"), "Photos")
    await teacher.page.fill(tid("thread-body"), "Share your photos here.")
    await teacher.page.click(tid("thread-submit"))
    await expect(teacher.page.locator(tid("post"))).to_have_count(1)
    await teacher.page.click(tid("tab-teach"))
    queue = teacher.page.locator(tid("report-queue"))
    await expect(queue).to_contain_text("No open reports")

    # The pupil reports the post; only teachers see reports, and it reaches the queue live.
    await pupil.page.locator(tid("thread-list")).get_by_role("link", name="Photos").click()
    post = pupil.page.locator(tid("post")).first
    await post.locator(tid("report-post")).click()
    await post.locator(tid("report-reason")).fill("Wrong room")
    await post.locator(tid("report-send")).click()
    await expect(post.locator(tid("report-reason"))).to_have_count(0)
    report = queue.locator("li", has_text="Share your photos here.")
    await expect(report).to_contain_text("Wrong room")
    await expect(report).to_contain_text("Zofia")
    await teacher.shot("teacher-reports")

    await report.get_by_role("button", name="Hide").click()
    await expect(queue).to_contain_text("No open reports")
    await expect(teacher.page.locator(tid("audit-log"))).to_contain_text("hid a post")
    await expect(pupil.page.locator(tid("post"))).to_have_count(0)
    assert teacher.errors == [] and pupil.errors == []
