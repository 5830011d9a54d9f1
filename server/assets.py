"""The web client's files, served from memory: gzip-compressed once at start, and under a
versioned path that browsers may cache for a year.

`/assets/<version>/<path>` carries the client's version, a digest of every file, so a page always
loads the modules it was written with and never a stale one from the cache: its ES modules import
one another by relative paths, which stay under that prefix. The page itself (`/`) names the
version and is revalidated on every load (`no-cache`). `/static/<path>` stays for anything that
asks for a file by its plain name, revalidated too. A file changed on disk is served after a
restart, which gives it a new version.
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
COMPRESSIBLE = (".js", ".css", ".json", ".svg", ".html", ".txt", ".map")
TYPES = {".js": "text/javascript", ".json": "application/json", ".svg": "image/svg+xml"}
INDEX = "index.html"


@dataclass(frozen=True)
class Asset:
    """One file: its bytes, their gzip form when that is smaller, its type and its ETag."""

    body: bytes
    gzipped: bytes | None
    content_type: str
    etag: str


def _asset(path: Path, body: bytes) -> Asset:
    suffix = path.suffix.lower()
    kind = TYPES.get(suffix) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    if kind.startswith("text/") or kind in ("application/json", "image/svg+xml"):
        kind += "; charset=utf-8"
    packed = gzip.compress(body, compresslevel=9, mtime=0) if suffix in COMPRESSIBLE else None
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    return Asset(
        body, packed if packed is not None and len(packed) < len(body) else None, kind, etag
    )


class Assets:
    """Every file under the client's directory, read once; `version` names this set of files."""

    def __init__(self, root: Path) -> None:
        files = {
            path.relative_to(root).as_posix(): path.read_bytes()
            for path in sorted(root.rglob("*"))
            if path.is_file() and not any(p.startswith(".") for p in path.relative_to(root).parts)
        }
        digest = hashlib.sha256()
        for name, body in files.items():
            digest.update(name.encode() + b"\0" + hashlib.sha256(body).digest())
        self.version = digest.hexdigest()[:16]
        self.files = {name: _asset(root / name, body) for name, body in files.items()}
        page = files.get(INDEX)
        # The page names its stylesheet, script and icon under the versioned prefix.
        self.index = (
            _asset(root / INDEX, page.replace(b'"/static/', f'"{self.prefix}'.encode()))
            if page is not None
            else None
        )

    @property
    def prefix(self) -> str:
        return f"/assets/{self.version}/"

    def respond(
        self, request: web.Request, asset: Asset, cache: str, headers: dict[str, str] | None = None
    ) -> web.Response:
        """`asset` for `request`: 304 when its ETag matches, gzip when the client takes it."""
        out = {
            "Cache-Control": cache,
            "ETag": asset.etag,
            "Vary": "Accept-Encoding",
            **(headers or {}),
        }
        if asset.etag in request.headers.get("If-None-Match", ""):
            return web.Response(status=304, headers=out)
        body = asset.body
        if asset.gzipped is not None and accepts_gzip(request.headers.get("Accept-Encoding", "")):
            body, out["Content-Encoding"] = asset.gzipped, "gzip"
        out["Content-Type"] = asset.content_type
        return web.Response(body=body, headers=out)

    async def versioned(self, request: web.Request) -> web.Response:
        asset = self.files.get(request.match_info["path"])
        if asset is None:
            raise web.HTTPNotFound()
        # Another version's name (a page loaded before a restart) gets today's file, which must
        # not be cached under that name for a year.
        current = request.match_info["version"] == self.version
        return self.respond(request, asset, IMMUTABLE if current else REVALIDATE)

    async def plain(self, request: web.Request) -> web.Response:
        asset = self.files.get(request.match_info["path"])
        if asset is None:
            raise web.HTTPNotFound()
        return self.respond(request, asset, REVALIDATE)

    def install(self, app: web.Application) -> None:
        """Serve the files at `/assets/<version>/` and `/static/`."""
        app.router.add_get("/assets/{version}/{path:.+}", self.versioned)
        app.router.add_get("/static/{path:.+}", self.plain)
        app[ASSETS] = self


ASSETS = web.AppKey("assets", Assets)


def accepts_gzip(header: str) -> bool:
    """Whether an `Accept-Encoding` header takes gzip (`gzip;q=0` refuses it)."""
    for part in header.lower().split(","):
        name, _, params = part.strip().partition(";")
        if name.strip() in ("gzip", "*"):
            q = params.strip().removeprefix("q=")
            try:
                return float(q) > 0 if params.strip().startswith("q=") else True
            except ValueError:
                return True
    return False
