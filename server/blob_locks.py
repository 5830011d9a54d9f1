"""Per-digest locks that keep a blob's bytes and the rows that use it in step on one node."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


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
