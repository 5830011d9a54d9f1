"""Live sessions end to end: real aiortc peers signalling with the server's SFU over Socket.IO."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from rooms.errors import NotFound
from server.realtime.calls import CALLS
from server.realtime.hub import HUB, Caller
from server.realtime.ice import SFU
from tests.conftest import Person, join_as_pupil

from .callers import Participant
from .conftest import open_connections
from .peers import Client, SyntheticCamera, ToneMicrophone, wait_until

People = Callable[..., Awaitable[Person]]
Room = dict[str, Any]


@pytest.fixture
async def class_call(people: People, room: Room) -> AsyncIterator[tuple[Participant, Participant]]:
    """The room's owner (a teacher) and a pupil, both connected to the room, not yet in the call."""
    owner: Person = room["_owner"]
    pupil = await join_as_pupil(people, owner, room["id"], "zofia")
    teacher = await Participant.connect(owner, room["id"])
    learner = await Participant.connect(pupil, room["id"])
    yield teacher, learner
    for participant in (teacher, learner):
        await participant.close()


async def streaming(
    teacher: Participant, pupil: Participant, sender: Participant, tracks: list[Any]
) -> Participant:
    """Both in the call, `sender` publishing `tracks`, the other one receiving its video."""
    await teacher.must("media:join")
    await pupil.must("media:join")
    await sender.publish(tracks, {})
    receiver = pupil if sender is teacher else teacher
    await receiver.subscribe()
    await wait_until(lambda: receiver.video_frames() >= 3, within=20)
    return receiver


async def stalls(count: Callable[[], int], seconds: float = 1.0) -> bool:
    """Whether `count()` stops growing: at most a few in-flight frames over `seconds`."""
    await asyncio.sleep(0.5)  # let frames already in flight arrive
    before = count()
    await asyncio.sleep(seconds)
    return count() - before <= 2


@pytest.mark.timeout(60)
async def test_pupil_receives_teachers_video_and_teacher_controls_stop_forwarding(
    class_call: tuple[Participant, Participant],
) -> None:
    teacher, pupil = class_call
    joined = await teacher.must("media:join")
    assert joined["waiting"] is False and joined["session"]["status"] == "live"
    assert joined["ice_servers"] == [] and joined["camera_off"] is False
    assert (await pupil.must("media:join"))["camera_off"] is True  # the room's default for pupils

    camera, microphone = SyntheticCamera(), ToneMicrophone()
    await teacher.publish([camera, microphone], {camera.id: "camera"})
    await pupil.publish([SyntheticCamera(), ToneMicrophone()], {})
    await pupil.subscribe()
    await teacher.subscribe()
    await wait_until(lambda: pupil.video_frames() >= 3, within=20)
    await wait_until(lambda: teacher.audio_frames() >= 10, within=20)

    slots = await pupil.inbox.wait_for(
        lambda e, d: (
            e == "media:slots"
            and any(s["user_id"] == teacher.id and s["kind"] == "video" for s in d["slots"])
        )
    )
    assert {s["kind"] for s in slots["slots"]} == {"audio", "video"}
    tracks = pupil.inbox.named("media:tracks")[-1]["tracks"]
    assert {(t["user_id"], t["source"]) for t in tracks} >= {
        (teacher.id, "camera"),
        (teacher.id, "microphone"),
    }

    await teacher.must("media:mute", user_id=pupil.id)
    notice = await pupil.inbox.wait_for(lambda e, d: e == "moderation" and d["action"] == "mute")
    assert notice == {
        "room_id": teacher.room_id,
        "action": "mute",
        "user_id": pupil.id,
        "by": teacher.id,
    }
    assert await stalls(teacher.audio_frames)

    await teacher.must("media:moderate", action="video_off", user_id=teacher.id)
    await teacher.inbox.wait_for(lambda e, d: e == "moderation" and d["action"] == "video_off")
    assert await stalls(pupil.video_frames)
    await teacher.must("media:video_on", user_id=teacher.id)
    frames = pupil.video_frames()
    await wait_until(lambda: pupil.video_frames() > frames + 3, within=10)


