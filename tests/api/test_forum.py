"""The forum over HTTP: threads, posts, paging, edits, deletes, moderation, search."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from tests.conftest import Person, join_as_pupil, not_found

People = Callable[..., Awaitable[Person]]
Room = dict[str, Any]
pytestmark = [pytest.mark.timeout(60), pytest.mark.both_engines]


async def open_thread(
    person: Person, room_id: str, title: str = "Our rivers", body: str = "Hello **all**"
) -> Any:
    return await person.call(
        "POST", f"/api/rooms/{room_id}/threads", {"title": title, "body": body}, status=201
    )


async def test_each_room_has_one_chat_thread_listed_with_the_threads(room: Room) -> None:
    owner: Person = room["_owner"]
    [chat] = await owner.call("GET", f"/api/rooms/{room['id']}/threads")
    assert chat["kind"] == "chat" and chat["title"] == "Chat" and chat["post_count"] == 0
    body = await owner.call("DELETE", f"/api/threads/{chat['id']}", status=409)
    assert body["error"]["code"] == "conflict"


async def test_a_thread_body_becomes_its_first_post_rendered_and_kept(room: Room) -> None:
    owner: Person = room["_owner"]
    thread = await open_thread(owner, room["id"])
    assert thread == {
        **thread,
        "kind": "forum",
        "title": "Our rivers",
        "post_count": 1,
        "pinned": False,
    }
    assert thread["author"] == {"id": owner.id, "display_name": "Owner", "country": "FR"}
    [post] = await owner.call("GET", f"/api/threads/{thread['id']}/posts")
    assert post["body"] == "Hello **all**" and post["html"] == "<p>Hello <strong>all</strong></p>\n"
    assert post["seq"] == thread["last_seq"] and post["edited_at"] is None
    assert post["created_at"].endswith("Z")


async def test_posts_page_with_after_and_limit(room: Room) -> None:
    owner: Person = room["_owner"]
    thread = await open_thread(owner, room["id"])
    for i in range(5):
        await owner.call(
            "POST", f"/api/threads/{thread['id']}/posts", {"body": f"post {i}"}, status=201
        )
    first = await owner.call("GET", f"/api/threads/{thread['id']}/posts?limit=3")
    rest = await owner.call("GET", f"/api/threads/{thread['id']}/posts?after={first[-1]['seq']}")
    assert [p["body"] for p in first + rest] == ["Hello **all**"] + [f"post {i}" for i in range(5)]
    for bad in ("limit=0", "limit=201", "after=-1", "limit=x"):
        await owner.call("GET", f"/api/threads/{thread['id']}/posts?{bad}", status=400)


async def test_only_the_author_edits_and_teachers_read_the_history(
    people: People, room: Room
) -> None:
    owner: Person = room["_owner"]
    pupil = await join_as_pupil(people, owner, room["id"])
    thread = await open_thread(owner, room["id"])
    post = await pupil.call(
        "POST", f"/api/threads/{thread['id']}/posts", {"body": "first"}, status=201
    )
    await owner.call("PATCH", f"/api/posts/{post['id']}", {"body": "teacher edit"}, status=403)
    edited = await pupil.call("PATCH", f"/api/posts/{post['id']}", {"body": "second"})
    assert edited["body"] == "second" and edited["edited_at"] is not None
    history = await owner.call("GET", f"/api/posts/{post['id']}/history")
    assert [h["body"] for h in history] == ["first"]
    await pupil.call("GET", f"/api/posts/{post['id']}/history", status=403)


async def test_delete_by_author_or_teacher_and_the_audit_log(people: People, room: Room) -> None:
    owner: Person = room["_owner"]
    pupil = await join_as_pupil(people, owner, room["id"])
    other = await join_as_pupil(people, owner, room["id"])
    thread = await open_thread(owner, room["id"])
    mine = await pupil.call(
        "POST", f"/api/threads/{thread['id']}/posts", {"body": "mine"}, status=201
    )
    rude = await pupil.call(
        "POST", f"/api/threads/{thread['id']}/posts", {"body": "rude"}, status=201
    )
    await other.call("DELETE", f"/api/posts/{mine['id']}", status=403)
    await pupil.call("DELETE", f"/api/posts/{mine['id']}", status=204)
    await owner.call("DELETE", f"/api/posts/{rude['id']}", status=204)
    assert [p["body"] for p in await other.call("GET", f"/api/threads/{thread['id']}/posts")] == [
        "Hello **all**"
    ]
    log = await owner.call("GET", f"/api/rooms/{room['id']}/audit")
    assert [(e["action"], e["target"]["id"], e["detail"]["body"]) for e in log] == [
        ("post_delete", rude["id"], "rude")
    ]
    await pupil.call("GET", f"/api/rooms/{room['id']}/audit", status=403)


async def test_pin_and_lock_are_for_teachers_and_a_locked_thread_refuses_members(
    people: People, room: Room
) -> None:
    owner: Person = room["_owner"]
    pupil = await join_as_pupil(people, owner, room["id"])
    thread = await open_thread(pupil, room["id"], "Pupil thread")
    await pupil.call("PATCH", f"/api/threads/{thread['id']}", {"pinned": True}, status=403)
    renamed = await pupil.call("PATCH", f"/api/threads/{thread['id']}", {"title": "Better title"})
    assert renamed["title"] == "Better title"
    locked = await owner.call(
        "PATCH", f"/api/threads/{thread['id']}", {"locked": True, "pinned": True}
    )
    assert locked["locked"] and locked["pinned"]
    body = await pupil.call(
        "POST", f"/api/threads/{thread['id']}/posts", {"body": "hi"}, status=403
    )
    assert body["error"]["code"] == "forbidden"
    await owner.call(
        "POST", f"/api/threads/{thread['id']}/posts", {"body": "teachers still can"}, status=201
    )
    await pupil.call("DELETE", f"/api/threads/{thread['id']}", status=403)
    await owner.call("DELETE", f"/api/threads/{thread['id']}", status=204)
    await pupil.call("GET", f"/api/threads/{thread['id']}", status=404)


async def test_guests_read_but_do_not_write(people: People, room: Room) -> None:
    owner: Person = room["_owner"]
    invite = await owner.call(
        "POST", f"/api/rooms/{room['id']}/invites", {"role": "guest"}, status=201
    )
    guest = await people(signup=False)
    await guest.call(
        "POST",
        "/api/join",
        {"code": invite["code"], "username": "visitor", "password": "guest password"},
    )
    thread = await open_thread(owner, room["id"])
    assert len(await guest.call("GET", f"/api/threads/{thread['id']}/posts")) == 1
    await guest.call("POST", f"/api/threads/{thread['id']}/posts", {"body": "x"}, status=403)
    await guest.call(
        "POST", f"/api/rooms/{room['id']}/threads", {"title": "t", "body": "b"}, status=403
    )


async def test_a_pupil_can_never_read_another_room(people: People, room: Room) -> None:
    owner: Person = room["_owner"]
    other_teacher = await people("elsewhere")
    other_room = await other_teacher.call("POST", "/api/rooms", {"name": "Other"}, status=201)
    thread = await open_thread(other_teacher, other_room["id"], "Private", "secret words")
    pupil = await join_as_pupil(people, owner, room["id"])
    [post] = await other_teacher.call("GET", f"/api/threads/{thread['id']}/posts")
    for method, path in [
        ("GET", f"/api/rooms/{other_room['id']}/threads"),
        ("GET", f"/api/threads/{thread['id']}"),
        ("GET", f"/api/threads/{thread['id']}/posts"),
        ("GET", f"/api/rooms/{other_room['id']}/search?q=secret"),
        ("PATCH", f"/api/posts/{post['id']}"),
        ("DELETE", f"/api/posts/{post['id']}"),
        ("POST", f"/api/posts/{post['id']}/report"),
    ]:
        await pupil.call(method, path, {"body": "x"} if method != "GET" else None, status=404)
    assert await pupil.call("GET", f"/api/rooms/{room['id']}/search?q=secret") == {
        "threads": [],
        "posts": [],
    }


async def test_another_rooms_threads_and_posts_get_the_answer_of_made_up_ids(
    people: People, room: Room
) -> None:
    owner: Person = room["_owner"]
    thread = await open_thread(owner, room["id"], "Private", "secret words")
    [post] = await owner.call("GET", f"/api/threads/{thread['id']}/posts")
    teacher = await people("elsewhere")
    other = await teacher.call("POST", "/api/rooms", {"name": "Other"}, status=201)
    routes: list[tuple[str, str, str, Any]] = [
        ("thread", "GET", "/api/threads/{}", None),
        ("thread", "PATCH", "/api/threads/{}", {"title": "mine"}),
        ("thread", "DELETE", "/api/threads/{}", None),
        ("thread", "GET", "/api/threads/{}/posts", None),
        ("thread", "POST", "/api/threads/{}/posts", {"body": "x"}),
        ("thread", "POST", "/api/threads/{}/read", {"seq": 1}),
        ("post", "PATCH", "/api/posts/{}", {"body": "x"}),
        ("post", "DELETE", "/api/posts/{}", None),
        ("post", "GET", "/api/posts/{}/history", None),
        ("post", "POST", "/api/posts/{}/reactions", {"emoji": "👍", "on": True}),
        ("post", "POST", "/api/posts/{}/report", {"reason": "x"}),
        ("post", "POST", "/api/posts/{}/hide", {"hidden": True}),
    ]
    for kind, method, path, body in routes:
        real_id = thread["id"] if kind == "thread" else post["id"]
        real = await teacher.call(method, path.format(real_id), body, status=404)
        made_up = await teacher.call(method, path.format("nosuchid"), body, status=404)
        expected = {"error": not_found(kind)}
        assert real == made_up == expected, (method, path)
    sio = await teacher.connect()
    for room_id in (room["id"], other["id"]):
        for thread_id in (thread["id"], "nosuchid"):
            message = {"room_id": room_id, "thread_id": thread_id, "body": "x"}
            ack = await sio.call("chat:send", message, timeout=10)
            assert ack == {
                "ok": False,
                "error": not_found("thread"),
            }, message


async def test_titles_lose_control_characters_and_bodies_keep_only_their_lines(
    people: People, room: Room
) -> None:
    owner: Person = room["_owner"]
    evil = "\u202eevil\u0000 \u2066title\u2069"
    thread = await open_thread(owner, room["id"], evil, "one\u0000\r\ntwo\tand \u05e9\u200f!")
    assert thread["title"] == "evil title"
    [first] = await owner.call("GET", f"/api/threads/{thread['id']}/posts")
    assert first["body"] == "one\ntwo\tand \u05e9\u200f!"  # a right-to-left mark is prose
    assert "\x00" not in first["html"]
    renamed = await owner.call("PATCH", f"/api/threads/{thread['id']}", {"title": f"New{evil}"})
    assert renamed["title"] == "Newevil title"
    reply = await owner.call(
        "POST", f"/api/threads/{thread['id']}/posts", {"body": "a\x00b\x07\rc"}, status=201
    )
    assert reply["body"] == "ab\nc"
    edited = await owner.call("PATCH", f"/api/posts/{reply['id']}", {"body": "\x00x\x1by"})
    assert edited["body"] == "xy"
    for body in ("\x00", "\x00\x1b"):
        refused = await owner.call(
            "POST", f"/api/threads/{thread['id']}/posts", {"body": body}, status=400
        )
        assert refused["error"]["code"] == "invalid"
    await owner.call("PATCH", f"/api/threads/{thread['id']}", {"title": "\u202e"}, status=400)
    sio = await owner.connect()
    ack = await sio.call("chat:send", {"room_id": room["id"], "body": "hi\x00 there"}, timeout=10)
    assert ack["ok"] and ack["post"]["body"] == "hi there"
    pupil = await join_as_pupil(people, owner, room["id"])
    report = await pupil.call(
        "POST", f"/api/posts/{reply['id']}/report", {"reason": "rude\x00\u202e"}, status=201
    )
    assert report["reason"] == "rude"


async def test_reports_hiding_and_restoring(people: People, room: Room) -> None:
    owner: Person = room["_owner"]
    pupil = await join_as_pupil(people, owner, room["id"])
    reporter = await join_as_pupil(people, owner, room["id"])
    thread = await open_thread(owner, room["id"])
    post = await pupil.call(
        "POST", f"/api/threads/{thread['id']}/posts", {"body": "unkind words"}, status=201
    )
    await reporter.call("POST", f"/api/posts/{post['id']}/report", {"reason": "unkind"}, status=201)
    [queued] = await owner.call("GET", f"/api/rooms/{room['id']}/reports")
    assert queued["post_id"] == post["id"] and queued["reporter"]["id"] == reporter.id
    await reporter.call("GET", f"/api/rooms/{room['id']}/reports", status=403)
    hidden = await owner.call("POST", f"/api/posts/{post['id']}/hide", {"hidden": True})
    assert hidden["hidden"] is True
    assert await owner.call("GET", f"/api/rooms/{room['id']}/reports") == []
    assert [p["id"] for p in await reporter.call("GET", f"/api/threads/{thread['id']}/posts")] != [
        post["id"]
    ]
    assert post["id"] in [
        p["id"] for p in await owner.call("GET", f"/api/threads/{thread['id']}/posts")
    ]
    await owner.call("POST", f"/api/posts/{post['id']}/hide", {"hidden": False})
    assert post["id"] in [
        p["id"] for p in await reporter.call("GET", f"/api/threads/{thread['id']}/posts")
    ]
    actions = [e["action"] for e in await owner.call("GET", f"/api/rooms/{room['id']}/audit")]
    assert actions == ["post_hide", "post_restore"]


async def test_a_muted_member_cannot_post_until_unmuted(people: People, room: Room) -> None:
    owner: Person = room["_owner"]
    pupil = await join_as_pupil(people, owner, room["id"])
    thread = await open_thread(owner, room["id"])
    event = await owner.call("PUT", f"/api/rooms/{room['id']}/mutes/{pupil.id}", {"minutes": 10})
    assert event["user_id"] == pupil.id and event["until"] is not None
    mine = await pupil.call("GET", f"/api/rooms/{room['id']}")
    assert mine["my_muted_until"] == event["until"]  # told on opening the room
    body = await pupil.call(
        "POST", f"/api/threads/{thread['id']}/posts", {"body": "hi"}, status=403
    )
    assert "muted" in body["error"]["message"]
    await pupil.call(
        "PUT", f"/api/rooms/{room['id']}/mutes/{owner.id}", {"minutes": 10}, status=403
    )
    await owner.call(
        "PUT", f"/api/rooms/{room['id']}/mutes/{owner.id}", {"minutes": 10}, status=403
    )
    await owner.call("PUT", f"/api/rooms/{room['id']}/mutes/{pupil.id}", {"minutes": 0})
    await pupil.call("POST", f"/api/threads/{thread['id']}/posts", {"body": "hi"}, status=201)
    assert (await pupil.call("GET", f"/api/rooms/{room['id']}"))["my_muted_until"] is None


async def test_a_member_who_has_been_posting_is_stopped_by_each_change_at_once(
    people: People, room: Room
) -> None:
    """The PostgreSQL store answers a repeated check from the rows it read before, and sends
    the write only if they are still the same: every change in between must still stop it."""
    owner: Person = room["_owner"]
    pupil = await join_as_pupil(people, owner, room["id"])
    thread = await open_thread(owner, room["id"])
    posts = f"/api/threads/{thread['id']}/posts"

    async def may_post(status: int) -> Any:
        for _ in range(2):  # a first post, then one checked on what the first read
            reply = await pupil.call("POST", posts, {"body": "hi"}, status=status)
        return reply

    await may_post(201)
    await owner.call("PUT", f"/api/rooms/{room['id']}/mutes/{pupil.id}", {"minutes": 10})
    assert (await may_post(403))["error"]["reason"] == "muted"
    await owner.call("PUT", f"/api/rooms/{room['id']}/mutes/{pupil.id}", {"minutes": 0})
    await may_post(201)
    await owner.call("PATCH", f"/api/threads/{thread['id']}", {"locked": True})
    assert (await may_post(403))["error"]["reason"] == "thread_locked"
    await owner.call("PATCH", f"/api/threads/{thread['id']}", {"locked": False})
    await may_post(201)
    await owner.call("PATCH", f"/api/rooms/{room['id']}/members/{pupil.id}", {"role": "guest"})
    assert (await may_post(403))["error"]["reason"] == "forbidden"
    await owner.call("PATCH", f"/api/rooms/{room['id']}/members/{pupil.id}", {"role": "member"})
    await may_post(201)
    await owner.call("DELETE", f"/api/rooms/{room['id']}/members/{pupil.id}", status=204)
    await may_post(404)
    listed = await owner.call("GET", posts)
    assert len(listed) == 1 + 4 * 2  # the first post, and two each time posting was allowed


async def test_reactions_from_the_fixed_set(people: People, room: Room) -> None:
    owner: Person = room["_owner"]
    pupil = await join_as_pupil(people, owner, room["id"])
    thread = await open_thread(owner, room["id"])
    [post] = await owner.call("GET", f"/api/threads/{thread['id']}/posts")
    reacted = await pupil.call("POST", f"/api/posts/{post['id']}/reactions", {"emoji": "👍"})
    assert reacted["reactions"] == {"👍": [pupil.id]}
    await pupil.call("POST", f"/api/posts/{post['id']}/reactions", {"emoji": "💩"}, status=400)
    undone = await pupil.call(
        "POST", f"/api/posts/{post['id']}/reactions", {"emoji": "👍", "on": False}
    )
    assert undone["reactions"] == {}


async def test_unread_counts_and_mentions(people: People, room: Room) -> None:
    owner: Person = room["_owner"]
    pupil = await join_as_pupil(people, owner, room["id"], "lena")
    thread = await open_thread(owner, room["id"])
    post = await owner.call(
        "POST", f"/api/threads/{thread['id']}/posts", {"body": "@lena look"}, status=201
    )
    assert post["mentions"] == [pupil.id]
    unread = {
        t["id"]: t["unread"] for t in await pupil.call("GET", f"/api/rooms/{room['id']}/threads")
    }
    assert unread[thread["id"]] == 2
    await pupil.call("POST", f"/api/threads/{thread['id']}/read", {"seq": post["seq"]}, status=204)
    unread = {
        t["id"]: t["unread"] for t in await pupil.call("GET", f"/api/rooms/{room['id']}/threads")
    }
    assert unread[thread["id"]] == 0
    assert [p["id"] for p in await pupil.call("GET", "/api/me/mentions")] == [post["id"]]


@pytest.mark.parametrize("q", ["", "   ", "!!!"])
async def test_search_needs_words(room: Room, q: str) -> None:
    owner: Person = room["_owner"]
    await owner.call("GET", f"/api/rooms/{room['id']}/search?q={q}", status=400)


async def test_search_is_case_insensitive_ranked_and_cannot_be_broken(room: Room) -> None:
    owner: Person = room["_owner"]
    thread = await open_thread(owner, room["id"], "The Danube delta", "Pelicans nest in the DELTA")
    await open_thread(owner, room["id"], "Rhine", "Barges and castles")
    found = await owner.call("GET", f"/api/rooms/{room['id']}/search?q=delta")
    assert [t["id"] for t in found["threads"]] == [thread["id"]]
    assert [p["thread_id"] for p in found["posts"]] == [thread["id"]]
    assert "[DELTA]" in found["posts"][0]["snippet"]
    prefix = await owner.call("GET", f"/api/rooms/{room['id']}/search?q=pelic")
    assert len(prefix["posts"]) == 1
    await open_thread(owner, room["id"], "Zoo", "Les éléphants dorment debout")
    folded = await owner.call("GET", f"/api/rooms/{room['id']}/search?q=ELEPHANT")
    assert len(folded["posts"]) == 1
    for hostile in [
        '"delta',
        "delta OR",
        "NEAR(delta",
        "a*b",
        "-delta",
        "title:x",
        "delta^",
        "x:*&!",
    ]:
        await owner.call("GET", f"/api/rooms/{room['id']}/search?q={hostile}")


async def test_threads_page_by_keyset_after_a_thread(room: Room) -> None:
    owner: Person = room["_owner"]
    made = [await open_thread(owner, room["id"], f"Thread {i}") for i in range(5)]
    path = f"/api/rooms/{room['id']}/threads"
    first = await owner.call("GET", f"{path}?limit=3")
    assert [t["kind"] for t in first] == ["chat", "forum", "forum"]
    rest = await owner.call("GET", f"{path}?after={first[-1]['id']}&limit=3")
    assert [t["id"] for t in first[1:] + rest] == [t["id"] for t in made]
    assert await owner.call("GET", f"{path}?after={made[-1]['id']}") == []
    for bad in ("limit=0", "limit=201", "limit=x"):
        error = (await owner.call("GET", f"{path}?{bad}", status=400))["error"]
        assert error["code"] == "invalid"
