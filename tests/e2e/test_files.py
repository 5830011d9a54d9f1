"""An upload shows its progress bar and appears in the other user's file list."""

from __future__ import annotations

import struct
import zlib

import pytest
from playwright.async_api import expect

from tests.e2e.conftest import Visitors
from tests.e2e.flows import teacher_and_pupil, tid


def png(width: int = 64, height: int = 48) -> bytes:
    """A small valid PNG (a teal gradient), so the server sniffs a real image."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(
        b"\x00" + bytes(v for x in range(width) for v in (10, 110 + x, 105 + y))
        for y in range(height)
    )
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


@pytest.mark.timeout(120)
async def test_upload_shows_progress_and_appears_for_the_other_user(visitors: Visitors) -> None:
    teacher, pupil, _room_id, _code = await teacher_and_pupil(visitors)
    await teacher.page.click(tid("tab-files"))
    await pupil.page.click(tid("tab-files"))
    await expect(teacher.page.locator(tid("file-list"))).to_be_visible()

    # Slow the pupil's uplink so the progress bar has something to show.
    cdp = await pupil.context.new_cdp_session(pupil.page)
    await cdp.send("Network.enable")
    await cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 20, "downloadThroughput": -1, "uploadThroughput": 400_000},
    )
    payload = bytes(range(256)) * 4096  # 1 MiB
    await pupil.page.set_input_files(
        tid("file-input"),
        files=[
            {
                "name": "vistula-notes.bin",
                "mimeType": "application/octet-stream",
                "buffer": payload,
            },
            {"name": "river.png", "mimeType": "image/png", "buffer": png()},
        ],
    )
    row = pupil.page.locator(f'{tid("upload")}[data-name="vistula-notes.bin"]')
    bar = row.locator(tid("upload-progress"))
    await expect(bar).to_be_visible()
    # Seen part-way, then complete.
    await pupil.page.wait_for_function(
        """() => {
            const bar = document.querySelector('[data-name="vistula-notes.bin"] progress');
            return bar && bar.value > 0 && bar.value < 100;
        }"""
    )
    await pupil.shot("files-uploading")
    await expect(row).to_have_attribute("data-state", "done", timeout=60_000)
    assert int(await row.get_attribute("data-progress-events") or 0) >= 2
    await cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
    )

    # The teacher sees both files arrive, the image with a preview.
    listing = teacher.page.locator(tid("file-list"))
    await expect(listing.get_by_role("link", name="vistula-notes.bin")).to_be_visible()
    image_row = listing.locator(tid("file"), has_text="river.png")
    await expect(image_row).to_be_visible()
    thumb = image_row.locator("img.file-thumb")
    await expect(thumb).to_have_count(1)
    await teacher.page.wait_for_function(
        "() => { const i = document.querySelector('img.file-thumb');"
        " return i && i.complete && i.naturalWidth > 0; }"
    )
    await teacher.shot("files")
    assert teacher.errors == [] and pupil.errors == []


@pytest.mark.timeout(90)
async def test_a_shared_folder_and_a_new_version_reach_the_other_user(visitors: Visitors) -> None:
    teacher, pupil, _room_id, _code = await teacher_and_pupil(visitors)
    for v in (teacher, pupil):
        await v.page.click(tid("tab-files"))

    # The teacher makes an empty folder: the pupil sees it at once.
    teacher.page.once("dialog", lambda dialog: dialog.accept("Maps"))
    await teacher.page.click(tid("new-folder"))
    folder = pupil.page.locator(tid("file-list")).get_by_role("link", name="Maps")
    await expect(folder).to_be_visible()
    await folder.click()
    crumbs = teacher.page.locator(".folder-crumbs [aria-current=page]")
    await expect(crumbs).to_have_text("Maps")  # making it opened it

    # Twice the same name in that folder: one file, two versions, both downloadable.
    for text in (b"first draft", b"second draft, longer"):
        await pupil.page.set_input_files(
            tid("file-input"), files=[{"name": "map.txt", "mimeType": "text/plain", "buffer": text}]
        )
        if text.startswith(b"second"):  # the name is taken: a new version, once agreed
            await pupil.page.click(tid("confirm-ok"))
        await expect(pupil.page.locator(f'{tid("upload")}[data-state="done"]')).to_have_count(1)
        await pupil.page.locator(f'{tid("upload")}[data-state="done"]').evaluate("e => e.remove()")
    row = teacher.page.locator(tid("file"), has_text="map.txt")
    await expect(row).to_have_count(1)
    await row.locator(tid("file-versions")).click()
    versions = row.locator(f"{tid('version-list')} a")
    await expect(versions).to_have_count(2)
    older = await versions.nth(1).get_attribute("href")
    assert older is not None and older.endswith("?version=1")
    body = await teacher.page.evaluate("(url) => fetch(url).then((r) => r.text())", older)
    assert body == "first draft"
    await teacher.shot("files-versions")
    assert teacher.errors == [] and pupil.errors == []
