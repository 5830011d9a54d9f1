"""`create_app(settings)`: the one place where a node is assembled."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable

import socketio
from aiohttp import hdrs, web, web_response

from rooms.accounts import Accounts
from rooms.events import EventLog
from rooms.forum import Forum
from rooms.invites import Invites
from rooms.moderation import Moderation
from rooms.passwords import Passwords
from rooms.ratelimit import RateLimiter
from rooms.rooms import Rooms
from rooms.search import Search
from rooms.store.db import Store
from rooms.store.postgres import PostgresStore
from rooms.store.sqlite import SqliteStore
from rooms.tokens import Tokens
from server import filestore, middleware
from server.assets import Assets
from server.cluster.bus import redis_client
from server.cluster.limits import SharedRateLimiter
from server.cluster.node import ClusterNode
from server.config import Settings
from server.keys import METRICS, SERVICES, SETTINGS, SIO, Services
from server.metrics import Metrics
from server.realtime import forum_events, media, packets, room_events
from server.realtime.hub import HUB, Hub
from server.views import auth, files, forum, rooms, site
from server.views.site import STATIC_DIR

log = logging.getLogger(__name__)
JSON_LIMIT = 1024 * 1024
SOCKET_BUFFER = 64 * 1024  # events are small; files travel over HTTP
SERVER_NAME = "twinrooms"


def build_services(
    settings: Settings,
    clock: Callable[[], float] = time.time,
    limiter: RateLimiter | None = None,
) -> Services:
    """The domain services on an unopened database (opened by the app's cleanup context)."""
    db = open_store(settings, clock)
    accounts = Accounts(
        db,
        Passwords(fast=settings.test_fast_hash),
        clock=clock,
        session_seconds=settings.session_days * 86400,
    )
    rooms_ = Rooms(db, clock=clock)
    forum_ = Forum(db, rooms_, clock=clock)
    return Services(
        db=db,
        accounts=accounts,
        rooms=rooms_,
        invites=Invites(db, rooms_, accounts, clock=clock),
        tokens=Tokens(settings.secret_key, lifetime=settings.token_seconds, clock=clock),
        limiter=limiter or RateLimiter(clock=clock),
        forum=forum_,
        moderation=Moderation(db, rooms_, forum_, clock=clock),
        search=Search(db, rooms_),
    )


def open_store(settings: Settings, clock: Callable[[], float] = time.time) -> Store:
    """The store `DATABASE_URL` names (unopened): PostgreSQL, or the embedded SQLite file."""
    if settings.database_url.startswith("postgresql://"):
        return PostgresStore(settings.database_url, clock=clock)
    return SqliteStore(settings.database_path, clock=clock)


def create_app(settings: Settings) -> web.Application:
    """A node's aiohttp application with Socket.IO attached, built from `settings` alone."""
    app = web.Application(
        client_max_size=JSON_LIMIT,
        middlewares=[
            middleware.metrics,
            middleware.security_headers,
            middleware.errors,
            middleware.same_origin,
            middleware.live_effects,
        ],
    )
    metrics = Metrics()
    limiter: RateLimiter | None = None
    if settings.clustered:
        limiter = SharedRateLimiter(redis_client(settings.redis_url), metrics.ratelimit_fallback)
    services = build_services(settings, limiter=limiter)
    sio = socketio.AsyncServer(
        async_mode="aiohttp",
        cors_allowed_origins=settings.origins,
        async_handlers=False,
        max_http_buffer_size=SOCKET_BUFFER,
        # Long-polling needs every request of a client on one node; a cluster routes freely.
        transports=["websocket"] if settings.clustered else ["websocket", "polling"],
        serializer=packets.Packet,  # payloads decoded by server.inputs.loads
    )
    sio.attach(app)
    hub = Hub(sio, services, metrics, settings)
    if settings.clustered:
        hub.cluster = ClusterNode(settings, hub, EventLog(services.db), metrics)
        hub.dispatcher.peers = hub.cluster
    hub.register(room_events.handlers(hub, EventLog(services.db)))
    hub.register(forum_events.handlers(services.forum))
    app[SETTINGS], app[SERVICES], app[METRICS], app[SIO], app[HUB] = (
        settings,
        services,
        metrics,
        sio,
        hub,
    )
    for table in (site.routes, auth.routes, rooms.routes, forum.routes, files.routes):
        app.router.add_routes(table)
    if STATIC_DIR.is_dir():
        Assets(STATIC_DIR).install(app)
    app.on_response_prepare.append(_server_header)
    app.cleanup_ctx.append(_database)
    app.cleanup_ctx.append(_realtime)
    filestore.setup(app)  # after _database: its start-up cleaning needs the database
    media.install(app, hub, services, settings)  # after _realtime: media closes before the hub
    return app


async def _server_header(request: web.Request, response: web.StreamResponse) -> None:
    # aiohttp would announce "Python/3.x aiohttp/3.y": versions only help someone matching exploits.
    response.headers[hdrs.SERVER] = SERVER_NAME


# The few answers aiohttp writes itself before any routing (a request it cannot parse) take the
# module's default; there is no public hook for them.
web_response.SERVER_SOFTWARE = SERVER_NAME


async def _database(app: web.Application) -> AsyncIterator[None]:
    db = app[SERVICES].db
    await db.open()
    yield
    await db.close()


async def _realtime(app: web.Application) -> AsyncIterator[None]:
    await app[HUB].start()
    yield
    await app[HUB].stop()
    limiter = app[SERVICES].limiter
    if isinstance(limiter, SharedRateLimiter):
        await limiter.client.aclose()
