"""Removing what the archive no longer needs: purged and expired files' blobs and thumbnails.

A blob's bytes are deleted only under its digest's lock and only once no file version uses it:
an upload of the same bytes holds the same lock from storing the blob to committing its row, so
either it commits first (and the blob stays) or it stores the bytes anew after they went.
A periodic task empties files trashed more than `TRASH_DAYS` ago and collects blobs left without
any file (a deleted room's, a purge interrupted by a restart).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable

from media.blobs import BlobStore
from media.thumbnails import Thumbnails
from rooms.models import User
from rooms.trash import Trash
from server.blob_locks import BlobLocks

log = logging.getLogger(__name__)
DAY = 86400
EVERY = 3600  # seconds between sweeps: expiry is counted in days, an hour late is nothing


class Sweeper:
    """Purges on request and sweeps periodically, deleting blobs only when nothing uses them."""

    def __init__(
        self,
        trash: Trash,
        blobs: BlobStore,
        thumbnails: Thumbnails,
        locks: BlobLocks,
        *,
        trash_days: float,
    ) -> None:
        self.trash = trash
        self.blobs = blobs
        self.thumbnails = thumbnails
        self.locks = locks
        self.trash_days = trash_days

    async def purge(self, user: User, file_id: str) -> None:
        """A teacher's purge of a trashed file, then its blobs that nothing else uses."""
        await self.collect(await self.trash.purge(user, file_id))

    async def sweep(self, now: float) -> int:
        """Expire the trash as of `now` and collect every unused blob; returns how many went."""
        expired = await self.trash.expire(now - self.trash_days * DAY)
        return await self.collect({*expired, *await self.trash.unreferenced()})

    async def collect(self, digests: Iterable[str]) -> int:
        """Delete each blob (and its thumbnail) that no file version uses; returns the count."""
        removed = 0
        for sha256 in digests:
            async with self.locks.hold(sha256):
                if not await self.trash.forget(sha256):
                    continue
                await self.blobs.delete(sha256)
                await self.thumbnails.delete(sha256)
                removed += 1
        return removed

    async def run(self) -> None:
        """Sweep now and then every `EVERY` seconds until cancelled; a failed sweep is logged."""
        while True:
            try:
                removed = await self.sweep(time.time())
                if removed:
                    log.info("removed %d unused blobs", removed)
            except Exception:
                log.exception("the archive sweep failed")
            await asyncio.sleep(EVERY)
