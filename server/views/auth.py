"""Accounts over HTTP: sign-up, login, logout, me, and socket tokens."""

from __future__ import annotations

from aiohttp import web

from rooms import accounts, forum, invites, moderation, search, sessions
from rooms import rooms as rooms_
from rooms.accounts import session_hash
from rooms.errors import Forbidden
from server.config import Settings
from server.inputs import Payload, body
from server.keys import SERVICES, SETTINGS
from server.session import (
    COOKIE,
    clear_session,
    client_ip,
    current_user,
    limit,
    set_session,
    signed_in,
)

routes = web.RouteTableDef()


class SignUp(Payload):
    username: str
    password: str
    display_name: str
    country: str


class Login(Payload):
    username: str
    password: str


@routes.post("/api/auth/signup")
async def signup(request: web.Request) -> web.Response:
    settings, services = request.app[SETTINGS], request.app[SERVICES]
    if settings.signup == "closed":
        raise Forbidden(
            "Sign-up is closed here; ask a teacher for an invite.", reason="signup_closed"
        )
    await limit(request, "signup", settings.rate_signup, client_ip(request))
    data = await body(request, SignUp)
    user = await services.accounts.create_user(
        data.username, data.password, data.display_name, data.country, "teacher"
    )
    response = web.json_response(user.to_json(), status=201)
    set_session(request, response, await services.accounts.start_session(user.id))
    return response


@routes.post("/api/auth/login")
async def login(request: web.Request) -> web.Response:
    settings, services = request.app[SETTINGS], request.app[SERVICES]
    data = await body(request, Login)
    rate = settings.rate_login
    await limit(request, "login", rate, client_ip(request), data.username.strip().lower())
    user = await services.accounts.authenticate(data.username, data.password)
    if old := request.cookies.get(COOKIE):
        await services.accounts.end_session(old)  # its sockets close as it commits
    response = web.json_response(user.to_json())
    set_session(request, response, await services.accounts.start_session(user.id))
    return response


@routes.post("/api/auth/logout")
async def logout(request: web.Request) -> web.Response:
    if token := request.cookies.get(COOKIE):
        await request.app[SERVICES].accounts.end_session(token)  # its sockets close too
    response = web.Response(status=204)
    clear_session(response)
    return response


@routes.post("/api/auth/token")
async def token(request: web.Request) -> web.Response:
    user = await signed_in(request)  # so the cookie is there and its session alive
    tokens = request.app[SERVICES].tokens
    token = tokens.issue(user.id, session_hash(request.cookies[COOKIE]))
    return web.json_response({"token": token, "expires_in": tokens.lifetime})


@routes.get("/api/me")
async def me(request: web.Request) -> web.Response:
    user = await signed_in(request)
    rooms = await request.app[SERVICES].rooms.list_for(user)
    return web.json_response({**user.to_json(), "rooms": rooms})


def limits(settings: Settings) -> dict[str, int]:
    """The limits the server enforces, as the client should show them: one source, read from the
    rules themselves, so that a form never allows what the server refuses or the other way."""
    return {
        "username_min": accounts.USERNAME_MIN,
        "username_max": accounts.USERNAME_MAX,
        "password_min": accounts.PASSWORD_MIN,
        "password_max": accounts.PASSWORD_MAX,
        "display_name": accounts.MAX_DISPLAY_NAME,
        "room_name": rooms_.MAX_ROOM_NAME,
        "room_description": rooms_.MAX_DESCRIPTION,
        "thread_title": forum.MAX_TITLE,
        "post_body": forum.MAX_BODY,
        "chat_body": forum.MAX_CHAT,
        "session_title": sessions.MAX_TITLE,
        "report_reason": moderation.MAX_REASON,
        "mute_minutes": moderation.MAX_MUTE_MINUTES,
        "search_query": search.MAX_QUERY,
        "pupils": invites.MAX_PUPILS,
        "upload_bytes": settings.max_upload_bytes,
        "room_quota_bytes": settings.room_quota_bytes,
    }


@routes.get("/api/auth/config")
async def config(request: web.Request) -> web.Response:
    """What the client needs before anyone signs in: whether sign-up is open, whether this
    browser is signed in (so that a signed-out page never asks `/api/me` for a 401), and the
    limits its forms must keep."""
    user = await current_user(request)
    settings = request.app[SETTINGS]
    return web.json_response(
        {"signup": settings.signup, "signed_in": user is not None, "limits": limits(settings)}
    )
