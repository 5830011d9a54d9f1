"""The archive over HTTP: round trips, ranges, ETags, names, types, versions and permissions."""

from __future__ import annotations

import asyncio
import functools
import io
import os
import random
import struct
import zlib
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from PIL import Image

from tests.api.files_helpers import BOUNDARY, download, leftovers, multipart, upload
from tests.conftest import Person, assert_unknown_as_made_up, join_as_pupil

People = Callable[..., Awaitable[Person]]
Room = dict[str, Any]
pytestmark = [pytest.mark.timeout(60), pytest.mark.both_engines]


@pytest.fixture(params=["local", "s3"])
def blob_storage(request: pytest.FixtureRequest) -> str:
    """Every test here runs on local files and on an S3 bucket."""
    return str(request.param)


async def join_as(people: People, owner: Person, room_id: str, role: str) -> Person:
    invite = await owner.call("POST", f"/api/rooms/{room_id}/invites", {"role": role}, status=201)
    person = await people(signup=False)
    name = f"{role}{os.urandom(3).hex()}"
    data = await person.call(
        "POST",
        "/api/join",
        {"code": invite["code"], "username": name, "password": "a password", "display_name": name},
    )
    person.user = data["user"]
    return person


def png(width: int = 64, height: int = 48) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (10, 120, 110)).save(out, "PNG")
    return out.getvalue()


async def test_random_bytes_round_trip_and_the_listing_shows_them(room: Room) -> None:
    owner: Person = room["_owner"]
    # Fixed random bytes: fresh ones now and then open like a known format and are sniffed as it.
    data = random.Random(2024).randbytes(3 * 1024 * 1024 + 17)
    made = await upload(owner, room["id"], "river data.bin", data, folder="maps/2024")
    assert made["name"] == "river data.bin" and made["folder"] == "maps/2024"
    assert made["size"] == len(data) and made["version"] == 1 and made["room_id"] == room["id"]
    assert made["uploader"] == {"id": owner.id, "display_name": "Owner", "country": "FR"}
    assert made["mime"] == "application/octet-stream" and made["created_at"].endswith("Z")
    status, headers, body = await download(owner, made["id"])
    assert status == 200 and body == data
    assert headers["ETag"] == f'"{made["sha256"]}"' and headers["Accept-Ranges"] == "bytes"
    listed = await owner.call("GET", f"/api/rooms/{room['id']}/files")
    assert [f["id"] for f in listed] == [made["id"]] and listed[0] == made
    assert await owner.call("GET", f"/api/rooms/{room['id']}/files?folder=maps") == []
    assert len(await owner.call("GET", f"/api/rooms/{room['id']}/files?folder=maps/2024")) == 1


async def test_single_and_suffix_ranges_and_an_unsatisfiable_one(room: Room) -> None:
    owner: Person = room["_owner"]
    data = os.urandom(10_000)
    made = await upload(owner, room["id"], "a.bin", data)
    cases = {
        "bytes=0-99": (0, 99),
        "bytes=9900-": (9900, 9999),
        "bytes=-300": (9700, 9999),
        "bytes=9990-20000": (9990, 9999),
        "bytes=-20000": (0, 9999),
    }
    for header, (first, last) in cases.items():
        status, headers, body = await download(owner, made["id"], {"Range": header})
        assert status == 206, header
        assert body == data[first : last + 1], header
        assert headers["Content-Range"] == f"bytes {first}-{last}/10000"
    for bad in ("bytes=10000-", "bytes=20000-30000", "bytes=-0"):
        status, headers, body = await download(owner, made["id"], {"Range": bad})
        assert status == 416 and headers["Content-Range"] == "bytes */10000", bad
        assert b"range_not_satisfiable" in body
    for ignored in ("bytes=0-1,5-6", "pages=1-2", "bytes=5-1"):
        status, _, body = await download(owner, made["id"], {"Range": ignored})
        assert status == 200 and body == data, ignored


