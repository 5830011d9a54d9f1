"""Every Socket.IO payload model, fuzzed through the real server over a raw WebSocket: hostile JSON
(numbers past 64 bits, control characters, wrong types, nesting thousands deep, missing or extra
arguments) always gets an ack, ok or with an error other than `internal`, and nothing is logged at
ERROR. The room has a live call, so the `media:*` events reach the SFU."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.inputs import Payload
from server.realtime import forum_events, media, room_events
from server.realtime.classroom import ACTIONS
from tests.conftest import Person, join_as_pupil
from tests.fuzz import FUZZ, JSON_VALUES, Named, check_ack, errors_logged, json_text, payloads

from .raw import RawSocket

People = Callable[..., Awaitable[Person]]
Room = dict[str, Any]
IN_ROOM = {"room_id": "{room}"}
ON_PUPIL = {"room_id": "{room}", "user_id": "{pupil}"}

# Each model, the events that read it and a valid payload; `{room}`-style names are filled in.
EVENTS: dict[type[Payload], list[tuple[str, dict[str, Any]]]] = {
    room_events.JoinRoom: [("room:join", {"room_id": "{room}", "since": 0})],
    room_events.LeaveRoom: [("room:leave", IN_ROOM)],
    forum_events.ChatMessage: [
        ("chat:send", {"room_id": "{room}", "body": "hello", "thread_id": "{thread}"})
    ],
    media.InRoom: [
        (event, IN_ROOM)
        for event in ("media:join", "media:subscribe", "media:leave", "media:lock", "media:unlock")
    ],
    media.Publish: [
        ("media:publish", {"room_id": "{room}", "sdp": "v=0\r\n", "sources": {"0": "camera"}})
    ],
    media.Answer: [("media:answer", {"room_id": "{room}", "sdp": "v=0\r\n"})],
    media.Target: [
        (f"media:{action}", ON_PUPIL) for action in ACTIONS if action not in ("lock", "unlock")
    ],
    media.Moderation: [("media:moderate", {**ON_PUPIL, "action": "mute"})],
    media.Hand: [("media:hand", {**ON_PUPIL, "raised": True})],
    media.Spotlight: [("media:spotlight", ON_PUPIL)],
    media.End: [("media:end", {"room_id": "{room}", "session_id": None})],
}


@dataclass
class Scene(Named):
    socket: RawSocket


@pytest.fixture
async def scene(people: People, room: Room) -> AsyncIterator[Scene]:
    """The room's owner on a raw socket, in the room and in its live call, and a pupil."""
    owner: Person = room["_owner"]
    pupil = await join_as_pupil(people, owner, room["id"])
    thread = await owner.call(
        "POST", f"/api/rooms/{room['id']}/threads", {"title": "T", "body": "B"}, 201
    )
    async with RawSocket.open(owner) as socket:
        for event in ("room:join", "media:join"):
            ack = await socket.call(event, json.dumps({"room_id": room["id"]}))
            assert ack["ok"], ack
        yield Scene({"room": room["id"], "pupil": pupil.id, "thread": thread["id"]}, socket)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("model", list(EVENTS), ids=lambda model: model.__name__)
@FUZZ
@given(data=st.data())
async def test_hostile_payloads_get_an_ack_never_internal(
    scene: Scene, model: type[Payload], data: st.DataObject, caplog: pytest.LogCaptureFixture
) -> None:
    event, valid = data.draw(st.sampled_from(EVENTS[model]))
    raw = data.draw(payloads(json.loads(scene.fill(json.dumps(valid)))))
    shape = data.draw(st.sampled_from(["payload", "payload", "payload", "none", "extra"]))
    caplog.clear()
    if shape == "none":
        ack = await scene.socket.call(event, None)
    elif shape == "extra":
        ack = await scene.socket.call(event, raw, json_text(data.draw(JSON_VALUES)))
    else:
        ack = await scene.socket.call(event, raw)
    check_ack(ack, f"{event} {raw[:300]}")
    assert errors_logged(caplog) == []
