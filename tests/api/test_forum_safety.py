"""What a member can still reach after a teacher acted: deleted threads' posts, and edits, renames
and reactions by a muted, locked-out or demoted member."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from tests.api.test_forum import open_thread
from tests.conftest import Person, join_as_pupil

People = Callable[..., Awaitable[Person]]
Room = dict[str, Any]
pytestmark = pytest.mark.timeout(60)


async def test_the_posts_of_a_deleted_thread_are_gone_for_every_route(
    people: People, room: Room
) -> None:
    owner: Person = room["_owner"]
    pupil = await join_as_pupil(people, owner, room["id"], "mila")
    thread = await open_thread(owner, room["id"], "Doomed", "zebrafish @mila")
    [post] = await pupil.call("GET", f"/api/threads/{thread['id']}/posts")
    assert [p["id"] for p in await pupil.call("GET", "/api/me/mentions")] == [post["id"]]
    await owner.call("DELETE", f"/api/threads/{thread['id']}", status=204)

    await pupil.call("POST", f"/api/posts/{post['id']}/reactions", {"emoji": "👍"}, status=404)
    await pupil.call("POST", f"/api/posts/{post['id']}/report", {"reason": "x"}, status=404)
    await pupil.call("PATCH", f"/api/posts/{post['id']}", {"body": "changed"}, status=404)
    found = await pupil.call("GET", f"/api/rooms/{room['id']}/search?q=zebrafish")
    assert found == {"threads": [], "posts": []}
    assert await pupil.call("GET", "/api/me/mentions") == []


async def test_a_muted_member_edits_renames_and_reacts_no_more(people: People, room: Room) -> None:
    owner: Person = room["_owner"]
    pupil = await join_as_pupil(people, owner, room["id"])
    thread = await open_thread(pupil, room["id"], "Mine", "my words")
    [post] = await pupil.call("GET", f"/api/threads/{thread['id']}/posts")
    await owner.call("PUT", f"/api/rooms/{room['id']}/mutes/{pupil.id}", {"minutes": 10})

    refused = await pupil.call("PATCH", f"/api/posts/{post['id']}", {"body": "x"}, status=403)
    assert "muted" in refused["error"]["message"]
    await pupil.call("PATCH", f"/api/threads/{thread['id']}", {"title": "Renamed"}, status=403)
    await pupil.call("POST", f"/api/posts/{post['id']}/reactions", {"emoji": "👍"}, status=403)
    [unchanged] = await owner.call("GET", f"/api/threads/{thread['id']}/posts")
    assert unchanged["body"] == "my words" and unchanged["reactions"] == {}

    await owner.call("PUT", f"/api/rooms/{room['id']}/mutes/{pupil.id}", {"minutes": 0})
    await pupil.call("PATCH", f"/api/posts/{post['id']}", {"body": "fixed typo"})


async def test_a_locked_thread_takes_no_edit_or_rename_from_members(
    people: People, room: Room
) -> None:
    owner: Person = room["_owner"]
    pupil = await join_as_pupil(people, owner, room["id"])
    thread = await open_thread(pupil, room["id"], "Mine", "my words")
    [post] = await pupil.call("GET", f"/api/threads/{thread['id']}/posts")
    await owner.call("PATCH", f"/api/threads/{thread['id']}", {"locked": True})
    await pupil.call("PATCH", f"/api/threads/{thread['id']}", {"title": "Renamed"}, status=403)
    await pupil.call("PATCH", f"/api/posts/{post['id']}", {"body": "x"}, status=403)
    assert (await owner.call("GET", f"/api/threads/{thread['id']}"))["title"] == "Mine"


async def test_a_member_demoted_to_guest_edits_nothing(people: People, room: Room) -> None:
    owner: Person = room["_owner"]
    pupil = await join_as_pupil(people, owner, room["id"])
    thread = await open_thread(pupil, room["id"], "Mine", "my words")
    [post] = await pupil.call("GET", f"/api/threads/{thread['id']}/posts")
    await owner.call("PATCH", f"/api/rooms/{room['id']}/members/{pupil.id}", {"role": "guest"})
    await pupil.call("PATCH", f"/api/posts/{post['id']}", {"body": "x"}, status=403)
    await pupil.call("PATCH", f"/api/threads/{thread['id']}", {"title": "Renamed"}, status=403)


async def test_a_hidden_post_takes_no_reaction_even_from_teachers(
    people: People, room: Room
) -> None:
    owner: Person = room["_owner"]
    thread = await open_thread(owner, room["id"])
    [post] = await owner.call("GET", f"/api/threads/{thread['id']}/posts")
    await owner.call("POST", f"/api/posts/{post['id']}/hide", {"hidden": True})
    await owner.call("POST", f"/api/posts/{post['id']}/reactions", {"emoji": "👍"}, status=403)
