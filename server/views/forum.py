"""The forum over HTTP: threads, posts, reactions, reads, search and moderation."""

from __future__ import annotations

from typing import Literal

from aiohttp import web
from pydantic import Field

from rooms.errors import Invalid
from rooms.models import User
from server.inputs import Count, Payload, body, query_int
from server.keys import SERVICES, SETTINGS
from server.realtime.hub import HUB
from server.realtime.limits import REACT
from server.session import limit, signed_in

routes = web.RouteTableDef()


class NewThread(Payload):
    title: str = Field(max_length=200)
    body: str = Field(max_length=20_000)


class ThreadChanges(Payload):
    title: str | None = Field(default=None, max_length=200)
    pinned: bool | None = None
    locked: bool | None = None


class PostBody(Payload):
    body: str = Field(max_length=20_000)


class Reaction(Payload):
    emoji: str = Field(max_length=16)
    on: bool = True


class ReadMark(Payload):
    seq: Count


class Report(Payload):
    reason: str = Field(default="", max_length=1000)


class Hide(Payload):
    hidden: bool


class Mute(Payload):
    minutes: int = Field(ge=0, le=7 * 24 * 60)


class ChatMode(Payload):
    mode: Literal["everyone", "teachers"]


async def posting(request: web.Request) -> User:
    """The signed-in author of a new thread or post, within their posting rate."""
    user = await signed_in(request)
    await limit(request, "post", request.app[SETTINGS].rate_post, user.id)
    return user


@routes.get("/api/rooms/{room_id}/threads")
async def list_threads(request: web.Request) -> web.Response:
    user = await signed_in(request)
    forum = request.app[SERVICES].forum
    after, count = request.query.get("after"), query_int(request, "limit", 200)
    return web.json_response(await forum.threads(user, request.match_info["room_id"], after, count))


@routes.post("/api/rooms/{room_id}/threads")
async def open_thread(request: web.Request) -> web.Response:
    user = await posting(request)
    data = await body(request, NewThread)
    thread = await request.app[SERVICES].forum.open_thread(
        user, request.match_info["room_id"], data.title, data.body
    )
    return web.json_response(thread, status=201)


@routes.get("/api/threads/{thread_id}")
async def get_thread(request: web.Request) -> web.Response:
    user = await signed_in(request)
    thread, _ = await request.app[SERVICES].forum.thread(user, request.match_info["thread_id"])
    return web.json_response(thread)


@routes.patch("/api/threads/{thread_id}")
async def edit_thread(request: web.Request) -> web.Response:
    user = await signed_in(request)
    data = await body(request, ThreadChanges)
    thread = await request.app[SERVICES].moderation.edit_thread(
        user, request.match_info["thread_id"], data.model_dump(exclude_none=True)
    )
    return web.json_response(thread)


@routes.delete("/api/threads/{thread_id}")
async def delete_thread(request: web.Request) -> web.Response:
    user = await signed_in(request)
    await request.app[SERVICES].moderation.delete_thread(user, request.match_info["thread_id"])
    return web.Response(status=204)


@routes.get("/api/threads/{thread_id}/posts")
async def list_posts(request: web.Request) -> web.Response:
    user = await signed_in(request)
    after, count = query_int(request, "after", 0), query_int(request, "limit", 50)
    posts = await request.app[SERVICES].forum.posts(
        user, request.match_info["thread_id"], after, count
    )
    return web.json_response(posts)


@routes.post("/api/threads/{thread_id}/posts")
async def reply(request: web.Request) -> web.Response:
    user = await posting(request)
    data = await body(request, PostBody)
    post = await request.app[SERVICES].forum.reply(user, request.match_info["thread_id"], data.body)
    return web.json_response(post, status=201)


@routes.post("/api/threads/{thread_id}/read")
async def mark_read(request: web.Request) -> web.Response:
    user = await signed_in(request)
    data = await body(request, ReadMark)
    await request.app[SERVICES].forum.mark_read(user, request.match_info["thread_id"], data.seq)
    return web.Response(status=204)


@routes.patch("/api/posts/{post_id}")
async def edit_post(request: web.Request) -> web.Response:
    user = await signed_in(request)
    data = await body(request, PostBody)
    post = await request.app[SERVICES].forum.edit_post(
        user, request.match_info["post_id"], data.body
    )
    return web.json_response(post)


