"""The type of a file, sniffed from its first bytes (never taken from the client), and whether a
browser may show it inline.

Only types a browser renders without running anything are shown inline: raster images, PDF, audio
and video. HTML, SVG and XML can carry scripts, so they (and everything unknown) are downloads, and
they are served as `application/octet-stream`: what a browser is never tempted to render.
"""

from __future__ import annotations

import puremagic

OCTET_STREAM = "application/octet-stream"
INLINE = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf"})
NEVER_INLINE = frozenset(
    {"text/html", "image/svg+xml", "application/xhtml+xml", "text/xml", "application/xml"}
)
# puremagic names a few containers by their generic type, or not at all; what browsers call them.
RENAMED = {"application/ogg": "audio/ogg", "audio/x-wav": "audio/wav", "image/pjpeg": "image/jpeg"}
PREFIXES = ((b"ID3", "audio/mpeg"), (b"\xff\xfb", "audio/mpeg"), (b"fLaC", "audio/flac"))


def sniff(head: bytes) -> str:
    """The MIME type the first bytes of a file show, or `application/octet-stream`."""
    for prefix, mime in PREFIXES:
        if head.startswith(prefix):
            return mime
    if not head:
        return OCTET_STREAM
    try:
        mime = puremagic.from_string(head, mime=True)
    except (puremagic.PureError, ValueError):
        return OCTET_STREAM
    mime = RENAMED.get(mime, mime) or OCTET_STREAM
    return mime if "/" in mime else OCTET_STREAM


def inline(mime: str) -> bool:
    """Whether a file of this sniffed type may be displayed by the browser (else: a download)."""
    if mime in NEVER_INLINE:
        return False
    return mime in INLINE or mime.startswith(("audio/", "video/"))


def served_type(mime: str) -> str:
    """The `Content-Type` a download of this sniffed type is sent with."""
    return OCTET_STREAM if not mime or mime in NEVER_INLINE else mime


def is_image(mime: str) -> bool:
    """Whether Pillow can make a thumbnail of this type."""
    return mime in ("image/png", "image/jpeg", "image/gif", "image/webp")