@pytest.mark.timeout(60)
async def test_the_class_sees_who_is_speaking_until_a_teacher_mutes_them(
    class_call: tuple[Participant, Participant],
) -> None:
    teacher, pupil = class_call
    await streaming(teacher, pupil, pupil, [SyntheticCamera(), ToneMicrophone()])
    heard = await teacher.inbox.wait_for(
        lambda e, d: e == "media:speaking" and pupil.id in d["speaking"]
    )
    assert heard["room_id"] == teacher.room_id and heard["speaking"] == [pupil.id]
    await teacher.must("media:mute", user_id=pupil.id)
    await wait_until(lambda: teacher.inbox.named("media:speaking")[-1]["speaking"] == [])


@pytest.mark.timeout(60)
async def test_pupils_cannot_moderate_and_outsiders_cannot_join(
    class_call: tuple[Participant, Participant], people: People
) -> None:
    teacher, pupil = class_call
    await teacher.must("media:join")
    await pupil.must("media:join")
    for event, data in (
        ("media:mute", {"user_id": teacher.id}),
        ("media:session_remove", {"user_id": teacher.id}),
        ("media:lock", {}),
        ("media:moderate", {"action": "video_off", "user_id": teacher.id}),
        ("media:spotlight", {"user_id": pupil.id}),
        ("media:end", {}),
    ):
        ack = await pupil.ask(event, **data)
        assert ack["error"]["code"] == "forbidden", (event, ack)

    stranger = await people("stranger")
    sio = await stranger.connect()
    ack = await sio.call("media:join", {"room_id": teacher.room_id}, timeout=10)
    assert ack["ok"] is False and ack["error"]["code"] == "not_found"


@pytest.mark.timeout(60)
async def test_media_controls_follow_the_forum_mute_rule(
    class_call: tuple[Participant, Participant], people: People, room: Room
) -> None:
    teacher, pupil = class_call
    owner = teacher.person
    invite = await owner.call(
        "POST", f"/api/rooms/{room['id']}/invites", {"role": "teacher"}, status=201
    )
    partner_person = await people("partner")
    await partner_person.call("POST", "/api/join", {"code": invite["code"]})
    invite = await owner.call(
        "POST", f"/api/rooms/{room['id']}/invites", {"role": "teacher"}, status=201
    )
    second_person = await people("second")
    await second_person.call("POST", "/api/join", {"code": invite["code"]})
    partner = await Participant.connect(partner_person, room["id"])
    second = await Participant.connect(second_person, room["id"])
    try:
        for participant in (teacher, pupil, partner, second):
            await participant.must("media:join")
        mutes = f"/api/rooms/{room['id']}/mutes"
        # The forum: a partner teacher mutes members, never the owner or another teacher.
        await partner_person.call("PUT", f"{mutes}/{owner.id}", {"minutes": 5}, status=403)
        await partner_person.call("PUT", f"{mutes}/{second.id}", {"minutes": 5}, status=403)
        await partner_person.call("PUT", f"{mutes}/{pupil.id}", {"minutes": 0})
        # The call, the same: neither by event nor through media:moderate.
        for target in (teacher, second):
            for action in ("mute", "unmute", "video_off", "video_on"):
                ack = await partner.ask(f"media:{action}", user_id=target.id)
                assert ack["error"]["code"] == "forbidden", (action, ack)
                ack = await partner.ask("media:moderate", action=action, user_id=target.id)
                assert ack["error"]["code"] == "forbidden", (action, ack)
        state = await partner.must("media:unmute", user_id=pupil.id)
        assert state == {"ok": True}
        await partner.must("media:video_off", user_id=pupil.id)
        await partner.must("media:mute", user_id=partner.id)  # one's own media is one's own
        await teacher.must("media:mute", user_id=second.id)  # the owner mutes teachers
        muted = await pupil.inbox.wait_for(
            lambda e, d: e == "media:state" and second.id in d["muted"]
        )
        assert teacher.id not in muted["muted"] and teacher.id not in muted["video_off"]
        assert muted["video_off"] == [pupil.id] and muted["muted"] == sorted(
            [partner.id, second.id]
        )
        await partner.must("media:unmute", user_id=partner.id)
        assert (await partner.ask("media:unmute", user_id=second.id))["error"][
            "code"
        ] == "forbidden"
    finally:
        for participant in (partner, second):
            await participant.close()


