"""Typed keys for what the application holds, and the bundle of domain services."""

from __future__ import annotations

from dataclasses import dataclass

import socketio
from aiohttp import web

from rooms.accounts import Accounts
from rooms.forum import Forum
from rooms.invites import Invites
from rooms.moderation import Moderation
from rooms.ratelimit import RateLimiter
from rooms.rooms import Rooms
from rooms.search import Search
from rooms.store.db import Store
from rooms.tokens import Tokens
from server.config import Settings
from server.metrics import Metrics


@dataclass(frozen=True)
class Services:
    """The domain services one node runs, all built on the same database."""

    db: Store
    accounts: Accounts
    rooms: Rooms
    invites: Invites
    tokens: Tokens
    limiter: RateLimiter
    forum: Forum
    moderation: Moderation
    search: Search


SETTINGS = web.AppKey("settings", Settings)
SERVICES = web.AppKey("services", Services)
METRICS = web.AppKey("metrics", Metrics)
SIO = web.AppKey("sio", socketio.AsyncServer)
