"""The archive's parts on a node: typed keys, assembly from the settings, start-up cleaning.

`setup(app)` is called once by `create_app`; the cleaning runs in a cleanup context after the
database has opened: temporary files left by a killed upload go, blob references are recounted,
and blobs no file uses any more (an upload killed between rename and commit, a deleted room) are
removed with thumbnails whose blob is gone, so nothing partial or orphaned survives a restart.
Then the sweeper runs in the background until the node stops (`server/sweeper.py`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator

from aiohttp import web

from media.blobs import LocalBlobs
from media.thumbnails import Thumbnails
from rooms.archive import Archive
from rooms.folders import Folders
from rooms.trash import Trash
from server.blob_locks import BlobLocks
from server.keys import SERVICES, SETTINGS
from server.sweeper import Sweeper

log = logging.getLogger(__name__)


ARCHIVE = web.AppKey("archive", Archive)
FOLDERS = web.AppKey("folders", Folders)
BLOBS = web.AppKey("blobs", LocalBlobs)
THUMBNAILS = web.AppKey("thumbnails", Thumbnails)
BLOB_LOCKS = web.AppKey("blob_locks", BlobLocks)
SWEEPER = web.AppKey("sweeper", Sweeper)


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
    app[SWEEPER] = Sweeper(
        Trash(services.db, services.rooms),
        app[BLOBS],
        app[THUMBNAILS],
        app[BLOB_LOCKS],
        trash_days=settings.trash_days,
    )
    app.cleanup_ctx.append(_clean)
    app.cleanup_ctx.append(_sweep)


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
    async for sha256 in app[THUMBNAILS].list():
        if not await blobs.exists(sha256):
            await app[THUMBNAILS].delete(sha256)
    yield


async def _sweep(app: web.Application) -> AsyncIterator[None]:
    task = asyncio.create_task(app[SWEEPER].run(), name="archive-sweeper")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