async def test_if_none_match_gives_304_and_a_stale_tag_the_file(room: Room) -> None:
    owner: Person = room["_owner"]
    made = await upload(owner, room["id"], "a.txt", b"hello archive")
    etag = f'"{made["sha256"]}"'
    status, headers, body = await download(owner, made["id"], {"If-None-Match": etag})
    assert status == 304 and body == b"" and headers["ETag"] == etag
    status, _, body = await download(owner, made["id"], {"If-None-Match": '"other", W/' + etag})
    assert status == 304
    status, _, body = await download(owner, made["id"], {"If-None-Match": '"stale"'})
    assert status == 200 and body == b"hello archive"


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ("../../etc/passwd", "passwd"),
        ("a/b\\c", "c"),
        ("C:\\Users\\x\\report.pdf", "report.pdf"),
        ("nul\x00byte.txt", "nulbyte.txt"),
        ("bell\x07and\ttab\r\n.txt", "bellandtab.txt"),
        ("invoice\u202egpj.exe", "invoicegpj.exe"),
        ("zero\u200bwidth.txt", "zerowidth.txt"),
        ("Cafe\u0301.txt", "Caf\u00e9.txt"),
        ("..hidden..txt", "hiddentxt"),
        ("  spaced  .txt ", "spaced  .txt"),
        ("ü" * 200 + ".txt", "ü" * 127),
    ],
)
async def test_odd_names_are_stored_cleaned(room: Room, sent: str, stored: str) -> None:
    owner: Person = room["_owner"]
    made = await upload(owner, room["id"], sent, b"x")
    assert made["name"] == stored and made["folder"] == ""
    _, headers, _ = await download(owner, made["id"])
    assert "\n" not in headers["Content-Disposition"] and "/" not in made["name"]


@pytest.mark.parametrize("sent", ["", "..", "/", "\x00\x01", "\u202e", " . "])
async def test_a_name_that_cleans_to_nothing_is_400_and_leaves_nothing(
    room: Room, settings: Any, sent: str
) -> None:
    answer = await upload(room["_owner"], room["id"], sent, b"data", status=400)
    assert answer["error"]["code"] == "invalid"
    assert leftovers(settings) == {"temps": [], "blobs": [], "rows": 0, "blob_rows": 0}


@pytest.mark.parametrize("folder", ["../up", "a/../../b", "a/..", ".."])
async def test_dot_dot_in_a_folder_is_400(room: Room, folder: str) -> None:
    await upload(room["_owner"], room["id"], "a.txt", b"x", folder=folder, status=400)
    await upload(room["_owner"], room["id"], "a.txt", b"x", query=f"?folder={folder}", status=400)


async def test_the_folder_may_come_as_a_query_parameter(room: Room) -> None:
    made = await upload(
        room["_owner"], room["id"], "a.txt", b"x", query="?folder=/notes//week%201/"
    )
    assert made["folder"] == "notes/week 1"


async def test_a_folder_field_after_the_file_part_counts(room: Room, settings: Any) -> None:
    owner: Person = room["_owner"]
    made = await upload(owner, room["id"], "a.txt", b"x", folder="/notes//late/", folder_last=True)
    assert made["folder"] == "notes/late"
    assert (await owner.call("GET", f"/api/files/{made['id']}"))["folder"] == "notes/late"
    assert await owner.call("GET", f"/api/rooms/{room['id']}/files?folder=") == []
    before = leftovers(settings)
    for folder in ("a/../b", ".."):
        answer = await upload(
            owner, room["id"], "b.txt", b"y", folder=folder, folder_last=True, status=400
        )
        assert answer["error"]["code"] == "invalid" and "folder" in answer["error"]["message"]
    assert leftovers(settings) == before


async def test_a_second_file_part_is_400_and_stores_nothing(room: Room, settings: Any) -> None:
    owner: Person = room["_owner"]
    one = multipart("a.txt", b"first").removesuffix(f"--{BOUNDARY}--\r\n".encode())
    response = await owner.client.post(
        f"/api/rooms/{room['id']}/files",
        data=io.BytesIO(one + multipart("b.txt", b"second")),
        headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
    )
    answer = await response.json()
    assert response.status == 400 and answer["error"]["code"] == "invalid"
    assert "one file" in answer["error"]["message"]
    assert leftovers(settings) == {"temps": [], "blobs": [], "rows": 0, "blob_rows": 0}


@pytest.mark.parametrize(
    ("data", "mime"),
    [
        (b"<!DOCTYPE html><html><script>alert(1)</script></html>", "text/html"),
        (
            b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
            "image/svg+xml",
        ),
        (b"just some text", "application/octet-stream"),
    ],
)
async def test_html_svg_and_unknown_types_are_opaque_attachments(
    room: Room, data: bytes, mime: str
) -> None:
    owner: Person = room["_owner"]
    made = await upload(owner, room["id"], "picture.png", data)  # the name claims an image
    assert made["mime"] == mime  # what the file is; never what it is served as
    _, headers, _ = await download(owner, made["id"])
    assert headers["Content-Type"] == "application/octet-stream"
    assert headers["Content-Disposition"].startswith("attachment;")
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Content-Security-Policy"] == "sandbox"


