"""The middlewares: JSON errors, same-origin checks on state changes, request metrics."""

from __future__ import annotations

import logging

from aiohttp import web
from aiohttp.typedefs import Handler

from media.blobs import BlobUnavailable
from rooms.errors import DomainError
from server.errors import from_domain, http_error
from server.keys import METRICS, SETTINGS
from server.realtime.hub import HUB

log = logging.getLogger(__name__)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
HTTP_CODES = {
    400: "invalid",
    401: "not_signed_in",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    415: "invalid",
    416: "range_not_satisfiable",
}


@web.middleware
async def errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every error leaves as `{"error": {code, message}}`; unknown ones are logged, never shown."""
    try:
        return await handler(request)
    except DomainError as exc:
        return from_domain(exc)
    except BlobUnavailable as exc:
        log.warning("%s %s: the blob store is unavailable: %s", request.method, request.path, exc)
        return http_error("unavailable", "The file store cannot be reached; try again shortly.")
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = HTTP_CODES.get(exc.status, "invalid")
        return http_error(
            code, exc.reason, {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else None
        )
    except Exception:
        log.exception("unhandled error in %s %s", request.method, request.path)
        return http_error("internal", "Something went wrong on our side.")


@web.middleware
async def same_origin(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A state-changing request from a browser on a foreign origin is refused before it acts."""
    origin = request.headers.get("Origin")
    foreign = origin is not None and origin not in request.app[SETTINGS].origins
    if foreign and request.method not in SAFE_METHODS:
        return http_error("bad_origin", "This request came from a foreign origin.")
    return await handler(request)


@web.middleware
async def metrics(request: web.Request, handler: Handler) -> web.StreamResponse:
    response = await handler(request)
    route = request.match_info.route.resource
    name = route.canonical if route is not None else "unmatched"
    request.app[METRICS].requests.labels(name, request.method, str(response.status)).inc()
    return response


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    response = await handler(request)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Frame-Options", "DENY")
    return response


@web.middleware
async def live_effects(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A write's reply leaves once this node has applied its commit to live connections (a
    removed member's sockets have left the room, a logged-out session's sockets are closed): the
    dispatcher applies commits in order, after the service call has returned. (Socket.IO's own
    long-polling requests are not writes of this kind.)"""
    response = await handler(request)
    if request.method not in SAFE_METHODS and request.path.startswith("/api/"):
        await request.app[HUB].dispatcher.settled()
    return response
