"""The cost of a cluster: chat fan-out on one cluster node, on two, on a bare python-socketio pair
on Redis, and on one embedded node, measured in the same run.

Load: `--rooms` rooms (20) of `--per-room` receivers (30) with one sender each; in the two-node
setups each room has half its clients on each node, connected to the nodes directly (no nginx,
which would take a share of the two cores). Every setup runs on its own fresh database.

Setups:
- (a) one node in cluster mode (PostgreSQL and Redis);
- (b) two nodes in cluster mode (PostgreSQL and Redis);
- (c) the baseline: two bare python-socketio servers sharing rooms through `AsyncRedisManager`,
  with nothing checked or stored;
- (d) for information, one embedded node (SQLite).

Rate: a short ramp finds (a)'s knee, the highest offered rate at which it delivers at least 95%
of what it should with p99 under 500 ms; every setup then runs at that rate. For each setup:
deliveries per second, p50 and p99 latency, and CPU per delivery summed over every server process
(nodes, Redis, PostgreSQL with its backends). Then the ratios b/a, b/c and a/d.

Needs redis-server and PostgreSQL's binaries (as for the tests), and starts a moto S3 server for
the nodes' bucket; run from the repository root:
`python bench/cluster.py` (`--rooms 4 --per-room 10 --seconds 3` for a quick look).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from fleet import (
    ROOT,
    Server,
    bare_classrooms,
    classrooms,
    free_port,
    start_twinrooms,
    wait_healthy,
)
from lean_client import LeanClient

sys.path.insert(0, str(ROOT))
from tests.conftest import MotoServer
from tests.pg import PgServer, binaries
from tests.redis_server import RedisServer

SECRET_KEY = "benchmark secret key, the same on every node"
ROUND_SECONDS = 3.0


@dataclass
class Client:
    url: str
    room_id: str
    auth: dict[str, str]
    sends: bool


@dataclass
class Setup:
    """A set of server processes, the processes whose CPU counts, and their clients."""

    name: str
    servers: list[Server]
    clients: list[Client]
    receivers: int  # per message
    extra_pids: list[int] = field(default_factory=list)


def process_tree_cpu(pids: list[int]) -> float:
    """CPU seconds of the processes and all their descendants (waited-for children included)."""
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(entry.name)
        parents[pid] = int(fields[1])
        times[pid] = sum(int(f) for f in fields[11:15]) / tick
    wanted = set(pids)
    grew = True
    while grew:
        more = {pid for pid, parent in parents.items() if parent in wanted} - wanted
        wanted |= more
        grew = bool(more)
    return sum(times.get(pid, 0.0) for pid in wanted)


async def _send(
    sio: Any, client: Client, start_at: float, seconds: float, rate: float, sent: list[int]
) -> None:
    """Open loop: `rate` messages per second, acks not awaited before the next send."""
    pending, n = [], 0
    while time.time() < start_at + seconds:
        body = {"room_id": client.room_id, "body": f"{time.time()} hi"}
        pending.append(asyncio.ensure_future(sio.call("chat:send", body)))
        n += 1
        sent[0] += 1
        await asyncio.sleep(max(0.0, start_at + n / rate - time.time()))
    for ack in await asyncio.gather(*pending):
        if not ack.get("ok"):
            raise SystemExit(f"a send failed: {ack}")


async def _work(clients: list[Client], conn: Any) -> None:
    arrivals: list[tuple[float, float]] = []

    def on_post(data: dict[str, Any]) -> None:
        arrivals.append((float(data["body"].split(" ", 1)[0]), time.time()))

    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
    connected: list[tuple[Any, Client]] = []
    for client in clients:
        sio = LeanClient(session)
        sio.on("post:new", on_post)
        await sio.connect(client.url, client.auth)
        ack = await sio.call("room:join", {"room_id": client.room_id})
        assert ack["ok"], ack
        connected.append((sio, client))
    conn.send("ready")
    while (phase := await asyncio.to_thread(conn.recv)) is not None:
        seconds, rate, start_at = phase
        arrivals.clear()
        sent = [0]

        await asyncio.sleep(max(0.0, start_at - time.time()))
        await asyncio.gather(
            *(_send(s, c, start_at, seconds, rate, sent) for s, c in connected if c.sends)
        )
        # A worker may hold no sender: it still listens for the whole phase.
        await asyncio.sleep(max(0.0, start_at + seconds - time.time()))
        await asyncio.sleep(1.5)  # the last deliveries land
        conn.send((sent[0], list(arrivals)))
    for sio, _ in connected:
        await sio.disconnect()
    await session.close()


def worker(clients: list[Client], conn: Any) -> None:
    asyncio.run(_work(clients, conn))


class Load:
    """Worker processes holding a setup's clients."""

    def __init__(self, setup: Setup, workers: int) -> None:
        self.setup = setup
        ctx = mp.get_context("spawn")
        self.pipes, self.procs = [], []
        for w in range(workers):
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=worker, args=(setup.clients[w::workers], child))
            proc.start()
            self.pipes.append(parent)
            self.procs.append(proc)
        for parent in self.pipes:
            assert parent.recv() == "ready"
        self.senders = sum(1 for c in setup.clients if c.sends)

    def run(self, seconds: float, rate: float) -> dict[str, float]:
        """Send `rate` messages per second in all for `seconds`."""
        pids = [s.proc.pid for s in self.setup.servers] + self.setup.extra_pids
        cpu = process_tree_cpu(pids)
        phase = (seconds, rate / self.senders, time.time() + 0.5)
        for parent in self.pipes:
            parent.send(phase)
        sent, arrivals = 0, list[tuple[float, float]]()
        for parent in self.pipes:
            n, got = parent.recv()
            sent, arrivals = sent + n, arrivals + got
        cpu = process_tree_cpu(pids) - cpu
        latencies = sorted(r - s for s, r in arrivals) or [float("inf")]
        return {
            "offered": rate,
            "delivered_share": len(arrivals) / max(1, sent * self.setup.receivers),
            "deliveries_per_s": len(arrivals) / seconds,
            "p50_ms": statistics.median(latencies) * 1000,
            "p99_ms": latencies[max(0, int(len(latencies) * 0.99) - 1)] * 1000,
            "cpu_us_per_delivery": cpu * 1e6 / max(1, len(arrivals)),
        }

    def close(self) -> None:
        for parent in self.pipes:
            parent.send(None)
        for proc in self.procs:
            proc.join(timeout=60)
        for server in self.setup.servers:
            server.stop()


