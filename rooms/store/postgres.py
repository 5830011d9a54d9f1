"""The PostgreSQL store: several nodes share one database through an asyncpg pool.

Each job runs in a transaction of its own (READ COMMITTED) on a connection of the pool; there is no
group commit across rooms. Batched jobs would hold row locks of several rooms in one transaction,
two nodes batching in different orders would deadlock, and PostgreSQL would then abort the whole
batch. Sequenced writes of one room that wait together go as one statement (`write_sequenced`): it
locks that room's row only.
What SQLite's single writer made safe, a job makes safe here by locking first: `next_seq` (the
room's row, `UPDATE ... RETURNING`) or the target row, before it checks and writes.

The domain's SQL keeps SQLite's `?` placeholders; each statement is translated once to `$n`.
A lost or refused connection becomes `Unavailable` (HTTP 503, `unavailable` in socket acks).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import secrets
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, TypeVar

import asyncpg

from rooms.effects import LiveEffect
from rooms.errors import Unavailable
from rooms.store.db import (
    SEQ,
    Commit,
    CommitListener,
    Dialect,
    EventRecorder,
    Reader,
    RoomEvent,
    Row,
    SequencedWrite,
    Tx,
    UniqueViolation,
    migrations,
    with_seq,
)

log = logging.getLogger(__name__)
T = TypeVar("T")
POOL_SIZE = 20  # connections per node; a job holds one only while its transaction runs
CONNECT_SECONDS = 5.0
MIGRATION_LOCK = 0x7477_696E  # pg_advisory_lock key: nodes starting together migrate once
STATUS_COUNT = re.compile(r"(\d+)$")
# The errors that mean "the database is not there", as opposed to a bad statement.
GONE = (
    OSError,
    asyncio.TimeoutError,
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.TooManyConnectionsError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.InterfaceError,
)


@lru_cache(maxsize=4096)
def placeholders(sql: str) -> str:
    """`sql` with each `?` outside quoted literals and identifiers numbered as `$1, $2, ...`."""
    out: list[str] = []
    quote = ""
    number = 0
    for char in sql:
        if quote:
            if char == quote:
                quote = ""  # a doubled quote closes and reopens: the same result
        elif char in "'\"":
            quote = char
        elif char == "?":
            number += 1
            out.append(f"${number}")
            continue
        out.append(char)
    return "".join(out)


MAX_BATCH = 16  # the most writes of one room that go as one statement


def _seq_value(back: int, *, text: bool = False) -> str:
    """In a sequenced statement: the number `back` places before the last one its first part
    took (or holds), as a subquery of that part."""
    value = f"last_seq - {back}" if back else "last_seq"
    return f"(SELECT {f'CAST({value} AS TEXT)' if text else value} FROM twinrooms_seq)"


@lru_cache(maxsize=1024)
def _numbered(sql: str, is_seq: tuple[bool, ...], first: int, seq_value: str) -> str:
    """`sql` with its `?` numbered from `$first` on, those whose parameter is `SEQ` (`is_seq`)
    replaced by `seq_value` (the write's number, a subquery) and not counted."""
    out: list[str] = []
    quote = ""
    index, number = 0, first
    for char in sql:
        if quote:
            if char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
        elif char == "?":
            if is_seq[index]:
                out.append(seq_value)
            else:
                out.append(f"${number}")
                number += 1
            index += 1
            continue
        out.append(char)
    return "".join(out)


@dataclass(frozen=True)
class Recalled:
    """A read that a check made before (`write_checked`), and the row it returned (`None`: none)."""

    sql: str
    params: tuple[Any, ...]
    row: tuple[Any, ...] | None


def sequenced_statement(
    writes: Sequence[SequencedWrite],
    now: float,
    seq: int | None = None,
    guards: Sequence[Recalled] = (),
) -> tuple[str, list[Any]]:
    """`writes`, all in one room, as one statement and its parameters: a data-modifying CTE
    whose first part takes the room's next `len(writes)` numbers (`UPDATE ... RETURNING`, under
    the room's row lock; or holds `seq`, taken earlier in the transaction, for one write), and
    whose other parts, each write's statements and event row, read the write's number from the
    first. The statement returns the last number taken. With `guards`, the numbers are taken,
    and so anything written, only if each of those reads still returns the row it returned.

    An event's text is made in the statement from pieces of its JSON cut where the number goes,
    so that it is byte for byte what `PostgresTx.record` would store."""
    params: list[Any] = [writes[0].room_id]

    def bind(value: Any) -> str:
        params.append(value)
        return f"${len(params)}"

    if seq is None:
        still = "".join(f" AND {_guard(recalled, params)}" for recalled in guards)
        first = (
            f"UPDATE rooms SET last_seq = last_seq + {len(writes)} WHERE id = $1{still}"
            " RETURNING last_seq"
        )
    else:
        assert not guards, "a job's own reads need no guard"
        assert len(writes) == 1, "a number taken earlier is one write's"
        first = f"SELECT CAST({bind(seq)} AS BIGINT) AS last_seq"
    parts = [f"twinrooms_seq AS ({first})"]
    for index, write in enumerate(writes):
        back = len(writes) - 1 - index
        for sql, args in write.statements:
            is_seq = tuple(arg is SEQ for arg in args)
            numbered = _numbered(sql, is_seq, len(params) + 1, _seq_value(back))
            parts.append(f"w{len(parts)} AS ({numbered})")
            params.extend(arg for arg in args if arg is not SEQ)
        number_text = f" || {_seq_value(back, text=True)} || "
        data = number_text.join(bind(piece) for piece in _json_pieces(write.data))
        parts.append(
            f"w{len(parts)} AS (INSERT INTO room_events (room_id, seq, event, data, created_at)"
            f" VALUES ($1, {_seq_value(back)}, {bind(write.event)}, {data}, {bind(now)}))"
        )
    return f"WITH {', '.join(parts)} SELECT last_seq FROM twinrooms_seq", params


def _guard(recalled: Recalled, params: list[Any]) -> str:
    """A condition true while `recalled`'s read returns (first) the row it returned, its
    parameters and the row's values appended to `params`. Each value is compared with its
    column (`IS NOT DISTINCT FROM`, so NULL matches NULL), which also gives it its type."""
    sql = _numbered(recalled.sql, (False,) * len(recalled.params), len(params) + 1, "")
    params.extend(recalled.params)
    if recalled.row is None:
        return f"NOT EXISTS (SELECT 1 FROM ({sql}) AS g)"
    columns = [f"c{index}" for index in range(len(recalled.row))]
    same = []
    for column, value in zip(columns, recalled.row, strict=True):
        params.append(value)
        same.append(f"g.{column} IS NOT DISTINCT FROM ${len(params)}")
    return (
        f"EXISTS (SELECT 1 FROM (SELECT * FROM ({sql}) AS q LIMIT 1) AS g({', '.join(columns)})"
        f" WHERE {' AND '.join(same)})"
    )


def _json_pieces(data: dict[str, Any]) -> list[str]:
    """The event's JSON (`data` and `room_seq`, as `record` writes it) cut at each `SEQ`. The
    cut is at a random token no text in the payload can hold: a string in it is quoted JSON."""
    token = secrets.token_hex(16)

    def stand_in(value: Any) -> str:
        if value is SEQ:
            return token
        raise TypeError(f"{type(value).__name__} is not JSON serializable")

    text = json.dumps({**data, "room_seq": SEQ}, separators=(",", ":"), default=stand_in)
    return text.split(f'"{token}"')


def ts_query(words: list[str]) -> str:
    """The user's words as a tsquery: every word required, the last also as a prefix. Each word is
    quoted and made only of word characters, so it cannot be query syntax."""
    terms = [f"'{word}'" for word in words]
    terms[-1] += ":*"
    return " & ".join(terms)


POSTGRES = Dialect(
    reaction_map=(
        "(SELECT json_object_agg(emoji, ids) FROM (SELECT emoji, json_agg(user_id) AS ids"
        " FROM reactions WHERE post_id = posts.id GROUP BY emoji) AS per_emoji)"
    ),
    search_threads=(
        "{thread_select} CROSS JOIN to_tsquery('simple', twinrooms_fold(?)) AS q"
        " WHERE threads.search @@ q AND threads.room_id = ? AND threads.deleted_at IS NULL"
        " ORDER BY ts_rank(threads.search, q) DESC, threads.created_at LIMIT ?"
    ),
    search_posts=(
        "SELECT posts.*, {author_columns}, ts_headline('simple', posts.body, q,"
        " 'StartSel=[, StopSel=], MaxWords=12, MinWords=4, MaxFragments=1,"
        " FragmentDelimiter=…') AS snippet"
        " FROM posts CROSS JOIN to_tsquery('simple', twinrooms_fold(?)) AS q"
        " JOIN users ON users.id = posts.author_id"
        " JOIN threads ON threads.id = posts.thread_id AND threads.deleted_at IS NULL"
        " WHERE posts.search @@ q AND posts.room_id = ? AND posts.deleted_at IS NULL{hidden}"
        " ORDER BY ts_rank(posts.search, q) DESC, posts.seq LIMIT ?"
    ),
    search_query=ts_query,
)


def _count(status: str) -> int:
    """The rows a statement changed, from its status ("UPDATE 3", "INSERT 0 1")."""
    found = STATUS_COUNT.search(status)
    return int(found.group(1)) if found else 0


@dataclass
class PostgresTx(EventRecorder):
    """One job's transaction on one pooled connection; `emit` sequences a room event inside it."""

    conn: asyncpg.Connection
    clock: Callable[[], float]
    events: list[RoomEvent] = field(default_factory=list)
    effects: list[LiveEffect] = field(default_factory=list)

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement; returns the number of rows it changed."""
        try:
            return _count(await self.conn.execute(placeholders(sql), *params))
        except asyncpg.UniqueViolationError as exc:
            raise UniqueViolation(str(exc)) from exc

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        """The first row of a query, if any."""
        try:
            row: Row | None = await self.conn.fetchrow(placeholders(sql), *params)
        except asyncpg.UniqueViolationError as exc:
            raise UniqueViolation(str(exc)) from exc
        return row

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """Every row of a query."""
        try:
            return list(await self.conn.fetch(placeholders(sql), *params))
        except asyncpg.UniqueViolationError as exc:
            raise UniqueViolation(str(exc)) from exc

    async def sequenced(self, write: SequencedWrite) -> dict[str, Any]:
        """Apply `write` in this transaction: the number first (`LookupError` for an unknown
        room), then its statements and event row together, in one more round trip."""
        seq = await self.next_seq(write.room_id)
        [event] = await run_sequenced(self.conn, [write], self.clock(), seq)
        self.events.append(event)
        return event.data


async def run_sequenced(
    conn: asyncpg.Connection,
    writes: list[SequencedWrite],
    now: float,
    seq: int | None = None,
    guards: Sequence[Recalled] = (),
) -> list[RoomEvent]:
    """Run `writes` (one room's) as one statement (`sequenced_statement`) on `conn`; their
    events, in order. `LookupError` for an unknown room, `_Stale` when a guard failed."""
    sql, params = sequenced_statement(writes, now, seq, guards)
    try:
        last = int(await conn.fetchval(sql, *params))
    except asyncpg.UniqueViolationError as exc:
        raise UniqueViolation(str(exc)) from exc
    except asyncpg.NotNullViolationError:
        # No number was taken: its parts got NULL, and nothing was written. Either a guard
        # failed or there is no such room; any other cause is a bug and stays what it is.
        if guards:
            raise _Stale() from None
        room_id = writes[0].room_id
        if await conn.fetchval("SELECT 1 FROM rooms WHERE id = $1", room_id):
            raise
        raise LookupError(room_id) from None
    events = []
    for number, write in enumerate(writes, start=last - len(writes) + 1):
        payload = {**with_seq(write.data, number), "room_seq": number}
        events.append(RoomEvent(write.room_id, number, write.event, payload))
    return events


class _Connection(asyncpg.Connection):
    """A pooled connection that goes back to the pool without asyncpg's reset statement.

    asyncpg resets every connection it takes back (`RESET ALL; UNLISTEN *; CLOSE ALL;
    pg_advisory_unlock_all()`), one round trip per job, for session state this store never
    leaves behind: it sets nothing, listens to nothing, opens no cursor, and its one advisory lock
    (the migrations') is released where it is taken. A transaction left open is still rolled back.
    """

    def get_reset_query(self) -> str:
        return ""


RECALL = 10_000  # the checks' reads a store remembers (`write_checked`)


class _Stale(Exception):
    """A write's guard failed: a read its check made before no longer returns the same row."""


@dataclass
class _Waiting:
    """A sequenced write waiting for its room's turn, with its guards and its caller's future."""

    write: SequencedWrite
    guards: tuple[Recalled, ...]
    done: asyncio.Future[dict[str, Any]]


Memory = OrderedDict[tuple[str, tuple[Any, ...]], "Row | None"]  # a read, and the row it returned


class _Recall:
    """The reader a check is given: it serves a read found in `memory` from there (if `recall`),
    noting it in `recalled`, and remembers what it reads afresh from `store`."""

    def __init__(self, store: Reader, memory: Memory, *, recall: bool) -> None:
        self.store, self.memory, self.recall = store, memory, recall
        self.recalled: list[Recalled] = []

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        key = (sql, tuple(params))
        try:
            found = self.recall and key in self.memory
        except TypeError:  # a parameter that cannot be a key: read, and remember nothing
            return await self.store.fetchone(sql, params)
        if found:
            self.memory.move_to_end(key)
            row = self.memory[key]
            self.recalled.append(Recalled(sql, key[1], None if row is None else tuple(row)))
            return row
        row = await self.store.fetchone(sql, params)
        self.memory[key] = row
        if len(self.memory) > RECALL:
            self.memory.popitem(last=False)
        return row


class PostgresStore:
    """The shared store on PostgreSQL: a pool, one READ COMMITTED transaction per job."""

    dialect = POSTGRES

    def __init__(self, url: str, *, clock: Callable[[], float]) -> None:
        self.url = url
        self.clock = clock
        self._pool: asyncpg.Pool | None = None
        self._listeners: list[CommitListener] = []
        self._waiting: dict[str, list[_Waiting]] = {}  # per room, while its writes drain
        self._drains: set[asyncio.Task[None]] = set()
        self._recalled: Memory = OrderedDict()

    async def open(self) -> None:
        """Open the pool and apply pending migrations (once, whichever node gets there first)."""
        self._pool = await asyncpg.create_pool(
            self.url,
            min_size=1,
            max_size=POOL_SIZE,
            timeout=CONNECT_SECONDS,
            connection_class=_Connection,
        )
        try:
            async with self._pool.acquire() as conn:
                await migrate(conn)
        except BaseException:
            await self._pool.close()
            self._pool = None
            raise

    async def close(self) -> None:
        """Close the pool once the jobs and writes under way have finished."""
        await asyncio.gather(*self._drains, return_exceptions=True)
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    def on_commit(self, listener: CommitListener) -> None:
        """Call `listener` with the room events and live effects of every committed transaction
        that has any."""
        self._listeners.append(listener)

    async def write(self, job: Callable[[Tx], Awaitable[T]]) -> T:
        """Run `job` in a transaction of its own and return its result once that has committed."""
        assert self._pool is not None
        try:
            async with self._pool.acquire() as conn, conn.transaction(isolation="read_committed"):
                tx = PostgresTx(conn, self.clock)
                result = await job(tx)
        except GONE as exc:
            raise _unavailable(exc) from exc
        if tx.events or tx.effects:
            commit = Commit(tx.events, tx.effects)
            for listener in self._listeners:
                listener(commit)
        return result

    async def write_sequenced(self, write: SequencedWrite) -> dict[str, Any]:
        """Apply `write` as one statement outside any transaction block: PostgreSQL commits it
        on its own, so it costs one round trip (a job: BEGIN, one per statement, COMMIT), and
        the room's row stays locked only while the statement runs in the server.

        A room's writes leave this node one statement at a time, and those that gather in the
        meantime go together as the next one (`MAX_BATCH` at most): under load a room's posts
        share round trips and commits, as SQLite's group commit lets them share, while each
        statement still locks the row of one room only, so that nodes never wait on each other
        in a cycle. A statement that fails is tried again write by write: a bad write fails
        only itself."""
        return await self._sequence(write, ())

    async def write_checked(
        self, check: Callable[[Reader], Awaitable[T]], make: Callable[[T], SequencedWrite]
    ) -> dict[str, Any]:
        """`check`, then the write it allows as one statement (`write_sequenced`).

        The store remembers the rows its checks read (the last `RECALL` reads). When a check
        makes a read again, it is given the remembered row, and the write goes with that read
        as a guard: the statement takes its number, and so writes anything, only if the read
        still returns that row. A check made again, the chat's every message, then costs no
        round trip of its own, and anything committed since that changes its rows (a mute, a
        lock, a removal, from any node) sends it back to read afresh: as a refusal on a
        remembered row does, since that row may be old."""
        try:
            return await self._checked(check, make, recall=True)
        except _Stale:
            return await self._checked(check, make, recall=False)

    async def _checked(
        self,
        check: Callable[[Reader], Awaitable[T]],
        make: Callable[[T], SequencedWrite],
        *,
        recall: bool,
    ) -> dict[str, Any]:
        reader = _Recall(self, self._recalled, recall=recall)
        try:
            allowed = await check(reader)
        except Exception:
            if reader.recalled:  # refused on a remembered row: ask the database
                raise _Stale() from None
            raise
        return await self._sequence(make(allowed), tuple(reader.recalled))

    async def _sequence(
        self, write: SequencedWrite, guards: tuple[Recalled, ...]
    ) -> dict[str, Any]:
        assert self._pool is not None
        done: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        waiting = self._waiting.get(write.room_id)
        if waiting is None:
            waiting = self._waiting[write.room_id] = []
            drain = asyncio.create_task(self._drain(write.room_id, waiting))
            self._drains.add(drain)
            drain.add_done_callback(self._drains.discard)
        waiting.append(_Waiting(write, guards, done))
        return await done

    async def _drain(self, room_id: str, waiting: list[_Waiting]) -> None:
        """Write the room's waiting writes, a batch at a time, until none is left."""
        batch: list[_Waiting] = []
        try:
            while waiting:
                batch = waiting[:MAX_BATCH]
                del waiting[:MAX_BATCH]
                await self._settle(batch)
        finally:
            del self._waiting[room_id]
            for pending in batch + waiting:  # only if the drain itself was stopped
                if not pending.done.done():
                    pending.done.set_exception(Unavailable())

    async def _settle(self, batch: list[_Waiting]) -> None:
        """Apply `batch` as one statement, else write by write, and give each write its outcome."""
        outcomes: Sequence[dict[str, Any] | Exception]
        try:
            outcomes = await self._apply(batch)
        except Unavailable:
            outcomes = [Unavailable() for _ in batch]
        except Exception as exc:
            outcomes = [exc] if len(batch) == 1 else [await self._alone(one) for one in batch]
        for pending, outcome in zip(batch, outcomes, strict=True):
            if pending.done.done():  # its caller has gone; the write stands
                continue
            if isinstance(outcome, Exception):
                pending.done.set_exception(outcome)
            else:
                pending.done.set_result(outcome)

    async def _alone(self, pending: _Waiting) -> dict[str, Any] | Exception:
        try:
            [payload] = await self._apply([pending])
        except Exception as exc:
            return exc
        return payload

    async def _apply(self, batch: list[_Waiting]) -> list[dict[str, Any]]:
        """Run one statement of `batch` and hand its events to the commit listeners."""
        assert self._pool is not None
        writes = [pending.write for pending in batch]
        guards = [guard for pending in batch for guard in pending.guards]
        try:
            async with self._pool.acquire() as conn:
                events = await run_sequenced(conn, writes, self.clock(), guards=guards)
        except GONE as exc:
            raise _unavailable(exc) from exc
        commit = Commit(events, [])
        for listener in self._listeners:
            listener(commit)
        return [event.data for event in events]

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        """The first row of a query, if any."""
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """Every row of a query, from the latest commit (a statement of its own)."""
        assert self._pool is not None
        try:
            return list(await self._pool.fetch(placeholders(sql), *params))
        except GONE as exc:
            raise _unavailable(exc) from exc


def _unavailable(exc: BaseException) -> Unavailable:
    log.warning("database unavailable: %s", exc or type(exc).__name__)
    return Unavailable()


async def migrate(conn: asyncpg.Connection) -> list[str]:
    """Apply the numbered migrations not yet applied, each whole in its own transaction, all
    under an advisory lock so that nodes starting together apply each one once."""
    await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK)
    applied = []
    try:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT)"
        )
        done = {row[0] for row in await conn.fetch("SELECT version FROM schema_migrations")}
        for version, name, sql in migrations("postgres"):
            if version in done:
                continue
            async with conn.transaction():
                await conn.execute(sql)
                await conn.execute("INSERT INTO schema_migrations VALUES ($1, $2)", version, name)
            log.info("applied migration %s", name)
            applied.append(name)
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK)
    return applied
