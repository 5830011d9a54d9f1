"""The one table from domain errors to HTTP statuses, and the renderers for HTTP and Socket.IO."""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web

from rooms.errors import DomainError, RateLimited

log = logging.getLogger(__name__)

STATUS = {
    "invalid": 400,
    "not_signed_in": 401,
    "bad_credentials": 401,
    "forbidden": 403,
    "bad_origin": 403,
    "not_found": 404,
    "invalid_code": 404,
    "method_not_allowed": 405,
    "username_taken": 409,
    "conflict": 409,
    "too_large": 413,
    "quota_exceeded": 413,
    "range_not_satisfiable": 416,
    "unsupported_media_type": 415,
    "rate_limited": 429,
    "internal": 500,
    "unavailable": 503,
}


def error_body(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


def http_error(code: str, message: str, headers: dict[str, str] | None = None) -> web.Response:
    """A JSON error response with the contract's status for `code`."""
    return web.json_response(error_body(code, message), status=STATUS[code], headers=headers)


def from_domain(exc: DomainError) -> web.Response:
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, RateLimited) else None
    return http_error(exc.code, exc.message, headers)


def ack_error(exc: BaseException) -> dict[str, Any]:
    """The Socket.IO ack for an error: the domain's code, or a logged generic `internal`."""
    if isinstance(exc, DomainError):
        body = error_body(exc.code, exc.message)
        if isinstance(exc, RateLimited):
            body["error"]["retry_after"] = exc.retry_after
        return {"ok": False, **body}
    log.exception("socket event failed", exc_info=exc)
    return {"ok": False, **error_body("internal", "Something went wrong on our side.")}
