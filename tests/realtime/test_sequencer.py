"""The sequencer: every socket gets each room event once, in `room_seq` order, with no hole.

Another writer on the same database stands for another node: its commits reach this node's
sockets only through the log (a hole filled when the next local event arrives) or, when its
commits are handed over as a bus would hand them (late, shuffled, twice), through the sequencer.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from rooms.store.db import Commit
from server.app import build_services
from server.config import Settings
from server.keys import Services
from server.realtime.hub import HUB
from tests.conftest import Person, join_as_pupil
from tests.realtime.inbox import Inbox

People = Callable[..., Awaitable[Person]]
Room = dict[str, Any]
pytestmark = pytest.mark.timeout(60)
EACH = 12  # posts per writer and room
SEQUENCED = ("room:edit", "post:new", "member:remove", "member:edit")


@pytest.fixture
async def elsewhere(settings: Settings, server: TestServer) -> AsyncIterator[Services]:
    """The domain services of a second writer on the same database (another node)."""
    services = build_services(settings)
    await services.db.open()
    yield services
    await services.db.close()


def room_of(name: str, data: Any) -> str:
    return str(data["id"] if name == "room:edit" else data["room_id"])


def seqs(inbox: Inbox, room_id: str) -> list[int]:
    """The `room_seq` of each event the socket got from the room, in arrival order."""
    return [d["room_seq"] for name, d in inbox.items if room_of(name, d) == room_id]


async def test_an_event_committed_elsewhere_fills_the_hole_before_the_next_one(
    room: Room, elsewhere: Services
) -> None:
    owner: Person = room["_owner"]
    sio = await owner.connect()
    inbox = Inbox(sio, *SEQUENCED)
    first = (await sio.call("room:join", {"room_id": room["id"]}))["seq"]
    user = await elsewhere.accounts.user(owner.id)
    assert user is not None

    await elsewhere.rooms.update(user, room["id"], {"name": "Named elsewhere"})  # never handed over
    await owner.call("PATCH", f"/api/rooms/{room['id']}", {"name": "Named here"})

    await inbox.wait_for(lambda _, d: d["name"] == "Named here")
    got = [(name, d["name"], d["room_seq"]) for name, d in inbox.items]
    assert got == [
        ("room:edit", "Named elsewhere", first + 1),
        ("room:edit", "Named here", first + 2),
    ]


async def test_events_handed_over_twice_and_late_reach_each_socket_once(
    server: TestServer, room: Room, elsewhere: Services
) -> None:
    owner: Person = room["_owner"]
    sio = await owner.connect()
    inbox = Inbox(sio, *SEQUENCED)
    first = (await sio.call("room:join", {"room_id": room["id"]}))["seq"]
    user = await elsewhere.accounts.user(owner.id)
    assert user is not None
    held: list[Commit] = []
    elsewhere.db.on_commit(held.append)

    for name in ("One", "Two", "Three"):
        await elsewhere.rooms.update(user, room["id"], {"name": name})
    dispatcher = server.app[HUB].dispatcher
    for commit in [*reversed(held), *held]:  # the last first, then all of them again
        dispatcher.committed(commit)
    await owner.call("PATCH", f"/api/rooms/{room['id']}", {"name": "Four"})
    for commit in held:  # and once more, long after
        dispatcher.committed(commit)
    await dispatcher.settled()

    await inbox.wait_for(lambda _, d: d["name"] == "Four")
    assert [d["name"] for _, d in inbox.items] == ["One", "Two", "Three", "Four"]
    assert seqs(inbox, room["id"]) == [first + i for i in (1, 2, 3, 4)]


async def test_order_holds_under_concurrent_writers_in_several_rooms(
    server: TestServer, people: People, room: Room, elsewhere: Services
) -> None:
    owner: Person = room["_owner"]
    rooms = [room["id"]]
    for name in ("Alps", "Danube"):
        rooms.append((await owner.call("POST", "/api/rooms", {"name": name}, status=201))["id"])
    pupil = await join_as_pupil(people, owner, rooms[0])
    watchers: list[tuple[Inbox, dict[str, int]]] = []
    for person, joined in ((owner, rooms), (pupil, rooms[:1])):
        sio = await person.connect()
        inbox = Inbox(sio, *SEQUENCED)
        firsts = {}
        for room_id in joined:
            firsts[room_id] = (await sio.call("room:join", {"room_id": room_id}))["seq"]
        watchers.append((inbox, firsts))
    chatter = await owner.connect()
    user = await elsewhere.accounts.user(owner.id)
    assert user is not None
    # The other writer's commits are handed over as a bus would: late, out of order, and some
    # twice; some of them the sequencer has already filled in from the log by then.
    loop = asyncio.get_running_loop()
    dispatcher = server.app[HUB].dispatcher
    rng = random.Random(17)

    def bus(commit: Commit) -> None:
        for _ in range(rng.choice((1, 2))):
            loop.call_later(rng.uniform(0, 0.05), dispatcher.committed, commit)

    elsewhere.db.on_commit(bus)

    async def here(room_id: str, n: int) -> None:
        for i in range(n):
            ack = await chatter.call("chat:send", {"room_id": room_id, "body": f"here {i}"})
            assert ack["ok"], ack

    async def there(room_id: str, n: int) -> None:
        for i in range(n):
            await elsewhere.forum.chat(user, room_id, f"there {i}", None)

    await asyncio.gather(*(w(room_id, EACH) for room_id in rooms for w in (here, there)))
    for room_id in rooms:  # each room's last event is this node's own
        await owner.call("PATCH", f"/api/rooms/{room_id}", {"name": "Done"})

    for inbox, firsts in watchers:
        for room_id, first in firsts.items():

            def done(name: str, d: Any, r: str = room_id) -> bool:
                return room_of(name, d) == r and d.get("name") == "Done"

            await inbox.wait_for(done)
            assert seqs(inbox, room_id) == list(range(first + 1, first + 2 * EACH + 2))


async def test_a_tail_check_catches_a_quiet_room_up_from_the_log(
    server: TestServer, room: Room, elsewhere: Services
) -> None:
    owner: Person = room["_owner"]
    sio = await owner.connect()
    inbox = Inbox(sio, *SEQUENCED)
    first = (await sio.call("room:join", {"room_id": room["id"]}))["seq"]
    user = await elsewhere.accounts.user(owner.id)
    assert user is not None
    for name in ("One", "Two"):
        await elsewhere.rooms.update(user, room["id"], {"name": name})
    sequencer = server.app[HUB].sequencer
    assert sequencer.watched() == [room["id"]] and sequencer.mark(room["id"]) == first

    await sequencer.catch_up(room["id"], first + 2)

    await inbox.wait_for(lambda _, d: d["name"] == "Two")
    assert [(d["name"], d["room_seq"]) for _, d in inbox.items] == [
        ("One", first + 1),
        ("Two", first + 2),
    ]
    assert sequencer.mark(room["id"]) == first + 2
