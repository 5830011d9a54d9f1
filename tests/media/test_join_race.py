"""A class joining the call at once: nobody is turned away and everyone decodes everyone else's
video, however the joins, the publications and the subscribers' renegotiations interleave.

A race shows only sometimes, so the scenario repeats (`race` tests: `--race-rounds`, or
TWINROOMS_RACE_ROUNDS), each round in a fresh session with fresh sockets and peers.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable

import pytest

from tests.conftest import Person, join_as_pupil

from .callers import Participant
from .peers import SyntheticCamera, ToneMicrophone

People = Callable[..., Awaitable[Person]]
PUPILS = 5
SPREAD = 0.2  # seconds over which everyone presses Join
DECODE_WITHIN = 5.0  # seconds, once everyone is in, for every video to be decoded everywhere
FRAMES = 3  # decoded frames that count as seeing someone


@pytest.fixture
async def classmates(people: People, room: dict[str, object]) -> list[Person]:
    """The room's owner (a teacher) and five pupils of the room."""
    owner = room["_owner"]
    assert isinstance(owner, Person)
    pupils = [await join_as_pupil(people, owner, str(room["id"])) for _ in range(PUPILS)]
    return [owner, *pupils]


async def arrive(participant: Participant, delay: float) -> None:
    """Press Join after `delay`: join (waiting for the start if need be), send camera and
    microphone, then receive, in the web client's order."""
    await asyncio.sleep(delay)
    await participant.enter()
    camera = SyntheticCamera(128, 96)
    await participant.publish([camera, ToneMicrophone()], {camera.id: "camera"})
    await participant.subscribe()


async def unseen(participants: list[Participant]) -> list[str]:
    """Who does not decode whose video within `DECODE_WITHIN` seconds: frames must keep coming
    on the m-lines the SFU says carry that person."""
    pairs = [(v, o) for v in participants for o in participants if v is not o]
    baseline: dict[tuple[int, int], tuple[tuple[str, ...], int]] = {}
    seen: set[tuple[int, int]] = set()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + DECODE_WITHIN
    while loop.time() < deadline and len(seen) < len(pairs):
        for viewer, other in pairs:
            key = (id(viewer), id(other))
            mids = tuple(sorted(m for m, s in viewer.slots.items() if s["user_id"] == other.id))
            frames = viewer.video_frames_of(other.id)
            if key not in baseline or baseline[key][0] != mids:
                baseline[key] = (mids, frames)
            elif mids and frames - baseline[key][1] >= FRAMES:
                seen.add(key)
        await asyncio.sleep(0.05)
    return [
        f"{viewer.person.user['username']} misses {other.person.user['username']}"
        for viewer, other in pairs
        if (id(viewer), id(other)) not in seen
    ]


async def one_round(people: list[Person], room_id: str, rng: random.Random) -> list[str]:
    """Everyone joins within `SPREAD`; returns what went wrong (nothing, if all is well)."""
    participants = [await Participant.connect(person, room_id) for person in people]
    sockets = [p.sio for p in participants]
    try:
        try:
            async with asyncio.timeout(30):
                await asyncio.gather(*(arrive(p, rng.uniform(0, SPREAD)) for p in participants))
        except (AssertionError, TimeoutError) as exc:
            return [f"a join failed: {exc!r}"[:300]]
        return await unseen(participants)
    finally:
        await participants[0].ask("media:end")
        for participant in participants:
            await participant.close()
        for sio in sockets:
            await sio.disconnect()
            for person in people:
                if sio in person.sockets:
                    person.sockets.remove(sio)


@pytest.mark.race(seconds=45)
async def test_a_class_joining_at_once_all_see_each_other(
    classmates: list[Person], room: dict[str, object], race_rounds: int
) -> None:
    failed: dict[int, list[str]] = {}
    for number in range(race_rounds):
        problems = await one_round(classmates, str(room["id"]), random.Random(number))
        if problems:
            failed[number] = problems
    assert not failed, f"{len(failed)} of {race_rounds} rounds failed: {failed}"
