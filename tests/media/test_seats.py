"""One seat per user in a call: a join from another socket of the same user takes the seat over."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from server.realtime.calls import CALLS
from server.realtime.ice import SFU
from tests.conftest import Person, join_as_pupil
from tests.realtime.inbox import Inbox

from .callers import Participant

People = Callable[..., Awaitable[Person]]
Room = dict[str, Any]
pytestmark = pytest.mark.timeout(60)


@pytest.fixture
async def tabs(people: People, room: Room) -> AsyncIterator[list[Participant]]:
    """The room's owner (a teacher), then one pupil with three sockets, all in the room channel."""
    owner: Person = room["_owner"]
    pupil = await join_as_pupil(people, owner, room["id"], "zofia")
    everyone = [await Participant.connect(owner, room["id"])]
    for _ in range(3):
        everyone.append(await Participant.connect(pupil, room["id"]))
    yield everyone
    for participant in everyone:
        await participant.close()


async def test_a_join_from_another_socket_replaces_the_users_seat(
    tabs: list[Participant], server: TestServer
) -> None:
    teacher, first, second, third = tabs
    await teacher.must("media:join")
    old = await first.must("media:join")
    call = server.app[CALLS].calls[teacher.room_id]
    session = server.app[SFU]._sessions[call.session.id]
    await teacher.must("media:spotlight", user_id=first.id)
    replaced = Inbox(first.sio, "media:replaced")

    new = await second.must("media:join")
    newest = await third.must("media:join")

    notice = await replaced.wait_for(lambda name, _: name == "media:replaced")
    assert notice == {
        "room_id": teacher.room_id,
        "session_id": call.session.id,
        "participant_id": old["participant_id"],
    }
    seats = call.seats_of(first.id)
    assert [seat.participant_id for seat in seats] == [newest["participant_id"]]
    pupil_ids = {
        p for p in session.participants if p != call.seats_of(teacher.id)[0].participant_id
    }
    assert pupil_ids == {newest["participant_id"]}
    assert old["participant_id"] != new["participant_id"] != newest["participant_id"]
    assert newest["participants"] == sorted([teacher.id, first.id])
    assert session.spotlight == newest["participant_id"]  # the spotlight follows the user
    for stale in (first, second):
        assert (await stale.ask("media:subscribe"))["error"]["code"] == "not_found"
    # Attendance goes on without a break: still one open row for the pupil.
    attendance = await server.app[CALLS].sessions.attendance(call.session.id)
    assert [(a["user_id"], a["left_at"]) for a in attendance if a["user_id"] == first.id] == [
        (first.id, None)
    ]
