"""Socket.IO payloads that used to get no ack (and a traceback in the log) or an `internal` one:
JSON nested thousands deep or malformed, numbers past 64 bits, arguments after the payload."""

from __future__ import annotations

import json
from typing import Any

import pytest

from server.inputs import INT64_MAX, MAX_DEPTH
from tests.conftest import Person
from tests.fuzz import errors_logged, nested

from .raw import RawSocket

Room = dict[str, Any]


@pytest.mark.parametrize(
    "payload",
    [
        nested(20_000, "["),
        '{"room_id": "x", "since": ' + nested(MAX_DEPTH, "[") + "}",
        nested(8_000, "{"),
        '{"room_id": "x", oops}',
        '{"room_id": "\\ud800"}',
    ],
    ids=["deep-array", "past-the-limit", "deep-object", "malformed", "lone-surrogate"],
)
async def test_an_unreadable_payload_gets_an_invalid_ack(
    room: Room, payload: str, caplog: pytest.LogCaptureFixture
) -> None:
    owner: Person = room["_owner"]
    async with RawSocket.open(owner) as socket:
        ack = await socket.call("room:join", payload)
        assert ack["ok"] is False and ack["error"]["code"] == "invalid", ack
        # The socket goes on working.
        assert (await socket.call("room:join", json.dumps({"room_id": room["id"]})))["ok"]
    assert errors_logged(caplog) == []


async def test_since_past_64_bits_is_invalid_and_within_them_is_read(
    room: Room, caplog: pytest.LogCaptureFixture
) -> None:
    owner: Person = room["_owner"]
    async with RawSocket.open(owner) as socket:
        ack = await socket.call("room:join", json.dumps({"room_id": room["id"], "since": 2**63}))
        assert ack["ok"] is False and ack["error"]["code"] == "invalid", ack
        assert ack["error"]["message"].startswith("since:")
        ack = await socket.call(
            "room:join", json.dumps({"room_id": room["id"], "since": INT64_MAX})
        )
        assert ack["ok"] and ack["missed"] == [], ack
    assert errors_logged(caplog) == []


async def test_arguments_after_the_payload_are_ignored(
    room: Room, caplog: pytest.LogCaptureFixture
) -> None:
    owner: Person = room["_owner"]
    async with RawSocket.open(owner) as socket:
        ack = await socket.call("room:join", json.dumps({"room_id": room["id"]}), "1", "[]")
        assert ack["ok"], ack
    assert errors_logged(caplog) == []
