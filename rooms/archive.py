"""The shared file archive's metadata and rules: files with versions, deletion and restore.

The bytes live in a blob store the domain never sees; here a file is a name in a folder of a room,
pointing through its versions at content-addressed blobs (sha256) with reference counts. Uploading
a name that already exists in a folder adds a version; older versions stay downloadable. Deleting
moves a file to the room's trash, from which a teacher can restore it; the trash still counts
toward the room's quota until it is emptied (`rooms/trash.py`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rooms.blob_refs import take_reference
from rooms.errors import Conflict, Forbidden, NotFound, Unavailable
from rooms.filenames import clean_folder, clean_name
from rooms.ids import new_id
from rooms.models import User, iso
from rooms.policy import Action, may
from rooms.quota import Quotas, Reservation
from rooms.rooms import Rooms
from rooms.store.db import Row, Store, Tx

SELECT = (
    "SELECT f.id, f.room_id, f.folder, f.name, f.created_by, f.created_at, f.deleted_at,"
    " v.version, v.sha256, v.size, v.mime, v.created_at AS updated_at,"
    " u.id AS uploader_id, u.display_name, u.country"
    " FROM files f JOIN file_versions v ON v.file_id = f.id"
    " JOIN users u ON u.id = v.uploader_id"
)
CURRENT = SELECT + " AND v.version = f.version"


@dataclass(frozen=True)
class NewBlob:
    """The bytes of an upload as stored: digest, size, the type sniffed from the content, and the
    pin the upload holds on the blob's row (`BlobRefs.pin`)."""

    sha256: str
    size: int
    mime: str
    pin: float


@dataclass(frozen=True)
class StoredFile:
    """One version of a file in a room's archive (the current one unless asked otherwise)."""

    id: str
    room_id: str
    folder: str
    name: str
    version: int
    size: int
    sha256: str
    mime: str
    uploader: dict[str, str]
    created_by: str
    created_at: float
    updated_at: float
    deleted: bool

    @classmethod
    def from_row(cls, row: Row) -> StoredFile:
        uploader = {"id": row["uploader_id"], "display_name": row["display_name"]}
        return cls(
            row["id"], row["room_id"], row["folder"], row["name"], int(row["version"]),
            int(row["size"]), row["sha256"], row["mime"], {**uploader, "country": row["country"]},
            row["created_by"], row["created_at"], row["updated_at"], row["deleted_at"] is not None,
        )  # fmt: skip

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "room_id": self.room_id,
            "name": self.name,
            "folder": self.folder,
            "size": self.size,
            "sha256": self.sha256,
            "mime": self.mime,
            "uploader": self.uploader,
            "created_by": self.created_by,
            "created_at": iso(self.created_at),
            "updated_at": iso(self.updated_at),
            "version": self.version,
            "deleted": self.deleted,
        }


