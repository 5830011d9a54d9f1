"""Live effects are plain data: each one survives a trip through JSON, and nothing else parses."""

from __future__ import annotations

import json

import pytest

from rooms.effects import (
    MemberRemoved,
    ReportFiled,
    RoleChanged,
    RoomDeleted,
    SessionEnded,
    from_message,
    of_event,
    to_message,
)

EFFECTS = [
    MemberRemoved("r", "u", "t"),
    RoleChanged("r", "u", "guest"),
    SessionEnded("ab" * 32),
    RoomDeleted("r"),
    ReportFiled("r", {"id": "x", "room_id": "r", "post_id": "p", "reason": ""}),
]


@pytest.mark.parametrize("effect", EFFECTS)
def test_an_effect_survives_a_trip_through_json(effect: object) -> None:
    assert isinstance(effect, (MemberRemoved, RoleChanged, SessionEnded, RoomDeleted, ReportFiled))
    assert from_message(json.loads(json.dumps(to_message(effect)))) == effect


@pytest.mark.parametrize(
    "message",
    [
        {},
        {"type": "exec", "body": {}},
        {"type": "room_deleted", "body": "r"},
        {"type": "room_deleted", "body": {}},
        {"type": "room_deleted", "body": {"room_id": "r", "extra": 1}},
        {"type": "room_deleted", "body": {"room_id": 5}},
        {"type": ["room_deleted"], "body": {"room_id": "r"}},
        {"type": "report_filed", "body": {"room_id": "r", "report": "x"}},
    ],
)
def test_anything_else_is_refused(message: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        from_message(message)


def test_removals_and_role_changes_ride_on_their_sequenced_events() -> None:
    removed = {"id": "u", "room_id": "r", "by": "t", "room_seq": 4}
    assert of_event("member:remove", removed) == MemberRemoved("r", "u", "t")
    edited = {"id": "u", "room_id": "r", "role": "guest", "room_seq": 5}
    assert of_event("member:edit", edited) == RoleChanged("r", "u", "guest")
    assert of_event("post:new", {"id": "p", "room_id": "r"}) is None
