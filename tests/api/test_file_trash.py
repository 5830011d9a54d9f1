"""The trash: it counts toward the room's quota, a teacher empties it file by file, it empties
itself after `TRASH_DAYS`, and a blob (with its thumbnail) goes once no file version uses it."""

from __future__ import annotations

import asyncio
import io
import os
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from server.app import create_app
from server.config import Settings
from server.filestore import SWEEPER
from tests.api.files_helpers import BOUNDARY, download, leftovers, multipart, upload
from tests.api.test_files import png
from tests.conftest import Person, join_as_pupil, with_settings

People = Callable[..., Awaitable[Person]]
Room = dict[str, Any]
pytestmark = pytest.mark.timeout(60)
FILE = 256 * 1024
FITS = 5
DAY = 86400


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return with_settings(settings, room_quota_bytes=FITS * FILE + 1000, trash_days=30)


async def thumbnail(person: Person, file_id: str) -> bytes:
    response = await person.client.get(f"/api/files/{file_id}/thumbnail")
    assert response.status == 200 and response.headers["Content-Type"] == "image/webp"
    return await response.read()


def thumbnails(data_dir: Path) -> list[str]:
    return sorted(p.stem for p in (data_dir / "thumbnails").glob("*/*.webp"))


async def test_uploading_and_deleting_in_a_loop_stops_at_the_quota(
    room: Room, settings: Settings
) -> None:
    owner: Person = room["_owner"]
    statuses = []
    for index in range(2 * FITS):
        response = await owner.client.post(
            f"/api/rooms/{room['id']}/files",
            data=io.BytesIO(multipart(f"{index}.bin", os.urandom(FILE))),
            headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
        )
        statuses.append(response.status)
        if response.status == 201:
            made = await response.json()
            await owner.call("DELETE", f"/api/files/{made['id']}", status=204)
        else:
            assert (await response.json())["error"]["code"] == "quota_exceeded"
    assert statuses == [201] * FITS + [413] * FITS
    assert len(leftovers(settings)["blobs"]) == FITS


async def test_restoring_from_a_full_trash_needs_no_more_room(room: Room) -> None:
    owner: Person = room["_owner"]
    made = [await upload(owner, room["id"], f"{i}.bin", os.urandom(FILE)) for i in range(FITS)]
    await owner.call("DELETE", f"/api/files/{made[0]['id']}", status=204)
    answer = await upload(owner, room["id"], "new.bin", os.urandom(FILE), status=413)
    assert answer["error"]["code"] == "quota_exceeded"
    restored = await owner.call("POST", f"/api/files/{made[0]['id']}/restore")
    assert not restored["deleted"]


async def test_a_teacher_purges_a_trashed_file_its_blob_and_thumbnail(
    people: People, room: Room, settings: Settings
) -> None:
    owner: Person = room["_owner"]
    pupil = await join_as_pupil(people, owner, room["id"])
    made = [await upload(owner, room["id"], f"{i}.bin", os.urandom(FILE)) for i in range(FITS - 1)]
    picture = await upload(pupil, room["id"], "river.png", png(300, 200))
    await thumbnail(pupil, picture["id"])
    assert thumbnails(settings.data_dir) == [picture["sha256"]]
    await pupil.call("POST", f"/api/files/{picture['id']}/purge", status=403)
    answer = await owner.call("POST", f"/api/files/{picture['id']}/purge", status=409)
    assert answer["error"]["code"] == "conflict"
    await pupil.call("DELETE", f"/api/files/{picture['id']}", status=204)
    await pupil.call("POST", f"/api/files/{picture['id']}/purge", status=403)
    await owner.call("POST", f"/api/files/{picture['id']}/purge", status=204)
    await owner.call("GET", f"/api/files/{picture['id']}", status=404)
    await owner.call("POST", f"/api/files/{picture['id']}/restore", status=404)
    assert await owner.call("GET", f"/api/rooms/{room['id']}/files?deleted=1") == []
    state = leftovers(settings)
    assert sorted(state["blobs"]) == sorted(f["sha256"] for f in made)
    assert state["rows"] == state["blob_rows"] == FITS - 1
    assert thumbnails(settings.data_dir) == []
    await upload(owner, room["id"], "fits again.bin", os.urandom(FILE))


