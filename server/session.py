"""Who is asking: the session cookie, and the rate limits that guard anonymous routes."""

from __future__ import annotations

from aiohttp import web

from rooms.errors import NotSignedIn
from rooms.models import User
from rooms.ratelimit import Rate
from server.keys import SERVICES, SETTINGS

COOKIE = "twinrooms_session"
USER = web.RequestKey("user", User)


async def current_user(request: web.Request) -> User | None:
    """The signed-in user, from the session cookie, or None."""
    if USER in request:
        return request[USER]
    token = request.cookies.get(COOKIE)
    user = await request.app[SERVICES].accounts.session_user(token) if token else None
    if user is not None:
        request[USER] = user
    return user


async def signed_in(request: web.Request) -> User:
    """The signed-in user, or `NotSignedIn`."""
    user = await current_user(request)
    if user is None:
        raise NotSignedIn("Sign in first.")
    return user


def set_session(request: web.Request, response: web.StreamResponse, token: str) -> None:
    settings = request.app[SETTINGS]
    response.set_cookie(
        COOKIE,
        token,
        max_age=int(settings.session_days * 86400),
        httponly=True,
        samesite="Lax",
        secure=settings.secure_cookies,
        path="/",
    )


def clear_session(response: web.StreamResponse) -> None:
    response.del_cookie(COOKIE, path="/")


def client_ip(request: web.Request) -> str:
    return request.remote or "unknown"


async def limit(request: web.Request, bucket: str, rate: Rate, *keys: str) -> None:
    """Spend one token from each of `keys`' buckets for `bucket` (per IP, per user, ...)."""
    limiter = request.app[SERVICES].limiter
    for key in keys:
        await limiter.hit(f"{bucket}:{key}", rate)
