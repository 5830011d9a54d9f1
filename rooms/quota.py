"""Room quotas under concurrent uploads: bytes are reserved before and while an upload streams.

The database decides in the end (the committing transaction checks the room's total), but an upload
that cannot fit should be refused before its bytes are received, and twenty uploads racing for the
last megabytes must not all be let through to find out at commit. So each upload holds a
reservation in process; a new one is admitted only if the room's committed bytes, every live
reservation and its own still fit. A reservation is released inside the committing job, when its
bytes are about to count in the database instead: between the two the sum may undercount for a
moment (the transaction's check catches that) but it never counts a file twice.
"""

from __future__ import annotations

import threading
from collections import defaultdict

from rooms.errors import TooLarge
from rooms.store.db import Store, Tx

# Every version of every file counts, in the trash too: deleting must not make room for more bytes
# on disk; purging does (`rooms/trash.py`).
USED_SQL = "SELECT COALESCE(SUM(size), 0) FROM file_versions WHERE room_id = ?"


def quota_exceeded() -> TooLarge:
    return TooLarge("The room's archive is full.", code="quota_exceeded")


class Reservation:
    """Bytes held for one upload in one room until it is committed or abandoned."""

    def __init__(self, quotas: Quotas, room_id: str, used: int) -> None:
        self.quotas = quotas
        self.room_id = room_id
        self.used = used  # the room's committed bytes when the upload began
        self.bytes = 0

    def grow(self, count: int) -> None:
        """Hold `count` more bytes, or raise `quota_exceeded` (holding nothing more)."""
        self.quotas.hold(self, count)

    def cover(self, total: int) -> None:
        """Make sure at least `total` bytes are held (a no-op while the estimate covers it)."""
        if total > self.bytes:
            self.grow(total - self.bytes)

    def release(self) -> None:
        """Give the bytes back (safe to call more than once)."""
        self.quotas.drop(self)


class Quotas:
    """The per-room reservations of one node, checked against `limit` bytes per room."""

    def __init__(self, db: Store, limit: int) -> None:
        self.db = db
        self.limit = limit
        self._reserved: defaultdict[str, int] = defaultdict(int)
        # The committing job releases a reservation in the database's writer thread.
        self._lock = threading.Lock()

    async def reserve(self, room_id: str, expected: int = 0) -> Reservation:
        """A reservation for an upload into `room_id`, already holding `expected` bytes."""
        row = await self.db.fetchone(USED_SQL, (room_id,))
        reservation = Reservation(self, room_id, int(row[0]) if row else 0)
        reservation.grow(expected)
        return reservation

    def hold(self, reservation: Reservation, count: int) -> None:
        room = reservation.room_id
        with self._lock:
            if reservation.used + self._reserved[room] + count > self.limit:
                raise quota_exceeded()
            self._reserved[room] += count
            reservation.bytes += count

    def drop(self, reservation: Reservation) -> None:
        room = reservation.room_id
        with self._lock:
            self._reserved[room] -= reservation.bytes
            reservation.bytes = 0
            if not self._reserved[room]:
                del self._reserved[room]

    async def check(self, tx: Tx, room_id: str, adding: int) -> None:
        """Inside the committing transaction: raise `quota_exceeded` unless `adding` bytes fit."""
        row = await tx.fetchone(USED_SQL, (room_id,))
        if (int(row[0]) if row else 0) + adding > self.limit:
            raise quota_exceeded()
