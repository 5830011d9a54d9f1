"""The report queue and the audit log name who and what a teacher acts on, with a link target."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from tests.conftest import Person, join_as_pupil

pytestmark = pytest.mark.both_engines

People = Callable[..., Awaitable[Person]]
Room = dict[str, Any]


async def test_reports_and_the_audit_log_name_their_targets(people: People, room: Room) -> None:
    owner: Person = room["_owner"]
    base = f"/api/rooms/{room['id']}"
    pupil = await join_as_pupil(people, owner, room["id"], "tomek")
    witness = await join_as_pupil(people, owner, room["id"], "ada")
    thread = await owner.call(
        "POST", f"{base}/threads", {"title": "Rivers", "body": "Which river?"}, status=201
    )
    long_body = "The **Vistula** " + "flows north " * 20
    post = await pupil.call(
        "POST", f"/api/threads/{thread['id']}/posts", {"body": long_body}, status=201
    )
    other = await pupil.call(
        "POST", f"/api/threads/{thread['id']}/posts", {"body": "second"}, status=201
    )
    await witness.call("POST", f"/api/posts/{post['id']}/report", {"reason": "rude"}, status=201)
    report = await witness.call("POST", f"/api/posts/{other['id']}/report", {}, status=201)

    queue = await owner.call("GET", f"{base}/reports")
    assert [(r["post_id"], r["thread_id"], r["author"]) for r in queue] == [
        (post["id"], thread["id"], {"id": pupil.id, "display_name": "Tomek"}),
        (other["id"], thread["id"], {"id": pupil.id, "display_name": "Tomek"}),
    ]

    await owner.call("POST", f"/api/posts/{post['id']}/hide", {"hidden": True})
    await owner.call("DELETE", f"{base}/reports/{report['id']}", status=204)
    await owner.call("PUT", f"{base}/mutes/{pupil.id}", {"minutes": 10})
    await owner.call("PUT", f"{base}/chat_mode", {"mode": "teachers"})
    await owner.call("DELETE", f"/api/threads/{thread['id']}", status=204)

    log = await owner.call("GET", f"{base}/audit")
    targets = {e["action"]: e["target"] for e in log}
    tomek = {"id": pupil.id, "display_name": "Tomek"}
    hidden = targets["post_hide"]
    assert hidden["kind"] == "post" and hidden["id"] == post["id"]
    assert hidden["post"]["author"] == tomek and hidden["post"]["thread_id"] == thread["id"]
    assert hidden["post"]["excerpt"].startswith("The **Vistula** flows north")
    assert len(hidden["post"]["excerpt"]) == 80 and hidden["post"]["excerpt"].endswith("…")
    dismissed = targets["report_dismiss"]
    assert dismissed["kind"] == "report" and dismissed["post"]["id"] == other["id"]
    assert dismissed["post"]["author"] == tomek and dismissed["post"]["excerpt"] == "second"
    assert targets["member_mute"] == {"kind": "user", "id": pupil.id, "name": "Tomek"}
    assert targets["chat_mode"] == {"kind": "room", "id": room["id"], "name": room["name"]}
    assert targets["thread_delete"] == {"kind": "thread", "id": thread["id"], "name": "Rivers"}


async def test_only_the_rooms_teachers_read_the_queue_and_the_log(
    people: People, room: Room
) -> None:
    owner: Person = room["_owner"]
    base = f"/api/rooms/{room['id']}"
    pupil = await join_as_pupil(people, owner, room["id"])
    partner = await people("partner")
    invite = await owner.call("POST", f"{base}/invites", {"role": "teacher"}, status=201)
    await partner.call("POST", "/api/join", {"code": invite["code"]})
    stranger = await people("stranger")
    anonymous = await people(signup=False)
    for path in (f"{base}/audit", f"{base}/reports", f"{base}/mutes"):
        await partner.call("GET", path)
        await pupil.call("GET", path, status=403)
        await stranger.call("GET", path, status=404)
        await anonymous.call("GET", path, status=401)


async def test_teachers_list_who_is_muted_until_when(people: People, room: Room) -> None:
    owner: Person = room["_owner"]
    base = f"/api/rooms/{room['id']}"
    pupil = await join_as_pupil(people, owner, room["id"])
    other = await join_as_pupil(people, owner, room["id"])
    assert await owner.call("GET", f"{base}/mutes") == []
    event = await owner.call("PUT", f"{base}/mutes/{pupil.id}", {"minutes": 30})
    await owner.call("PUT", f"{base}/mutes/{other.id}", {"minutes": 10})
    await owner.call("PUT", f"{base}/mutes/{other.id}", {"minutes": 0})
    assert await owner.call("GET", f"{base}/mutes") == [
        {"user_id": pupil.id, "until": event["until"]}
    ]
