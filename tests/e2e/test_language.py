"""Errors reach each reader in their own language and time zone, worded from the server's reason
and parameters, not from its English message."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from playwright.async_api import expect

from tests.e2e.conftest import Visitors
from tests.e2e.flows import PASSWORD, teacher_and_pupil, tid


@pytest.mark.timeout(60)
async def test_a_german_reader_is_told_in_german_what_a_username_needs(visitors: Visitors) -> None:
    reader = await visitors.new(locale="de-DE")
    await reader.goto("#/signup")
    page = reader.page
    await page.fill(tid("signup-display-name"), "Lukas Meyer")
    await page.select_option(tid("signup-country"), "DE")
    await page.fill(tid("signup-username"), "x")
    await page.fill(tid("signup-password"), PASSWORD)
    await page.click(tid("signup-submit"))
    alert = page.locator(tid("signup-form")).get_by_role("alert")
    await expect(alert).to_contain_text("Bitte prüfe deine Eingabe. Benutzername: 3 bis 32 Zeichen")
    await expect(alert).not_to_contain_text("characters")
    assert reader.errors == []


@pytest.mark.timeout(90)
async def test_a_muted_pupil_sees_when_the_mute_ends(visitors: Visitors) -> None:
    teacher, pupil, room_id, _code = await teacher_and_pupil(visitors)
    me = await (await pupil.page.request.get("/api/me")).json()
    muted = await teacher.page.request.put(
        f"/api/rooms/{room_id}/mutes/{me['id']}", data={"minutes": 45}
    )
    assert muted.ok
    until = datetime.fromisoformat((await muted.json())["until"])
    clock = until.astimezone(ZoneInfo("Europe/Paris")).strftime("%H:%M")  # the pupil's zone

    await pupil.page.fill(tid("chat-input"), "Czy mogę coś powiedzieć?")
    await pupil.page.press(tid("chat-input"), "Enter")
    alert = pupil.page.locator(".chat-form").get_by_role("alert")
    await expect(alert).to_contain_text("Nauczyciel wyciszył cię w tym pokoju do")
    await expect(alert).to_contain_text(clock)
    assert pupil.errors == []
