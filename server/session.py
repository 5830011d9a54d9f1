"""Who is asking: the session cookie, and the rate limits that guard anonymous routes."""

from __future__ import annotations

import ipaddress

from aiohttp import hdrs, web

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
    """The address a request came from. Behind proxies listed in `TRUSTED_PROXIES`, it is the
    right-most `X-Forwarded-For` address that is not one of them (what the outermost trusted
    proxy saw); from any other peer the header is ignored, since anyone can write it."""
    peer = request.remote or "unknown"
    trusted = request.app[SETTINGS].trusted_proxies
    if not trusted or not _within(peer, trusted):
        return peer
    hops = [
        hop.strip()
        for line in request.headers.getall(hdrs.X_FORWARDED_FOR, [])
        for hop in line.split(",")
    ]
    for hop in reversed(hops):
        if not _within(hop, trusted):
            return hop if _address(hop) is not None else peer
    return peer


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _within(text: str, networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]) -> bool:
    address = _address(text)
    return address is not None and any(address in network for network in networks)


async def limit(request: web.Request, bucket: str, rate: Rate, *keys: str) -> None:
    """Spend one token from each of `keys`' buckets for `bucket` (per IP, per user, ...)."""
    limiter = request.app[SERVICES].limiter
    for key in keys:
        await limiter.hit(f"{bucket}:{key}", rate)
