"""Rooms, invites, joining, pupils and members over HTTP, with every role's limits."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from tests.conftest import Person, join_as_pupil

pytestmark = pytest.mark.both_engines

People = Callable[..., Awaitable[Person]]
Room = dict[str, Any]


async def test_a_founded_room_lists_its_owner(room: Room) -> None:
    owner: Person = room["_owner"]
    assert room["my_role"] == "owner" and room["settings"]["chat_mode"] == "everyone"
    assert [(m["id"], m["role"]) for m in room["members"]] == [(owner.id, "owner")]
    listed = {
        "id": room["id"],
        "name": room["name"],
        "description": "",
        "my_role": "owner",
        "live": False,
        "unread": 0,
    }
    assert await owner.call("GET", "/api/rooms") == [listed]
    me = await owner.call("GET", "/api/me")
    assert me["rooms"] == [listed]


async def test_an_outsider_sees_nothing_of_a_room(people: People, room: Room) -> None:
    outsider = await people("outsider")
    for method, path, body in [
        ("GET", f"/api/rooms/{room['id']}", None),
        ("PATCH", f"/api/rooms/{room['id']}", {"name": "mine"}),
        ("DELETE", f"/api/rooms/{room['id']}", None),
        ("POST", f"/api/rooms/{room['id']}/invites", {"role": "member"}),
        ("GET", f"/api/rooms/{room['id']}/invites", None),
        ("POST", f"/api/rooms/{room['id']}/pupils", {"pupils": [{"display_name": "A"}]}),
    ]:
        answer = await outsider.call(method, path, body, status=404)
        assert answer["error"]["code"] == "not_found"
    assert await outsider.call("GET", "/api/rooms") == []


async def test_ids_are_opaque_and_unknown_ones_404(room: Room) -> None:
    owner: Person = room["_owner"]
    assert len(room["id"]) >= 16 and not room["id"].isdigit()
    await owner.call("GET", "/api/rooms/doesnotexist", status=404)


async def test_a_pupil_joins_with_a_code_once_and_spends_one_use(
    people: People, room: Room
) -> None:
    owner: Person = room["_owner"]
    invite = await owner.call(
        "POST", f"/api/rooms/{room['id']}/invites", {"role": "member"}, status=201
    )
    assert invite["max_uses"] == 50 and invite["uses"] == 0 and invite["created_by"] == owner.id
    pupil = await people(signup=False)
    joined = await pupil.call(
        "POST",
        "/api/join",
        {
            "code": invite["code"].lower(),
            "username": "lena",
            "password": "pupil password",
            "display_name": "Lena",
        },
    )
    assert joined["user"]["role"] == "pupil" and joined["user"]["country"] == "FR"
    assert joined["room"]["my_role"] == "member"
    again = await pupil.call("POST", "/api/join", {"code": invite["code"]})
    assert again["room"]["id"] == room["id"]
    [listed] = await owner.call("GET", f"/api/rooms/{room['id']}/invites")
    assert listed["uses"] == 1


async def test_a_teacher_invite_makes_a_platform_teacher_and_a_room_teacher(
    people: People, room: Room
) -> None:
    owner: Person = room["_owner"]
    invite = await owner.call(
        "POST", f"/api/rooms/{room['id']}/invites", {"role": "teacher"}, status=201
    )
    assert invite["max_uses"] == 1
    partner = await people(signup=False)
    joined = await partner.call(
        "POST",
        "/api/join",
        {
            "code": invite["code"],
            "username": "jan",
            "password": "partner pass",
            "display_name": "Jan",
            "country": "PL",
        },
    )
    assert joined["user"]["role"] == "teacher" and joined["room"]["my_role"] == "teacher"
    late = await people(signup=False)
    body = await late.call(
        "POST",
        "/api/join",
        {"code": invite["code"], "username": "kai", "password": "late password"},
        status=404,
    )
    assert body["error"]["code"] == "invalid_code"


async def test_unknown_and_revoked_codes_get_one_answer(people: People, room: Room) -> None:
    owner: Person = room["_owner"]
    teacher = await people("other")
    revoked = await owner.call(
        "POST", f"/api/rooms/{room['id']}/invites", {"role": "member"}, status=201
    )
    await owner.call("DELETE", f"/api/rooms/{room['id']}/invites/{revoked['code']}", status=204)
    for code in ("NOSUCHCODE", revoked["code"]):
        body = await teacher.call("POST", "/api/join", {"code": code}, status=404)
        assert body["error"] == {
            "code": "invalid_code",
            "message": "This code is unknown, expired or used up.",
            "reason": "invalid_code",
            "params": {},
        }


async def test_invite_limits_are_checked(room: Room) -> None:
    owner: Person = room["_owner"]
    path = f"/api/rooms/{room['id']}/invites"
    for body in (
        {"role": "owner"},
        {"role": "member", "max_uses": 0},
        {"role": "member", "expires_in": 10},
    ):
        assert (await owner.call("POST", path, body, status=400))["error"]["code"] == "invalid"


async def test_pupils_cannot_invite_or_manage(people: People, room: Room) -> None:
    owner: Person = room["_owner"]
    pupil = await join_as_pupil(people, owner, room["id"])
    await pupil.call("POST", f"/api/rooms/{room['id']}/invites", {"role": "member"}, status=403)
    await pupil.call("GET", f"/api/rooms/{room['id']}/invites", status=403)
    await pupil.call("PATCH", f"/api/rooms/{room['id']}", {"name": "ours"}, status=403)
    await pupil.call("DELETE", f"/api/rooms/{room['id']}/members/{owner.id}", status=403)
    assert (await pupil.call("POST", "/api/rooms", {"name": "pupil room"}, status=403))["error"][
        "code"
    ] == "forbidden"


async def test_bulk_pupils_get_credentials_once_and_can_sign_in(people: People, room: Room) -> None:
    owner: Person = room["_owner"]
    sheet = await owner.call(
        "POST",
        f"/api/rooms/{room['id']}/pupils",
        {"pupils": [{"display_name": "Zoé"}, {"display_name": "Tom"}]},
        status=201,
    )
    assert [p["display_name"] for p in sheet] == ["Zoé", "Tom"]
    assert all(len(p["password"]) >= 12 for p in sheet)
    visitor = await people(signup=False)
    user = await visitor.call(
        "POST",
        "/api/auth/login",
        {"username": sheet[0]["username"], "password": sheet[0]["password"]},
    )
    assert user["role"] == "pupil" and user["display_name"] == "Zoé"
    members = (await owner.call("GET", f"/api/rooms/{room['id']}"))["members"]
    assert {m["display_name"]: m["role"] for m in members} == {
        "Owner": "owner",
        "Zoé": "member",
        "Tom": "member",
    }


async def test_roles_change_within_what_each_role_manages(people: People, room: Room) -> None:
    owner: Person = room["_owner"]
    base = f"/api/rooms/{room['id']}/members"
    pupil = await join_as_pupil(people, owner, room["id"])
    teacher = await people("partner")
    invite = await owner.call(
        "POST", f"/api/rooms/{room['id']}/invites", {"role": "teacher"}, status=201
    )
    await teacher.call("POST", "/api/join", {"code": invite["code"]})
    assert (await teacher.call("PATCH", f"{base}/{pupil.id}", {"role": "guest"}))["role"] == "guest"
    await teacher.call("PATCH", f"{base}/{pupil.id}", {"role": "teacher"}, status=403)
    await teacher.call("DELETE", f"{base}/{owner.id}", status=403)
    await owner.call("PATCH", f"{base}/{owner.id}", {"role": "member"}, status=403)
    await owner.call("PATCH", f"{base}/{teacher.id}", {"role": "member"})
    await owner.call("DELETE", f"{base}/{teacher.id}", status=204)
    await teacher.call("GET", f"/api/rooms/{room['id']}", status=404)
    await owner.call("DELETE", f"{base}/{teacher.id}", status=404)


async def test_the_owner_edits_and_deletes_the_room(room: Room) -> None:
    owner: Person = room["_owner"]
    edited = await owner.call(
        "PATCH", f"/api/rooms/{room['id']}", {"name": "Rivers", "settings": {"lobby": True}}
    )
    assert edited["name"] == "Rivers" and edited["settings"]["lobby"] is True
    await owner.call("DELETE", f"/api/rooms/{room['id']}", status=204)
    await owner.call("GET", f"/api/rooms/{room['id']}", status=404)


async def test_a_partner_teacher_sees_and_revokes_only_invites_they_could_make(
    people: People, room: Room
) -> None:
    owner: Person = room["_owner"]
    path = f"/api/rooms/{room['id']}/invites"
    partner = await people("partner")
    invite = await owner.call("POST", path, {"role": "teacher"}, status=201)
    await partner.call("POST", "/api/join", {"code": invite["code"]})
    kept = await owner.call("POST", path, {"role": "teacher"}, status=201)
    pupils = await owner.call("POST", path, {"role": "member"}, status=201)
    await partner.call("POST", path, {"role": "teacher"}, status=403)
    own = await partner.call("POST", path, {"role": "guest"}, status=201)

    listed = await partner.call("GET", path)
    assert [i["code"] for i in listed] == [pupils["code"], own["code"]]
    # Unseen, a teacher code cannot be revoked either: the same answer as an unknown code.
    refused = await partner.call("DELETE", f"{path}/{kept['code']}", status=404)
    assert refused["error"]["code"] == "invalid_code"
    await partner.call("DELETE", f"{path}/{pupils['code']}", status=204)
    codes = {i["code"]: i["revoked"] for i in await owner.call("GET", path)}
    assert codes == {
        invite["code"]: False,
        kept["code"]: False,
        pupils["code"]: True,
        own["code"]: False,
    }


EVIL = "\u202eevil\u0000 \u2066na\u200fme\u2069\x1b"


async def test_names_and_descriptions_lose_control_and_direction_characters(
    people: People, room: Room
) -> None:
    owner: Person = room["_owner"]
    made = await owner.call(
        "POST", "/api/rooms", {"name": EVIL, "description": f"{EVIL}\r\nline\ttwo\n"}, status=201
    )
    assert made["name"] == "evil name"
    assert made["description"] == "evil name\nline\ttwo"
    edited = await owner.call(
        "PATCH", f"/api/rooms/{made['id']}", {"name": f"Rivers{EVIL}", "description": "\x00a\u202e"}
    )
    assert (edited["name"], edited["description"]) == ("Riversevil name", "a")
    for bad in ("\u202e\u0000", " \u2066 \u2069 "):
        refused = await owner.call("POST", "/api/rooms", {"name": bad}, status=400)
        assert refused["error"]["code"] == "invalid"

    signed_up = await people("mallory")
    me = await signed_up.call(
        "POST", "/api/auth/signup",
        {"username": "mallory2", "password": "correct horse", "display_name": EVIL,
         "country": "FR"},
        status=201,
    )  # fmt: skip
    assert me["display_name"] == "evil name"
    invite = await owner.call(
        "POST", f"/api/rooms/{room['id']}/invites", {"role": "member"}, status=201
    )
    joiner = await people(signup=False)
    joined = await joiner.call(
        "POST", "/api/join",
        {"code": invite["code"], "username": "eve", "password": "pupil password",
         "display_name": f"Eve{EVIL}"},
    )  # fmt: skip
    assert joined["user"]["display_name"] == "Eveevil name"
    sheet = await owner.call(
        "POST", f"/api/rooms/{room['id']}/pupils", {"pupils": [{"display_name": EVIL}]}, status=201
    )
    assert sheet[0]["display_name"] == "evil name"
    names = {
        m["display_name"] for m in (await owner.call("GET", f"/api/rooms/{room['id']}"))["members"]
    }
    assert names == {"Owner", "Eveevil name", "evil name"}
