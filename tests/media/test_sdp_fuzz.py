"""Mutated SDP through `media:*` signalling to the server's real SFU: a valid offer (camera and
microphone) with lines dropped, repeated, swapped, cut short, inserted or with a token replaced is
answered with an SDP or refused as `invalid`/`conflict`, never `internal`, and nothing is logged at
ERROR; the call goes on afterwards."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiortc import RTCSessionDescription
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import Person, join_as_pupil
from tests.fuzz import FUZZ, errors_logged

from .callers import Participant
from .peers import Client, SyntheticCamera, ToneMicrophone

People = Callable[..., Awaitable[Person]]
Room = dict[str, Any]
REFUSALS = {"invalid", "conflict"}

TOKENS = st.one_of(
    st.sampled_from(
        [
            "",
            "0",
            "-1",
            "256",
            "65536",
            "99999999999999999999",
            "a=b",
            "x:y",
            "IN IP4",
            "IP6",
            "UDP/TLS/RTP/SAVPF",
            "actpass",
            "active",
            "holdconn",
            "sha-256",
            "BUNDLE",
            "*",
            "0 1",
            "VP8/90000",
            "opus/48000/2",
            "apt=",
            "typ host",
            "\x00",
        ]
    ),
    st.integers(-3, 300).map(str),
    st.text(max_size=12),
)
ATTRIBUTES = st.sampled_from(
    ["mid", "setup", "fingerprint", "ice-ufrag", "ice-pwd", "rtpmap", "fmtp", "rtcp-fb", "extmap",
     "ssrc", "ssrc-group", "group", "candidate", "msid", "rtcp", "rtcp-mux", "sendrecv",
     "inactive", "end-of-candidates", "ice-lite", "sctp-port"]
)  # fmt: skip


@st.composite
def new_line(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["attribute", "m-line", "other"]))
    if kind == "attribute":
        return f"a={draw(ATTRIBUTES)}:{draw(TOKENS)} {draw(TOKENS)}".rstrip()
    if kind == "m-line":
        media = draw(st.sampled_from(["audio", "video", "application", "text", ""]))
        return f"m={media} {draw(TOKENS)} UDP/TLS/RTP/SAVPF {draw(TOKENS)}"
    return f"{draw(st.sampled_from('vostcbam'))}={draw(TOKENS)}"


@st.composite
def mutated_sdp(draw: st.DrawFn, lines: list[str]) -> str:
    """`lines` of a valid SDP after one to four random edits. Positions are drawn from a fixed
    range and wrapped, so that an example replays the same edits on another SDP of the kind."""
    lines = list(lines)

    def position(size: int) -> int:
        return draw(st.integers(0, 1000)) % max(1, size)

    for _ in range(draw(st.integers(1, 4))):
        edit = draw(st.sampled_from(["drop", "repeat", "swap", "token", "cut", "insert"]))
        at = position(len(lines))
        if edit == "insert" or not lines:
            lines.insert(at, draw(new_line()))
        elif edit == "drop":
            del lines[at]
        elif edit == "repeat":
            lines.insert(position(len(lines) + 1), lines[at])
        elif edit == "swap":
            other = position(len(lines))
            lines[at], lines[other] = lines[other], lines[at]
        elif edit == "token":
            head, colon, rest = lines[at].partition(":")
            tokens = (rest if colon else head).split(" ")
            tokens[position(len(tokens))] = draw(TOKENS)
            lines[at] = head + colon + " ".join(tokens) if colon else " ".join(tokens)
        else:
            lines[at] = lines[at][: position(len(lines[at]) + 1)]
    return "\r\n".join(lines) + "\r\n"


async def offer_of(tracks: list[Any]) -> str:
    """A real aiortc client's offer with these tracks (the client closes: the SFU's answers and
    its ICE checks then go nowhere, which is fine for signalling)."""
    client = Client()
    try:
        for track in tracks:
            client.pc.addTransceiver(track, direction="sendonly")
        return await client.offer_sdp()
    finally:
        await client.close()


@pytest.fixture
async def in_call(people: People, room: Room) -> AsyncIterator[tuple[Participant, list[str]]]:
    """A pupil in the room's live call (the teacher keeps it live), and a valid offer's lines."""
    owner: Person = room["_owner"]
    pupil = await join_as_pupil(people, owner, room["id"])
    teacher = await Participant.connect(owner, room["id"])
    learner = await Participant.connect(pupil, room["id"])
    await teacher.must("media:join")
    await learner.must("media:join")
    offer = await offer_of([SyntheticCamera(), ToneMicrophone()])
    yield learner, offer.rstrip("\r\n").split("\r\n")
    for participant in (teacher, learner):
        await participant.close()


@pytest.mark.timeout(60)
@settings(FUZZ, max_examples=120)
@given(data=st.data())
async def test_mutated_offers_are_answered_or_refused_never_internal(
    in_call: tuple[Participant, list[str]],
    data: st.DataObject,
    caplog: pytest.LogCaptureFixture,
) -> None:
    pupil, lines = in_call
    sdp = data.draw(mutated_sdp(lines))
    caplog.clear()
    ack = await pupil.ask("media:publish", sdp=sdp)
    assert ack["ok"] or ack["error"]["code"] in REFUSALS, (ack, sdp)
    assert errors_logged(caplog) == [], sdp
    if ack["ok"]:  # the next example starts from a fresh publishing connection
        await pupil.must("media:leave")
        await pupil.must("media:join")


@pytest.mark.timeout(60)
async def test_after_bad_offers_a_good_one_is_answered(
    in_call: tuple[Participant, list[str]], caplog: pytest.LogCaptureFixture
) -> None:
    pupil, lines = in_call
    for bad in (
        [line for line in lines if not line.startswith("a=setup")],  # no DTLS role
        [line for line in lines if not line.startswith("a=fingerprint")],
        [line for line in lines if not line.startswith("a=mid")],
        [line.replace("a=mid:1", "a=mid:0") for line in lines],  # two m-lines, one mid
        [line.replace("BUNDLE 0 1", "BUNDLE 0 1 7") for line in lines],
        [line.replace("a=rtpmap:99 ", "a=b ") for line in lines],  # fmtp for a codec not there
        [line.replace("m=video ", "m=video x") for line in lines],  # a port that is no number
        [*lines, "a=candidate:1 1 udp"],
    ):
        ack = await pupil.ask("media:publish", sdp="\r\n".join(bad) + "\r\n")
        assert ack["ok"] is False and ack["error"]["code"] == "invalid", ack
    assert errors_logged(caplog) == []

    camera = SyntheticCamera()
    pupil.pub.pc.addTransceiver(camera, direction="sendonly")
    ack = await pupil.must("media:publish", sdp=await pupil.pub.offer_sdp())
    await pupil.pub.pc.setRemoteDescription(RTCSessionDescription(ack["sdp"], "answer"))
    assert errors_logged(caplog) == []


@pytest.mark.timeout(60)
@settings(FUZZ, max_examples=30)
@given(data=st.data())
async def test_mutated_answers_are_accepted_or_refused_never_internal(
    in_call: tuple[Participant, list[str]],
    data: st.DataObject,
    caplog: pytest.LogCaptureFixture,
) -> None:
    pupil, _ = in_call
    await pupil.must("media:leave")  # a fresh participant, whatever the last example left
    await pupil.must("media:join")
    offer = await pupil.must("media:subscribe")
    client = Client()
    try:
        answer = await client.answer_sdp(offer["sdp"])
    finally:
        await client.close()
    sdp = data.draw(mutated_sdp(answer.rstrip("\r\n").split("\r\n")))
    caplog.clear()
    ack = await pupil.ask("media:answer", sdp=sdp)
    assert ack["ok"] or ack["error"]["code"] in REFUSALS, (ack, sdp)
    assert errors_logged(caplog) == [], sdp
