"""The one table from domain errors to HTTP statuses, and the renderers for HTTP and Socket.IO."""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web

from rooms.errors import DomainError, RateLimited, Unavailable

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


def error_body(
    code: str, message: str, reason: str | None = None, params: dict[str, Any] | None = None
) -> dict[str, Any]:
    """`{"error": {code, message, reason, params}}`: `code` and `message` as the contract has
    always said them, `reason` and `params` for a client that words the error itself."""
    return {
        "error": {
            "code": code,
            "message": message,
            "reason": reason or code,
            "params": params or {},
        }
    }


def domain_body(exc: DomainError) -> dict[str, Any]:
    return error_body(exc.code, exc.message, exc.reason, exc.params)


def http_error(
    code: str,
    message: str,
    headers: dict[str, str] | None = None,
    reason: str | None = None,
    params: dict[str, Any] | None = None,
) -> web.Response:
    """A JSON error response with the contract's status for `code`."""
    body = error_body(code, message, reason, params)
    return web.json_response(body, status=STATUS[code], headers=headers)


def from_domain(exc: DomainError) -> web.Response:
    headers = None
    if isinstance(exc, RateLimited | Unavailable):
        headers = {"Retry-After": str(exc.retry_after)}
    return web.json_response(domain_body(exc), status=STATUS[exc.code], headers=headers)


def ack_error(exc: BaseException) -> dict[str, Any]:
    """The Socket.IO ack for an error: the domain's code, or a logged generic `internal`."""
    if isinstance(exc, DomainError):
        body = domain_body(exc)
        if isinstance(exc, RateLimited | Unavailable):
            body["error"]["retry_after"] = exc.retry_after
        return {"ok": False, **body}
    log.exception("socket event failed", exc_info=exc)
    return {"ok": False, **error_body("internal", "Something went wrong on our side.")}
