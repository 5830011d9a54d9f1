"""Forum and chat as people expect them: bare addresses become safe links, @mentions are
completed as they are typed and highlighted where they are read, search shows text with the
match marked and leads to the post, a post can be quoted, and reactions wait behind one button."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import expect

from tests.e2e.axe import describe, violations
from tests.e2e.conftest import Visitor, Visitors
from tests.e2e.flows import create_invite, create_room, join_as_new_pupil, sign_up_teacher, tid


async def no_violations(v: Visitor, state: str) -> None:
    found = await violations(v.page)
    assert found == [], f"[{state}]\n{describe(found)}"


@pytest.mark.timeout(150)
async def test_links_mentions_search_quotes_and_reactions(visitors: Visitors) -> None:
    teacher = await visitors.new(bypass_csp=True)
    await sign_up_teacher(teacher, "marie", "Marie Curie", "FR")
    room_id = await create_room(teacher, "Rivers of Europe", "Lyon and Kraków study rivers.")
    code = await create_invite(teacher)
    pupil = await visitors.new(bypass_csp=True)
    await join_as_new_pupil(pupil, code, "Zofia Nowak", "zofia")
    t, p = teacher.page, pupil.page
    await t.click(tid("tab-forum"))

    # A bare address in chat is a link that opens safely; a javascript: "address" stays text.
    await p.fill(tid("chat-input"), "Map: https://vistula.example/map?x=1. Not javascript:alert(1)")
    await p.press(tid("chat-input"), "Enter")
    message = t.locator(tid("chat-message")).last
    link = message.get_by_role("link", name="https://vistula.example/map?x=1")
    await expect(link).to_have_attribute("href", "https://vistula.example/map?x=1")
    rel = set((await link.get_attribute("rel") or "").split())
    assert {"noopener", "nofollow", "ugc"} <= rel
    await expect(message.locator("a")).to_have_count(1)

    # "@zo" offers Zofia; Enter takes the name instead of sending; she reads it highlighted.
    await t.click(tid("chat-input"))
    await t.keyboard.type("Hi @zo")
    option = t.locator(tid("mention-option"))
    await expect(option).to_have_count(1)
    await expect(option).to_contain_text("Zofia Nowak")
    await expect(t.locator(tid("chat-input"))).to_have_attribute(
        "aria-activedescendant", re.compile(".+")
    )
    await no_violations(teacher, "chat with mentions offered")
    await t.keyboard.press("Enter")
    await expect(t.locator(tid("chat-input"))).to_have_value("Hi @zofia ")
    await expect(t.locator(tid("mention-list"))).to_be_hidden()
    await t.keyboard.type("welcome!")
    await t.keyboard.press("Enter")
    mine = p.locator(tid("chat-message")).last.locator(".mention-me")
    await expect(mine).to_have_text("@zofia")

    # A topic with Markdown; the pupil finds it without its Markdown, the match marked.
    await t.fill(tid("thread-title"), "Our rivers")
    await t.fill(tid("thread-body"), "The **Rhône** flows through [Lyon](https://lyon.example).")
    await t.click(tid("thread-submit"))
    await expect(t.locator(tid("post"))).to_have_count(1)
    post_id = await t.locator(tid("post")).first.get_attribute("data-post-id")
    await p.click(tid("tab-forum"))
    await p.fill("#forum-search", "rhone")
    await p.press("#forum-search", "Enter")
    result = p.locator(tid("search-result"))
    await expect(result).to_have_count(1)
    await expect(result.locator(".result-text")).to_have_text("The Rhône flows through Lyon.")
    await expect(result.locator("mark")).to_have_text("Rhône")
    await no_violations(pupil, "search results")
    href = await result.get_by_role("link").get_attribute("href")
    assert href is not None and href.endswith(f"/forum/{href.split('/')[-2]}/{post_id}")
    assert f"#/room/{room_id}/forum/" in href
    await result.get_by_role("link").click()
    await expect(p.locator(f"#post-{post_id}")).to_have_class(re.compile("linked"))

    # Reactions: one button until used; its choices; then the one used, with its count.
    post = p.locator(f"#post-{post_id}")
    await expect(post.locator(".reaction:visible")).to_have_count(1)  # "Add a reaction" alone
    await post.locator(tid("add-reaction")).click()
    await expect(post.locator(f"{tid('reaction-picker')} .reaction")).to_have_count(6)
    await no_violations(pupil, "reactions to choose from")
    await post.locator(f"{tid('reaction-picker')} .reaction").first.click()
    used = t.locator(f"#post-{post_id} .reactions > .reaction:not(.reaction-add)")
    await expect(used).to_have_count(1)
    await expect(used).to_contain_text("1")

    # Quoting puts the post, as a quote that mentions nobody, in the reply box.
    await post.locator(tid("quote-post")).click()
    box = p.locator(tid("reply-body"))
    await expect(box).to_be_focused()
    await expect(box).to_have_value(
        "> Marie Curie wrote:\n> The **Rhône** flows through [Lyon](https://lyon.example).\n\n"
    )
    await p.keyboard.type("Also through Avignon.")
    await p.click(tid("reply-submit"))
    reply = t.locator(tid("post")).nth(1)
    await expect(reply.locator("blockquote")).to_contain_text("The Rhône flows through Lyon.")
    await teacher.shot("forum-quote-reactions")
    assert teacher.errors == [] and pupil.errors == []