@pytest.mark.timeout(60)
async def test_mute_everyone_mutes_whom_the_teacher_may_mute_and_stops_their_audio(
    class_call: tuple[Participant, Participant], people: People, room: Room
) -> None:
    teacher, pupil = class_call
    owner = teacher.person
    invite = await owner.call(
        "POST", f"/api/rooms/{room['id']}/invites", {"role": "teacher"}, status=201
    )
    partner_person = await people("partner")
    await partner_person.call("POST", "/api/join", {"code": invite["code"]})
    guest_person = await join_as_pupil(people, owner, room["id"], "gustav")
    await owner.call(
        "PATCH", f"/api/rooms/{room['id']}/members/{guest_person.id}", {"role": "guest"}
    )
    partner = await Participant.connect(partner_person, room["id"])
    guest = await Participant.connect(guest_person, room["id"])
    try:
        for participant in (teacher, pupil, partner, guest):
            await participant.must("media:join")
        await pupil.publish([ToneMicrophone()], {})
        await teacher.subscribe()
        await wait_until(lambda: teacher.audio_frames() >= 10, within=20)
        assert (await pupil.ask("media:mute_all"))["error"]["code"] == "forbidden"
        ack = await pupil.ask("media:moderate", action="mute_all")
        assert ack["error"]["code"] == "forbidden"

        # A partner teacher mutes members and guests, never the owner, nor themselves.
        ack = await partner.must("media:mute_all")
        assert ack == {"ok": True, "muted": sorted([pupil.id, guest.id])}
        told = await pupil.inbox.wait_for(
            lambda e, d: e == "moderation" and d.get("user_id") == pupil.id
        )
        assert told == {
            "room_id": room["id"],
            "action": "mute",
            "user_id": pupil.id,
            "by": partner.id,
        }
        state = await teacher.inbox.wait_for(
            lambda e, d: e == "media:state" and guest.id in d["muted"]
        )
        assert state["muted"] == sorted([pupil.id, guest.id])
        assert await stalls(teacher.audio_frames)

        # The owner's also mutes teachers, through `media:moderate` as well.
        ack = await teacher.must("media:moderate", action="mute_all")
        assert ack["muted"] == sorted([pupil.id, guest.id, partner.id])
        state = await pupil.inbox.wait_for(
            lambda e, d: e == "media:state" and partner.id in d["muted"]
        )
        assert teacher.id not in state["muted"]
    finally:
        for participant in (partner, guest):
            await participant.close()


