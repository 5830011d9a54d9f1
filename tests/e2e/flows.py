"""What people do in the web client, step by step, through the fixed `data-testid` names."""

from __future__ import annotations

import re

from playwright.async_api import expect

from tests.e2e.conftest import Visitor, Visitors

PASSWORD = "correct horse battery"


def tid(name: str) -> str:
    return f'[data-testid="{name}"]'


async def sign_up_teacher(v: Visitor, username: str, name: str, country: str) -> None:
    await v.goto("#/signup")
    page = v.page
    await page.fill(tid("signup-display-name"), name)
    await page.select_option(tid("signup-country"), country)
    await page.fill(tid("signup-username"), username)
    await page.fill(tid("signup-password"), PASSWORD)
    await page.click(tid("signup-submit"))
    await expect(page.locator(tid("room-list"))).to_be_visible()


async def sign_in(v: Visitor, username: str, password: str = PASSWORD) -> None:
    await v.goto("#/login")
    page = v.page
    await page.fill(tid("login-username"), username)
    await page.fill(tid("login-password"), password)
    await page.click(tid("login-submit"))
    await expect(page.locator(tid("room-list"))).to_be_visible()


def room_id_of(url: str) -> str:
    match = re.search(r"#/room/([^/]+)", url)
    assert match, f"not a room page: {url}"
    return match.group(1)


async def create_room(v: Visitor, name: str, description: str = "") -> str:
    page = v.page
    await page.fill(tid("room-name"), name)
    await page.fill(tid("room-description"), description)
    await page.click(tid("create-room"))
    await expect(page.locator(tid("invite-form"))).to_be_visible()
    return room_id_of(page.url)


async def create_invite(v: Visitor, role: str = "member") -> str:
    page = v.page
    before = await page.locator(tid("invite-code")).count()
    await page.select_option(tid("invite-role"), role)
    await page.click(tid("create-invite"))
    await expect(page.locator(tid("invite-code"))).to_have_count(before + 1)
    return (await page.locator(tid("invite-code")).first.inner_text()).strip()


async def join_as_new_pupil(v: Visitor, code: str, name: str, username: str) -> str:
    await v.goto("#/login")
    page = v.page
    await page.click(tid("have-code"))
    await page.fill(tid("join-code"), code)
    await page.fill(tid("join-display-name"), name)
    await page.fill(tid("join-username"), username)
    await page.fill(tid("join-password"), PASSWORD)
    await page.click(tid("join-submit"))
    await expect(page.locator(tid("forum"))).to_be_visible()
    return room_id_of(page.url)


async def teacher_and_pupil(
    visitors: Visitors, room_name: str = "Rivers of Europe"
) -> tuple[Visitor, Visitor, str, str]:
    """A teacher in France founds a room; a pupil in Poland joins it with a pupil code."""
    teacher = await visitors.new()
    await sign_up_teacher(teacher, "marie", "Marie Curie", "FR")
    room_id = await create_room(teacher, room_name, "Lyon and Kraków study their rivers.")
    code = await create_invite(teacher)
    pupil = await visitors.new(locale="pl-PL")
    assert await join_as_new_pupil(pupil, code, "Zofia", "zofia") == room_id
    return teacher, pupil, room_id, code
