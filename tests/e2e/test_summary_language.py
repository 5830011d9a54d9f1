"""What the server stores in English reaches a French reader in French and in their own zone: a
session's summary, the default session name, the room chat's name; and a muted pupil is told
until when, and when it is over."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from playwright.async_api import expect

from tests.e2e.conftest import Visitor, Visitors
from tests.e2e.flows import create_invite, create_room, join_as_new_pupil, sign_up_teacher, tid

PARIS = ZoneInfo("Europe/Paris")  # every test browser's zone


def clock(iso: str) -> str:
    return datetime.fromisoformat(iso).astimezone(PARIS).strftime("%H:%M")


@pytest.mark.timeout(120)
async def test_a_french_reader_gets_the_summary_in_french_and_local_times(
    visitors: Visitors,
) -> None:
    teacher = await visitors.new()
    await sign_up_teacher(teacher, "marie", "Marie Curie", "FR")
    room_id = await create_room(teacher, "Rivers of Europe")
    code = await create_invite(teacher)
    pupil = await visitors.new(locale="fr-FR")
    await join_as_new_pupil(pupil, code, "Léa Martin", "lea")
    api = teacher.page.request

    planned = await api.post(f"/api/rooms/{room_id}/sessions", data={})
    assert planned.ok and (await planned.json())["title"] == "Live session"
    session_id = (await planned.json())["id"]
    await pupil.goto(f"#/room/{room_id}/video")
    listed = pupil.page.locator(f"{tid('session-list')} li")
    await expect(listed).to_contain_text("Séance en direct")
    await expect(listed).not_to_contain_text("Live session")

    started = await api.post(f"/api/sessions/{session_id}/start")
    assert started.ok
    await pupil.page.fill(tid("chat-input"), "Bonjour à tous")
    await pupil.page.press(tid("chat-input"), "Enter")
    await expect(pupil.page.locator(".chat-log")).to_contain_text("Bonjour à tous")
    ended = await (await api.post(f"/api/sessions/{session_id}/end")).json()
    thread_id = ended["summary_thread_id"]

    await pupil.goto(f"#/room/{room_id}/forum")
    link = pupil.page.locator(tid(f"thread-{thread_id}"))
    await expect(link).to_contain_text("Résumé de la séance : Séance en direct (")
    await link.click()
    await expect(pupil.page.locator(".thread-h")).to_contain_text("Résumé de la séance")
    summary = pupil.page.locator(tid("summary"))
    await expect(summary).to_contain_text("Séance en direct")
    await expect(summary).to_contain_text(clock(ended["started_at"]))  # Paris time, not UTC
    await expect(summary).to_contain_text("Participants (0)")
    await expect(summary).to_contain_text("Personne n\u2019a rejoint la séance.")
    await expect(summary.get_by_role("heading", name="Discussion")).to_be_visible()
    line = summary.locator("li", has_text="Bonjour à tous")
    await expect(line).to_contain_text("Léa Martin")
    posts = await (await api.get(f"/api/threads/{thread_id}/posts")).json()
    await expect(line).to_contain_text(clock(posts[0]["summary"]["chat"]["lines"][0]["at"]))
    await expect(summary).to_contain_text("Fichiers partagés")
    await expect(summary).not_to_contain_text("UTC")
    await expect(pupil.page.locator(tid("forum"))).not_to_contain_text("Session summary")
    await pupil.shot("summary-fr")

    # Search finds the chat line in the room chat, named in French, and in the summary.
    await pupil.goto(f"#/room/{room_id}/forum")
    await pupil.page.fill("#forum-search", "Bonjour")
    await pupil.page.press("#forum-search", "Enter")
    results = pupil.page.locator(".search-results")
    # A post's result is named by its thread and author ("Discussion · Léa Martin").
    chat_result = results.get_by_role("link", name=re.compile(r"^Discussion · "))
    await expect(chat_result).to_be_visible()
    await expect(
        results.get_by_role("link", name="Résumé de la séance", exact=False)
    ).to_be_visible()
    assert pupil.errors == [] and teacher.errors == []


MUTED = "Un enseignant t\u2019a rendu muet dans le forum et la discussion jusqu\u2019à {until}."


async def french_pupil_and_teacher(visitors: Visitors) -> tuple[Visitor, Visitor, str, str]:
    """A teacher's room, a French pupil in it; and the path of the pupil's mute there."""
    teacher = await visitors.new()
    await sign_up_teacher(teacher, "marie", "Marie Curie", "FR")
    room_id = await create_room(teacher, "Rivers of Europe")
    code = await create_invite(teacher)
    pupil = await visitors.new(locale="fr-FR")
    await join_as_new_pupil(pupil, code, "Léa Martin", "lea")
    me = await (await pupil.page.request.get("/api/me")).json()
    return teacher, pupil, room_id, f"/api/rooms/{room_id}/mutes/{me['id']}"


@pytest.mark.timeout(90)
async def test_a_muted_pupil_sees_a_notice_until_the_mute_is_lifted(visitors: Visitors) -> None:
    teacher, pupil, _, path = await french_pupil_and_teacher(visitors)
    notice = pupil.page.locator(tid("mute-notice"))
    heard = pupil.page.locator(tid("announcer"))
    await expect(notice).to_be_hidden()

    muted = await teacher.page.request.put(path, data={"minutes": 45})
    assert muted.ok
    text = MUTED.format(until=clock((await muted.json())["until"]))
    await expect(notice).to_be_visible()
    await expect(notice).to_have_text(text)
    await expect(heard).to_contain_text(text)

    assert (await teacher.page.request.put(path, data={"minutes": 0})).ok
    await expect(notice).to_be_hidden()
    await expect(heard).to_contain_text("Tu peux de nouveau écrire dans le forum et la discussion.")
    assert pupil.errors == []


@pytest.mark.timeout(90)
async def test_a_pupil_muted_before_opening_the_room_is_told_at_once(visitors: Visitors) -> None:
    teacher, pupil, room_id, path = await french_pupil_and_teacher(visitors)
    muted = await teacher.page.request.put(path, data={"minutes": 45})
    assert muted.ok
    until = (await muted.json())["until"]

    await pupil.page.reload()  # the room opened afresh, the mute already on
    text = MUTED.format(until=clock(until))
    await expect(pupil.page.locator(tid("mute-notice"))).to_have_text(text)
    await expect(pupil.page.locator(tid("announcer"))).to_contain_text(text)
    room = await (await pupil.page.request.get(f"/api/rooms/{room_id}")).json()
    assert room["my_muted_until"] == until
    others = await (await teacher.page.request.get(f"/api/rooms/{room_id}")).json()
    assert others["my_muted_until"] is None  # the teacher's own, not the pupil's
    assert pupil.errors == []
