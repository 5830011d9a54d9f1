"""Emptying the trash: a teacher purges a file for good, and files trashed long ago expire.

A purged file's rows go (its versions with it), its blobs' reference counts are recounted, and the
digests its versions used are handed back, for the collection to delete those that nothing uses any
more (`rooms/blob_refs.py`). Blobs are shared between identical files, also across rooms, so a purge
never implies that a blob is unused.
"""

from __future__ import annotations

from collections.abc import Sequence

from rooms.errors import Conflict, NotFound
from rooms.models import User
from rooms.policy import Action
from rooms.rooms import Rooms
from rooms.store.db import Store, Tx

BATCH = 200  # expired files removed per transaction, so one sweep never holds the writer long


class Trash:
    """Permanent removal of trashed files, each purge authorised; expiry for the periodic sweep."""

    def __init__(self, db: Store, rooms: Rooms) -> None:
        self.db = db
        self.rooms = rooms

    async def purge(self, user: User, file_id: str) -> list[str]:
        """Remove a trashed file and every version of it (teachers); emits `file:purge`.

        Returns the digests its versions used, for the collection to delete if nothing uses them.
        """
        row = await self.db.fetchone(
            "SELECT room_id, deleted_at FROM files WHERE id = ?", (file_id,)
        )
        if row is None:
            raise NotFound("file", file_id)
        await self.rooms.require(user, row["room_id"], Action.MODERATE)
        if row["deleted_at"] is None:
            raise Conflict(
                "Only a file in the trash can be purged; delete it first.", reason="not_in_trash"
            )

        async def remove(tx: Tx) -> list[str]:
            digests = await _remove(tx, [(file_id, row["room_id"])])
            if digests is None:
                raise NotFound("file", file_id)
            return digests

        return await self.db.write(remove)

    async def expire(self, before: float) -> list[str]:
        """Remove every file trashed before `before` (any room); returns the digests they used."""
        digests: list[str] = []
        while True:

            async def batch(tx: Tx) -> int:
                rows = await tx.fetchall(
                    "SELECT id, room_id FROM files WHERE deleted_at < ? LIMIT ?", (before, BATCH)
                )
                digests.extend(await _remove(tx, [(r["id"], r["room_id"]) for r in rows]) or [])
                return len(rows)

            if await self.db.write(batch) < BATCH:
                return sorted(set(digests))


async def _remove(tx: Tx, files: Sequence[tuple[str, str]]) -> list[str] | None:
    """Delete trashed files with their versions and tell their rooms; None if one is gone."""
    digests: set[str] = set()
    for file_id, room_id in files:
        rows = await tx.fetchall(
            "SELECT DISTINCT sha256 FROM file_versions WHERE file_id = ?", (file_id,)
        )
        if not await tx.execute(
            "DELETE FROM files WHERE id = ? AND deleted_at IS NOT NULL", (file_id,)
        ):
            return None
        digests.update(row[0] for row in rows)
        await tx.emit(room_id, "file:purge", {"id": file_id, "room_id": room_id})
    for sha256 in digests:
        await tx.execute(
            "UPDATE blobs SET refs = (SELECT COUNT(*) FROM file_versions v WHERE v.sha256 = ?)"
            " WHERE sha256 = ?",
            (sha256, sha256),
        )
    return sorted(digests)
