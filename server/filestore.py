"""The archive's parts on a node: typed keys, assembly from the settings, start-up cleaning.

`setup(app)` is called once by `create_app`. The blob store is local files under `DATA_DIR`, or an
S3 bucket when `S3_BUCKET` is set. It opens in a cleanup context after the database (an S3 bucket
that does not answer stops the start): temporary files left by a killed upload go, and so do
thumbnails whose blob has no row any more. Then the sweeper runs in the background until the node
stops, at once and every ten minutes (`server/sweeper.py`): expired trash, unused blobs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator

from aiohttp import web

from media.blobs import BlobStore, LocalBlobs
from media.s3blobs import S3Blobs, S3Config
from media.thumbnails import Thumbnails
from rooms.archive import Archive
from rooms.blob_refs import BlobRefs
from rooms.folders import Folders
from rooms.trash import Trash
from server.cluster.bus import redis_client
from server.cluster.lease import RedisLease
from server.config import Settings
from server.keys import SERVICES, SETTINGS
from server.sweeper import Lease, LocalLease, Sweeper

log = logging.getLogger(__name__)


ARCHIVE = web.AppKey("archive", Archive)
FOLDERS = web.AppKey("folders", Folders)
BLOBS = web.AppKey("blobs", BlobStore)
BLOB_REFS = web.AppKey("blob_refs", BlobRefs)
THUMBNAILS = web.AppKey("thumbnails", Thumbnails)
SWEEPER = web.AppKey("sweeper", Sweeper)


def blob_store(settings: Settings) -> BlobStore:
    """The blob store the settings choose: an S3 bucket if one is named, else `DATA_DIR/blobs`."""
    if settings.s3_bucket:
        config = S3Config(
            settings.s3_bucket,
            settings.s3_endpoint,
            settings.s3_region,
            settings.s3_prefix,
            settings.s3_path_style,
        )
        return S3Blobs(config, settings.data_dir / "blobs" / "tmp")
    return LocalBlobs(settings.data_dir / "blobs")


def lease(settings: Settings) -> Lease:
    """Who may sweep: this node alone, or in a cluster whoever holds the lease in Redis."""
    if settings.clustered:
        return RedisLease(redis_client(settings.redis_url), settings.node_id)
    return LocalLease()


def setup(app: web.Application) -> None:
    """Build the archive's services from the app's settings and database; clean at start."""
    settings, services = app[SETTINGS], app[SERVICES]
    app[ARCHIVE] = Archive(
        services.db, services.rooms, clock=time.time, quota_bytes=settings.room_quota_bytes
    )
    app[FOLDERS] = Folders(services.db, services.rooms, clock=time.time)
    app[BLOBS] = blob_store(settings)
    app[BLOB_REFS] = BlobRefs(services.db, clock=time.time)
    app[THUMBNAILS] = Thumbnails(settings.data_dir / "thumbnails")
    app[SWEEPER] = Sweeper(
        Trash(services.db, services.rooms),
        app[BLOB_REFS],
        app[BLOBS],
        app[THUMBNAILS],
        lease(settings),
        trash_days=settings.trash_days,
    )
    app.cleanup_ctx.append(_clean)
    app.cleanup_ctx.append(_sweep)


async def _clean(app: web.Application) -> AsyncIterator[None]:
    await app[BLOBS].open()
    await app[SWEEPER].prune_thumbnails()
    yield
    await app[BLOBS].close()


async def _sweep(app: web.Application) -> AsyncIterator[None]:
    task = asyncio.create_task(app[SWEEPER].run(), name="archive-sweeper")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    held = app[SWEEPER].lease
    if isinstance(held, RedisLease):
        await held.close()