@routes.delete("/api/posts/{post_id}")
async def delete_post(request: web.Request) -> web.Response:
    user = await signed_in(request)
    await request.app[SERVICES].moderation.delete_post(user, request.match_info["post_id"])
    return web.Response(status=204)


@routes.get("/api/posts/{post_id}/history")
async def post_history(request: web.Request) -> web.Response:
    user = await signed_in(request)
    forum = request.app[SERVICES].forum
    return web.json_response(await forum.history(user, request.match_info["post_id"]))


@routes.post("/api/posts/{post_id}/reactions")
async def react(request: web.Request) -> web.Response:
    user = await signed_in(request)
    await request.app[HUB].limits.spend(REACT, user)  # each reaction reaches the whole room
    data = await body(request, Reaction)
    post = await request.app[SERVICES].forum.react(
        user, request.match_info["post_id"], data.emoji, data.on
    )
    return web.json_response(post)


@routes.post("/api/posts/{post_id}/report")
async def report(request: web.Request) -> web.Response:
    user = await posting(request)
    data = await body(request, Report)
    # Only the room's online teachers learn of it, and not who made it: they read that in the queue.
    created = await request.app[SERVICES].moderation.report(
        user, request.match_info["post_id"], data.reason
    )
    return web.json_response(created, status=201)


@routes.post("/api/posts/{post_id}/hide")
async def hide(request: web.Request) -> web.Response:
    user = await signed_in(request)
    data = await body(request, Hide)
    post = await request.app[SERVICES].moderation.hide(
        user, request.match_info["post_id"], data.hidden
    )
    return web.json_response(post)


@routes.get("/api/rooms/{room_id}/reports")
async def list_reports(request: web.Request) -> web.Response:
    user = await signed_in(request)
    moderation = request.app[SERVICES].moderation
    return web.json_response(await moderation.reports(user, request.match_info["room_id"]))


@routes.delete("/api/rooms/{room_id}/reports/{report_id}")
async def dismiss_report(request: web.Request) -> web.Response:
    user = await signed_in(request)
    info = request.match_info
    await request.app[SERVICES].moderation.dismiss(user, info["room_id"], info["report_id"])
    return web.Response(status=204)


@routes.get("/api/rooms/{room_id}/mutes")
async def mutes(request: web.Request) -> web.Response:
    user = await signed_in(request)
    moderation = request.app[SERVICES].moderation
    return web.json_response(await moderation.mutes(user, request.match_info["room_id"]))


@routes.put("/api/rooms/{room_id}/mutes/{user_id}")
async def mute(request: web.Request) -> web.Response:
    user = await signed_in(request)
    data = await body(request, Mute)
    info = request.match_info
    event = await request.app[SERVICES].moderation.mute(
        user, info["room_id"], info["user_id"], data.minutes
    )
    return web.json_response(event)


@routes.put("/api/rooms/{room_id}/chat_mode")
async def chat_mode(request: web.Request) -> web.Response:
    user = await signed_in(request)
    data = await body(request, ChatMode)
    await request.app[SERVICES].moderation.set_chat_mode(
        user, request.match_info["room_id"], data.mode
    )
    return web.json_response({"chat_mode": data.mode})


@routes.get("/api/rooms/{room_id}/audit")
async def audit_log(request: web.Request) -> web.Response:
    user = await signed_in(request)
    moderation = request.app[SERVICES].moderation
    return web.json_response(await moderation.audit_log(user, request.match_info["room_id"]))


@routes.get("/api/rooms/{room_id}/search")
async def search(request: web.Request) -> web.Response:
    user = await signed_in(request)
    q = request.query.get("q", "")
    if not q.strip():
        raise Invalid("q: required.", field="q", rule="required")
    found = await request.app[SERVICES].search.search(user, request.match_info["room_id"], q)
    return web.json_response(found)


@routes.get("/api/me/mentions")
async def my_mentions(request: web.Request) -> web.Response:
    user = await signed_in(request)
    return web.json_response(await request.app[SERVICES].forum.mentions_of(user))
