"""Folders of a room's archive: relative paths, created, renamed or moved, and deleted.

A folder exists when a live file is in it or below it, or when someone created it explicitly
(an empty folder to upload into later). Renaming and moving are the same operation: every file and
explicit folder under the old path moves to the new one, in one transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rooms.archive import CURRENT, StoredFile
from rooms.errors import Conflict, Invalid, NotFound
from rooms.filenames import clean_folder, within
from rooms.models import User
from rooms.policy import Action
from rooms.rooms import Rooms
from rooms.store.db import Store, Tx


def _under(column: str) -> str:
    """SQL true when `column` is a folder path or lies below it; parameters from `_at_or_below`.

    Folder names are case-sensitive: `LIKE` ignores ASCII case in SQLite (and has wildcards), so
    the prefix is compared exactly, by characters, as SQLite and PostgreSQL both count them.
    """
    return f"({column} = ? OR substr({column}, 1, ?) = ?)"


def _at_or_below(path: str) -> tuple[str, int, str]:
    return path, len(path) + 1, path + "/"


def _ancestors(path: str) -> list[str]:
    parts = path.split("/")
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]


class Folders:
    """The folders of every room's archive, each operation authorised by the room's policy."""

    def __init__(self, db: Store, rooms: Rooms, *, clock: Callable[[], float]) -> None:
        self.db = db
        self.rooms = rooms
        self.clock = clock

    async def paths(self, user: User, room_id: str) -> list[str]:
        """Every folder of the room (explicit or holding files) with its parents, sorted."""
        await self.rooms.require(user, room_id, Action.READ_FILES)
        rows = await self.db.fetchall(
            "SELECT path FROM folders WHERE room_id = ? UNION"
            " SELECT DISTINCT folder FROM files WHERE room_id = ? AND deleted_at IS NULL",
            (room_id, room_id),
        )
        paths = {a for row in rows if row[0] for a in _ancestors(row[0])}
        return sorted(paths)

    async def create(self, user: User, room_id: str, path: str) -> dict[str, Any]:
        """Create an (empty) folder, members and up; emits `folder:new`."""
        await self.rooms.require(user, room_id, Action.UPLOAD)
        path = self._path(path)

        async def insert(tx: Tx) -> None:
            added = await tx.execute(
                "INSERT INTO folders (room_id, path, created_by, created_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (room_id, path) DO NOTHING",
                (room_id, path, user.id, self.clock()),
            )
            if added:
                await tx.emit(room_id, "folder:new", {"room_id": room_id, "path": path})

        await self.db.write(insert)
        return {"room_id": room_id, "path": path}

    async def move(self, user: User, room_id: str, path: str, new_path: str) -> dict[str, Any]:
        """Rename or move a folder with everything in it (teachers); emits `folder:move` and a
        `file:edit` for every file that moved. Refused when a name would collide."""
        await self.rooms.require(user, room_id, Action.MODERATE)
        path, new_path = self._path(path), self._path(new_path)
        if within(new_path, path):
            raise Invalid(
                "new_path: a folder cannot move into itself.", field="new_path", rule="into_itself"
            )
        if path not in await self.paths(user, room_id):
            raise NotFound("folder", path)

        async def apply(tx: Tx) -> None:
            seq = await tx.next_seq(room_id)  # the room's lock: no upload lands mid-check
            await self._check_free(tx, room_id, path, new_path)
            await _relocate(tx, seq, room_id, path, new_path)

        await self.db.write(apply)
        return {"room_id": room_id, "path": new_path}

    async def _check_free(self, tx: Tx, room_id: str, path: str, new_path: str) -> None:
        clash = await tx.fetchone(
            "SELECT a.name FROM files a JOIN files b ON b.room_id = a.room_id AND b.name = a.name"
            " AND b.folder = ? || SUBSTR(a.folder, ?)"
            " WHERE a.room_id = ? AND a.deleted_at IS NULL AND b.deleted_at IS NULL"
            f" AND {_under('a.folder')}",
            (new_path, len(path) + 1, room_id, *_at_or_below(path)),
        )
        if clash is not None:
            raise Conflict(
                f"A file named {clash[0]} is already there.",
                reason="name_taken",
                params={"name": clash[0]},
            )

    async def delete(self, user: User, room_id: str, path: str) -> None:
        """Delete an empty folder (teachers); one still holding files is a `Conflict`."""
        await self.rooms.require(user, room_id, Action.MODERATE)
        path = self._path(path)

        async def remove(tx: Tx) -> None:
            seq = await tx.next_seq(room_id)  # the room's lock: no upload lands mid-check
            busy = await tx.fetchone(
                f"SELECT 1 FROM files WHERE room_id = ? AND deleted_at IS NULL AND {_under('folder')}",
                (room_id, *_at_or_below(path)),
            )
            if busy is not None:
                raise Conflict("The folder is not empty.", reason="folder_not_empty")
            removed = await tx.execute(
                f"DELETE FROM folders WHERE room_id = ? AND {_under('path')}",
                (room_id, *_at_or_below(path)),
            )
            if not removed:
                raise NotFound("folder", path)
            await tx.record(room_id, seq, "folder:delete", {"room_id": room_id, "path": path})

        await self.db.write(remove)

    @staticmethod
    def _path(raw: str) -> str:
        path = clean_folder(raw)
        if not path:
            raise Invalid(
                "path: the top of the archive is not a folder to change.", field="path", rule="top"
            )
        return path


async def _relocate(tx: Tx, seq: int, room_id: str, path: str, new_path: str) -> None:
    """Move every file and explicit folder under `path` to `new_path`, and tell the room (the
    `folder:move` under `seq`, taken before the checks)."""
    await tx.execute(  # explicit folders already at the target merge with the moved ones
        "DELETE FROM folders WHERE room_id = ? AND path IN (SELECT ? || SUBSTR(path, ?)"
        f" FROM folders WHERE room_id = ? AND {_under('path')})",
        (room_id, new_path, len(path) + 1, room_id, *_at_or_below(path)),
    )
    for table, column in (("files", "folder"), ("folders", "path")):
        await tx.execute(
            f"UPDATE {table} SET {column} = ? || SUBSTR({column}, ?)"
            f" WHERE room_id = ? AND {_under(column)}",
            (new_path, len(path) + 1, room_id, *_at_or_below(path)),
        )
    await tx.record(
        room_id, seq, "folder:move", {"room_id": room_id, "path": path, "new_path": new_path}
    )
    moved = await tx.fetchall(
        CURRENT + f" WHERE f.room_id = ? AND f.deleted_at IS NULL AND {_under('f.folder')}",
        (room_id, *_at_or_below(new_path)),
    )
    for row in moved:
        await tx.emit(room_id, "file:edit", StoredFile.from_row(row).to_json())
