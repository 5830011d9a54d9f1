"""Pupil credentials a child can type, and a teacher resetting a pupil's forgotten password."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from rooms.credentials import WORDS
from tests.conftest import Person, join_as_pupil

pytestmark = pytest.mark.both_engines

People = Callable[..., Awaitable[Person]]
Room = dict[str, Any]
PASSWORD = re.compile(r"([a-z]+)-([a-z]+)-([a-z]+)-(\d\d)")


async def make_pupils(owner: Person, room_id: str, *names: str) -> list[dict[str, Any]]:
    pupils = [{"display_name": name} for name in names]
    sheet: list[dict[str, Any]] = await owner.call(
        "POST", f"/api/rooms/{room_id}/pupils", {"pupils": pupils}, status=201
    )
    return sheet


async def test_usernames_keep_the_letters_of_accented_names(room: Room) -> None:
    owner: Person = room["_owner"]
    sheet = await make_pupils(
        owner, room["id"], "Noé Lefèvre", "Łukasz Żółć", "Jürgen Straße", "Zoë O'Brien", "李雷"
    )
    stems = [p["username"].rsplit(".", 1) for p in sheet]
    assert [stem for stem, _ in stems] == [
        "noe.lefevre",
        "lukasz.zolc",
        "jurgen.strasse",
        "zoe.obrien",
        "pupil",
    ]
    assert all(re.fullmatch(r"[2-9]{4}", digits) for _, digits in stems)


async def test_two_pupils_of_one_name_get_two_usernames(room: Room) -> None:
    owner: Person = room["_owner"]
    sheet = await make_pupils(owner, room["id"], *["Ana"] * 30)
    assert len({p["username"] for p in sheet}) == 30


async def test_passwords_are_short_words_and_digits_that_sign_in(
    people: People, room: Room
) -> None:
    owner: Person = room["_owner"]
    sheet = await make_pupils(owner, room["id"], "Noé Lefèvre", "Tom")
    for card in sheet:
        match = PASSWORD.fullmatch(card["password"])
        assert match, card["password"]
        assert all(word in WORDS for word in match.groups()[:3])
    visitor = await people(signup=False)
    user = await visitor.call(
        "POST",
        "/api/auth/login",
        {"username": sheet[0]["username"], "password": sheet[0]["password"]},
    )
    assert user["display_name"] == "Noé Lefèvre" and user["role"] == "pupil"


async def partner_of(people: People, owner: Person, room_id: str) -> Person:
    partner = await people("partner", country="IT")
    invite = await owner.call(
        "POST", f"/api/rooms/{room_id}/invites", {"role": "teacher"}, status=201
    )
    await partner.call("POST", "/api/join", {"code": invite["code"]})
    return partner


async def test_a_teacher_of_the_room_resets_a_pupils_password(people: People, room: Room) -> None:
    owner: Person = room["_owner"]
    card = (await make_pupils(owner, room["id"], "Noé Lefèvre"))[0]
    pupil = await people(signup=False)
    me = await pupil.call(
        "POST", "/api/auth/login", {"username": card["username"], "password": card["password"]}
    )
    partner = await partner_of(people, owner, room["id"])
    path = f"/api/rooms/{room['id']}/members/{me['id']}/password"

    fresh = await partner.call("POST", path)
    assert fresh["username"] == card["username"] and fresh["display_name"] == "Noé Lefèvre"
    assert PASSWORD.fullmatch(fresh["password"]) and fresh["password"] != card["password"]
    # The pupil's open session ends with the old password, which no longer signs in.
    await pupil.call("GET", "/api/me", status=401)
    await pupil.call(
        "POST",
        "/api/auth/login",
        {"username": card["username"], "password": card["password"]},
        status=401,
    )
    await pupil.call(
        "POST", "/api/auth/login", {"username": card["username"], "password": fresh["password"]}
    )
    log = await owner.call("GET", f"/api/rooms/{room['id']}/audit")
    assert [(e["action"], e["actor"]["id"], e["target"]["id"]) for e in log] == [
        ("password_reset", partner.id, me["id"])
    ]


async def test_only_a_teacher_of_the_pupils_room_resets_and_never_a_teachers_account(
    people: People, room: Room
) -> None:
    owner: Person = room["_owner"]
    card = (await make_pupils(owner, room["id"], "Tom"))[0]
    members = (await owner.call("GET", f"/api/rooms/{room['id']}"))["members"]
    tom = next(m["id"] for m in members if m["username"] == card["username"])
    path = f"/api/rooms/{room['id']}/members/{{}}/password"

    # Anonymous: not signed in.
    anonymous = await people(signup=False)
    await anonymous.call("POST", path.format(tom), status=401)

    # Another pupil of the room: forbidden, even for their own account.
    other = await join_as_pupil(people, owner, room["id"])
    assert (await other.call("POST", path.format(tom), status=403))["error"]["code"] == "forbidden"
    await other.call("POST", path.format(other.id), status=403)

    # A teacher of another room: the room is unknown to them, and so is the pupil through it.
    stranger = await people("stranger")
    theirs = await stranger.call("POST", "/api/rooms", {"name": "Elsewhere"}, status=201)
    await stranger.call("POST", path.format(tom), status=404)
    await stranger.call("POST", f"/api/rooms/{theirs['id']}/members/{tom}/password", status=404)

    # A partner teacher resets pupils, but never the owner's or another teacher's account.
    partner = await partner_of(people, owner, room["id"])
    await partner.call("POST", path.format(tom))
    await partner.call("POST", path.format(owner.id), status=403)
    await owner.call("POST", path.format(partner.id), status=403)
    # A teacher account demoted to a plain member stays out of reach: it is not a pupil's.
    await owner.call("PATCH", f"/api/rooms/{room['id']}/members/{partner.id}", {"role": "member"})
    await owner.call("POST", path.format(partner.id), status=403)
    # Someone who is not in the room is not found, whoever they are.
    await owner.call("POST", path.format(stranger.id), status=404)
    await owner.call("POST", path.format("made-up"), status=404)
    # Nothing was reset but Tom's password.
    log = await owner.call("GET", f"/api/rooms/{room['id']}/audit")
    assert [e["action"] for e in log if e["action"] == "password_reset"] == ["password_reset"]