async def test_images_and_pdfs_are_inline_with_an_rfc5987_name(room: Room) -> None:
    owner: Person = room["_owner"]
    for name, data, mime in [
        ("Łódź river.bin", png(), "image/png"),
        ("notes.txt", b"%PDF-1.4\n%...", "application/pdf"),
    ]:
        made = await upload(owner, room["id"], name, data)
        _, headers, _ = await download(owner, made["id"])
        assert made["mime"] == mime and headers["Content-Type"] == mime
        assert headers["Content-Disposition"].startswith("inline;")
    assert (
        "filename*=UTF-8''%C5%81%C3%B3d%C5%BA%20river.bin"
        in (
            (
                await download(
                    owner, (await upload(owner, room["id"], "Łódź river.bin", png()))["id"]
                )
            )[1]["Content-Disposition"]
        )
    )


async def test_another_rooms_file_is_not_found(people: People, room: Room) -> None:
    owner: Person = room["_owner"]
    made = await upload(owner, room["id"], "a.txt", b"secret")
    outsider = await people("outsider")
    other = await outsider.call("POST", "/api/rooms", {"name": "Other"}, status=201)
    for path in ("", "/content", "/versions", "/thumbnail"):
        answer = await outsider.call("GET", f"/api/files/{made['id']}{path}", status=404)
        assert answer["error"]["code"] == "not_found"
    await outsider.call("DELETE", f"/api/files/{made['id']}", status=404)
    await outsider.call("GET", f"/api/rooms/{room['id']}/files", status=404)
    await upload(outsider, room["id"], "b.txt", b"x", status=404)
    assert await outsider.call("GET", f"/api/rooms/{other['id']}/files") == []


async def test_another_rooms_file_gets_the_answer_of_a_made_up_id(
    people: People, room: Room
) -> None:
    owner: Person = room["_owner"]
    made = await upload(owner, room["id"], "a.png", png())
    trashed = await upload(owner, room["id"], "b.txt", b"old")
    await owner.call("DELETE", f"/api/files/{trashed['id']}", status=204)
    outsider = await people("outsider")
    await outsider.call("POST", "/api/rooms", {"name": "Other"}, status=201)
    routes = [
        ("GET", ""),
        ("GET", "?version=1"),
        ("GET", "/content"),
        ("GET", "/content?version=1"),
        ("GET", "/versions"),
        ("GET", "/thumbnail"),
        ("DELETE", ""),
        ("POST", "/restore"),
    ]
    ids = [made["id"], trashed["id"]]
    await assert_unknown_as_made_up(outsider, "/api/files", ids, routes, "No such file.")


async def test_folder_names_lose_control_and_direction_characters(room: Room) -> None:
    owner: Person = room["_owner"]
    base = f"/api/rooms/{room['id']}/folders"
    made = await owner.call(
        "POST", base, {"path": "\u202eevil\u0000/\u2066week\u200f1\u2069"}, status=201
    )
    assert made["path"] == "evil/week1"
    moved = await owner.call("PATCH", base, {"path": "evil", "new_path": "ok\u202e\x1b"})
    assert moved["path"] == "ok"
    stored = await upload(owner, room["id"], "a.txt", b"x", folder="\u2067maps\x00")
    assert stored["folder"] == "maps"
    assert await owner.call("GET", base) == ["maps", "ok", "ok/week1"]


async def test_identical_bytes_are_stored_once(room: Room, settings: Any) -> None:
    owner: Person = room["_owner"]
    data = os.urandom(50_000)
    first = await upload(owner, room["id"], "a.bin", data)
    second = await upload(owner, room["id"], "b.bin", data, folder="copy")
    assert first["sha256"] == second["sha256"] and first["id"] != second["id"]
    state = leftovers(settings)
    assert state["blobs"] == [first["sha256"]] and state["rows"] == 2 and state["temps"] == []


