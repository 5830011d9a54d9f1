"""The store seam: what the domain asks of a database, whichever engine holds it.

Two stores implement it: `SqliteStore` (`rooms/store/sqlite.py`, the embedded default: one writer
with group commit, one reader) and `PostgresStore` (`rooms/store/postgres.py`, for several nodes:
a pool, one transaction per job). `server/app.py:build_services` is the one place that picks one.

Every write is a job: an async function given a `Tx`. A job's room events, and the live effects it
records (what the change means for open connections, `rooms/effects.py`), are handed to the commit
listeners only after the transaction that holds them has committed, so an acknowledged write is
always durable and nothing acts on a change that rolled back. The domain writes SQL with `?` placeholders in the portable subset both engines
run; where a statement cannot be portable (the reaction map, full-text search) the store's
`dialect` holds each engine's fragment, so services never branch on the engine.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any, Final, Protocol, TypeVar

from rooms.effects import LiveEffect

T = TypeVar("T")


class Row(Protocol):
    """A result row: looked up by column name or by index (sqlite3.Row and asyncpg's Record)."""

    def __getitem__(self, key: Any, /) -> Any: ...

    def keys(self) -> Any: ...

    def __len__(self) -> int: ...

    def __iter__(self) -> Iterator[Any]: ...


class UniqueViolation(Exception):
    """A write broke a unique constraint (both engines' errors become this one)."""


@dataclass(frozen=True)
class RoomEvent:
    """A lasting change in a room: its name, payload and the room's sequence number."""

    room_id: str
    seq: int
    event: str
    data: dict[str, Any]


@dataclass(frozen=True)
class Commit:
    """What one committed transaction hands its listeners: its room events in sequence order
    per room, and the live effects its jobs recorded, in the order they were recorded."""

    events: list[RoomEvent]
    effects: list[LiveEffect]


class _Seq:
    """The stand-in for a room's next sequence number in a `SequencedWrite` (`SEQ`)."""

    def __repr__(self) -> str:
        return "SEQ"


SEQ: Final = _Seq()


@dataclass(frozen=True)
class SequencedWrite:
    """A write that is one room event and the rows that carry its sequence number, given whole as
    data rather than as a job, so that a store can send it in one piece: PostgreSQL runs it as a
    single statement (one round trip, its own transaction when it stands alone) where a job pays
    a round trip for each statement, its BEGIN and its COMMIT.

    `SEQ` stands for the room's next sequence number wherever it is one of a statement's
    parameters or a value in `data`. The event's payload is `data` with `SEQ` replaced and
    `room_seq` added, exactly as `Tx.emit` makes it. `statements` (INSERT, UPDATE or DELETE,
    without RETURNING) must be independent of one another and of other writes to the room: on
    PostgreSQL they run as parts of one statement, with those of the room's writes sent at the
    same time, and no part sees the rows another part writes, nor may two parts change one row
    (a count shared by several writes, such as a thread's, is a trigger's work).
    """

    room_id: str
    event: str
    data: dict[str, Any]
    statements: tuple[tuple[str, tuple[Any, ...]], ...] = ()


def with_seq(value: Any, seq: int) -> Any:
    """`value` with every `SEQ` in it (in dicts and lists too) replaced by `seq`."""
    if value is SEQ:
        return seq
    if isinstance(value, dict):
        return {key: with_seq(item, seq) for key, item in value.items()}
    if isinstance(value, list):
        return [with_seq(item, seq) for item in value]
    return value


async def run_sequenced(tx: Tx, write: SequencedWrite) -> dict[str, Any]:
    """`write` statement by statement in an open transaction (what `Tx.sequenced` does on an
    engine whose statements cost no round trip)."""
    seq = await tx.next_seq(write.room_id)
    for sql, params in write.statements:
        await tx.execute(sql, with_seq(list(params), seq))
    return await tx.record(write.room_id, seq, write.event, with_seq(write.data, seq))


class EventRecorder:
    """What every engine's transaction does alike on top of its own `fetchone` and `execute`:
    taking a room's next sequence number, recording room events and keeping live effects."""

    clock: Callable[[], float]
    events: list[RoomEvent]
    effects: list[LiveEffect]

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        raise NotImplementedError

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        raise NotImplementedError

    async def next_seq(self, room_id: str) -> int:
        """Take the room's next sequence number. The update holds the room's row lock until the
        commit, so the room's other writers (on every node, on PostgreSQL) wait: numbers stay
        gapless, and one that rolls back is given back."""
        row = await self.fetchone(
            "UPDATE rooms SET last_seq = last_seq + 1 WHERE id = ? RETURNING last_seq", (room_id,)
        )
        if row is None:
            raise LookupError(room_id)
        return int(row[0])

    async def emit(self, room_id: str, event: str, data: dict[str, Any]) -> dict[str, Any]:
        """Record `event` with the room's next sequence number; returns the payload with `room_seq`."""
        return await self.record(room_id, await self.next_seq(room_id), event, data)

    async def record(
        self, room_id: str, seq: int, event: str, data: dict[str, Any]
    ) -> dict[str, Any]:
        """Record `event` under a sequence number already taken with `next_seq` in this transaction."""
        payload = {**data, "room_seq": seq}
        await self.execute(
            "INSERT INTO room_events (room_id, seq, event, data, created_at) VALUES (?, ?, ?, ?, ?)",
            (room_id, seq, event, json.dumps(payload, separators=(",", ":")), self.clock()),
        )
        self.events.append(RoomEvent(room_id, seq, event, payload))
        return payload

    def effect(self, effect: LiveEffect) -> None:
        """Keep a live effect that takes place once the transaction commits."""
        self.effects.append(effect)


class Reader(Protocol):
    """What reads a row: an open transaction (`Tx`) or the store outside any write."""

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Row | None: ...


class Tx(Protocol):
    """One job's view of its open transaction; `emit` sequences a room event inside it, `effect`
    records an unsequenced live effect that takes place only if it commits."""

    events: list[RoomEvent]
    effects: list[LiveEffect]

    @property
    def clock(self) -> Callable[[], float]:
        """The store's clock (seconds since the epoch)."""
        ...

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement; returns the number of rows it changed."""
        ...

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        """The first row of a query, if any."""
        ...

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """Every row of a query."""
        ...

    async def next_seq(self, room_id: str) -> int:
        """Take the room's next sequence number; the row lock it takes serialises the room's
        writers until the transaction ends (`LookupError` for an unknown room)."""
        ...

    async def emit(self, room_id: str, event: str, data: dict[str, Any]) -> dict[str, Any]:
        """Record `event` with the room's next sequence number; returns the payload with `room_seq`."""
        ...

    async def record(
        self, room_id: str, seq: int, event: str, data: dict[str, Any]
    ) -> dict[str, Any]:
        """Record `event` under a sequence number already taken with `next_seq` in this transaction."""
        ...

    async def sequenced(self, write: SequencedWrite) -> dict[str, Any]:
        """Apply `write` in this transaction: take the room's next sequence number, run its
        statements and record its event; returns the event's payload (with `room_seq`)."""
        ...

    def effect(self, effect: LiveEffect) -> None:
        """Record a live effect of this job's change, carried with the commit (dropped with a
        rollback). Unlike `emit` it takes no sequence number and is not stored: it concerns the
        connections open at the moment of the commit."""
        ...


Job = Callable[[Tx], Awaitable[Any]]
CommitListener = Callable[[Commit], None]


@dataclass(frozen=True)
class Dialect:
    """The statements, or parts of them, that differ between engines.

    `reaction_map` is a scalar subquery over `posts.id`: a JSON object text from emoji to the
    user ids that reacted with it. `search_threads` and `search_posts` take (query, room_id,
    limit), the query being `search_query(words)`; `{THREAD_SELECT}`, `{AUTHOR_COLUMNS}` and
    `{hidden}` are filled in by the search service.
    """

    reaction_map: str
    search_threads: str
    search_posts: str
    search_query: Callable[[list[str]], str]


class Store(Protocol):
    """A database the domain reads and writes through."""

    @property
    def clock(self) -> Callable[[], float]:
        """The clock that stamps what the store writes."""
        ...

    @property
    def dialect(self) -> Dialect:
        """The engine's own fragments of SQL."""
        ...

    async def open(self) -> None:
        """Connect, apply pending migrations and get ready for writes."""
        ...

    async def close(self) -> None:
        """Finish queued writes, then close every connection."""
        ...

    def on_commit(self, listener: CommitListener) -> None:
        """Call `listener` with the room events and live effects of every committed transaction
        that has any, in commit order. It runs on the loop and must not block."""
        ...

    async def write(self, job: Callable[[Tx], Awaitable[T]]) -> T:
        """Run `job` in a transaction and return its result once that has committed."""
        ...

    async def write_sequenced(self, write: SequencedWrite) -> dict[str, Any]:
        """Apply `write` as a transaction of its own (see `SequencedWrite`) and return its
        event's payload once it has committed; `LookupError` for an unknown room."""
        ...

    async def write_checked(
        self, check: Callable[[Reader], Awaitable[T]], make: Callable[[T], SequencedWrite]
    ) -> dict[str, Any]:
        """Apply the write that `make` builds from what `check` read (`check` raises when the
        write may not happen), and return its event's payload once committed. SQLite reads in
        the write's own transaction, so nothing committed between the check and the write
        slips past the check, at no cost: the job runs in the writer's thread. PostgreSQL
        answers a read the check made before from memory and sends the write whole, guarded by
        that read (one round trip, where a job would cost four); `check` must be a function of
        what it reads and of the time, and may run again."""
        ...

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        """The first row of a query, if any, read outside any write."""
        ...

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """Every row of a query, read outside any write and from the latest commit."""
        ...


def migrations(engine: str) -> Iterable[tuple[int, str, str]]:
    """The numbered migrations for `engine` ("sqlite" or "postgres"), in order.

    `NNNN_name.sql` is portable SQL; `NNNN_name.sqlite.sql` and `NNNN_name.postgres.sql` are each
    engine's own version of a step (full-text search), and an engine never sees the other's."""
    other = ".postgres.sql" if engine == "sqlite" else ".sqlite.sql"
    folder = resources.files("rooms.store") / "migrations"
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".sql") and not entry.name.endswith(other):
            yield int(entry.name.split("_", 1)[0]), entry.name, entry.read_text()
