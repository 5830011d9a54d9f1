"""Two nodes on one PostgreSQL database, racing where SQLite's single writer used to keep order:
the last use of an invite, one username, the last bytes of a quota, one file name, and the first
`media:join` of two teachers. Each pair of requests goes to two different nodes (two apps, two
connection pools) at once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from server.app import create_app
from server.config import Settings
from server.session import COOKIE
from tests.api.files_helpers import multipart
from tests.conftest import Person

pytestmark = [
    pytest.mark.parametrize("store", ["postgres"], indirect=True),
    pytest.mark.race(seconds=10),
]
People = Callable[..., Awaitable[Person]]


@pytest.fixture
async def other_node(settings: Settings) -> AsyncIterator[TestServer]:
    """A second node on the same database (and the same data folder, as a shared disk)."""
    node = TestServer(create_app(settings), host="127.0.0.1")
    await node.start_server()
    yield node
    await node.close()


async def on_node(person: Person, node: TestServer) -> Person:
    """The same person, signed in with the same session, talking to another node."""
    client = TestClient(node)
    await client.start_server()
    client.session.cookie_jar.update_cookies(
        {COOKIE: person.session_token()}, response_url=node.make_url("/")
    )
    return Person(client, node, user=person.user)


async def visitor_on(node: TestServer) -> Person:
    """Somebody not signed in, talking to `node`."""
    client = TestClient(node)
    await client.start_server()
    return Person(client, node)


async def status_of(person: Person, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
    response = await person.client.request(method, path, **kwargs)
    return response.status, await response.json()


async def test_two_nodes_never_spend_an_invite_past_its_uses(
    room: dict[str, Any], people: People, other_node: TestServer, race_rounds: int
) -> None:
    owner: Person = room["_owner"]
    for round_ in range(race_rounds):
        invite = await owner.call(
            "POST",
            f"/api/rooms/{room['id']}/invites",
            {"role": "member", "max_uses": 1},
            status=201,
        )
        here, there = (
            await people(signup=False),
            await visitor_on(other_node),
        )
        answers = await asyncio.gather(
            *(
                status_of(
                    visitor,
                    "POST",
                    "/api/join",
                    json={
                        "code": invite["code"],
                        "username": f"racer{round_}x{i}",
                        "password": "pupil password",
                        "display_name": "Racer",
                    },
                )
                for i, visitor in enumerate((here, there))
            )
        )
        assert sorted(status for status, _ in answers) == [200, 404], answers
        listed = await owner.call("GET", f"/api/rooms/{room['id']}/invites")
        assert next(i["uses"] for i in listed if i["code"] == invite["code"]) == 1
        await there.client.session.close()


async def test_two_nodes_signing_up_one_name_give_one_account_and_one_409(
    people: People, other_node: TestServer, race_rounds: int
) -> None:
    for round_ in range(race_rounds):
        here, there = (
            await people(signup=False),
            await visitor_on(other_node),
        )
        body = {
            "username": f"samename{round_}",
            "password": "correct horse",
            "display_name": "Same",
            "country": "FR",
        }
        answers = await asyncio.gather(
            *(status_of(p, "POST", "/api/auth/signup", json=body) for p in (here, there))
        )
        assert sorted(status for status, _ in answers) == [201, 409], answers
        assert [a["error"]["code"] for s, a in answers if s == 409] == ["username_taken"]
        await there.client.session.close()


async def _upload_from(person: Person, room_id: str, name: str, data: bytes) -> tuple[int, Any]:
    body = multipart(name, data)
    return await status_of(
        person,
        "POST",
        f"/api/rooms/{room_id}/files",
        data=body,
        headers={"Content-Type": "multipart/form-data; boundary=twinroomsTestBoundary7MA4YWxk"},
    )


async def test_two_nodes_never_fill_a_quota_past_its_limit(
    people: People, settings: Settings, race_rounds: int
) -> None:
    limited = replace(settings, room_quota_bytes=1000)
    nodes = [TestServer(create_app(limited), host="127.0.0.1") for _ in range(2)]
    for node in nodes:
        await node.start_server()
    try:
        owner = Person(TestClient(nodes[0]), nodes[0])
        await owner.client.start_server()
        owner.user = await owner.call(
            "POST",
            "/api/auth/signup",
            {
                "username": "quotaowner",
                "password": "correct horse",
                "display_name": "Q",
                "country": "FR",
            },
            status=201,
        )
        there = await on_node(owner, nodes[1])
        for round_ in range(race_rounds):
            made = await owner.call("POST", "/api/rooms", {"name": f"Full {round_}"}, status=201)
            answers = await asyncio.gather(
                _upload_from(owner, made["id"], "a.txt", b"a" * 600),
                _upload_from(there, made["id"], "b.txt", b"b" * 600),
            )
            assert sorted(status for status, _ in answers) == [201, 413], answers
        await there.client.session.close()
        await owner.client.session.close()
    finally:
        for node in nodes:
            await node.close()


async def test_two_nodes_uploading_one_name_make_one_file_with_two_versions(
    room: dict[str, Any], other_node: TestServer, race_rounds: int
) -> None:
    owner: Person = room["_owner"]
    there = await on_node(owner, other_node)
    for round_ in range(race_rounds):
        name = f"notes{round_}.txt"
        answers = await asyncio.gather(
            _upload_from(owner, room["id"], name, b"from here"),
            _upload_from(there, room["id"], name, b"from there"),
        )
        assert [status for status, _ in answers] == [201, 201], answers
        files = await owner.call("GET", f"/api/rooms/{room['id']}/files")
        same = [f for f in files if f["name"] == name]
        assert len(same) == 1 and same[0]["version"] == 2, same
    await there.client.session.close()


async def test_the_first_media_join_of_two_teachers_on_two_nodes_starts_one_session(
    room: dict[str, Any], people: People, other_node: TestServer, race_rounds: int
) -> None:
    owner: Person = room["_owner"]
    partner = await people("partner", country="PL")
    partner_there = await on_node(partner, other_node)
    for round_ in range(race_rounds):
        # A room of its own each round: which call a node holds is that node's (until live
        # sessions span nodes), so a session ended on one node would linger on the other.
        made = await owner.call("POST", "/api/rooms", {"name": f"Call {round_}"}, status=201)
        invite = await owner.call(
            "POST", f"/api/rooms/{made['id']}/invites", {"role": "teacher"}, status=201
        )
        await partner.call("POST", "/api/join", {"code": invite["code"]})
        sockets = [await owner.connect(), await partner_there.connect()]
        acks = await asyncio.gather(
            *(sio.call("media:join", {"room_id": made["id"]}, timeout=10) for sio in sockets)
        )
        assert all(ack["ok"] for ack in acks), acks
        assert acks[0]["session"]["id"] == acks[1]["session"]["id"]
        listed = await owner.call("GET", f"/api/rooms/{made['id']}/sessions")
        assert [s["status"] for s in listed] == ["live"]
    for sio in partner_there.sockets:
        await sio.disconnect()
    if partner_there.http is not None:
        await partner_there.http.close()
    await partner_there.client.session.close()