async def test_the_same_name_adds_a_version_and_old_ones_stay_downloadable(room: Room) -> None:
    owner: Person = room["_owner"]
    first = await upload(owner, room["id"], "plan.txt", b"version one")
    second = await upload(owner, room["id"], "plan.txt", b"version two!")
    assert second["id"] == first["id"] and second["version"] == 2 and second["size"] == 12
    listed = await owner.call("GET", f"/api/rooms/{room['id']}/files")
    assert [(f["id"], f["version"]) for f in listed] == [(first["id"], 2)]
    versions = await owner.call("GET", f"/api/files/{first['id']}/versions")
    assert [(v["version"], v["size"]) for v in versions] == [(1, 11), (2, 12)]
    assert (await download(owner, first["id"]))[2] == b"version two!"
    assert (await download(owner, first["id"], suffix="?version=1"))[2] == b"version one"
    await owner.call("GET", f"/api/files/{first['id']}/content?version=3", status=404)
    other = await upload(owner, room["id"], "plan.txt", b"elsewhere", folder="drafts")
    assert other["id"] != first["id"] and other["version"] == 1


async def test_delete_and_restore_follow_the_roles(people: People, room: Room) -> None:
    owner: Person = room["_owner"]
    lena = await join_as_pupil(people, owner, room["id"], "lena")
    tom = await join_as_pupil(people, owner, room["id"], "tom")
    guest = await join_as(people, owner, room["id"], "guest")
    mine = await upload(lena, room["id"], "lena.txt", b"by lena")
    teachers = await upload(owner, room["id"], "owner.txt", b"by the owner")
    await upload(guest, room["id"], "guest.txt", b"x", status=403)
    assert len(await guest.call("GET", f"/api/rooms/{room['id']}/files")) == 2
    assert (await download(guest, mine["id"]))[2] == b"by lena"
    await guest.call("DELETE", f"/api/files/{mine['id']}", status=403)
    await tom.call("DELETE", f"/api/files/{mine['id']}", status=403)
    await lena.call("DELETE", f"/api/files/{teachers['id']}", status=403)
    await lena.call("DELETE", f"/api/files/{mine['id']}", status=204)
    await lena.call("GET", f"/api/files/{mine['id']}/content", status=404)
    await lena.call("POST", f"/api/files/{mine['id']}/restore", status=403)
    trash = await owner.call("GET", f"/api/rooms/{room['id']}/files?deleted=1")
    assert [f["id"] for f in trash] == [mine["id"]] and trash[0]["deleted"]
    await lena.call("GET", f"/api/rooms/{room['id']}/files?deleted=1", status=403)
    restored = await owner.call("POST", f"/api/files/{mine['id']}/restore")
    assert restored["id"] == mine["id"] and not restored["deleted"]
    assert (await download(lena, mine["id"]))[2] == b"by lena"
    await owner.call("DELETE", f"/api/files/{mine['id']}", status=204)  # a teacher deletes any


async def test_thumbnails_are_made_for_images_and_bombs_are_refused(room: Room) -> None:
    owner: Person = room["_owner"]
    picture = await upload(owner, room["id"], "river.png", png(800, 600))
    response = await owner.client.get(f"/api/files/{picture['id']}/thumbnail")
    assert response.status == 200 and response.headers["Content-Type"] == "image/webp"
    with Image.open(io.BytesIO(await response.read())) as thumb:
        assert max(thumb.size) == 256
    bomb = await upload(owner, room["id"], "bomb.png", bomb_png(40_000, 40_000))
    answer = await owner.call("GET", f"/api/files/{bomb['id']}/thumbnail", status=413)
    assert answer["error"]["code"] == "too_large"
    big = await upload(owner, room["id"], "big.png", bomb_png(10_000, 6_000))
    await owner.call("GET", f"/api/files/{big['id']}/thumbnail", status=413)
    text = await upload(owner, room["id"], "a.txt", b"not an image")
    await owner.call("GET", f"/api/files/{text['id']}/thumbnail", status=404)
    assert (await owner.call("GET", "/healthz")) == {"status": "ok"}