@pytest.mark.timeout(60)
async def test_pupils_switch_their_own_media_but_not_back_on_past_a_teacher(
    class_call: tuple[Participant, Participant],
) -> None:
    teacher, pupil = class_call
    await teacher.must("media:join")
    await pupil.must("media:join")
    # A pupil's camera off reaches everyone (their tile shows initials), and on again.
    await pupil.must("media:video_off", user_id=pupil.id)
    state = await teacher.inbox.wait_for(
        lambda e, d: e == "media:state" and pupil.id in d["video_off"]
    )
    assert state["video_off"] == [pupil.id]
    await pupil.must("media:moderate", action="video_on", user_id=pupil.id)
    await teacher.inbox.wait_for(lambda e, d: e == "media:state" and d["video_off"] == [])
    await pupil.must("media:mute", user_id=pupil.id)
    await pupil.must("media:unmute", user_id=pupil.id)

    # What a teacher switched off stays off, even after the pupil's own switch.
    await teacher.must("media:mute", user_id=pupil.id)
    refused = await pupil.ask("media:unmute", user_id=pupil.id)
    assert refused["error"]["code"] == "forbidden"
    await pupil.must("media:video_off", user_id=pupil.id)
    await teacher.must("media:video_off", user_id=pupil.id)
    refused = await pupil.ask("media:video_on", user_id=pupil.id)
    assert refused["error"]["code"] == "forbidden"
    assert (await pupil.ask("media:mute_all"))["error"]["code"] == "forbidden"
    await teacher.must("media:unmute", user_id=pupil.id)
    await pupil.must("media:mute", user_id=pupil.id)
    await pupil.must("media:unmute", user_id=pupil.id)


@pytest.mark.timeout(60)
async def test_malformed_sdp_gets_an_error_ack_and_the_call_goes_on(
    class_call: tuple[Participant, Participant],
) -> None:
    teacher, pupil = class_call
    await teacher.must("media:join")
    await pupil.must("media:join")
    for sdp in ("garbage", "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n"):
        ack = await teacher.ask("media:publish", sdp=sdp)
        assert ack["ok"] is False and ack["error"]["code"] == "invalid"
    ack = await teacher.ask("media:answer", sdp="v=0\r\n")
    assert ack["ok"] is False and ack["error"]["code"] == "conflict"
    bad = await teacher.ask("media:publish", sdp=42)
    assert bad["error"]["code"] == "invalid"

    await teacher.publish([SyntheticCamera()], {})
    await pupil.subscribe()
    await wait_until(lambda: pupil.video_frames() >= 3, within=20)


@pytest.mark.timeout(60)
async def test_lobby_holds_pupils_until_a_teacher_admits_them(
    class_call: tuple[Participant, Participant], room: Room
) -> None:
    teacher, pupil = class_call
    await teacher.person.call("PATCH", f"/api/rooms/{room['id']}", {"settings": {"lobby": True}})
    await teacher.must("media:join")

    waiting = await pupil.must("media:join")
    assert waiting["waiting"] is True and "ice_servers" not in waiting
    state = await teacher.inbox.wait_for(
        lambda e, d: e == "media:state" and pupil.id in d["waiting"]
    )
    assert state["participants"] == [teacher.id]
    assert (await pupil.ask("media:subscribe"))["error"]["code"] == "not_found"
    assert (await pupil.ask("media:lobby_admit", user_id=pupil.id))["error"]["code"] == "forbidden"

    await teacher.must("media:lobby_admit", user_id=pupil.id)
    await pupil.inbox.wait_for(lambda e, d: e == "moderation" and d["action"] == "lobby_admit")
    admitted = await pupil.must("media:join")
    assert admitted["waiting"] is False and admitted["participants"] == sorted(
        [teacher.id, pupil.id]
    )

    await teacher.must("media:lock")
    await pupil.must("media:leave")
    assert (await pupil.ask("media:join"))["error"]["code"] == "forbidden"
    await teacher.must("media:unlock")
    again = await pupil.must("media:join")  # admitted once: no second wait
    assert again["waiting"] is False

    # Removed from the session, a pupil must be admitted again.
    await teacher.must("media:session_remove", user_id=pupil.id)
    removed = await teacher.inbox.wait_for(
        lambda e, d: e == "media:state" and d["participants"] == [teacher.id]
    )
    assert removed["waiting"] == []
    assert (await pupil.ask("media:subscribe"))["error"]["code"] == "not_found"
    assert (await pupil.must("media:join"))["waiting"] is True


