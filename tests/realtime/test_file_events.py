"""`file:new` and `file:delete` reach the room's members live, and never an outsider."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from tests.api.files_helpers import upload
from tests.conftest import Person, join_as_pupil
from tests.realtime.test_connect_and_presence import Inbox

People = Callable[..., Awaitable[Person]]
Room = dict[str, Any]
pytestmark = pytest.mark.timeout(60)


async def test_file_events_reach_members_live_and_not_outsiders(people: People, room: Room) -> None:
    owner: Person = room["_owner"]
    pupil = await join_as_pupil(people, owner, room["id"], "lena")
    outsider = await people("outsider")
    member_sio, outsider_sio = await pupil.connect(), await outsider.connect()
    member_inbox = Inbox(member_sio, "file:new", "file:delete")
    outsider_inbox = Inbox(outsider_sio, "file:new", "file:delete")
    assert (await member_sio.call("room:join", {"room_id": room["id"]}))["ok"]
    assert not (await outsider_sio.call("room:join", {"room_id": room["id"]}))["ok"]

    made = await upload(owner, room["id"], "plan.txt", b"the plan")
    event = await member_inbox.wait_for(lambda name, _: name == "file:new")
    assert {k: v for k, v in event.items() if k != "room_seq"} == made
    assert isinstance(event["room_seq"], int)

    await owner.call("DELETE", f"/api/files/{made['id']}", status=204)
    gone = await member_inbox.wait_for(lambda name, _: name == "file:delete")
    assert gone == {"id": made["id"], "room_id": room["id"], "room_seq": event["room_seq"] + 1}

    await owner.call("POST", f"/api/files/{made['id']}/restore")
    back = await member_inbox.wait_for(lambda name, d: name == "file:new" and d is not event)
    assert back["id"] == made["id"] and back["room_seq"] == event["room_seq"] + 2
    await asyncio.sleep(0.2)
    assert outsider_inbox.items == []


async def test_a_missed_file_event_arrives_on_resume(people: People, room: Room) -> None:
    owner: Person = room["_owner"]
    pupil = await join_as_pupil(people, owner, room["id"])
    sio = await pupil.connect()
    seq = (await sio.call("room:join", {"room_id": room["id"]}))["seq"]
    await sio.call("room:leave", {"room_id": room["id"]})
    made = await upload(owner, room["id"], "late.txt", b"late")
    ack = await sio.call("room:join", {"room_id": room["id"], "since": seq})
    assert [(m["event"], m["data"]["id"]) for m in ack["missed"]] == [("file:new", made["id"])]
