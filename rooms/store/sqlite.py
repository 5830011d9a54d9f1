"""The SQLite store: one writer with group commit, one reader, numbered migrations.

Every write is a job: an async function given a `Tx`. Jobs that arrive while a commit is under way
are gathered into the next transaction (group commit), each inside its own savepoint so that one
failing job rolls back alone. A job's room events are handed to the commit listener only after the
transaction that holds them has committed, so an acknowledged write is always durable.

The writer is a thread of its own with its own connection, and a whole transaction, every job of
the batch included, runs there in one hop from the event loop: a job awaits only its `Tx`, whose
methods complete at once in that thread, so the job's coroutine is driven to its end there. (A
statement per hop, as aiosqlite does it, cost a thread round trip for each of a post's statements.)
Reads go through aiosqlite's connection, each query read whole in one step.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, cast

import aiosqlite

from rooms.effects import LiveEffect
from rooms.store.db import (
    Commit,
    CommitListener,
    Dialect,
    EventRecorder,
    Job,
    Reader,
    RoomEvent,
    Row,
    SequencedWrite,
    Tx,
    UniqueViolation,
    migrations,
    run_sequenced,
)

log = logging.getLogger(__name__)
T = TypeVar("T")
MAX_BATCH = 256
PRAGMAS = (
    "journal_mode = WAL",
    "synchronous = NORMAL",  # durable across process crashes in WAL mode
    "foreign_keys = ON",
    "busy_timeout = 5000",
)


def fts_query(words: list[str]) -> str:
    """The user's words as an FTS5 query that cannot be a syntax error: each word a quoted phrase,
    all required, the last one also as a prefix (search as you type)."""
    phrases = [f'"{word}"' for word in words]
    phrases[-1] += "*"
    return " ".join(phrases)


SQLITE = Dialect(
    reaction_map=(
        "(SELECT json_group_object(emoji, json(ids)) FROM (SELECT emoji,"
        " json_group_array(user_id) AS ids FROM reactions WHERE post_id = posts.id"
        " GROUP BY emoji))"
    ),
    search_threads=(
        "{thread_select} JOIN threads_fts ON threads_fts.rowid = threads.rowid"
        " WHERE threads_fts MATCH ? AND threads.room_id = ? AND threads.deleted_at IS NULL"
        " ORDER BY bm25(threads_fts) LIMIT ?"
    ),
    search_posts=(
        "SELECT posts.*, {author_columns}, snippet(posts_fts, 0, '[', ']', '…', 12) AS snippet"
        " FROM posts_fts JOIN posts ON posts.rowid = posts_fts.rowid"
        " JOIN users ON users.id = posts.author_id"
        " JOIN threads ON threads.id = posts.thread_id AND threads.deleted_at IS NULL"
        " WHERE posts_fts MATCH ? AND posts.room_id = ? AND posts.deleted_at IS NULL{hidden}"
        " ORDER BY bm25(posts_fts) LIMIT ?"
    ),
    search_query=fts_query,
)


@dataclass
class SqliteTx(EventRecorder):
    """One job's view of the open transaction; `emit` sequences a room event inside it.

    Its methods are coroutines for the jobs' sake, but they never suspend: they run in the
    writer's thread, where the job itself is being driven."""

    conn: sqlite3.Connection
    clock: Callable[[], float]
    events: list[RoomEvent] = field(default_factory=list)
    effects: list[LiveEffect] = field(default_factory=list)

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement; returns the number of rows it changed."""
        try:
            return self.conn.execute(sql, params).rowcount
        except sqlite3.IntegrityError as exc:
            if "UNIQUE constraint failed" in str(exc):
                raise UniqueViolation(str(exc)) from exc
            raise

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        """The first row of a query, if any."""
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """Every row of a query (a statement with RETURNING may also break a constraint)."""
        try:
            return list(self.conn.execute(sql, params).fetchall())
        except sqlite3.IntegrityError as exc:
            if "UNIQUE constraint failed" in str(exc):
                raise UniqueViolation(str(exc)) from exc
            raise

    async def sequenced(self, write: SequencedWrite) -> dict[str, Any]:
        """Apply `write` in this transaction, statement by statement (each costs no round trip
        here)."""
        return await run_sequenced(self, write)


class SqliteStore:
    """The embedded SQLite store (WAL): a writer with group commit and a separate reader."""

    dialect = SQLITE

    def __init__(self, path: Path, *, clock: Callable[[], float]) -> None:
        self.path = path
        self.clock = clock
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="db-writer")
        self._writer: sqlite3.Connection | None = None
        self._reader: aiosqlite.Connection | None = None
        self._queue: asyncio.Queue[tuple[Job, asyncio.Future[Any]]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._listeners: list[CommitListener] = []

    async def open(self) -> None:
        """Open both connections, apply pending migrations and start the writer."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._writer = await self._in_writer(self._open_writer)
        self._reader = await aiosqlite.connect(self.path, isolation_level=None)
        self._reader.row_factory = sqlite3.Row
        for pragma in PRAGMAS:
            await self._reader.execute(f"PRAGMA {pragma}")
        self._task = asyncio.create_task(self._write_loop(), name="db-writer")

    def _open_writer(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        for pragma in PRAGMAS:
            conn.execute(f"PRAGMA {pragma}")
        migrate(conn)
        return conn

    async def _in_writer(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._thread, fn, *args)

    async def close(self) -> None:
        """Finish queued writes, then close both connections."""
        if self._task is not None:
            await self._queue.join()
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._reader is not None:
            await self._reader.close()
        if self._writer is not None:
            await self._in_writer(self._writer.close)
        self._thread.shutdown()

    def on_commit(self, listener: CommitListener) -> None:
        """Call `listener` with the room events and live effects of every committed transaction
        that has any, in commit order."""
        self._listeners.append(listener)

    async def write(self, job: Callable[[Tx], Awaitable[T]]) -> T:
        """Run `job` in the next transaction and return its result once that has committed."""
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        await self._queue.put((job, future))
        return await future

    async def write_sequenced(self, write: SequencedWrite) -> dict[str, Any]:
        """Apply `write` as a job of the next transaction (group commit gathers it with others)."""
        return await self.write(lambda tx: tx.sequenced(write))

    async def write_checked(
        self, check: Callable[[Reader], Awaitable[T]], make: Callable[[T], SequencedWrite]
    ) -> dict[str, Any]:
        """`check` and the write it allows, as one job of the next transaction."""

        async def job(tx: Tx) -> dict[str, Any]:
            return await tx.sequenced(make(await check(tx)))

        return await self.write(job)

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        """The first row of a query, if any."""
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """Run a query and read all its rows in one step of the reader's thread. A statement left
        open between steps would hold the reader's snapshot, and every query that other requests
        interleave meanwhile would read that old snapshot: a reply built after a write could miss
        it. Finished in one step, each query starts from the latest commit."""
        assert self._reader is not None
        return list(await self._reader.execute_fetchall(sql, params))

    async def _write_loop(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while not self._queue.empty() and len(batch) < MAX_BATCH:
                batch.append(self._queue.get_nowait())
            try:
                await self._commit(batch)
            finally:
                for _ in batch:
                    self._queue.task_done()

    async def _commit(self, batch: list[tuple[Job, asyncio.Future[Any]]]) -> None:
        results, commit = await self._in_writer(self._transaction, [job for job, _ in batch])
        for (_, future), (result, error) in zip(batch, results, strict=True):
            _settle(future, result, error)
        if commit.events or commit.effects:
            for listener in self._listeners:
                listener(commit)

    def _transaction(
        self, jobs: list[Job]
    ) -> tuple[list[tuple[Any, BaseException | None]], Commit]:
        """Run one batch of jobs in one transaction, in the writer's thread: each job's result or
        error, and the room events and live effects of those that committed."""
        conn = self._writer
        assert conn is not None
        results: list[tuple[Any, BaseException | None]] = []
        events: list[RoomEvent] = []
        effects: list[LiveEffect] = []
        try:
            conn.execute("BEGIN IMMEDIATE")
            for job in jobs:
                tx = SqliteTx(conn, self.clock)
                conn.execute("SAVEPOINT job")
                try:
                    result = _drive(job(tx))
                except Exception as exc:  # the job's own error goes back to its caller
                    conn.execute("ROLLBACK TO job")
                    conn.execute("RELEASE job")
                    results.append((None, exc))
                    continue
                conn.execute("RELEASE job")
                events.extend(tx.events)
                effects.extend(tx.effects)
                results.append((result, None))
            conn.execute("COMMIT")
        except Exception as exc:
            log.exception("transaction failed")
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            return [(None, exc) for _ in jobs], Commit([], [])
        return results, Commit(events, effects)


def _drive(job: Awaitable[T]) -> T:
    """Run a job's coroutine to its end in this thread. Its only awaits are `Tx` methods, which
    never suspend; a job that awaits anything else is a bug, refused here."""
    if not isinstance(job, Coroutine):
        raise TypeError("a write job must be a coroutine")
    try:
        job.send(None)
    except StopIteration as done:
        return cast(T, done.value)
    job.close()
    raise RuntimeError("a write job awaited something other than its transaction")


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.done():  # the caller went away (cancelled); the write itself stands
        return
    if error is None:
        future.set_result(result)
    else:
        future.set_exception(error)


def migrate(conn: sqlite3.Connection) -> list[str]:
    """Apply the numbered SQL migrations not yet applied, each in its own transaction."""
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT)"
    )
    applied = []
    for version, name, sql in migrations("sqlite"):
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Read under the write lock: another process opening the same file may have applied
            # this step since we looked.
            if conn.execute(
                "SELECT 1 FROM schema_migrations WHERE version = ?", (version,)
            ).fetchall():
                conn.execute("COMMIT")
                continue
            for statement in _statements(sql):
                conn.execute(statement)
            conn.execute("INSERT INTO schema_migrations VALUES (?, ?)", (version, name))
            conn.execute("COMMIT")
        except Exception:
            conn.execute("ROLLBACK")
            raise
        log.info("applied migration %s", name)
        applied.append(name)
    return applied


def _statements(sql: str) -> list[str]:
    """Split a migration into statements, keeping trigger bodies (`BEGIN ... END;`) whole."""
    lines = [line for line in sql.splitlines() if not line.strip().startswith("--")]
    statements, current = [], ""
    for line in lines:
        current += line + "\n"
        if sqlite3.complete_statement(current):
            statements.append(current.strip())
            current = ""
    return [s for s in statements if s.strip(" ;\n")]
