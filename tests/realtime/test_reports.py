"""Reports reach the room's online teachers live, and nobody else."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from tests.conftest import Person, join_as_pupil
from tests.realtime.inbox import Inbox

People = Callable[..., Awaitable[Person]]
Room = dict[str, Any]
pytestmark = pytest.mark.timeout(60)


async def test_a_report_reaches_teachers_live_and_not_pupils(people: People, room: Room) -> None:
    owner: Person = room["_owner"]
    reporter = await join_as_pupil(people, owner, room["id"], "zofia")
    bystander = await join_as_pupil(people, owner, room["id"], "lukas")
    inboxes = {}
    for person in (owner, reporter, bystander):
        sio = await person.connect()
        inboxes[person.id] = Inbox(sio, "report:new")
        assert (await sio.call("room:join", {"room_id": room["id"]}))["ok"]
    thread = await owner.call(
        "POST", f"/api/rooms/{room['id']}/threads", {"title": "T", "body": "Hello"}, status=201
    )
    [post] = await owner.call("GET", f"/api/threads/{thread['id']}/posts")

    made = await reporter.call(
        "POST", f"/api/posts/{post['id']}/report", {"reason": "spam"}, status=201
    )

    got = await inboxes[owner.id].wait_for(lambda e, d: e == "report:new")
    assert got == {"id": made["id"], "room_id": room["id"], "post_id": post["id"], "reason": "spam"}
    await asyncio.sleep(0.3)  # give a wrongly addressed emit the time to arrive
    assert inboxes[reporter.id].items == [] and inboxes[bystander.id].items == []
