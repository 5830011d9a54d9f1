"""A teacher's controls on others in a live call reach the room's audit log, named."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from tests.conftest import Person, join_as_pupil

from .callers import Participant

People = Callable[..., Awaitable[Person]]
Room = dict[str, Any]


@pytest.fixture
async def in_call(people: People, room: Room) -> AsyncIterator[tuple[Participant, Participant]]:
    """The room's owner and a pupil, both seated in the room's live call."""
    owner: Person = room["_owner"]
    pupil = await join_as_pupil(people, owner, room["id"], "zofia")
    teacher = await Participant.connect(owner, room["id"])
    learner = await Participant.connect(pupil, room["id"])
    await teacher.must("media:join")
    await learner.must("media:join")
    yield teacher, learner
    for participant in (teacher, learner):
        await participant.close()


def call_entries(log: list[dict[str, Any]]) -> list[tuple[str, str, str, str]]:
    return [
        (e["action"], e["actor"]["id"], e["target"]["id"], e["target"].get("name", ""))
        for e in log
        if e["action"].startswith("call_")
    ]


@pytest.mark.timeout(60)
async def test_video_mutes_and_removals_are_in_the_audit_log(
    in_call: tuple[Participant, Participant], room: Room
) -> None:
    teacher, pupil = in_call
    owner: Person = room["_owner"]
    await teacher.must("media:mute", user_id=pupil.id)
    await teacher.must("media:moderate", action="video_off", user_id=pupil.id)
    await teacher.must("media:unmute", user_id=pupil.id)
    await teacher.must("media:video_on", user_id=pupil.id)
    # One's own microphone is nobody's moderation; a refused control changes nothing either.
    await pupil.must("media:mute", user_id=pupil.id)
    assert (await pupil.ask("media:mute", user_id=teacher.id))["error"]["code"] == "forbidden"
    await teacher.must("media:mute_all")
    await teacher.must("media:session_remove", user_id=pupil.id)

    log = await owner.call("GET", f"/api/rooms/{room['id']}/audit")
    me, zofia = teacher.id, pupil.id
    assert call_entries(log) == [
        ("call_mute", me, zofia, "Zofia"),
        ("call_video_off", me, zofia, "Zofia"),
        ("call_unmute", me, zofia, "Zofia"),
        ("call_video_on", me, zofia, "Zofia"),
        ("call_mute", me, zofia, "Zofia"),
        ("call_remove", me, zofia, "Zofia"),
    ]
    session_ids = {e["detail"]["session_id"] for e in log if e["action"].startswith("call_")}
    assert len(session_ids) == 1 and None not in session_ids
