"""Renaming and moving a file: its uploader or a teacher, never onto a name already taken, and
the room hears of it as `file:edit`."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from tests.api.files_helpers import download, upload
from tests.conftest import Person, join_as_pupil, not_found

People = Callable[..., Awaitable[Person]]
Room = dict[str, Any]
pytestmark = pytest.mark.timeout(60)


async def test_the_uploader_renames_and_moves_a_file_and_the_room_hears_it(
    people: People, room: Room
) -> None:
    owner: Person = room["_owner"]
    pupil = await join_as_pupil(people, owner, room["id"])
    made = await upload(pupil, room["id"], "draft.txt", b"our river")
    sio = await owner.connect()
    edits: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    sio.on("file:edit", edits.put_nowait)
    await sio.call("room:join", {"room_id": room["id"]}, timeout=5)

    renamed = await pupil.call("PATCH", f"/api/files/{made['id']}", {"name": "Vistula.txt"})
    assert (renamed["name"], renamed["folder"], renamed["version"]) == ("Vistula.txt", "", 1)
    event = await asyncio.wait_for(edits.get(), 5)
    assert (event["id"], event["name"]) == (made["id"], "Vistula.txt")

    moved = await pupil.call("PATCH", f"/api/files/{made['id']}", {"folder": "Maps/Poland"})
    assert (moved["name"], moved["folder"]) == ("Vistula.txt", "Maps/Poland")
    assert (await asyncio.wait_for(edits.get(), 5))["folder"] == "Maps/Poland"
    listed = await owner.call("GET", f"/api/rooms/{room['id']}/files?folder=Maps/Poland")
    assert [f["id"] for f in listed] == [made["id"]]
    assert (await download(owner, made["id"]))[2] == b"our river"
    folders = await owner.call("GET", f"/api/rooms/{room['id']}/folders")
    assert folders == ["Maps", "Maps/Poland"]

    # Back to the top under a new name, in one request; the same place again changes nothing.
    both = await owner.call("PATCH", f"/api/files/{made['id']}", {"name": "a/b.txt", "folder": ""})
    assert (both["name"], both["folder"]) == ("b.txt", "")
    assert (await asyncio.wait_for(edits.get(), 5))["name"] == "b.txt"
    await owner.call("PATCH", f"/api/files/{made['id']}", {"name": "b.txt"})
    # An upload of the new name now adds a version of the moved file.
    again = await upload(pupil, room["id"], "b.txt", b"longer text")
    assert (again["id"], again["version"]) == (made["id"], 2)


async def test_a_taken_name_or_a_bad_one_is_refused(room: Room) -> None:
    owner: Person = room["_owner"]
    first = await upload(owner, room["id"], "a.txt", b"a")
    await upload(owner, room["id"], "b.txt", b"b", folder="Maps")
    clash = await owner.call(
        "PATCH", f"/api/files/{first['id']}", {"name": "b.txt", "folder": "Maps"}, status=409
    )
    assert clash["error"]["code"] == "conflict"
    for bad in ({"name": ""}, {"name": "..."}, {"folder": "../up"}, {"name": 5}):
        answer = await owner.call("PATCH", f"/api/files/{first['id']}", bad, status=400)
        assert answer["error"]["code"] == "invalid", bad
    # A file in the trash moves nowhere until restored.
    await owner.call("DELETE", f"/api/files/{first['id']}", status=204)
    trashed = await owner.call("PATCH", f"/api/files/{first['id']}", {"name": "c.txt"}, status=409)
    assert trashed["error"]["code"] == "conflict"
    listed = await owner.call("GET", f"/api/rooms/{room['id']}/files?deleted=1")
    assert [(f["name"], f["folder"]) for f in listed] == [("a.txt", "")]


async def test_only_the_uploader_or_a_teacher_moves_a_file(people: People, room: Room) -> None:
    owner: Person = room["_owner"]
    pupil = await join_as_pupil(people, owner, room["id"])
    other = await join_as_pupil(people, owner, room["id"])
    teachers_file = await upload(owner, room["id"], "plan.txt", b"plan")
    pupils_file = await upload(pupil, room["id"], "mine.txt", b"mine")
    for target in (teachers_file, pupils_file):
        refused = await other.call(
            "PATCH", f"/api/files/{target['id']}", {"name": "x.txt"}, status=403
        )
        assert refused["error"]["code"] == "forbidden"
    # A teacher moves anyone's file.
    await owner.call("PATCH", f"/api/files/{pupils_file['id']}", {"folder": "Checked"})

    # Guests read but change nothing; outsiders and anonymous callers learn nothing.
    invite = await owner.call(
        "POST", f"/api/rooms/{room['id']}/invites", {"role": "guest"}, status=201
    )
    guest = await people(signup=False)
    joined = await guest.call(
        "POST",
        "/api/join",
        {
            "code": invite["code"],
            "username": f"guest{os.urandom(3).hex()}",
            "password": "a password",
        },
    )
    guest.user = joined["user"]
    await guest.call("PATCH", f"/api/files/{teachers_file['id']}", {"name": "g.txt"}, status=403)
    outsider = await people()
    for file_id in (teachers_file["id"], "nosuchthing"):
        unknown = await outsider.call(
            "PATCH", f"/api/files/{file_id}", {"name": "o.txt"}, status=404
        )
        assert unknown == {"error": not_found("file")}
    anonymous = await people(signup=False)
    await anonymous.call(
        "PATCH", f"/api/files/{teachers_file['id']}", {"name": "n.txt"}, status=401
    )
    names = {f["name"] for f in await owner.call("GET", f"/api/rooms/{room['id']}/files")}
    assert names == {"plan.txt", "mine.txt"}
