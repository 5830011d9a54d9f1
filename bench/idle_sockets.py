"""Idle joined sockets: the server's memory per connected, joined Socket.IO client, against a bare
python-socketio server holding the same rooms in the same run.

Clients are pupils in rooms of 30, each with their own account (Twinrooms) and one WebSocket,
joined to their room and then left idle; they live in worker processes. The server's RSS is read
before the first client connects and once every client has joined and the server has settled.
Usage: `python bench/idle_sockets.py [--clients 2000] [--workers 4]`.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import resource
import tempfile
import time
from typing import Any

import socketio
from fleet import (
    Classroom,
    Server,
    bare_classrooms,
    classrooms,
    rss_kib,
    start_bare,
    start_twinrooms,
)

PER_ROOM = 30


def raise_file_limit() -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


async def _hold(url: str, rooms: list[Classroom], conn: Any) -> None:
    raise_file_limit()
    clients, errors = [], 0

    async def one(room_id: str, auth: dict[str, str]) -> None:
        nonlocal errors
        sio = socketio.AsyncClient(reconnection=False)
        try:
            await sio.connect(url, transports=["websocket"], auth=auth, wait_timeout=60)
            ack = await sio.call("room:join", {"room_id": room_id}, timeout=60)
            if not ack.get("ok"):
                raise RuntimeError(ack)
            clients.append(sio)
        except Exception as exc:
            print(f"  a client failed: {exc!r}", flush=True)
            errors += 1

    gate = asyncio.Semaphore(50)

    async def gated(room_id: str, auth: dict[str, str]) -> None:
        async with gate:
            await one(room_id, auth)

    await asyncio.gather(*(gated(r.room_id, a) for r in rooms for a in r.auths))
    conn.send((len(clients), errors))
    await asyncio.to_thread(conn.recv)  # the parent's "stop"
    for sio in clients:
        await sio.disconnect()


def worker(url: str, rooms: list[Classroom], conn: Any) -> None:
    asyncio.run(_hold(url, rooms, conn))


def measure(name: str, server: Server, rooms: list[Classroom], workers: int) -> dict[str, float]:
    time.sleep(1)
    before = rss_kib(server.proc.pid)
    ctx = mp.get_context("spawn")
    pipes, procs = [], []
    started = time.perf_counter()
    for w in range(workers):
        parent, child = ctx.Pipe()
        proc = ctx.Process(target=worker, args=(server.url, rooms[w::workers], child))
        proc.start()
        pipes.append(parent)
        procs.append(proc)
    joined = errors = 0
    for parent in pipes:
        ok, failed = parent.recv()
        joined, errors = joined + ok, errors + failed
    took = time.perf_counter() - started
    time.sleep(3)  # presence broadcasts and buffers settle
    after = rss_kib(server.proc.pid)
    for parent in pipes:
        parent.send("stop")
    for proc in procs:
        proc.join(timeout=120)
    per_socket = (after - before) / max(1, joined)
    print(
        f"  {name}: {joined} joined, {errors} errors in {took:.0f} s; RSS {before / 1024:.0f} ->"
        f" {after / 1024:.0f} MiB, {per_socket:.1f} KiB per socket",
        flush=True,
    )
    return {"joined": joined, "errors": errors, "kib_per_socket": per_socket}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    raise_file_limit()
    rooms = -(-args.clients // PER_ROOM)
    print(f"idle sockets: {rooms} rooms of {PER_ROOM}", flush=True)
    results = {}
    bare = start_bare()
    try:
        results["bare"] = measure("bare", bare, bare_classrooms(rooms, PER_ROOM), args.workers)
    finally:
        bare.stop()
    with tempfile.TemporaryDirectory() as data_dir:
        twin = start_twinrooms(data_dir)
        try:
            print(f"  making {rooms * PER_ROOM} pupils' accounts ...", flush=True)
            made = classrooms(twin.url, rooms, PER_ROOM)
            results["twinrooms"] = measure("twinrooms", twin, made, args.workers)
        finally:
            twin.stop()
    ours, base = results["twinrooms"], results["bare"]
    print(
        f"\nRSS per joined socket: twinrooms {ours['kib_per_socket']:.1f} KiB, bare"
        f" {base['kib_per_socket']:.1f} KiB, ratio {ours['kib_per_socket'] / base['kib_per_socket']:.2f}x;"
        f" errors: twinrooms {ours['errors']:.0f}, bare {base['errors']:.0f}"
    )


if __name__ == "__main__":
    main()
