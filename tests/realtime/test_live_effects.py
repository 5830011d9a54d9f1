"""One pipeline for live side effects: a change made through a domain service reaches the open
sockets and the calls after its commit, with no view (and no HTTP request) telling the hub.

Each test calls the service directly, as another node's request would commit it; a removal
committed by another writer on the same database reaches this node's sockets too, in its place in
the room's order.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from rooms.accounts import session_hash
from rooms.models import User
from server.app import build_services
from server.config import Settings
from server.keys import SERVICES, Services
from server.realtime.calls import CALLS
from server.realtime.hub import HUB
from tests.conftest import Person, join_as_pupil, with_settings
from tests.media.callers import Participant
from tests.realtime.inbox import Inbox

People = Callable[..., Awaitable[Person]]
Room = dict[str, Any]
pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # No periodic session sweep within a test: only the commit's effect can close a socket.
    return with_settings(settings, session_check_seconds=3600)


async def user_of(server: TestServer, person: Person) -> User:
    user = await server.app[SERVICES].accounts.user(person.id)
    assert user is not None
    return user


@pytest.fixture
async def seated(
    people: People, room: Room, server: TestServer
) -> AsyncIterator[tuple[Participant, Participant]]:
    """The room's owner and a pupil, both seated in the room's live call (no media flowing)."""
    owner: Person = room["_owner"]
    pupil = await join_as_pupil(people, owner, room["id"], "zofia")
    teacher, member = await Participant.connect(owner, room["id"]), None
    try:
        member = await Participant.connect(pupil, room["id"])
        await teacher.must("media:join")
        assert (await member.must("media:join"))["waiting"] is False
        yield teacher, member
    finally:
        await teacher.close()
        if member is not None:
            await member.close()


async def test_a_removal_by_the_service_reaches_the_sockets_and_the_call(
    seated: tuple[Participant, Participant], server: TestServer
) -> None:
    teacher, pupil = seated
    call = server.app[CALLS].calls[teacher.room_id]
    assert call.seats_of(pupil.id)
    owner = await user_of(server, teacher.person)

    await server.app[SERVICES].rooms.remove(owner, teacher.room_id, pupil.id)

    notice = await pupil.inbox.wait_for(lambda e, d: e == "moderation")
    assert notice == {
        "room_id": teacher.room_id,
        "action": "remove",
        "user_id": pupil.id,
        "by": teacher.id,
    }
    assert call.seats_of(pupil.id) == []  # the call let go before the socket was told
    hub = server.app[HUB]
    assert [u["id"] for u in hub.presence.users(teacher.room_id)] == [teacher.id]
    ack = await pupil.ask("media:join")
    assert ack["error"]["code"] == "not_found"


async def test_a_role_change_by_the_service_reaches_the_call(
    seated: tuple[Participant, Participant], server: TestServer
) -> None:
    teacher, pupil = seated
    call = server.app[CALLS].calls[teacher.room_id]
    owner = await user_of(server, teacher.person)

    await server.app[SERVICES].rooms.set_role(owner, teacher.room_id, pupil.id, "guest")
    await server.app[HUB].dispatcher.settled()

    assert call.seats_of(pupil.id) == []  # a guest may not send media: rejoin as a watcher
    assert (await pupil.must("media:join"))["waiting"] is False
    assert [seat.role for seat in call.seats_of(pupil.id)] == ["guest"]


async def test_deleting_the_room_by_the_service_closes_its_call_and_channel(
    seated: tuple[Participant, Participant], server: TestServer
) -> None:
    teacher, pupil = seated
    deleted = Inbox(pupil.sio, "room:delete")
    owner = await user_of(server, teacher.person)

    await server.app[SERVICES].rooms.delete(owner, teacher.room_id)

    notice = await deleted.wait_for(lambda e, d: e == "room:delete")
    assert notice == {"id": teacher.room_id, "room_id": teacher.room_id}
    assert server.app[CALLS].calls == {}
    hub = server.app[HUB]
    assert hub.presence.users(teacher.room_id) == []
    assert hub.sequencer.mark(teacher.room_id) is None


async def test_ending_a_session_by_the_service_closes_its_sockets(
    people: People, server: TestServer
) -> None:
    teacher = await people()
    sio = await teacher.connect()
    closed = asyncio.Event()
    sio.on("disconnect", closed.set)

    await server.app[SERVICES].accounts.end_session(teacher.session_token())

    await asyncio.wait_for(closed.wait(), 10)
    assert server.app[HUB].connections.of_session(session_hash(teacher.session_token())) == []


async def test_a_report_by_the_service_reaches_the_online_teachers(
    people: People, room: Room, server: TestServer
) -> None:
    owner: Person = room["_owner"]
    pupil = await join_as_pupil(people, owner, room["id"])
    inboxes = {}
    for person in (owner, pupil):
        sio = await person.connect()
        inboxes[person.id] = Inbox(sio, "report:new")
        assert (await sio.call("room:join", {"room_id": room["id"]}))["ok"]
    ack = await pupil.sockets[0].call("chat:send", {"room_id": room["id"], "body": "Look"})

    made = await server.app[SERVICES].moderation.report(
        await user_of(server, pupil), ack["post"]["id"], "rude"
    )

    assert await inboxes[owner.id].wait_for(lambda e, d: e == "report:new") == made
    await server.app[HUB].dispatcher.settled()
    assert inboxes[pupil.id].items == []


@pytest.fixture
async def elsewhere(settings: Settings, server: TestServer) -> AsyncIterator[Services]:
    """The domain services of a second writer on the same database (another node)."""
    services = build_services(settings)
    await services.db.open()
    yield services
    await services.db.close()


async def test_a_removal_committed_elsewhere_kicks_before_the_rooms_next_event(
    people: People, room: Room, server: TestServer, elsewhere: Services
) -> None:
    owner: Person = room["_owner"]
    pupil = await join_as_pupil(people, owner, room["id"])
    watched = ("moderation", "room:edit", "member:remove")
    sockets = {}
    for person in (owner, pupil):
        sio = await person.connect()
        sockets[person.id] = Inbox(sio, *watched)
        assert (await sio.call("room:join", {"room_id": room["id"]}))["ok"]
    actor = await elsewhere.accounts.user(owner.id)
    assert actor is not None

    await elsewhere.rooms.remove(actor, room["id"], pupil.id)  # this node never hears of it
    await owner.call("PATCH", f"/api/rooms/{room['id']}", {"name": "After the removal"})

    await sockets[owner.id].wait_for(lambda e, d: e == "room:edit")
    assert [e for e, _ in sockets[owner.id].items] == ["member:remove", "moderation", "room:edit"]
    await server.app[HUB].dispatcher.settled()
    assert [e for e, _ in sockets[pupil.id].items] == ["member:remove", "moderation"]
    assert [u["id"] for u in server.app[HUB].presence.users(room["id"])] == [owner.id]


async def test_a_member_removed_while_their_socket_joins_is_never_left_in_the_room(
    people: People, room: Room, server: TestServer
) -> None:
    """The removal's effect finds a member's sockets in the room's presence; a socket still
    joining (its membership read, not yet in) must not slip past it and stay subscribed."""
    owner_person: Person = room["_owner"]
    owner = await user_of(server, owner_person)
    services = server.app[SERVICES]
    inboxes = []
    for step in range(40):  # the removal a little later each time, across the join's steps
        pupil = await join_as_pupil(people, owner_person, room["id"])
        sio = await pupil.connect()
        inboxes.append(Inbox(sio, "post:new"))

        async def join(sio: Any = sio, later: float = step * 0.00002) -> Any:
            await asyncio.sleep(later)
            return await sio.call("room:join", {"room_id": room["id"]})

        joined, _ = await asyncio.gather(join(), services.rooms.remove(owner, room["id"], pupil.id))
        assert joined["ok"] or joined["error"]["code"] == "not_found"
    watcher = await owner_person.connect()
    heard = Inbox(watcher, "post:new")
    await watcher.call("room:join", {"room_id": room["id"]})
    post = await services.forum.chat(owner, room["id"], "after the removals")
    await heard.wait_for(lambda _, data: data["id"] == post["id"])
    assert all(inbox.items == [] for inbox in inboxes)
    online = server.app[HUB].presence.payload(room["id"])["users"]
    assert [user["id"] for user in online] == [owner.id]