def bomb_png(width: int, height: int) -> bytes:
    """A PNG header claiming `width` x `height` pixels, with hardly any data behind it."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    rows = zlib.compress(b"\x00" * (width * 3 + 1) * 4)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")
    )


async def test_folders_are_created_moved_and_deleted(people: People, room: Room) -> None:
    owner: Person = room["_owner"]
    pupil = await join_as_pupil(people, owner, room["id"])
    base = f"/api/rooms/{room['id']}/folders"
    assert await pupil.call("POST", base, {"path": "empty/inner"}, status=201) == {
        "room_id": room["id"],
        "path": "empty/inner",
    }
    await pupil.call("POST", base, {"path": "a/../b"}, status=400)
    made = await upload(pupil, room["id"], "f.txt", b"x", folder="maps/rivers")
    assert await pupil.call("GET", base) == ["empty", "empty/inner", "maps", "maps/rivers"]
    await pupil.call("PATCH", base, {"path": "maps", "new_path": "atlas"}, status=403)
    await owner.call("PATCH", base, {"path": "maps", "new_path": "maps/x"}, status=400)
    moved = await owner.call("PATCH", base, {"path": "maps", "new_path": "empty/atlas"})
    assert moved["path"] == "empty/atlas"
    assert (await owner.call("GET", f"/api/files/{made['id']}"))["folder"] == "empty/atlas/rivers"
    await owner.call("DELETE", f"{base}?path=empty", status=409)
    await owner.call("DELETE", f"/api/files/{made['id']}", status=204)
    await owner.call("DELETE", f"{base}?path=empty", status=204)
    assert await owner.call("GET", base) == []


@functools.cache
def black_rows(side: int) -> bytes:
    return zlib.compress(bytes((side * 4 + 1) * side), 9)


def big_png(side: int, tag: bytes) -> bytes:
    """A valid RGBA PNG of `side` x `side` black pixels: tiny on disk, 4 bytes a pixel decoded.

    `tag` goes into a text chunk, so that images of the same size are distinct blobs."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc

    header = struct.pack(">IIBBBBB", side, side, 8, 6, 0, 0, 0)
    return b"".join(
        (
            b"\x89PNG\r\n\x1a\n",
            chunk(b"IHDR", header),
            chunk(b"tEXt", b"Comment\x00" + tag),
            chunk(b"IDAT", black_rows(side)),
            chunk(b"IEND", b""),
        )
    )


def rss_kib(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise AssertionError(f"no {field} in /proc/self/status")


def reset_peak_rss() -> None:
    """Make the kernel's peak RSS (VmHWM) of this process start again from its RSS now."""
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")


async def test_concurrent_thumbnails_of_huge_images_keep_memory_bounded(room: Room) -> None:
    owner: Person = room["_owner"]
    side = 7000  # 49 megapixels, just under the 50-megapixel limit: 187 MiB each when decoded
    made = [
        await upload(owner, room["id"], f"{i}.png", big_png(side, str(i).encode()))
        for i in range(4)
    ]
    assert {m["mime"] for m in made} == {"image/png"} and len({m["sha256"] for m in made}) == 4

    async def thumbnail(file_id: str) -> int:
        response = await owner.client.get(f"/api/files/{file_id}/thumbnail")
        await response.read()
        return response.status

    reset_peak_rss()
    before = rss_kib("VmRSS")
    statuses = await asyncio.gather(*(thumbnail(m["id"]) for m in made))
    growth_mib = (rss_kib("VmHWM") - before) / 1024
    assert statuses == [200] * 4
    # One such decode at a time takes 374 MiB (a copy to resample); four at once took 2 GiB.
    assert growth_mib < 600, f"the peak grew by {growth_mib:.0f} MiB"


async def test_folder_names_are_case_sensitive(room: Room) -> None:
    owner: Person = room["_owner"]
    base = f"/api/rooms/{room['id']}/folders"
    lower = await upload(owner, room["id"], "a.txt", b"a", folder="photos/2024")
    upper = await upload(owner, room["id"], "b.txt", b"b", folder="Photos/2024")
    under = await upload(owner, room["id"], "c.txt", b"c", folder="photos_old/x")
    await owner.call("PATCH", base, {"path": "photos", "new_path": "pictures"})
    folders = {
        f["id"]: f["folder"] for f in await owner.call("GET", f"/api/rooms/{room['id']}/files")
    }
    assert folders == {
        lower["id"]: "pictures/2024",
        upper["id"]: "Photos/2024",
        under["id"]: "photos_old/x",
    }
    await owner.call("POST", base, {"path": "PICTURES"}, status=201)
    await owner.call("DELETE", f"{base}?path=PICTURES", status=204)
    await owner.call("DELETE", f"/api/files/{lower['id']}", status=204)
    await owner.call("POST", base, {"path": "photos"}, status=201)
    await owner.call("DELETE", f"{base}?path=photos", status=204)
    assert await owner.call("GET", base) == ["Photos", "Photos/2024", "photos_old", "photos_old/x"]
    await owner.call("PATCH", base, {"path": "Photos", "new_path": "photos_old"})
    assert (await owner.call("GET", f"/api/files/{upper['id']}"))["folder"] == "photos_old/2024"