@pytest.mark.timeout(60)
async def test_member_removed_from_the_room_loses_their_media(
    class_call: tuple[Participant, Participant], server: TestServer
) -> None:
    teacher, pupil = class_call
    await streaming(teacher, pupil, pupil, [SyntheticCamera(), ToneMicrophone()])
    calls = server.app[CALLS]
    call = calls.calls[teacher.room_id]
    seat = call.seats_of(pupil.id)[0]
    session = server.app[SFU]._sessions[call.session.id]
    pupil_pc = session.participants[seat.participant_id].publisher
    assert pupil_pc is not None

    await teacher.person.call(
        "DELETE", f"/api/rooms/{teacher.room_id}/members/{pupil.id}", status=204
    )

    assert call.seats_of(pupil.id) == []
    assert seat.participant_id not in session.participants
    assert pupil_pc.connectionState == "closed"
    assert await stalls(teacher.video_frames)
    assert (await pupil.ask("media:join"))["error"]["code"] == "not_found"


@pytest.mark.timeout(60)
async def test_ending_the_session_posts_its_summary_and_closes_all_media(
    class_call: tuple[Participant, Participant], server: TestServer
) -> None:
    teacher, pupil = class_call
    await streaming(teacher, pupil, teacher, [SyntheticCamera(), ToneMicrophone()])
    ack = await pupil.sio.call("chat:send", {"room_id": pupil.room_id, "body": "Bonjour *tous*"})
    assert ack["ok"], ack
    await pupil.must("media:hand", raised=True)
    hand = await teacher.inbox.wait_for(lambda e, d: e == "media:hand")
    assert hand["user_id"] == pupil.id and hand["raised"] is True

    ended = (await teacher.must("media:end"))["session"]
    assert ended["status"] == "ended" and ended["summary_thread_id"]

    threads = await teacher.person.call("GET", f"/api/rooms/{teacher.room_id}/threads")
    summary = next(t for t in threads if t["id"] == ended["summary_thread_id"])
    assert summary["kind"] == "forum" and summary["post_count"] == 1
    posts = await pupil.person.call("GET", f"/api/threads/{summary['id']}/posts")
    assert len(posts) == 1 and posts[0]["seq"] == summary["last_seq"]
    body = posts[0]["body"]
    assert "Zofia (FR)" in body and "Owner (FR)" in body
    assert "Bonjour \\*tous\\*" in body and "<em>" not in posts[0]["html"]
    assert "### Participants (2)" in body

    assert server.app[SFU].session_ids() == []
    assert server.app[CALLS].calls == {}
    for participant in (teacher, pupil):
        await participant.close()
    assert open_connections() == []
    after = await pupil.must("media:join")  # no seat in an ended session: wait for the next
    assert after["waiting"] is True and after["session"] is None


@pytest.mark.timeout(60)
async def test_deleting_the_room_closes_its_call(
    class_call: tuple[Participant, Participant], server: TestServer
) -> None:
    teacher, pupil = class_call
    await streaming(teacher, pupil, teacher, [SyntheticCamera()])
    session = server.app[SFU]._sessions[server.app[CALLS].calls[teacher.room_id].session.id]
    connections = [
        pc for p in session.participants.values() for pc in (p.publisher, p.subscriber) if pc
    ]

    await teacher.person.call("DELETE", f"/api/rooms/{teacher.room_id}", status=204)

    assert server.app[SFU].session_ids() == [] and server.app[CALLS].calls == {}
    assert {pc.connectionState for pc in connections} == {"closed"}
    assert await stalls(pupil.video_frames)


@pytest.mark.timeout(60)
async def test_a_member_demoted_to_guest_stops_sending_media(
    class_call: tuple[Participant, Participant], server: TestServer
) -> None:
    teacher, pupil = class_call
    await streaming(teacher, pupil, pupil, [SyntheticCamera()])
    path = f"/api/rooms/{teacher.room_id}/members/{pupil.id}"

    await teacher.person.call("PATCH", path, {"role": "guest"})

    assert server.app[CALLS].calls[teacher.room_id].seats_of(pupil.id) == []
    assert await stalls(teacher.video_frames)
    await pupil.must("media:join")  # guests may watch
    camera = Client()
    try:
        camera.pc.addTransceiver(SyntheticCamera(), direction="sendonly")
        refused = await pupil.ask("media:publish", sdp=await camera.offer_sdp())
    finally:
        await camera.close()
    assert refused["error"]["code"] == "forbidden"


