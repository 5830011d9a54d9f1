"""Replay (`room:join {since}`) and live moderation events never show a member more than the room's
current state shows them: hidden, deleted and edited-away text stays with teachers."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from tests.api.files_helpers import upload
from tests.conftest import Person, join_as_pupil
from tests.realtime.inbox import Inbox

People = Callable[..., Awaitable[Person]]
Room = dict[str, Any]
pytestmark = pytest.mark.timeout(60)

SECRETS = ("hidden words", "deleted words", "before the edit", "deleted title", "trashed.txt")


async def replay(person: Person, room_id: str, since: int = 0) -> dict[str, Any]:
    sio = await person.connect()
    ack = await sio.call("room:join", {"room_id": room_id, "since": since})
    assert ack["ok"], ack
    return ack


def leaked(ack: dict[str, Any]) -> list[str]:
    text = json.dumps(ack["missed"])
    return [secret for secret in SECRETS if secret in text]


async def moderated_room(owner: Person, room_id: str, pupil: Person) -> dict[str, Any]:
    """A room where a teacher hid one post, deleted another and a thread, a pupil edited a post and
    a file went to the trash; returns the surviving post."""
    chat = f"/api/rooms/{room_id}"
    hidden = await pupil.call(
        "POST", f"{chat}/threads", {"title": "T", "body": "hidden words"}, 201
    )
    posts = await pupil.call("GET", f"/api/threads/{hidden['id']}/posts")
    await owner.call("POST", f"/api/posts/{posts[0]['id']}/hide", {"hidden": True})
    doomed = await pupil.call(
        "POST", f"/api/threads/{hidden['id']}/posts", {"body": "deleted words"}, 201
    )
    await owner.call("DELETE", f"/api/posts/{doomed['id']}", status=204)
    kept = await pupil.call(
        "POST", f"/api/threads/{hidden['id']}/posts", {"body": "before the edit"}, 201
    )
    await pupil.call("PATCH", f"/api/posts/{kept['id']}", {"body": "after the edit"})
    gone = await pupil.call("POST", f"{chat}/threads", {"title": "deleted title", "body": "x"}, 201)
    await owner.call("DELETE", f"/api/threads/{gone['id']}", status=204)
    stored = await upload(pupil, room_id, "trashed.txt", b"some bytes")
    await owner.call("DELETE", f"/api/files/{stored['id']}", status=204)
    return dict(kept)


async def test_a_members_replay_shows_only_what_the_room_shows_them_now(
    people: People, room: Room
) -> None:
    owner: Person = room["_owner"]
    pupil = await join_as_pupil(people, owner, room["id"])
    kept = await moderated_room(owner, room["id"], pupil)

    ack = await replay(pupil, room["id"])
    assert leaked(ack) == []
    edits = [m["data"] for m in ack["missed"] if m["data"].get("id") == kept["id"]]
    assert edits and all(data["body"] == "after the edit" for data in edits)
    assert any(m["event"] == "redacted" for m in ack["missed"])
    seqs = [m["data"]["room_seq"] for m in ack["missed"]]
    assert seqs == sorted(seqs) and seqs[-1] == ack["seq"]  # nothing lost from the sequence
    # the post:hide itself names the post and nothing more
    [hide] = [m["data"] for m in ack["missed"] if m["event"] == "post:hide"]
    assert set(hide) == {"id", "room_id", "thread_id", "seq", "hidden", "room_seq"}


async def test_a_teacher_replay_keeps_hidden_posts_but_not_deleted_text(
    people: People, room: Room
) -> None:
    owner: Person = room["_owner"]
    pupil = await join_as_pupil(people, owner, room["id"])
    await moderated_room(owner, room["id"], pupil)
    ack = await replay(owner, room["id"])
    assert leaked(ack) == ["hidden words", "trashed.txt"]  # teachers see hidden posts and the trash
    [hidden] = [m["data"] for m in ack["missed"] if m["data"].get("body") == "hidden words"]
    assert hidden["hidden"] is True


async def test_a_newcomers_replay_starts_at_their_joining(people: People, room: Room) -> None:
    owner: Person = room["_owner"]
    await owner.call(
        "POST", f"/api/rooms/{room['id']}/threads", {"title": "Before you", "body": "old talk"}, 201
    )
    newcomer = await join_as_pupil(people, owner, room["id"])
    ack = await replay(newcomer, room["id"])
    assert "old talk" not in json.dumps(ack["missed"])
    assert "Before you" not in json.dumps(ack["missed"])
    after = await owner.call(
        "POST", f"/api/rooms/{room['id']}/threads", {"title": "With you", "body": "new talk"}, 201
    )
    ack = await replay(newcomer, room["id"])
    assert after["id"] in [m["data"]["id"] for m in ack["missed"] if m["event"] == "thread:new"]


async def test_the_live_hide_event_carries_no_text(people: People, room: Room) -> None:
    owner: Person = room["_owner"]
    pupil = await join_as_pupil(people, owner, room["id"])
    sio = await pupil.connect()
    inbox = Inbox(sio, "post:hide")
    assert (await sio.call("room:join", {"room_id": room["id"]}))["ok"]
    sent = await sio.call("chat:send", {"room_id": room["id"], "body": "hidden words"})
    await owner.call("POST", f"/api/posts/{sent['post']['id']}/hide", {"hidden": True})
    event = await inbox.wait_for(lambda _, d: d["id"] == sent["post"]["id"])
    assert "hidden words" not in json.dumps(event) and event["hidden"] is True