class Archive:
    """Files of every room: upload, listing, versions, delete and restore, each authorised.

    A file of a room the caller is not in answers `NotFound`, exactly like a missing one.
    """

    def __init__(
        self, db: Store, rooms: Rooms, *, clock: Callable[[], float], quota_bytes: int
    ) -> None:
        self.db = db
        self.rooms = rooms
        self.clock = clock
        self.quotas = Quotas(db, quota_bytes)

    async def reserve(self, user: User, room_id: str, expected: int) -> Reservation:
        """Check that the caller may upload here and hold `expected` bytes of the room's quota."""
        await self.rooms.require(user, room_id, Action.UPLOAD)
        return await self.quotas.reserve(room_id, expected)

    async def add(
        self, user: User, room_id: str, folder: str, name: str, blob: NewBlob, held: Reservation
    ) -> StoredFile:
        """Record an uploaded blob as a new file, or a new version of the same name in the folder.

        The blob must already be stored under the upload's pin. Emits `file:new` (or `file:edit`
        for a new version). `Unavailable` if the pin lapsed and a collection took the blob.
        """
        await self.rooms.require(user, room_id, Action.UPLOAD)
        folder, name = clean_folder(folder), clean_name(name)

        async def insert(tx: Tx) -> str:
            # The room's sequence number first: its row lock makes the quota check and the
            # name's lookup hold until the commit, whichever node uploads into the room.
            seq = await tx.next_seq(room_id)
            await self.quotas.check(tx, room_id, blob.size)
            held.release()  # from now on the database counts these bytes
            return await _record(tx, seq, user.id, room_id, (folder, name), blob, self.clock())

        try:
            file_id = await self.db.write(insert)
        finally:
            held.release()
        return await self._load(file_id)

    async def files(
        self, user: User, room_id: str, folder: str | None = None, *, deleted: bool = False
    ) -> list[StoredFile]:
        """The room's files (in one folder, if given), oldest first; the trash for teachers."""
        await self.rooms.require(user, room_id, Action.MODERATE if deleted else Action.READ_FILES)
        sql = (
            CURRENT
            + " WHERE f.room_id = ? AND f.deleted_at IS "
            + ("NOT NULL" if deleted else "NULL")
        )
        params: list[Any] = [room_id]
        if folder is not None:
            sql += " AND f.folder = ?"
            params.append(clean_folder(folder))
        rows = await self.db.fetchall(sql + " ORDER BY f.created_at, f.id", params)
        return [StoredFile.from_row(row) for row in rows]

    async def get(self, user: User, file_id: str, version: int | None = None) -> StoredFile:
        """A file (or one of its versions) the caller may read; a trashed one only for teachers."""
        current = await self._load(file_id)
        role = await self.rooms.require(
            user, current.room_id, Action.READ_FILES, thing=("file", file_id)
        )
        if current.deleted and not may(role, Action.MODERATE):
            raise NotFound("file", file_id)
        if version is None or version == current.version:
            return current
        row = await self.db.fetchone(
            SELECT + " WHERE f.id = ? AND v.version = ?", (file_id, version)
        )
        if row is None:
            raise NotFound("file version", str(version))
        return StoredFile.from_row(row)

    async def versions(self, user: User, file_id: str) -> list[StoredFile]:
        """Every version of a file, oldest first."""
        await self.get(user, file_id)
        rows = await self.db.fetchall(SELECT + " WHERE f.id = ? ORDER BY v.version", (file_id,))
        return [StoredFile.from_row(row) for row in rows]

    async def delete(self, user: User, file_id: str) -> None:
        """Move a file to the trash: its uploader or a teacher; emits `file:delete`."""
        stored = await self.get(user, file_id)
        role = await self.rooms.require(user, stored.room_id, Action.DELETE_OWN)
        if stored.created_by != user.id and not may(role, Action.MODERATE):
            raise Forbidden(
                "Only its uploader or a teacher can delete this file.", reason="not_uploader"
            )

        async def trash(tx: Tx) -> None:
            changed = await tx.execute(
                "UPDATE files SET deleted_at = ?, deleted_by = ? WHERE id = ? AND deleted_at IS NULL",
                (self.clock(), user.id, file_id),
            )
            if not changed:
                raise NotFound("file", file_id)
            await tx.emit(stored.room_id, "file:delete", {"id": file_id, "room_id": stored.room_id})

        await self.db.write(trash)

    async def move(
        self, user: User, file_id: str, *, name: str | None = None, folder: str | None = None
    ) -> StoredFile:
        """Rename a file or move it to another folder (or both): its first uploader, or a
        teacher, as for deleting; emits `file:edit`. A name already taken there is a `Conflict`
        (an upload of that name would become a version of the other file)."""
        stored = await self.get(user, file_id)
        role = await self.rooms.require(user, stored.room_id, Action.DELETE_OWN)
        if stored.created_by != user.id and not may(role, Action.MODERATE):
            raise Forbidden("Only its uploader or a teacher can rename or move this file.")
        if stored.deleted:
            raise Conflict("This file is in the trash; restore it first.")
        new_name = stored.name if name is None else clean_name(name)
        new_folder = stored.folder if folder is None else clean_folder(folder)

        async def relocate(tx: Tx) -> None:
            seq = await tx.next_seq(stored.room_id)  # the room's lock, before the name's check
            taken = await _live_id(tx, stored.room_id, new_folder, new_name)
            if taken == file_id:
                return  # nowhere new to go: nothing to tell anyone
            if taken is not None:
                raise Conflict("A file of that name is already in the folder.")
            if not await tx.execute(
                "UPDATE files SET name = ?, folder = ? WHERE id = ? AND deleted_at IS NULL",
                (new_name, new_folder, file_id),
            ):
                raise NotFound("file", file_id)
            await tx.record(
                stored.room_id, seq, "file:edit", (await _current(tx, file_id)).to_json()
            )

        await self.db.write(relocate)
        return await self._load(file_id)

    async def restore(self, user: User, file_id: str) -> StoredFile:
        """Bring a file back from the trash (teachers); emits `file:new` with the full file.

        The trash counts toward the room's quota, so restoring needs no more room.
        """
        stored = await self._load(file_id)
        await self.rooms.require(user, stored.room_id, Action.MODERATE, thing=("file", file_id))
        if not stored.deleted:
            raise Conflict("This file is not deleted.")

        async def bring_back(tx: Tx) -> None:
            seq = await tx.next_seq(stored.room_id)  # the room's lock, before the name's check
            if await _live_id(tx, stored.room_id, stored.folder, stored.name):
                raise Conflict("A file of that name is already in the folder.", reason="name_taken")
            if not await tx.execute(
                "UPDATE files SET deleted_at = NULL, deleted_by = NULL"
                " WHERE id = ? AND deleted_at IS NOT NULL",
                (file_id,),
            ):
                raise Conflict("This file is not deleted.")
            await tx.record(
                stored.room_id, seq, "file:new", (await _current(tx, file_id)).to_json()
            )

        await self.db.write(bring_back)
        return await self._load(file_id)

    async def _load(self, file_id: str) -> StoredFile:
        row = await self.db.fetchone(CURRENT + " WHERE f.id = ?", (file_id,))
        if row is None:
            raise NotFound("file", file_id)
        return StoredFile.from_row(row)


