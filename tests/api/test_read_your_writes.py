"""A reply built from a read after a write sees that write, however many requests run at once."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from tests.conftest import Person

People = Callable[..., Awaitable[Person]]
Room = dict[str, Any]
pytestmark = pytest.mark.timeout(120)

JOINS = 600
AT_ONCE = 8


async def test_six_hundred_concurrent_joins_all_see_their_room(people: People, room: Room) -> None:
    owner: Person = room["_owner"]
    invite = await owner.call(
        "POST", f"/api/rooms/{room['id']}/invites", {"role": "member", "max_uses": 1000}, 201
    )
    visitor = await people(signup=False)
    gate = asyncio.Semaphore(AT_ONCE)

    async def join(i: int) -> int:
        account = {
            "code": invite["code"],
            "username": f"joiner{i}",
            "password": "pupil password",
            "display_name": f"Joiner {i}",
        }
        async with gate:
            # a fresh cookie jar per join: each is a new pupil signing up with the code
            visitor.client.session.cookie_jar.clear()
            response = await visitor.client.post("/api/join", json=account)
            return response.status

    statuses = await asyncio.gather(*(join(i) for i in range(JOINS)))
    assert statuses.count(200) == JOINS, {s: statuses.count(s) for s in set(statuses)}
    members = (await owner.call("GET", f"/api/rooms/{room['id']}"))["members"]
    assert len(members) == JOINS + 1


async def test_what_was_just_created_is_read_back_under_load(people: People) -> None:
    teacher = await people()

    async def create_then_read(i: int) -> None:
        made = await teacher.call("POST", "/api/rooms", {"name": f"Room {i}"}, status=201)
        assert (await teacher.call("GET", f"/api/rooms/{made['id']}"))["name"] == f"Room {i}"
        thread = await teacher.call(
            "POST", f"/api/rooms/{made['id']}/threads", {"title": "T", "body": "b"}, status=201
        )
        posts = await teacher.call("GET", f"/api/threads/{thread['id']}/posts")
        assert [p["body"] for p in posts] == ["b"]

    await asyncio.gather(*(create_then_read(i) for i in range(100)))
