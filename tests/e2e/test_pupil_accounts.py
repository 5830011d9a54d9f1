"""A teacher makes a class's accounts, prints or downloads them, and resets a forgotten one."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.async_api import expect

from tests.e2e.axe import assert_no_violations
from tests.e2e.conftest import Visitors
from tests.e2e.flows import create_room, sign_in, sign_up_teacher, tid

WORDS_PASSWORD = re.compile(r"[a-z]+-[a-z]+-[a-z]+-\d\d")


@pytest.mark.timeout(120)
async def test_class_accounts_sheet_csv_and_password_reset(
    visitors: Visitors, tmp_path: Path
) -> None:
    teacher = await visitors.new(locale="fr-FR", bypass_csp=True)
    await sign_up_teacher(teacher, "marie", "Marie Curie", "FR")
    room_id = await create_room(teacher, "Fleuves d'Europe")
    page = teacher.page

    await page.fill(tid("pupil-names"), "Noé Lefèvre\nŁucja Wójcik")
    await page.click(tid("create-pupils"))
    sheet = page.locator(tid("credentials-sheet"))
    cards = sheet.locator(tid("cred-card"))
    await expect(cards).to_have_count(2)
    noe = cards.nth(0)
    # Each card stands alone once cut out: the room, the address and what to do with them.
    await expect(noe.locator(tid("cred-room"))).to_have_text("Fleuves d'Europe")
    await expect(noe).to_contain_text(teacher.base)
    await expect(noe.locator(tid("cred-how"))).to_contain_text(teacher.base)
    await expect(noe.locator(tid("cred-username"))).to_have_text(
        re.compile(r"^noe\.lefevre\.\d{4}$")
    )
    await expect(cards.nth(1).locator(tid("cred-username"))).to_have_text(
        re.compile(r"^lucja\.wojcik\.\d{4}$")
    )
    username = await noe.locator(tid("cred-username")).inner_text()
    password = await noe.locator(tid("cred-password")).inner_text()
    assert WORDS_PASSWORD.fullmatch(password), password
    await assert_no_violations(page, "credentials sheet")

    async with page.expect_download() as info:
        await page.click(tid("download-csv"))
    download = await info.value
    target = tmp_path / "accounts.csv"
    await download.save_as(target)
    text = target.read_bytes().decode("utf-8-sig")
    rows = [line.split(",") for line in text.strip().split("\r\n")]
    assert rows[0] == ["Nom", "Nom d'utilisateur", "Mot de passe", "Salle", "Adresse"], rows[0]
    assert rows[1] == ["Noé Lefèvre", username, password, "Fleuves d'Europe", teacher.base]
    assert rows[2][0] == "Łucja Wójcik" and len(rows) == 3

    # Noé signs in with the sheet, then forgets the password: the teacher gives a new one.
    pupil = await visitors.new(locale="fr-FR")
    await sign_in(pupil, username, password)
    await page.click(tid("tab-people"))
    row = page.locator(tid("person"), has_text="Noé Lefèvre")
    await expect(
        page.locator(tid("person"), has_text="Marie Curie").locator(tid("reset-password"))
    ).to_have_count(0)
    await row.locator(tid("reset-password")).click()
    await expect(page.locator(tid("confirm-dialog"))).to_be_visible()
    await page.click(tid("confirm-ok"))
    fresh = page.locator(tid("people-sheet")).locator(tid("cred-password"))
    await expect(fresh).to_have_count(1)
    new_password = await fresh.inner_text()
    assert WORDS_PASSWORD.fullmatch(new_password) and new_password != password
    await expect(page.locator(tid("people-sheet")).locator(tid("cred-username"))).to_have_text(
        username
    )
    # A toast fading in has not reached its final contrast yet.
    await page.wait_for_function("document.getAnimations().every((a) => a.playState !== 'running')")
    await assert_no_violations(page, "password reset sheet")

    await sign_in(pupil, username, new_password)
    await expect(pupil.page.locator(tid(f"room-{room_id}"))).to_be_visible()
    assert teacher.errors == [] and pupil.errors == []
