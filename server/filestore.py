"""The archive's parts on a node: typed keys, assembly from the settings, start-up cleaning.

`setup(app)` is called once by `create_app`; the cleaning runs in a cleanup context after the
database has opened: temporary files left by a killed upload go, blob references are recounted,
and blobs no file uses any more (an upload killed between rename and commit, a deleted room) are
removed, so nothing partial or orphaned survives a restart.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import web

from media.blobs import LocalBlobs
from media.thumbnails import Thumbnails
from rooms.archive import Archive
from rooms.folders import Folders
from server.keys import SERVICES, SETTINGS

log = logging.getLogger(__name__)


class BlobLocks:
    """One lock per digest: storing a blob and committing its row, or deleting an unused blob,
    happen under it, so a concurrent upload of the same bytes never loses its blob."""

    def __init__(self) -> None:
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._users: defaultdict[str, int] = defaultdict(int)

    @asynccontextmanager
    async def hold(self, sha256: str) -> AsyncIterator[None]:
        self._users[sha256] += 1
        try:
            async with self._locks[sha256]:
                yield
        finally:
            self._users[sha256] -= 1
            if not self._users[sha256]:
                del self._users[sha256], self._locks[sha256]


ARCHIVE = web.AppKey("archive", Archive)
FOLDERS = web.AppKey("folders", Folders)
BLOBS = web.AppKey("blobs", LocalBlobs)
THUMBNAILS = web.AppKey("thumbnails", Thumbnails)
BLOB_LOCKS = web.AppKey("blob_locks", BlobLocks)


def setup(app: web.Application) -> None:
    """Build the archive's services from the app's settings and database; clean at start."""
    settings, services = app[SETTINGS], app[SERVICES]
    app[ARCHIVE] = Archive(
        services.db, services.rooms, clock=time.time, quota_bytes=settings.room_quota_bytes
    )
    app[FOLDERS] = Folders(services.db, services.rooms, clock=time.time)
    app[BLOBS] = LocalBlobs(settings.data_dir / "blobs")
    app[THUMBNAILS] = Thumbnails(settings.data_dir / "thumbnails")
    app[BLOB_LOCKS] = BlobLocks()
    app.cleanup_ctx.append(_clean)


async def _clean(app: web.Application) -> AsyncIterator[None]:
    blobs, archive = app[BLOBS], app[ARCHIVE]
    await blobs.open()
    await archive.recount()
    removed = 0
    async for sha256 in blobs.list():
        if not await archive.refs(sha256):
            await blobs.delete(sha256)
            removed += 1
    if removed:
        log.info("removed %d unused blobs", removed)
    yield
