"""The web client's entry page, health and metrics."""

from __future__ import annotations

import hmac
from pathlib import Path

from aiohttp import web

from server.assets import ASSETS, REVALIDATE
from server.errors import http_error
from server.keys import METRICS, SERVICES, SETTINGS
from server.realtime.hub import HUB

STATIC_DIR = Path(__file__).resolve().parents[2] / "static"
CLIENT_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "media-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)

routes = web.RouteTableDef()


@routes.get("/")
async def index(request: web.Request) -> web.StreamResponse:
    assets = request.app.get(ASSETS)
    if assets is None or assets.index is None:
        return web.Response(text="Twinrooms is running.", content_type="text/plain")
    # Revalidated on every load: the page names the version of every other file.
    return assets.respond(
        request, assets.index, REVALIDATE, {"Content-Security-Policy": CLIENT_CSP}
    )


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    """`ok` while the database answers; 503 `unavailable` (from the store) while it does not. A
    cluster node without Redis still serves its own clients: `degraded`, with 200 so that the
    load balancer keeps sending it traffic."""
    await request.app[SERVICES].db.fetchone("SELECT 1")
    cluster = request.app[HUB].cluster
    if cluster is not None and not cluster.up:
        return web.json_response({"status": "degraded", "redis": "down"})
    return web.json_response({"status": "ok"})


@routes.get("/metrics")
async def metrics(request: web.Request) -> web.Response:
    """Prometheus text for the bearer of `METRICS_TOKEN`; without the setting, no such page.

    Counters say how many people are online and where the node errs: not for everyone. A token
    rather than "loopback only", since behind a reverse proxy on the same host every visitor
    comes from loopback.
    """
    token = request.app[SETTINGS].metrics_token
    if not token:
        raise web.HTTPNotFound()  # answered like any unknown page
    scheme, _, given = request.headers.get("Authorization", "").strip().partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        given.strip().encode(), token.encode()
    ):
        return http_error(
            "not_signed_in",
            "Metrics need the bearer token.",
            {"WWW-Authenticate": 'Bearer realm="metrics"'},
        )
    body = request.app[METRICS].render()
    return web.Response(body=body, content_type="text/plain", charset="utf-8")
