"""Serving a stored file: byte ranges, ETags, and headers that keep a browser from running it.

The body is written in 1 MiB chunks from a plain loop: per-chunk overhead, not Python, sets the
speed of a download, so there is no thread hop per chunk. The range is opened in the blob store
before the status line is sent, so a missing blob is a logged 500 and an unreachable store a 503,
never a 200 cut short. The type is the one sniffed at upload
(HTML, SVG and XML are sent as opaque bytes instead); only types a browser shows without running
anything are `inline`, and every response carries `nosniff` and a sandboxing CSP, so even HTML that
slips through cannot act in our origin.
"""

from __future__ import annotations

import re
from contextlib import aclosing
from urllib.parse import quote

from aiohttp import web

from media.blobs import BlobStore
from media.sniff import inline, served_type
from rooms.archive import StoredFile
from rooms.errors import RangeNotSatisfiable

RANGE = re.compile(r"bytes=(\d*)-(\d*)")
SAFE_ASCII = re.compile(r"[^A-Za-z0-9 !#$&'()*+,.:;<=>?@\[\]^_`{|}~-]")


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The one range `header` asks for as (start, length), or None for the whole file.

    Malformed and multi-range headers are ignored (the whole file is sent, as RFC 9110 allows);
    a range that lies outside the file raises `RangeNotSatisfiable`.
    """
    match = RANGE.fullmatch((header or "").replace(" ", ""))
    if match is None or not (match[1] or match[2]):
        return None
    if not match[1]:  # a suffix: the last N bytes
        count = int(match[2])
        if count == 0 or size == 0:
            raise RangeNotSatisfiable("The range is outside the file.")
        return max(0, size - count), min(count, size)
    start = int(match[1])
    end = min(int(match[2]), size - 1) if match[2] else size - 1
    if match[2] and int(match[2]) < start:
        return None  # syntactically invalid: ignored
    if start >= size:
        raise RangeNotSatisfiable("The range is outside the file.")
    return start, end - start + 1


def disposition(kind: str, name: str) -> str:
    """`Content-Disposition` with an ASCII fallback and the exact name in RFC 5987 form."""
    fallback = SAFE_ASCII.sub("_", name).strip() or "download"
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def etag_matches(header: str | None, etag: str) -> bool:
    """Whether an `If-None-Match` header names this ETag (weak comparison, `*` included)."""
    if not header:
        return False
    tags = [tag.strip().removeprefix("W/") for tag in header.split(",")]
    return "*" in tags or etag in tags


def headers_for(stored: StoredFile) -> dict[str, str]:
    kind = "inline" if inline(stored.mime) else "attachment"
    return {
        "ETag": f'"{stored.sha256}"',
        "Accept-Ranges": "bytes",
        "Cache-Control": "private, no-cache",
        "Content-Disposition": disposition(kind, stored.name),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "sandbox",
    }


async def send(request: web.Request, stored: StoredFile, blobs: BlobStore) -> web.StreamResponse:
    """The file's bytes (all, or the one requested range) with its caching and safety headers."""
    headers = headers_for(stored)
    if etag_matches(request.headers.get("If-None-Match"), headers["ETag"]):
        return web.Response(status=304, headers=headers)
    try:
        wanted = request.headers.get("Range")
        if_range = request.headers.get("If-Range")
        span = byte_range(wanted, stored.size) if if_range in (None, headers["ETag"]) else None
    except RangeNotSatisfiable:
        return _unsatisfiable(stored, headers)
    start, length = span or (0, stored.size)
    response = web.StreamResponse(status=206 if span else 200, headers=headers)
    if span:
        response.headers["Content-Range"] = f"bytes {start}-{start + length - 1}/{stored.size}"
    response.content_type = served_type(stored.mime)
    response.content_length = length
    if request.method == "HEAD":
        await response.prepare(request)
        await response.write_eof()
        return response
    async with aclosing(await blobs.open_range(stored.sha256, start, length)) as chunks:
        await response.prepare(request)
        async for chunk in chunks:
            await response.write(chunk)
    await response.write_eof()
    return response


def _unsatisfiable(stored: StoredFile, headers: dict[str, str]) -> web.Response:
    response = web.json_response(
        {"error": {"code": "range_not_satisfiable", "message": "The range is outside the file."}},
        status=416,
        headers={**headers, "Content-Range": f"bytes */{stored.size}"},
    )
    del response.headers["Content-Disposition"]
    return response
