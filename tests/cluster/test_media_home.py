"""A live session across nodes: one node is its media home, the others forward to it.

Real aiortc peers (RTCConfiguration(iceServers=[]), ICE on 127.0.0.1 only) talk to the home's SFU
directly; their signalling passes through nginx and, for the node that is not the home, over the
bus.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import cast

import pytest
import redis.asyncio

from server.cluster.bus import redis_client
from server.cluster.home import QUIET_SECONDS, WATCH_SECONDS
from tests.cluster.harness import Cluster, Visitor, ack, pupil_in
from tests.cluster.test_outages import health
from tests.conftest import Person
from tests.media.callers import Participant
from tests.media.peers import SyntheticCamera, ToneMicrophone, wait_until
from tests.media.test_signalling import stalls

People = Callable[..., Awaitable[Visitor]]
Start = Callable[..., Awaitable[Cluster]]


async def participant(person: Visitor, room_id: str, base: str = "") -> Participant:
    sio = await person.connect(base)
    joined = await ack(sio, "room:join", {"room_id": room_id})
    assert joined["ok"], joined
    return Participant(cast(Person, person), sio, room_id)


async def in_call(who: Participant) -> None:
    """Publish a camera and a microphone, and receive the others."""
    await who.publish([SyntheticCamera(), ToneMicrophone()], {})
    await who.subscribe()


async def holder(client: redis.asyncio.Redis, session_id: str) -> str | None:
    value = await client.get(f"tr:home:{session_id}")
    return value.decode() if value is not None else None


async def live_session(start: Start, people: People) -> tuple[Cluster, Visitor, Visitor, str, str]:
    """A room with a live session, its teacher on node B and a pupil on node A."""
    cluster = await start(session_check_seconds="600")
    teacher = await people(cluster.url("b"))
    room = await teacher.call("POST", "/api/rooms", {"name": "Tides"}, status=201)
    pupil = await pupil_in(people, teacher, room["id"], cluster.url("a"))
    planned = await teacher.call("POST", f"/api/rooms/{room['id']}/sessions", {}, status=201)
    await teacher.call("POST", f"/api/sessions/{planned['id']}/start")
    return cluster, teacher, pupil, room["id"], planned["id"]


@pytest.mark.timeout(90)
async def test_peers_on_two_nodes_share_one_home_and_a_mute_through_the_edge_holds(
    start_cluster: Start, people: People
) -> None:
    cluster, teacher_v, pupil_v, room_id, session_id = await live_session(start_cluster, people)
    client = redis_client(cluster.redis.url)
    pupil = await participant(pupil_v, room_id)  # on node A
    teacher = await participant(teacher_v, room_id)  # on node B
    try:
        # The first join, on node A, makes node A the session's home; node B forwards to it.
        assert (await pupil.must("media:join"))["waiting"] is False
        assert await holder(client, session_id) == "node-a"
        joined = await teacher.must("media:join")
        assert joined["waiting"] is False and joined["session"]["id"] == session_id
        assert sorted(joined["participants"]) == sorted([pupil.id, teacher.id])
        await in_call(pupil)
        await in_call(teacher)
        await wait_until(lambda: pupil.video_frames_of(teacher.id) >= 3, within=20)
        await wait_until(lambda: teacher.video_frames_of(pupil.id) >= 3, within=20)
        await wait_until(lambda: teacher.audio_frames() >= 10, within=20)

        # The teacher's mute, sent through node B, stops the pupil's audio at the home.
        await teacher.must("media:mute", user_id=pupil.id)
        notice = await pupil.inbox.wait_for(
            lambda e, d: e == "moderation" and d["action"] == "mute"
        )
        assert notice["user_id"] == pupil.id and notice["by"] == teacher.id
        assert await stalls(teacher.audio_frames)
        state = await teacher.inbox.wait_for(
            lambda e, d: e == "media:state" and pupil.id in d["muted"]
        )
        assert state["session_id"] == session_id
        # Video still flows both ways.
        frames = teacher.video_frames_of(pupil.id)
        await wait_until(lambda: teacher.video_frames_of(pupil.id) > frames + 3, within=10)
    finally:
        await pupil.close()
        await teacher.close()
        await client.aclose()


@pytest.mark.timeout(90)
async def test_the_edge_reports_its_sockets_and_the_session_end_reaches_the_home(
    start_cluster: Start, people: People
) -> None:
    cluster, teacher_v, pupil_v, room_id, session_id = await live_session(start_cluster, people)
    client = redis_client(cluster.redis.url)
    other_v = await pupil_in(people, teacher_v, room_id, cluster.url("a"))
    teacher = await participant(teacher_v, room_id)  # on node B, the home
    pupil = await participant(pupil_v, room_id)  # on node A, an edge
    other = await participant(other_v, room_id)  # on node A too, staying to the end
    rejoins(other)
    try:
        await teacher.must("media:join")
        assert await holder(client, session_id) == "node-b"
        await other.must("media:join")
        await pupil.must("media:join")
        await teacher.inbox.wait_for(
            lambda e, d: e == "media:state" and pupil.id in d["participants"]
        )
        # The pupil's socket on node A closes: node B's call lets them go.
        teacher.inbox.items.clear()  # from here on
        await pupil.sio.disconnect()
        await teacher.inbox.wait_for(
            lambda e, d: e == "media:state" and pupil.id not in d["participants"]
        )
        # The session ends through node A's HTTP API: the call at its home on node B closes.
        await teacher_v.call("POST", f"/api/sessions/{session_id}/end", base=cluster.url("a"))
        ended = await teacher.inbox.wait_for(lambda e, d: e == "media:state" and d.get("ended"))
        assert ended["session_id"] == session_id
        again = await teacher.ask("media:subscribe")  # the home's call is closed
        assert again["ok"] is False and again["error"]["code"] == "not_found"
        assert await holder(client, session_id) is None  # given back before the notice
        # The claim went with the session: node A's sockets are not told to join again.
        await other.inbox.wait_for(lambda e, d: e == "media:state" and d.get("ended"))
        await asyncio.sleep(2 * WATCH_SECONDS + 1)  # node A checks the claims meanwhile
        assert other.inbox.named("media:rejoin") == []
    finally:
        for who in (pupil, other, teacher):
            await who.close()
        await client.aclose()


@pytest.mark.timeout(90)
async def test_a_removal_reaches_a_home_where_no_socket_is_in_the_room(
    start_cluster: Start, people: People
) -> None:
    cluster, teacher_v, pupil_v, room_id, session_id = await live_session(start_cluster, people)
    other_v = await pupil_in(people, teacher_v, room_id, cluster.url("b"))
    client = redis_client(cluster.redis.url)
    pupil = await participant(pupil_v, room_id)  # on node A: the home
    other = await participant(other_v, room_id)  # on node B
    teacher = await participant(teacher_v, room_id)  # on node B
    try:
        for who in (pupil, other, teacher):
            await who.must("media:join")
        assert await holder(client, session_id) == "node-a"
        await pupil.sio.disconnect()  # node A keeps the call, with no socket in the room
        two = sorted([other.id, teacher.id])
        await teacher.inbox.wait_for(lambda e, d: e == "media:state" and d["participants"] == two)
        await teacher_v.call("DELETE", f"/api/rooms/{room_id}/members/{other.id}", status=204)
        await teacher.inbox.wait_for(
            lambda e, d: e == "media:state" and d["participants"] == [teacher.id]
        )
        # The room's deletion on node B closes the call at its home, which gives the claim up.
        await teacher_v.call("DELETE", f"/api/rooms/{room_id}", status=204)
        for _ in range(50):
            if await holder(client, session_id) is None:
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError("the home kept the deleted room's session")
    finally:
        await pupil.close()
        await teacher.close()
        await client.aclose()


def rejoins(who: Participant) -> None:
    who.sio.on("media:rejoin", lambda data: who.inbox.add("media:rejoin", data))


@pytest.mark.timeout(120)
async def test_sigkill_of_the_home_moves_the_call_with_its_policy(
    start_cluster: Start, people: People
) -> None:
    cluster, teacher_v, pupil_v, room_id, session_id = await live_session(start_cluster, people)
    client = redis_client(cluster.redis.url)
    pupil = await participant(pupil_v, room_id)  # on node A: the home
    teacher = await participant(teacher_v, room_id)  # on node B
    rejoins(teacher)
    later: list[Participant] = []
    try:
        await pupil.must("media:join")
        await teacher.must("media:join")
        assert await holder(client, session_id) == "node-a"
        await teacher.must("media:mute", user_id=pupil.id)
        await teacher.must("media:lock")
        await teacher.inbox.wait_for(lambda e, d: e == "media:state" and d["locked"])

        assert cluster.a.process is not None
        cluster.a.process.kill()
        notice = await teacher.inbox.wait_for(lambda e, d: e == "media:rejoin", within=20)
        assert notice == {"room_id": room_id, "session_id": session_id}

        # The teacher's client joins again through node B, which becomes the home.
        await teacher.close()
        teacher = Participant(cast(Person, teacher_v), teacher.sio, room_id)
        later.append(teacher)
        joined = await teacher.must("media:join")
        assert await holder(client, session_id) == "node-b"
        assert joined["session"]["id"] == session_id
        assert joined["locked"] is True and joined["muted"] == [pupil.id]
        # The pupil's client reconnects to node B and is let back in despite the lock.
        await pupil.close()
        pupil = await participant(pupil_v, room_id, cluster.url("b"))
        later.append(pupil)
        assert (await pupil.must("media:join"))["muted"] == [pupil.id]
        await in_call(pupil)
        await in_call(teacher)
        await wait_until(lambda: pupil.video_frames_of(teacher.id) >= 3, within=20)
        await wait_until(lambda: teacher.video_frames_of(pupil.id) >= 3, within=20)
        assert await stalls(teacher.audio_frames)  # the teacher's mute still holds
        assert teacher.audio_frames() <= 2
        # The pupil cannot switch their microphone back on either.
        again = await pupil.ask("media:unmute", user_id=pupil.id)
        assert again["ok"] is False and again["error"]["code"] == "forbidden"
    finally:
        for who in {id(p): p for p in (pupil, teacher, *later)}.values():
            await who.close()
        await client.aclose()


@pytest.mark.timeout(90)
async def test_a_home_that_stops_gives_its_claim_up_and_sends_media_rejoin_at_once(
    start_cluster: Start, people: People
) -> None:
    cluster, teacher_v, pupil_v, room_id, session_id = await live_session(start_cluster, people)
    client = redis_client(cluster.redis.url)
    pupil = await participant(pupil_v, room_id)  # on node A: the home
    teacher = await participant(teacher_v, room_id)  # on node B
    rejoins(pupil)
    rejoins(teacher)
    try:
        await pupil.must("media:join")
        await teacher.must("media:join")
        await asyncio.to_thread(cluster.a.stop)  # SIGTERM
        # Well before the claim (15 s) would expire by itself.
        notice = await teacher.inbox.wait_for(lambda e, d: e == "media:rejoin", within=5)
        assert notice == {"room_id": room_id, "session_id": session_id}
        assert pupil.inbox.named("media:rejoin") == [notice]  # before its socket closed
        assert await holder(client, session_id) is None
        assert (await teacher.must("media:join"))["session"]["id"] == session_id
        assert await holder(client, session_id) == "node-b"
    finally:
        await pupil.close()
        await teacher.close()
        await client.aclose()


@pytest.mark.timeout(120)
async def test_without_redis_media_flows_and_requests_to_the_other_nodes_home_answer_503(
    start_cluster: Start, people: People
) -> None:
    cluster, teacher_v, pupil_v, room_id, session_id = await live_session(start_cluster, people)
    pupil = await participant(pupil_v, room_id)  # on node A: the home
    teacher = await participant(teacher_v, room_id)  # on node B
    rejoins(teacher)
    try:
        await pupil.must("media:join")
        await teacher.must("media:join")
        await in_call(pupil)
        await in_call(teacher)
        await wait_until(lambda: teacher.video_frames_of(pupil.id) >= 3, within=20)

        cluster.redis.stop()
        await health(cluster.b, "degraded")
        refused = await teacher.ask("media:hand", raised=True)
        assert refused["ok"] is False and refused["error"]["code"] == "unavailable"
        assert (await pupil.ask("media:hand", raised=True))["ok"]  # the home answers its own
        frames = teacher.video_frames_of(pupil.id)
        await wait_until(lambda: teacher.video_frames_of(pupil.id) > frames + 10, within=10)

        cluster.redis.start()  # empty: the home claims its session again
        await health(cluster.a, "ok")
        await health(cluster.b, "ok")

        client = redis_client(cluster.redis.url)
        replies = []
        try:
            for _ in range(30):  # until the bus is back on both nodes
                replies.append(await teacher.ask("media:hand", raised=True))
                if replies[-1]["ok"]:
                    break
                await asyncio.sleep(1)
            else:
                raise AssertionError((replies, await holder(client, session_id)))
            assert await holder(client, session_id) == "node-a"
        finally:
            await client.aclose()
        await asyncio.sleep(QUIET_SECONDS)  # the edge checks the claim again meanwhile
        assert teacher.inbox.named("media:rejoin") == []  # the call never moved
        frames = teacher.video_frames_of(pupil.id)
        await wait_until(lambda: teacher.video_frames_of(pupil.id) > frames + 10, within=10)
    finally:
        await pupil.close()
        await teacher.close()


@pytest.mark.timeout(120)
async def test_the_home_drops_the_seats_of_a_node_that_died(
    start_cluster: Start, people: People
) -> None:
    cluster, teacher_v, pupil_v, room_id, _ = await live_session(start_cluster, people)
    pupil = await participant(pupil_v, room_id)  # on node A: the home
    teacher = await participant(teacher_v, room_id)  # on node B
    try:
        await pupil.must("media:join")
        await teacher.must("media:join")
        await in_call(teacher)  # its media keeps flowing to node A after node B is gone
        await pupil.inbox.wait_for(
            lambda e, d: e == "media:state" and teacher.id in d["participants"]
        )
        assert cluster.b.process is not None
        pupil.inbox.items.clear()  # from here on
        cluster.b.process.kill()
        # Node B's heartbeat is old after 20 s, and node A's next round (every 10 s) sees it.
        await pupil.inbox.wait_for(
            lambda e, d: e == "media:state" and d["participants"] == [pupil.id], within=45
        )
    finally:
        await pupil.close()
        await teacher.close()
