"""Files as a class uses them: a name already there asks before adding a version, a finished
upload stays in its folder, images preview in the page, files and folders are renamed and moved,
and a teacher restores from and empties the trash; axe finds nothing in the new dialogs."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from tests.e2e.axe import describe, violations
from tests.e2e.conftest import Visitor, Visitors
from tests.e2e.flows import create_invite, create_room, join_as_new_pupil, sign_up_teacher, tid
from tests.e2e.test_files import png


async def no_violations(v: Visitor, state: str) -> None:
    found = await violations(v.page)
    assert found == [], f"[{state}]\n{describe(found)}"


async def upload(v: Visitor, name: str, data: bytes, mime: str = "text/plain") -> None:
    await v.page.set_input_files(
        tid("file-input"), files=[{"name": name, "mimeType": mime, "buffer": data}]
    )


@pytest.mark.timeout(150)
async def test_versions_folders_preview_rename_move_and_trash(visitors: Visitors) -> None:
    teacher = await visitors.new(bypass_csp=True)
    await sign_up_teacher(teacher, "marie", "Marie Curie", "FR")
    await create_room(teacher, "Rivers of Europe", "Lyon and Kraków study their rivers.")
    code = await create_invite(teacher)
    pupil = await visitors.new(locale="pl-PL")
    await join_as_new_pupil(pupil, code, "Zofia", "zofia")
    t, p = teacher.page, pupil.page
    for page in (t, p):
        await page.click(tid("tab-files"))
    teacher_list, pupil_list = t.locator(tid("file-list")), p.locator(tid("file-list"))

    # A folder, then an upload at the top: once done it shows at the top, not in the folder.
    t.once("dialog", lambda dialog: dialog.accept("Maps"))
    await t.click(tid("new-folder"))
    await expect(t.locator(".folder-crumbs [aria-current=page]")).to_have_text("Maps")
    await t.locator(".folder-crumbs a").first.click()
    await upload(pupil, "river.png", png(), "image/png")
    done = p.locator(f'{tid("upload")}[data-name="river.png"]')
    await expect(done).to_have_attribute("data-state", "done")
    await expect(done).to_be_visible()
    await pupil_list.get_by_role("link", name="Maps").click()
    await expect(pupil_list.locator(tid("file"))).to_have_count(0)
    await expect(done).to_be_hidden()
    await p.locator(".folder-crumbs a").first.click()
    await expect(done).to_be_visible()

    # The same name again asks first: cancelled, nothing is sent; agreed, a second version.
    await upload(pupil, "river.png", png(32, 32), "image/png")
    ask = p.get_by_role("dialog")
    await expect(ask).to_contain_text("river.png")
    await p.click(tid("confirm-cancel"))
    await expect(ask).to_have_count(0)
    await expect(p.locator(tid("upload"))).to_have_count(1)
    await upload(pupil, "river.png", png(32, 32), "image/png")
    await p.click(tid("confirm-ok"))
    row = teacher_list.locator(tid("file"), has_text="river.png")
    await expect(row.locator(tid("file-versions"))).to_be_visible()

    # The image opens in the page, not in a new tab, and Escape closes it.
    link = row.get_by_role("link", name="river.png")
    await link.click()
    preview = t.get_by_role("dialog", name="river.png")
    await expect(preview).to_be_visible()
    await t.wait_for_function(
        "() => { const i = document.querySelector('[data-testid=preview-image]');"
        " return i && i.complete && i.naturalWidth === 32; }"
    )
    assert len(teacher.context.pages) == 1
    await teacher.shot("files-preview")
    await no_violations(teacher, "image preview")
    await t.keyboard.press("Escape")
    await expect(preview).to_have_count(0)
    await expect(link).to_be_focused()

    # The teacher renames the file and moves it into the folder; the pupil sees both.
    await row.get_by_role("button", name="Rename river.png").click()
    await expect(t.locator(tid("rename-field"))).to_be_focused()
    await no_violations(teacher, "rename dialog")
    await t.fill(tid("rename-field"), "vistula.png")
    await t.click(tid("rename-ok"))
    await expect(pupil_list.get_by_role("link", name="vistula.png")).to_be_visible()
    moved = teacher_list.locator(tid("file"), has_text="vistula.png")
    await moved.get_by_role("button", name="Move vistula.png").click()
    await t.select_option(tid("move-field"), "Maps")
    await no_violations(teacher, "move dialog")
    await t.click(tid("move-ok"))
    await expect(pupil_list.locator(tid("file"))).to_have_count(0)
    await pupil_list.get_by_role("link", name="Maps").click()
    await expect(pupil_list.get_by_role("link", name="vistula.png")).to_be_visible()

    # The teacher renames the folder: the pupil, inside it, follows its new name.
    folder = teacher_list.locator(tid("folder"), has_text="Maps")
    await folder.get_by_role("button", name="Rename Maps").click()
    await t.fill(tid("rename-field"), "Mapy")
    await t.click(tid("rename-ok"))
    await expect(teacher_list.get_by_role("link", name="Mapy")).to_be_visible()
    await p.locator(".folder-crumbs a").first.click()
    await pupil_list.get_by_role("link", name="Mapy").click()
    await expect(pupil_list.get_by_role("link", name="vistula.png")).to_be_visible()

    # The pupil deletes their file; the teacher restores it from the trash, then empties it.
    await pupil_list.locator(tid("file-delete")).click()
    await p.click(tid("confirm-ok"))
    await expect(pupil_list.locator(tid("file"))).to_have_count(0)
    await t.click(tid("show-trash"))
    trashed = t.locator(tid("trashed"), has_text="vistula.png")
    await expect(trashed).to_be_visible()
    await no_violations(teacher, "trash")
    await trashed.get_by_role("button", name="Restore vistula.png").click()
    await expect(pupil_list.get_by_role("link", name="vistula.png")).to_be_visible()
    await expect(t.locator(tid("trash-empty"))).to_be_visible()
    await teacher_list.get_by_role("link", name="Mapy").click()
    await teacher_list.get_by_role("button", name="Delete vistula.png").click()
    await t.click(tid("confirm-ok"))
    await trashed.get_by_role("button", name="Delete for good: vistula.png").click()
    await expect(t.get_by_role("dialog")).to_contain_text("vistula.png")
    await t.click(tid("confirm-ok"))
    await expect(t.locator(tid("trash-empty"))).to_be_visible()
    await teacher.shot("files-trash")
    assert teacher.errors == [] and pupil.errors == []
