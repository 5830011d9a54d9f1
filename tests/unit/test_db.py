"""The store: migrations on a fresh and an existing database, isolation of failing jobs, and
sequence numbers under concurrency, on both engines (group commit is SQLite's alone)."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from rooms.effects import LiveEffect, RoomDeleted
from rooms.store.db import (
    SEQ,
    Commit,
    Reader,
    RoomEvent,
    SequencedWrite,
    Store,
    Tx,
    UniqueViolation,
)
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


async def _room_with_a_thread(db: Store) -> None:
    await db.write(
        lambda tx: tx.execute(
            "INSERT INTO users VALUES ('u', 'ana', 'h', 'Ana', 'PT', 'teacher', NULL, 0)"
        )
    )

    async def room(tx: Tx) -> None:
        await tx.execute(
            "INSERT INTO rooms (id, name, description, owner_id, created_at)"
            " VALUES ('r', 'R', '', 'u', 0)"
        )
        await tx.execute(
            "INSERT INTO threads (id, room_id, kind, title, author_id, created_at)"
            " VALUES ('t', 'r', 'chat', 'Chat', 'u', 0)"
        )

    await db.write(room)


def _post(post_id: str, room_id: str = "r") -> SequencedWrite:
    return SequencedWrite(
        room_id,
        "post:new",
        {"id": post_id, "seq": SEQ, "body": 'it\'s "?" — ok', "tags": [SEQ, "SEQ"]},
        (
            (
                "INSERT INTO posts (id, room_id, thread_id, seq, author_id, body, html, created_at)"
                " VALUES (?, ?, 't', ?, 'u', '?', 'h', ?)",
                (post_id, room_id, SEQ, 0),
            ),
        ),
    )


async def test_sequenced_writes_are_gapless_and_store_what_emit_would(new_store: Factory) -> None:
    db = new_store()
    await db.open()
    await _room_with_a_thread(db)
    commits: list[Commit] = []
    db.on_commit(commits.append)
    payloads = await asyncio.gather(*(db.write_sequenced(_post(f"p{i}")) for i in range(40)))
    together = len(commits)
    in_jobs = await asyncio.gather(
        *(db.write(lambda tx, i=i: tx.sequenced(_post(f"q{i}"))) for i in range(5))
    )
    posts = await db.fetchall("SELECT id, seq FROM posts ORDER BY seq")
    events = await db.fetchall("SELECT seq, data FROM room_events ORDER BY seq")
    thread = await db.fetchone("SELECT post_count, last_seq FROM threads WHERE id = 't'")
    await db.close()
    assert sorted(p["room_seq"] for p in payloads + in_jobs) == list(range(1, 46))
    for payload in payloads + in_jobs:
        seq = payload["room_seq"]
        assert payload == {
            "id": payload["id"],
            "seq": seq,
            "body": 'it\'s "?" — ok',
            "tags": [seq, "SEQ"],
            "room_seq": seq,
        }
    by_seq = {p["room_seq"]: p for p in payloads + in_jobs}
    assert {(row["id"], row["seq"]) for row in posts} == {(p["id"], s) for s, p in by_seq.items()}
    # the event's text is byte for byte what `emit` stores
    assert [(row["seq"], row["data"]) for row in events] == [
        (seq, json.dumps(by_seq[seq], separators=(",", ":"))) for seq in sorted(by_seq)
    ]
    assert sorted(e.seq for commit in commits for e in commit.events) == list(range(1, 46))
    assert together < 40  # the store sent writes waiting together as one (group commit, batch)
    assert thread is not None and tuple(thread) == (45, 45)


async def test_a_refused_sequenced_write_leaves_no_row_and_no_hole(new_store: Factory) -> None:
    db = new_store()
    await db.open()
    await _room_with_a_thread(db)
    await db.write_sequenced(_post("p"))
    with pytest.raises(UniqueViolation):
        await db.write_sequenced(_post("p"))  # the same post id twice
    with pytest.raises(LookupError):
        await db.write_sequenced(_post("x", room_id="nowhere"))
    with pytest.raises(UniqueViolation):
        await db.write(lambda tx: tx.sequenced(_post("p")))
    with pytest.raises(LookupError):
        await db.write(lambda tx: tx.sequenced(_post("y", room_id="nowhere")))
    after = await db.write_sequenced(_post("q"))
    counts = await db.fetchone(
        "SELECT (SELECT COUNT(*) FROM posts), (SELECT COUNT(*) FROM room_events)"
    )
    await db.close()
    assert after["room_seq"] == 2
    assert counts is not None and tuple(counts) == (2, 2)


async def test_writes_sent_together_keep_their_order_and_a_bad_one_fails_alone(
    new_store: Factory,
) -> None:
    db = new_store()
    await db.open()
    await _room_with_a_thread(db)
    await db.write_sequenced(_post("taken"))
    commits: list[Commit] = []
    db.on_commit(commits.append)
    writes = [_post(f"p{i}") for i in range(12)]
    writes[5] = _post("taken")  # fails, and only itself
    results = await asyncio.gather(
        *(db.write_sequenced(write) for write in writes), return_exceptions=True
    )
    posts = await db.fetchall("SELECT id, seq FROM posts ORDER BY seq")
    thread = await db.fetchone("SELECT post_count, last_seq FROM threads WHERE id = 't'")
    await db.close()
    assert isinstance(results[5], UniqueViolation)
    written = [result for result in results if isinstance(result, dict)]
    assert [payload["id"] for payload in written] == [f"p{i}" for i in range(12) if i != 5]
    assert [payload["room_seq"] for payload in written] == list(range(2, 13))  # in order, no hole
    assert [(row["id"], row["seq"]) for row in posts][1:] == [
        (payload["id"], payload["room_seq"]) for payload in written
    ]
    assert [event.seq for commit in commits for event in commit.events] == list(range(2, 13))
    assert thread is not None and tuple(thread) == (12, 12)


async def test_a_checked_write_is_made_from_its_check_and_only_if_it_passes(
    new_store: Factory, store: str
) -> None:
    db = new_store()
    await db.open()
    await _room_with_a_thread(db)

    async def unlocked(reader: Reader) -> str:
        row = await reader.fetchone("SELECT locked FROM threads WHERE id = 't'")
        if row is None or row["locked"]:
            raise PermissionError("locked")
        return "checked"

    made = await db.write_checked(unlocked, _post)
    lock = db.write(lambda tx: tx.execute("UPDATE threads SET locked = 1 WHERE id = 't'"))
    if store == "sqlite":
        # The check runs in the write's own transaction, after every write queued before it:
        # a lock on its way (a teacher's, a mute) stops the post even if not yet committed.
        locking = asyncio.ensure_future(lock)
        await asyncio.sleep(0)  # the lock is queued first
        with pytest.raises(PermissionError):
            await db.write_checked(unlocked, _post)
        await locking
    else:
        await lock
        with pytest.raises(PermissionError):
            await db.write_checked(unlocked, _post)
    posts = await db.fetchall("SELECT id, seq FROM posts")
    await db.close()
    assert made["id"] == "checked" and made["room_seq"] == 1
    assert [tuple(row) for row in posts] == [("checked", 1)]
