"""Removing what the archive no longer needs: expired trash, and blobs no file version uses.

One mechanism: every `EVERY` seconds, and once at start, a node empties files trashed more than
`TRASH_DAYS` ago and collects unused blobs. The collection recounts references (a deleted room's
versions leave them stale), marks unused rows whose upload pin lapsed as being deleted, deletes
their bytes and thumbnails, then their rows (the protocol is in `rooms/blob_refs.py`), and finally
deletes bytes older than `ORPHAN_SECONDS` that have no row at all (a collection that stopped
between the two deletions). A teacher's purge collects that file's blobs at once the same way.

Only one node collects at a time: each sweep runs under a `Lease`. A single node's lease is a
lock in its own memory; a cluster's is held in Redis (`server/cluster/lease.py`), and a node that
cannot take it skips that sweep. A sweep that fails (the blob store unreachable) is logged and retried at the next one.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Iterable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Protocol

from media.blobs import BlobStore
from media.thumbnails import Thumbnails
from rooms.blob_refs import BlobRefs
from rooms.models import User
from rooms.trash import Trash

log = logging.getLogger(__name__)
DAY = 86400
EVERY = 600  # seconds between sweeps
ORPHAN_SECONDS = 3600  # bytes without a row this old are no upload in progress
ORPHAN_BATCH = 500


class Lease(Protocol):
    """The right to sweep: held by one node at a time; `hold` yields False if another has it."""

    def hold(self) -> AbstractAsyncContextManager[bool]: ...


class LocalLease:
    """A single node's lease: a lock, so a purge and the periodic sweep never overlap."""

    def __init__(self) -> None:
        self._lock = asyncio.Lock()

    @asynccontextmanager
    async def hold(self) -> AsyncIterator[bool]:
        """Wait for the lock and hold it; always True."""
        async with self._lock:
            yield True


class Sweeper:
    """Purges on request and sweeps periodically, deleting blobs only when nothing uses them."""

    def __init__(
        self,
        trash: Trash,
        refs: BlobRefs,
        blobs: BlobStore,
        thumbnails: Thumbnails,
        lease: Lease,
        *,
        trash_days: float,
    ) -> None:
        self.trash = trash
        self.refs = refs
        self.blobs = blobs
        self.thumbnails = thumbnails
        self.lease = lease
        self.trash_days = trash_days

    async def purge(self, user: User, file_id: str) -> None:
        """A teacher's purge of a trashed file, then its blobs that nothing else uses."""
        await self.collect(await self.trash.purge(user, file_id))

    async def collect(self, digests: Iterable[str]) -> None:
        """Delete those of these blobs that nothing uses or pins, now; a failure is logged and
        left to the next sweep."""
        try:
            async with self.lease.hold() as held:
                if held:
                    await self._delete(await self.refs.claim_unused(time.time(), digests))
        except Exception:
            log.exception("collecting unused blobs failed; the next sweep retries")

    async def sweep(self, now: float) -> int:
        """Expire the trash as of `now` and collect unused blobs; returns how many went.

        Returns 0 without doing anything while another node holds the lease."""
        async with self.lease.hold() as held:
            if not held:
                return 0
            await self.trash.expire(now - self.trash_days * DAY)
            await self.refs.recount()
            removed = await self._delete(await self.refs.claim_unused(now))
            return removed + await self._orphans(now)

    async def _delete(self, claimed: Iterable[str]) -> int:
        """Delete the bytes and thumbnail of each marked blob, then its row."""
        removed = 0
        for sha256 in claimed:
            await self.blobs.delete(sha256)
            await self.thumbnails.delete(sha256)
            await self.refs.forget(sha256)
            removed += 1
        return removed

    async def _orphans(self, now: float) -> int:
        """Delete bytes older than `ORPHAN_SECONDS` that have no row, a batch at a time."""
        removed, batch = 0, []
        async for blob in self.blobs.list():
            if blob.modified < now - ORPHAN_SECONDS:
                batch.append(blob.sha256)
            if len(batch) >= ORPHAN_BATCH:
                removed += await self._orphan_batch(batch)
                batch = []
        return removed + await self._orphan_batch(batch)

    async def _orphan_batch(self, digests: list[str]) -> int:
        known = await self.refs.known(digests)
        removed = 0
        for sha256 in digests:
            if sha256 not in known and await self.refs.claim_orphan(sha256):
                removed += await self._delete([sha256])
        return removed

    async def prune_thumbnails(self) -> None:
        """Delete this node's thumbnails of blobs that have no row (collected elsewhere)."""
        made = [sha256 async for sha256 in self.thumbnails.list()]
        known = await self.refs.known(made)
        for sha256 in made:
            if sha256 not in known:
                await self.thumbnails.delete(sha256)

    async def run(self) -> None:
        """Sweep now and then every `EVERY` seconds until cancelled; a failed sweep is logged."""
        while True:
            try:
                removed = await self.sweep(time.time())
                if removed:
                    log.info("removed %d unused blobs", removed)
            except Exception:
                log.exception("the archive sweep failed; it runs again in %d s", EVERY)
            await asyncio.sleep(EVERY)
