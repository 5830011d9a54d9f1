"""The web client's entry page, health and metrics."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from server.keys import METRICS

STATIC_DIR = Path(__file__).resolve().parents[2] / "static"
CLIENT_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "media-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)

routes = web.RouteTableDef()


@routes.get("/")
async def index(request: web.Request) -> web.StreamResponse:
    page = STATIC_DIR / "index.html"
    if not page.exists():
        return web.Response(text="Twinrooms is running.", content_type="text/plain")
    return web.FileResponse(
        page, headers={"Content-Security-Policy": CLIENT_CSP, "Cache-Control": "no-cache"}
    )


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


@routes.get("/metrics")
async def metrics(request: web.Request) -> web.Response:
    body = request.app[METRICS].render()
    return web.Response(body=body, content_type="text/plain", charset="utf-8")
