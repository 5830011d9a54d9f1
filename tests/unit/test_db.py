"""The store: migrations on a fresh and an existing database, and group commit's isolation."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

import pytest

from rooms.effects import LiveEffect, RoomDeleted
from rooms.store.db import Commit, Database, RoomEvent, Tx, migrate


async def test_migrations_apply_once_on_a_fresh_database_and_never_again(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "db.sqlite3", isolation_level=None)
    first = migrate(conn)
    again = migrate(conn)
    versions = [
        row[0] for row in conn.execute("SELECT version FROM schema_migrations ORDER BY version")
    ]
    conn.close()
    assert first[0].startswith("0001_") and again == []
    assert versions == [int(name.split("_", 1)[0]) for name in first]


async def test_a_reopened_database_keeps_its_rows(tmp_path: Path) -> None:
    db = Database(tmp_path / "db.sqlite3", clock=time.time)
    await db.open()
    await db.write(
        lambda tx: tx.execute(
            "INSERT INTO users VALUES ('u', 'ana', 'h', 'Ana', 'PT', 'teacher', NULL, 0)"
        )
    )
    await db.close()
    db = Database(tmp_path / "db.sqlite3", clock=time.time)
    await db.open()
    row = await db.fetchone("SELECT username FROM users WHERE id = 'u'")
    await db.close()
    assert row is not None and row["username"] == "ana"


async def test_a_failing_job_rolls_back_alone_within_a_group_commit(tmp_path: Path) -> None:
    db = Database(tmp_path / "db.sqlite3", clock=time.time)
    await db.open()
    committed: list[RoomEvent] = []
    effects: list[LiveEffect] = []

    def listen(commit: Commit) -> None:
        committed.extend(commit.events)
        effects.extend(commit.effects)

    db.on_commit(listen)
    await db.write(
        lambda tx: tx.execute(
            "INSERT INTO users VALUES ('u', 'ana', 'h', 'Ana', 'PT', 'teacher', NULL, 0)"
        )
    )
    await db.write(
        lambda tx: tx.execute(
            "INSERT INTO rooms (id, name, description, owner_id, created_at) VALUES ('r', 'R', '', 'u', 0)"
        )
    )

    async def good(tx: Tx) -> int:
        payload = await tx.emit("r", "thing:new", {"id": "x"})
        tx.effect(RoomDeleted(f"kept {payload['room_seq']}"))
        return int(payload["room_seq"])

    async def bad(tx: Tx) -> None:
        await tx.emit("r", "thing:new", {"id": "never"})
        tx.effect(RoomDeleted("never"))
        raise ValueError("refused")

    results = await asyncio.gather(
        db.write(good), db.write(bad), db.write(good), return_exceptions=True
    )
    await db.close()
    assert results[0] == 1 and results[2] == 2
    assert isinstance(results[1], ValueError)
    assert [(e.seq, e.data["id"]) for e in committed] == [(1, "x"), (2, "x")]
    assert effects == [RoomDeleted("kept 1"), RoomDeleted("kept 2")]  # never a rolled-back one


async def test_concurrent_writers_get_gapless_room_sequence_numbers(tmp_path: Path) -> None:
    db = Database(tmp_path / "db.sqlite3", clock=time.time)
    await db.open()
    await db.write(
        lambda tx: tx.execute(
            "INSERT INTO users VALUES ('u', 'ana', 'h', 'Ana', 'PT', 'teacher', NULL, 0)"
        )
    )
    await db.write(
        lambda tx: tx.execute(
            "INSERT INTO rooms (id, name, description, owner_id, created_at) VALUES ('r', 'R', '', 'u', 0)"
        )
    )
    seqs = await asyncio.gather(*(db.write(lambda tx: tx.next_seq("r")) for _ in range(100)))
    await db.close()
    assert sorted(seqs) == list(range(1, 101))


async def test_a_write_to_an_unknown_room_is_refused(tmp_path: Path) -> None:
    db = Database(tmp_path / "db.sqlite3", clock=time.time)
    await db.open()
    with pytest.raises(LookupError):
        await db.write(lambda tx: tx.next_seq("nowhere"))
    await db.close()