async def _current(tx: Tx, file_id: str) -> StoredFile:
    row = await tx.fetchone(CURRENT + " WHERE f.id = ?", (file_id,))
    assert row is not None
    return StoredFile.from_row(row)


async def _live_id(tx: Tx, room_id: str, folder: str, name: str) -> str | None:
    row = await tx.fetchone(
        "SELECT id FROM files WHERE room_id = ? AND folder = ? AND name = ? AND deleted_at IS NULL",
        (room_id, folder, name),
    )
    return row["id"] if row is not None else None


async def _next_version(
    tx: Tx, room_id: str, folder: str, name: str, user_id: str, now: float
) -> tuple[str, int]:
    """The file the upload lands in and its new version number (creating the file if new)."""
    file_id = await _live_id(tx, room_id, folder, name)
    if file_id is None:
        file_id = new_id()
        await tx.execute(
            "INSERT INTO files (id, room_id, folder, name, version, created_by, created_at)"
            " VALUES (?, ?, ?, ?, 1, ?, ?)",
            (file_id, room_id, folder, name, user_id, now),
        )
        return file_id, 1
    row = await tx.fetchone(
        "UPDATE files SET version = version + 1 WHERE id = ? RETURNING version", (file_id,)
    )
    assert row is not None
    return file_id, int(row[0])


async def _record(
    tx: Tx, seq: int, user_id: str, room_id: str, where: tuple[str, str], blob: NewBlob, now: float
) -> str:
    """Count the blob's reference and insert the version row, and record the event under `seq`
    (taken before any check); returns the file's id."""
    if not await take_reference(tx, blob.sha256, blob.pin):
        raise Unavailable("Storing the file took too long; please upload it again.")
    file_id, version = await _next_version(tx, room_id, *where, user_id, now)
    await tx.execute(
        "INSERT INTO file_versions (file_id, version, room_id, sha256, size, mime,"
        " uploader_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (file_id, version, room_id, blob.sha256, blob.size, blob.mime, user_id, now),
    )
    event = "file:new" if version == 1 else "file:edit"
    await tx.record(room_id, seq, event, (await _current(tx, file_id)).to_json())
    return file_id
