"""My rooms in one request: each room's description, whether a session is live, and how many
forum posts by others the caller has not read; only the caller's rooms, only their own counts."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from tests.conftest import Person, join_as_pupil

pytestmark = [pytest.mark.timeout(60), pytest.mark.both_engines]
People = Callable[..., Awaitable[Person]]


async def listed(person: Person) -> dict[str, dict[str, Any]]:
    rooms = await person.call("GET", "/api/rooms")
    me = await person.call("GET", "/api/me")
    assert me["rooms"] == rooms  # the same list, as the docs promise
    return {r["id"]: r for r in rooms}


async def test_my_rooms_show_description_live_and_unread(people: People) -> None:
    owner = await people("owner")
    room = await owner.call(
        "POST",
        "/api/rooms",
        {"name": "Rivers", "description": "Lyon and Kraków\nstudy rivers."},
        status=201,
    )
    other = await owner.call("POST", "/api/rooms", {"name": "Mountains"}, status=201)
    pupil = await join_as_pupil(people, owner, room["id"])
    mine = (await listed(pupil))[room["id"]]
    assert mine == {
        "id": room["id"],
        "name": "Rivers",
        "description": "Lyon and Kraków\nstudy rivers.",
        "my_role": "member",
        "live": False,
        "unread": 0,
    }

    # Two posts by the teacher: unread for the pupil, never for their author.
    thread = await owner.call(
        "POST", f"/api/rooms/{room['id']}/threads", {"title": "Ice", "body": "Frozen?"}, status=201
    )
    second = await owner.call(
        "POST", f"/api/threads/{thread['id']}/posts", {"body": "Photos please"}, status=201
    )
    assert (await listed(pupil))[room["id"]]["unread"] == 2
    assert (await listed(owner))[room["id"]]["unread"] == 0
    # Chat is not counted; a hidden post is not either.
    sio = await owner.connect()
    ack = await sio.call("chat:send", {"room_id": room["id"], "body": "hello"}, timeout=10)
    assert ack["ok"]
    await owner.call("POST", f"/api/posts/{second['id']}/hide", {"hidden": True})
    assert (await listed(pupil))[room["id"]]["unread"] == 1

    # The pupil's reply is unread for the teacher; reading the thread clears the pupil's count.
    reply = await pupil.call(
        "POST", f"/api/threads/{thread['id']}/posts", {"body": "Yes, frozen"}, status=201
    )
    assert (await listed(owner))[room["id"]]["unread"] == 1
    assert (await listed(owner))[other["id"]]["unread"] == 0
    await pupil.call("POST", f"/api/threads/{thread['id']}/read", {"seq": reply["seq"]}, status=204)
    assert (await listed(pupil))[room["id"]]["unread"] == 0
    await owner.call("DELETE", f"/api/threads/{thread['id']}", status=204)
    assert (await listed(owner))[room["id"]]["unread"] == 0

    # A live session shows in the list.
    session = await owner.call("POST", f"/api/rooms/{room['id']}/sessions", {}, status=201)
    await owner.call("POST", f"/api/sessions/{session['id']}/start")
    assert (await listed(pupil))[room["id"]]["live"] is True
    assert (await listed(owner))[other["id"]]["live"] is False


async def test_the_list_holds_only_the_callers_rooms(people: People) -> None:
    owner = await people("owner")
    room = await owner.call(
        "POST", "/api/rooms", {"name": "Secret", "description": "x"}, status=201
    )
    await owner.call(
        "POST", f"/api/rooms/{room['id']}/threads", {"title": "T", "body": "B"}, status=201
    )
    outsider = await people("outsider")
    assert await outsider.call("GET", "/api/rooms") == []
    anonymous = await people(signup=False)
    answer = await anonymous.call("GET", "/api/rooms", status=401)
    assert answer["error"]["code"] == "not_signed_in"
