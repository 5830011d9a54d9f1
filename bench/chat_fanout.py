"""Chat in class-sized rooms: Twinrooms `chat:send` (persisted) against a bare python-socketio server.

The default shape is a school day: 20 rooms of 30 pupils, 3 of whom send in each room, every pupil
a real account with a socket of their own. A class is small, so what limits a node is the cost of
each message (checks, rate limit, Markdown, the commit, the event row, the emit), not the fan-out;
`--rooms 1 --per-room 300 --senders-per-room 10` keeps the one-big-room case.

Both servers run as subprocesses on loopback, with their clients connected (`lean_client.py`:
the protocol over one aiohttp WebSocket each, so that the clients sharing the machine's cores
add as little as they can to what is measured), and are measured in the same run, rounds
alternated:
1. most deliveries per second: each sender keeps a few messages in flight for `--seconds`; the
   best of `--rounds` rounds for each server;
2. latency at half the bare server's most: senders post at random times at that rate in all (open
   loop, Poisson arrivals per sender, the same in every round), and every delivery's latency is
   recorded from the send time carried in the message.
Prints both servers' figures, the ratios, and the server's CPU per message and per delivery,
and per message in the event loop's thread alone (the rest is the database's threads).
With `--database postgresql://...` (an empty database), a third server, Twinrooms on PostgreSQL,
runs in the same rounds, and the ratio of its figures to Twinrooms on SQLite is printed too.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import random
import statistics
import tempfile
import time
from dataclasses import dataclass
from typing import Any

import aiohttp
from fleet import (
    Classroom,
    Server,
    add_database_option,
    bare_classrooms,
    classrooms,
    cpu_seconds,
    start_bare,
    start_twinrooms,
)
from lean_client import LeanClient

WINDOW = 4  # messages each sender keeps in flight when measuring the most a server delivers


@dataclass
class Phase:
    """One measurement, run at once by every worker: `rate` messages per second per sender
    (open loop), or, with `rate` 0, as many as `WINDOW` messages in flight allow."""

    seconds: float
    rate: float
    start_at: float


async def _connect(
    session: aiohttp.ClientSession, url: str, room_id: str, auth: dict[str, str], on_post: Any
) -> LeanClient:
    sio = LeanClient(session)
    sio.on("post:new", on_post)
    await sio.connect(url, auth)
    ack = await sio.call("room:join", {"room_id": room_id})
    assert ack["ok"], ack
    return sio


async def _sender(
    sio: Any, room_id: str, phase: Phase, sent: list[int], rng: random.Random
) -> None:
    end = phase.start_at + phase.seconds

    async def one() -> None:
        ack = await sio.call("chat:send", {"room_id": room_id, "body": f"{time.time()} hi"})
        if not ack.get("ok"):
            raise SystemExit(f"a send failed: {ack}")
        sent[0] += 1

    if phase.rate:  # open loop: acks not awaited before the next send
        # Pupils write independently: each sender's messages are a Poisson process at `rate`
        # (not in step with the others, which would measure how fast a burst of every sender's
        # message at once drains rather than how long a message takes).
        pending, at = [], phase.start_at + rng.expovariate(phase.rate)
        while at < end:
            await asyncio.sleep(max(0.0, at - time.time()))
            pending.append(asyncio.ensure_future(one()))
            at += rng.expovariate(phase.rate)
        await asyncio.gather(*pending)
    else:

        async def lane() -> None:
            while time.time() < end:
                await one()

        await asyncio.gather(*(lane() for _ in range(WINDOW)))


async def _work(url: str, rooms: list[Classroom], senders: int, conn: Any) -> None:
    arrivals: list[tuple[float, float]] = []  # (sent, received)

    def on_post(data: dict[str, Any]) -> None:
        arrivals.append((float(data["body"].split(" ", 1)[0]), time.time()))

    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
    clients: list[tuple[Any, str, bool]] = []
    for room in rooms:
        for i, auth in enumerate(room.auths):
            sio = await _connect(session, url, room.room_id, auth, on_post)
            clients.append((sio, room.room_id, i < senders))
    conn.send("ready")
    while (phase := await asyncio.to_thread(conn.recv)) is not None:
        arrivals.clear()
        sent = [0]
        await asyncio.sleep(max(0.0, phase.start_at - time.time()))
        posting = [(sio, room_id) for sio, room_id, send in clients if send]
        # the same arrival times in every round and for every server: a seed per sender
        await asyncio.gather(
            *(
                _sender(sio, room_id, phase, sent, random.Random(f"{room_id} {index}"))
                for index, (sio, room_id) in enumerate(posting)
            )
        )
        await _drained(arrivals)
        conn.send((sent[0], list(arrivals)))
    for sio, _, _ in clients:
        await sio.disconnect()
    await session.close()


async def _drained(arrivals: list[tuple[float, float]]) -> None:
    """Wait until deliveries stop (a second with none, at most a minute): a server still
    working through a backlog must not carry it into the next round or the other server's."""
    deadline = time.time() + 60
    seen = -1
    while len(arrivals) != seen and time.time() < deadline:
        seen = len(arrivals)
        await asyncio.sleep(1.0)