@pytest.mark.timeout(60)
async def test_a_join_that_loses_the_race_with_the_end_gets_no_seat(
    class_call: tuple[Participant, Participant], server: TestServer
) -> None:
    teacher, pupil = class_call
    await teacher.must("media:join")
    calls = server.app[CALLS]
    call = calls.calls[teacher.room_id]
    await teacher.must("media:end")

    # The pupil's join had read the call just before the end: it must not sit down in it.
    hub = server.app[HUB]
    sid = hub.connections.sockets_of(pupil.id)[0]
    user = hub.connections.user(sid)
    assert user is not None
    with pytest.raises(NotFound):
        await calls.sit(call, Caller(sid, user), "member")
    await calls.sessions.attend(call.session.id, pupil.id)
    attendance = await calls.sessions.attendance(call.session.id)
    assert [a["user_id"] for a in attendance] == [teacher.id]
    assert server.app[SFU].session_ids() == [] and calls.calls == {}


@pytest.mark.timeout(60)
async def test_slot_announcements_are_versioned_so_the_latest_wins(
    class_call: tuple[Participant, Participant],
) -> None:
    teacher, pupil = class_call
    await teacher.must("media:join")
    await pupil.must("media:join")
    # The pupil subscribes while the teacher's camera is still on its way: whatever order the
    # ack and the announcements arrive in, the highest version says what the slots carry.
    camera = SyntheticCamera()
    publishing = asyncio.ensure_future(teacher.publish([camera], {camera.id: "camera"}))
    ack = await pupil.subscribe()
    await publishing
    assert ack["version"] >= 1
    latest = await pupil.inbox.wait_for(
        lambda e, d: e == "media:slots" and any(s["user_id"] == teacher.id for s in d["slots"])
    )
    versions = [d["version"] for d in pupil.inbox.named("media:slots")]
    assert versions == sorted(set(versions)), versions  # one per announcement, increasing
    assert latest["version"] > ack["version"] or ack["slots"] == latest["slots"]
    assert pupil.slots_version == max([ack["version"], *versions])
    assert any(s["user_id"] == teacher.id for s in pupil.slots.values())
    await wait_until(lambda: pupil.video_frames_of(teacher.id) >= 3, within=20)


@pytest.mark.timeout(60)
async def test_a_pupil_who_arrives_before_the_teacher_waits_and_is_seated_at_the_start(
    class_call: tuple[Participant, Participant], room: Room
) -> None:
    teacher, pupil = class_call
    early = await pupil.must("media:join")
    assert early == {"ok": True, "room_id": pupil.room_id, "waiting": True, "session": None}
    assert (await pupil.ask("media:subscribe"))["error"]["code"] == "not_found"

    # Both press Join at once: the pupil's join crosses the start, and still ends up seated.
    joined, seated = await asyncio.gather(teacher.must("media:join"), pupil.enter())
    assert seated["waiting"] is False and seated["session"]["id"] == joined["session"]["id"]
    assert pupil.live_sessions()[-1]["id"] == joined["session"]["id"]
    await pupil.must("media:leave")
    await teacher.must("media:end")

    # With the lobby on, the pupil who waited for the start then waits to be let in.
    await teacher.person.call("PATCH", f"/api/rooms/{room['id']}", {"settings": {"lobby": True}})
    assert (await pupil.must("media:join"))["session"] is None
    await teacher.must("media:join")
    lobby = await pupil.enter()
    assert lobby["waiting"] is True and lobby["session"]["status"] == "live"
    await teacher.inbox.wait_for(lambda e, d: e == "media:state" and pupil.id in d["waiting"])
