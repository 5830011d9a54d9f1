"""The store: migrations on a fresh and an existing database, isolation of failing jobs, and
sequence numbers under concurrency, on both engines (group commit is SQLite's alone)."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from rooms.effects import LiveEffect, RoomDeleted
from rooms.store.db import Commit, RoomEvent, Store, Tx
from rooms.store.postgres import PostgresStore
from rooms.store.sqlite import SqliteStore, migrate
from tests.pg import PgServer

pytestmark = pytest.mark.both_engines
Factory = Callable[[], Store]


@pytest.fixture
async def new_store(
    store: str, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[Factory]:
    """Makes unopened stores on one database of the engine under test (an empty one)."""
    if store == "sqlite":
        yield lambda: SqliteStore(tmp_path / "db.sqlite3", clock=time.time)
        return
    pg: PgServer = request.getfixturevalue("pg_server")
    url = await pg.fresh(migrated=False)
    yield lambda: PostgresStore(url, clock=time.time)
    await pg.drop(url)


def test_migrations_apply_once_on_a_fresh_database_and_never_again(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "db.sqlite3", isolation_level=None)
    first = migrate(conn)
    again = migrate(conn)
    versions = [
        row[0] for row in conn.execute("SELECT version FROM schema_migrations ORDER BY version")
    ]
    conn.close()
    assert first[0].startswith("0001_") and again == []
    assert versions == [int(name.split("_", 1)[0]) for name in first]


async def test_migrations_apply_once_across_stores_opening_together(new_store: Factory) -> None:
    stores = [new_store() for _ in range(3)]
    await asyncio.gather(*(db.open() for db in stores))
    rows = await stores[0].fetchall("SELECT version, name FROM schema_migrations ORDER BY version")
    for db in stores:
        await db.close()
    assert rows[0]["name"].startswith("0001_") and rows[0][0] == 1
    assert [row[0] for row in rows] == sorted({row[0] for row in rows})


async def test_a_reopened_database_keeps_its_rows(new_store: Factory) -> None:
    db = new_store()
    await db.open()
    await db.write(
        lambda tx: tx.execute(
            "INSERT INTO users VALUES ('u', 'ana', 'h', 'Ana', 'PT', 'teacher', NULL, 0)"
        )
    )
    await db.close()
    db = new_store()
    await db.open()
    row = await db.fetchone("SELECT username FROM users WHERE id = 'u'")
    await db.close()
    assert row is not None and row["username"] == "ana"


async def test_a_failing_job_rolls_back_alone_within_a_group_commit(new_store: Factory) -> None:
    db = new_store()
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


async def test_concurrent_writers_get_gapless_room_sequence_numbers(new_store: Factory) -> None:
    db = new_store()
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


async def test_a_write_to_an_unknown_room_is_refused(new_store: Factory) -> None:
    db = new_store()
    await db.open()
    with pytest.raises(LookupError):
        await db.write(lambda tx: tx.next_seq("nowhere"))
    await db.close()


async def test_a_placeholder_inside_a_quoted_literal_stays_text(new_store: Factory) -> None:
    db = new_store()
    await db.open()
    row = await db.fetchone("SELECT 'who?' AS q, ? AS a, 'it''s ?' AS b, ? AS c", ("x", "y"))
    await db.close()
    assert row is not None and tuple(row) == ("who?", "x", "it's ?", "y")
