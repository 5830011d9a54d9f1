"""Blob rows and their lifetime: pins that protect an upload, and the collection of unused blobs.

A blob's bytes live in a store the domain never sees; its row here counts the file versions that
use it (`refs`) and says whether it is pinned. The protocol between uploads and the collection
(which may run on another node) is a handful of single statements, so the database orders them:

- An upload pins the row (creating it if needed) before it stores the bytes, and commits its file
  version with `refs + 1`, clearing its own pin, in the same transaction.
- The collection first marks an unused, unpinned row as being deleted (`pinned_until = DELETING`),
  only then deletes the bytes, and only then drops the row.
- A pin never touches a row being deleted: the upload waits until the row is gone (the bytes are
  then gone too) and stores the bytes anew. A commit never counts on a row being deleted.

So bytes are deleted only while their row is marked, and no upload can take them for stored while
it is: an upload racing a collection of the same bytes never ends with a file whose bytes are gone.
A deleted room's file versions go with it and leave `refs` stale; every collection recounts first.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from rooms.store.db import Store, Tx

PIN_SECONDS = 3600.0  # longer than storing the largest upload takes; a crashed upload's row lapses
DELETING = -1.0


class BlobRefs:
    """The `blobs` table: pins for uploads, recounts and the claims of the collection."""

    def __init__(self, db: Store, *, clock: Callable[[], float]) -> None:
        self.db = db
        self.clock = clock

    async def pin(self, sha256: str, size: int) -> float | None:
        """Pin the blob's row for `PIN_SECONDS` (creating it with no references if absent).

        Returns the pin, to be handed to `commit` or `unpin`, or None while a collection is
        deleting these bytes (try again once it is done).
        """
        until = self.clock() + PIN_SECONDS

        async def pin(tx: Tx) -> bool:
            row = await tx.fetchone(
                "INSERT INTO blobs (sha256, size, refs, created_at, pinned_until)"
                " VALUES (?, ?, 0, ?, ?) ON CONFLICT (sha256) DO UPDATE SET pinned_until ="
                " CASE WHEN blobs.pinned_until < excluded.pinned_until"
                " THEN excluded.pinned_until ELSE blobs.pinned_until END"
                " WHERE blobs.pinned_until >= 0 RETURNING sha256",
                (sha256, size, self.clock(), until),
            )
            return row is not None

        return until if await self.db.write(pin) else None

    async def unpin(self, sha256: str, pin: float) -> None:
        """Give up an upload's pin (unless a later upload's pin replaced it)."""

        async def unpin(tx: Tx) -> None:
            await tx.execute(
                "UPDATE blobs SET pinned_until = 0 WHERE sha256 = ? AND pinned_until = ?",
                (sha256, pin),
            )

        await self.db.write(unpin)

    async def recount(self) -> None:
        """Recount every blob's references from the file versions that exist."""

        async def recount(tx: Tx) -> None:
            await tx.execute(
                "UPDATE blobs SET refs ="
                " (SELECT COUNT(*) FROM file_versions v WHERE v.sha256 = blobs.sha256)"
            )

        await self.db.write(recount)

    async def claim_unused(self, now: float, digests: Iterable[str] | None = None) -> list[str]:
        """Mark unused blobs whose pin lapsed before `now` as being deleted (all of them, or those
        among `digests`); returns every marked digest, those left marked by an earlier run too."""
        wanted = None if digests is None else sorted(set(digests))

        async def claim(tx: Tx) -> list[str]:
            sql = (
                "UPDATE blobs SET pinned_until = ? WHERE refs = 0"
                " AND pinned_until >= 0 AND pinned_until < ?"
                " AND NOT EXISTS (SELECT 1 FROM file_versions v WHERE v.sha256 = blobs.sha256)"
            )
            claimed: list[str] = []
            for sha256 in [None] if wanted is None else wanted:
                where, params = ("", ()) if sha256 is None else (" AND sha256 = ?", (sha256,))
                rows = await tx.fetchall(
                    sql + where + " RETURNING sha256", (DELETING, now, *params)
                )
                claimed.extend(row[0] for row in rows)
            rows = await tx.fetchall("SELECT sha256 FROM blobs WHERE pinned_until < 0")
            return sorted({*claimed, *(row[0] for row in rows)})

        return await self.db.write(claim)

    async def claim_orphan(self, sha256: str) -> bool:
        """Mark bytes that have no row as being deleted; False if a row exists (an upload's)."""

        async def claim(tx: Tx) -> bool:
            row = await tx.fetchone(
                "INSERT INTO blobs (sha256, size, refs, created_at, pinned_until)"
                " VALUES (?, 0, 0, ?, ?) ON CONFLICT (sha256) DO NOTHING RETURNING sha256",
                (sha256, self.clock(), DELETING),
            )
            return row is not None

        return await self.db.write(claim)

    async def forget(self, sha256: str) -> None:
        """Drop a marked row once its bytes are deleted."""

        async def drop(tx: Tx) -> None:
            await tx.execute("DELETE FROM blobs WHERE sha256 = ? AND pinned_until < 0", (sha256,))

        await self.db.write(drop)

    async def known(self, digests: Iterable[str]) -> set[str]:
        """Those of `digests` that have a row."""
        wanted = list(digests)
        found: set[str] = set()
        for start in range(0, len(wanted), 500):
            batch = wanted[start : start + 500]
            rows = await self.db.fetchall(
                "SELECT sha256 FROM blobs WHERE sha256 IN (" + ",".join("?" * len(batch)) + ")",
                batch,
            )
            found.update(row[0] for row in rows)
        return found


async def take_reference(tx: Tx, sha256: str, pin: float) -> bool:
    """Inside an upload's committing transaction: count one more reference to a pinned blob and
    clear the upload's own pin. False if the row is gone or being deleted (the pin lapsed)."""
    return bool(
        await tx.execute(
            "UPDATE blobs SET refs = refs + 1,"
            " pinned_until = CASE WHEN pinned_until = ? THEN 0 ELSE pinned_until END"
            " WHERE sha256 = ? AND pinned_until >= 0",
            (pin, sha256),
        )
    )