def start_bare_redis(redis_url: str) -> Server:
    port = free_port()
    script = str(ROOT / "bench" / "bare_broadcast.py")
    proc = subprocess.Popen([sys.executable, script, str(port), redis_url])
    url = f"http://127.0.0.1:{port}"
    wait_healthy(url, "/socket.io/?EIO=4&transport=polling")
    return Server(proc, url)


def split_clients(urls: list[str], rooms: list[Any], per_room: int) -> list[Client]:
    """Each room's clients spread evenly over `urls`; the first of each room sends."""
    return [
        Client(urls[i % len(urls)], room.room_id, auth, i == 0)
        for room in rooms
        for i, auth in enumerate(room.auths[:per_room])
    ]


async def _fresh(pg: PgServer) -> str:
    return await pg.fresh(migrated=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rooms", type=int, default=20)
    parser.add_argument("--per-room", type=int, default=30)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--start-rate", type=float, default=20, help="messages/s in all")
    args = parser.parse_args()
    found = binaries()
    if found is None:
        raise SystemExit("PostgreSQL binaries not found (apt-get install postgresql)")
    # moto accepts any credentials; the nodes' blobs go to its bucket (a cluster keeps none on
    # local disk), though chat stores none.
    os.environ.update(
        AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1"
    )
    pg, redis, moto = PgServer(found), RedisServer(), MotoServer()
    pg.start()
    redis.start()
    moto.start()
    engines = [redis.process.pid] if redis.process else []
    engines += [int((pg.data / "postmaster.pid").read_text().split()[0])]
    loads: dict[str, Load] = {}
    try:
        with tempfile.TemporaryDirectory() as data_dir:
            cluster = {
                "redis_url": redis.url,
                "secret_key": SECRET_KEY,
                "rate_events": "1000",
                **moto.node_settings(),
            }

            def nodes(name: str, count: int) -> tuple[list[Server], list[Any]]:
                url = asyncio.run(_fresh(pg))
                servers = [
                    start_twinrooms(f"{data_dir}/{name}{i}", url, **cluster) for i in range(count)
                ]
                return servers, classrooms(servers[0].url, args.rooms, args.per_room)

            print(
                f"cluster fan-out, {args.rooms} rooms of {args.per_room}, one sender each",
                flush=True,
            )
            one, rooms = nodes("a", 1)
            loads["a"] = Load(
                Setup(
                    "a",
                    one,
                    split_clients([one[0].url], rooms, args.per_room),
                    args.per_room,
                    engines,
                ),
                args.workers,
            )
            two, rooms = nodes("b", 2)
            urls = [s.url for s in two]
            loads["b"] = Load(
                Setup("b", two, split_clients(urls, rooms, args.per_room), args.per_room, engines),
                args.workers,
            )
            bare = [start_bare_redis(redis.url), start_bare_redis(redis.url)]
            rooms = bare_classrooms(args.rooms, args.per_room)
            loads["c"] = Load(
                Setup(
                    "c",
                    bare,
                    split_clients([s.url for s in bare], rooms, args.per_room),
                    args.per_room,
                    engines[:1],
                ),
                args.workers,
            )
            embedded = start_twinrooms(f"{data_dir}/d", rate_events="1000")
            rooms = classrooms(embedded.url, args.rooms, args.per_room)
            loads["d"] = Load(
                Setup(
                    "d",
                    [embedded],
                    split_clients([embedded.url], rooms, args.per_room),
                    args.per_room,
                ),
                args.workers,
            )
            print(f"  {4 * args.rooms * args.per_room} clients connected and joined", flush=True)
            report(loads, args)
    finally:
        for load in loads.values():
            load.close()
        redis.stop()
        pg.stop()
        moto.stop()


def report(loads: dict[str, Load], args: Any) -> None:
    knee, rate = 0.0, args.start_rate
    while True:
        r = loads["a"].run(ROUND_SECONDS, rate)
        ok = r["delivered_share"] >= 0.95 and r["p99_ms"] < 500
        print(
            f"  ramp (a) at {rate:,.0f} msg/s: {r['delivered_share']:.1%} delivered,"
            f" p99 {r['p99_ms']:.0f} ms{'' if ok else ' (past the knee)'}",
            flush=True,
        )
        if not ok:
            break
        knee, rate = rate, rate * 1.5
    if not knee:
        raise SystemExit("(a) cannot keep up even at the start rate; lower --start-rate")
    print(f"  every setup at (a)'s knee, {knee:,.0f} msg/s in all", flush=True)
    results = {name: load.run(args.seconds, knee) for name, load in loads.items()}
    names = {
        "a": "one cluster node",
        "b": "two cluster nodes",
        "c": "bare pair on Redis",
        "d": "one embedded node",
    }
    print(
        f"\n{'setup':<22}{'deliveries/s':>14}{'delivered':>11}{'p50 ms':>9}{'p99 ms':>9}{'cpu µs/delivery':>17}"
    )
    for key, r in results.items():
        print(
            f"({key}) {names[key]:<18}{r['deliveries_per_s']:>14,.0f}{r['delivered_share']:>11.1%}"
            f"{r['p50_ms']:>9.1f}{r['p99_ms']:>9.1f}{r['cpu_us_per_delivery']:>17.1f}"
        )
    a, b, c, d = (results[k] for k in "abcd")
    print(
        f"\ndeliveries b/a {b['deliveries_per_s'] / a['deliveries_per_s']:.2f}x (target 0.8 or more),"
        f" b/c {b['deliveries_per_s'] / c['deliveries_per_s']:.2f}x,"
        f" a/d {a['deliveries_per_s'] / d['deliveries_per_s']:.2f}x;"
        f" cpu per delivery b/a {b['cpu_us_per_delivery'] / a['cpu_us_per_delivery']:.2f}x,"
        f" b/c {b['cpu_us_per_delivery'] / c['cpu_us_per_delivery']:.2f}x,"
        f" a/d {a['cpu_us_per_delivery'] / d['cpu_us_per_delivery']:.2f}x"
    )


if __name__ == "__main__":
    main()
