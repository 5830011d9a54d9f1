"""A bare http or https address in a chat message or a post becomes a link that opens safely,
live and as stored; nothing else that looks like an address does."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from tests.conftest import Person, join_as_pupil

People = Callable[..., Awaitable[Person]]
Room = dict[str, Any]
pytestmark = pytest.mark.timeout(60)
LINK = '<a href="https://vistula.example/map?x=1" rel="nofollow noopener noreferrer ugc">'


async def test_a_bare_address_in_chat_and_in_a_post_is_a_safe_link(
    people: People, room: Room
) -> None:
    owner: Person = room["_owner"]
    pupil = await join_as_pupil(people, owner, room["id"])
    sio = await pupil.connect()
    body = "Map: https://vistula.example/map?x=1. Not javascript:alert(1) nor ftp://x.example"
    ack = await sio.call("chat:send", {"room_id": room["id"], "body": body}, timeout=10)
    assert ack["ok"], ack
    html = ack["post"]["html"]
    assert LINK in html and html.count("<a ") == 1
    assert ack["post"]["body"] == body  # the source is kept as typed

    thread = await owner.call(
        "POST",
        f"/api/rooms/{room['id']}/threads",
        {
            "title": "Maps",
            "body": "See https://vistula.example/map?x=1, and `https://code.example`",
        },
        status=201,
    )
    [post] = await owner.call("GET", f"/api/threads/{thread['id']}/posts")
    assert LINK in post["html"] and post["html"].count("<a ") == 1
    # Read back by a member over HTTP, the chat message carries the same link.
    chat = ack["post"]["thread_id"]
    stored = await owner.call("GET", f"/api/threads/{chat}/posts")
    assert [p["html"] for p in stored] == [html]