async def test_a_blob_another_room_uses_stays(people: People, room: Room) -> None:
    owner: Person = room["_owner"]
    other = await owner.call("POST", "/api/rooms", {"name": "Other"}, status=201)
    data = png(120, 80)
    here = await upload(owner, room["id"], "a.png", data)
    there = await upload(owner, other["id"], "b.png", data)
    await thumbnail(owner, there["id"])
    await owner.call("DELETE", f"/api/files/{here['id']}", status=204)
    await owner.call("POST", f"/api/files/{here['id']}/purge", status=204)
    assert (await download(owner, there["id"]))[2] == data
    await thumbnail(owner, there["id"])


async def test_the_trash_empties_itself_after_trash_days(
    app: web.Application, room: Room, settings: Settings
) -> None:
    owner: Person = room["_owner"]
    kept = await upload(owner, room["id"], "kept.png", png(90, 60))
    gone = await upload(owner, room["id"], "gone.png", png(60, 90))
    await thumbnail(owner, gone["id"])
    await owner.call("DELETE", f"/api/files/{gone['id']}", status=204)
    await app[SWEEPER].sweep(time.time() + 29 * DAY)
    assert [f["id"] for f in await owner.call("GET", f"/api/rooms/{room['id']}/files?deleted=1")]
    await owner.call("POST", f"/api/files/{gone['id']}/restore")
    await owner.call("DELETE", f"/api/files/{gone['id']}", status=204)
    await app[SWEEPER].sweep(time.time() + 31 * DAY)
    assert await owner.call("GET", f"/api/rooms/{room['id']}/files?deleted=1") == []
    assert leftovers(settings)["blobs"] == [kept["sha256"]]
    assert thumbnails(settings.data_dir) == []
    assert (await download(owner, kept["id"]))[2] == png(90, 60)


async def test_a_deleted_rooms_blobs_go_at_the_next_sweep(
    app: web.Application, room: Room, settings: Settings
) -> None:
    owner: Person = room["_owner"]
    await upload(owner, room["id"], "a.bin", os.urandom(FILE))
    await owner.call("DELETE", f"/api/rooms/{room['id']}", status=204)
    await app[SWEEPER].sweep(time.time())
    state = leftovers(settings)
    assert state["blobs"] == [] and state["blob_rows"] == 0


async def test_a_purge_racing_an_upload_of_the_same_bytes_never_loses_the_upload(
    room: Room, settings: Settings
) -> None:
    owner: Person = room["_owner"]
    for round_ in range(8):
        data = os.urandom(FILE // 4)
        old = await upload(owner, room["id"], "old.bin", data)
        await owner.call("DELETE", f"/api/files/{old['id']}", status=204)
        _, new = await asyncio.gather(
            owner.call("POST", f"/api/files/{old['id']}/purge", status=204),
            upload(owner, room["id"], f"new {round_}.bin", data),
        )
        assert (await download(owner, new["id"]))[2] == data
        await owner.call("DELETE", f"/api/files/{new['id']}", status=204)
        await owner.call("POST", f"/api/files/{new['id']}/purge", status=204)
    assert leftovers(settings) == {"temps": [], "blobs": [], "rows": 0, "blob_rows": 0}


async def test_a_start_removes_thumbnails_whose_blob_is_gone(settings: Settings) -> None:
    orphan = settings.data_dir / "thumbnails" / "ab" / f"{'ab' * 32}.webp"
    orphan.parent.mkdir(parents=True)
    orphan.write_bytes(b"RIFF")
    node = TestServer(create_app(settings), host="127.0.0.1")
    await node.start_server()
    await node.close()
    assert not orphan.exists()