def worker(url: str, rooms: list[Classroom], senders: int, conn: Any) -> None:
    asyncio.run(_work(url, rooms, senders, conn))


class Fleet:
    """The worker processes holding one server's clients, split by room."""

    def __init__(self, name: str, server: Server, rooms: list[Classroom], args: Any) -> None:
        self.name, self.server = name, server
        ctx = mp.get_context("spawn")
        self.pipes, self.procs = [], []
        for w in range(args.workers):
            parent, child = ctx.Pipe()
            share = rooms[w :: args.workers]
            proc = ctx.Process(
                target=worker, args=(server.url, share, args.senders_per_room, child)
            )
            proc.start()
            self.pipes.append(parent)
            self.procs.append(proc)
        for parent in self.pipes:
            assert parent.recv() == "ready"
        self.senders = len(rooms) * args.senders_per_room

    def run(self, seconds: float, rate: float = 0) -> dict[str, float]:
        """One phase; `rate` is messages per second in all (0: as many as the server takes)."""
        phase = Phase(seconds, rate / self.senders, time.time() + 0.5)
        pid = self.server.proc.pid
        cpu, loop_cpu = cpu_seconds(pid), cpu_seconds(pid, main_thread=True)
        for parent in self.pipes:
            parent.send(phase)
        sent, arrivals = 0, list[tuple[float, float]]()
        for parent in self.pipes:
            n, got = parent.recv()
            sent, arrivals = sent + n, arrivals + got
        cpu = cpu_seconds(pid) - cpu
        loop_cpu = cpu_seconds(pid, main_thread=True) - loop_cpu
        end = phase.start_at + seconds
        within = [r for _, r in arrivals if r <= end]
        latencies = sorted(r - s for s, r in arrivals)
        return {
            "messages": sent,
            "deliveries_per_s": len(within) / seconds,
            "p50_ms": statistics.median(latencies) * 1000,
            "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
            "cpu_ms_per_msg": cpu * 1000 / max(1, sent),
            "loop_ms_per_msg": loop_cpu * 1000 / max(1, sent),
            "cpu_us_per_delivery": cpu * 1e6 / max(1, len(arrivals)),
        }

    def close(self) -> None:
        for parent in self.pipes:
            parent.send(None)
        for proc in self.procs:
            proc.join(timeout=60)
        self.server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rooms", type=int, default=20)
    parser.add_argument("--per-room", type=int, default=30)
    parser.add_argument("--senders-per-room", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    add_database_option(parser)
    args = parser.parse_args()
    shape = f"{args.rooms} rooms of {args.per_room}, {args.senders_per_room} senders each"
    print(f"chat fan-out, {shape}", flush=True)
    with tempfile.TemporaryDirectory() as data_dir:
        twin_server = start_twinrooms(data_dir)
        print("  making pupils' accounts ...", flush=True)
        twin_rooms = classrooms(twin_server.url, args.rooms, args.per_room)
        fleets = {
            "bare": Fleet("bare", start_bare(), bare_classrooms(args.rooms, args.per_room), args),
            "twinrooms": Fleet("twinrooms", twin_server, twin_rooms, args),
        }
        if args.database:
            pg_server = start_twinrooms(data_dir + "/pg", args.database)
            pg_rooms = classrooms(pg_server.url, args.rooms, args.per_room)
            fleets["postgres"] = Fleet("postgres", pg_server, pg_rooms, args)
        print(f"  {args.rooms * args.per_room} clients connected and joined to each", flush=True)
        try:
            report(fleets, args)
        finally:
            for fleet in fleets.values():
                fleet.close()


def report(fleets: dict[str, Fleet], args: Any) -> None:
    best: dict[str, dict[str, float]] = {}
    for round_ in range(args.rounds):
        for name, fleet in fleets.items():
            r = fleet.run(args.seconds)
            print(
                f"  round {round_ + 1} {name}: {r['deliveries_per_s']:,.0f} deliveries/s,"
                f" {r['messages'] / args.seconds:,.0f} msg/s",
                flush=True,
            )
            if r["deliveries_per_s"] > best.get(name, {}).get("deliveries_per_s", 0):
                best[name] = r
    half = best["bare"]["messages"] / args.seconds / 2
    print(f"  latency at half the bare maximum: {half:,.0f} msg/s in all", flush=True)
    steady = {name: fleet.run(args.seconds, half) for name, fleet in fleets.items()}
    print(
        f"\n{'server':<11}{'most deliveries/s':>18}{'p50 ms':>9}{'p99 ms':>9}"
        f"{'cpu ms/msg':>12}{'loop thread':>13}{'cpu µs/delivery':>17}"
        f"   (latency and cpu at {half:,.0f} msg/s)"
    )
    for name in fleets:
        b, s = best[name], steady[name]
        print(
            f"{name:<11}{b['deliveries_per_s']:>18,.0f}{s['p50_ms']:>9.1f}{s['p99_ms']:>9.1f}"
            f"{s['cpu_ms_per_msg']:>12.2f}{s['loop_ms_per_msg']:>13.2f}{s['cpu_us_per_delivery']:>17.1f}"
        )
    bare, ours = best["bare"], best["twinrooms"]
    sb, so = steady["bare"], steady["twinrooms"]
    print(
        f"\nratio twinrooms/bare: most deliveries/s {ours['deliveries_per_s'] / bare['deliveries_per_s']:.2f}x;"
        f" at half the bare maximum p50 {so['p50_ms'] / sb['p50_ms']:.2f}x, p99 {so['p99_ms'] / sb['p99_ms']:.2f}x,"
        f" server cpu per message {so['cpu_ms_per_msg'] / sb['cpu_ms_per_msg']:.2f}x"
        f" (its event loop's thread {so['loop_ms_per_msg'] / sb['loop_ms_per_msg']:.2f}x),"
        f" per delivery {so['cpu_us_per_delivery'] / sb['cpu_us_per_delivery']:.2f}x"
    )
    if "postgres" in best:
        pg, sp = best["postgres"], steady["postgres"]
        print(
            f"ratio postgres/sqlite: most deliveries/s {pg['deliveries_per_s'] / ours['deliveries_per_s']:.2f}x;"
            f" at half the bare maximum p50 {sp['p50_ms'] / so['p50_ms']:.2f}x, p99 {sp['p99_ms'] / so['p99_ms']:.2f}x,"
            f" server cpu per message {sp['cpu_ms_per_msg'] / so['cpu_ms_per_msg']:.2f}x"
        )


if __name__ == "__main__":
    main()
