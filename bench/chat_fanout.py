"""Chat fan-out: Twinrooms `chat:send` (persisted) against a bare python-socketio broadcast.

Both servers run as subprocesses on loopback, measured in the same run. Receivers live in separate
worker processes; senders post at a fixed rate in all; every message carries its send time, so each
receiver records its delivery latency. Twinrooms' clients are a class: pupils made in bulk, each
with `SOCKETS_PER_PUPIL` receiving sockets (tabs), and one pupil per sender. Prints deliveries per second, p50 and p99 latency for each
server, and the ratios. Usage:
`python bench/chat_fanout.py [--clients 300] [--rate 40] [--senders 10] [--seconds 10]`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import socketio

ROOT = Path(__file__).resolve().parents[1]
SOCKETS_PER_PUPIL = 10  # the server's default cap on one user's sockets
Auth = dict[str, str] | None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_healthy(url: str, path: str = "/healthz") -> None:
    for _ in range(200):
        try:
            urllib.request.urlopen(url + path, timeout=1)
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"server at {url} did not start")


async def _receive(url: str, room_id: str, auths: list[Auth], conn: Any) -> None:
    latencies: list[float] = []
    clients = []
    for auth in auths:
        sio = socketio.AsyncClient(reconnection=False)

        async def on_post(data: dict[str, Any]) -> None:
            sent = float(data["body"].split(" ", 1)[0])
            latencies.append(time.time() - sent)

        sio.on("post:new", on_post)
        await sio.connect(url, transports=["websocket"], auth=auth, wait_timeout=10)
        ack = await sio.call("room:join", {"room_id": room_id}, timeout=10)
        assert ack["ok"], ack
        clients.append(sio)
    conn.send("ready")
    await asyncio.to_thread(conn.recv)  # the parent's "stop"
    await asyncio.sleep(1.0)  # let the last deliveries land
    conn.send(latencies)
    for sio in clients:
        await sio.disconnect()


def receiver(url: str, room_id: str, auths: list[Auth], conn: Any) -> None:
    asyncio.run(_receive(url, room_id, auths, conn))


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _send(
    url: str,
    room_id: str,
    auths: list[Auth],
    args: argparse.Namespace,
    server_pid: int,
) -> tuple[int, float, float]:
    """`senders` clients post in turn, `rate` messages per second in all, without waiting for acks.

    Several senders, as in a class: one client's events are handled in order, each after the
    previous one's commit, so a lone sender at a high rate measures its own round trips, not the
    room's fan-out (group commit shares a commit between messages of different clients).
    Returns the messages sent, and the wall and server CPU seconds from the first send until every
    ack is in; joining (and the presence updates it sends to the room) happens before.
    """
    rate, seconds, senders = args.rate, args.seconds, args.senders
    clients = []
    for auth in auths:
        sio = socketio.AsyncClient(reconnection=False)
        await sio.connect(url, transports=["websocket"], auth=auth, wait_timeout=10)
        await sio.call("room:join", {"room_id": room_id})
        clients.append(sio)
    await asyncio.sleep(1)  # let the joins' presence updates reach the receivers first
    sent, start, cpu = 0, time.perf_counter(), cpu_seconds(server_pid)
    pending = []
    while time.perf_counter() - start < seconds:
        sio = clients[sent % senders]
        body = {"room_id": room_id, "body": f"{time.time()} hello"}
        pending.append(asyncio.ensure_future(sio.call("chat:send", body, timeout=30)))
        sent += 1
        await asyncio.sleep(max(0.0, start + sent / rate - time.perf_counter()))
    acks = await asyncio.gather(*pending)
    elapsed, cpu = time.perf_counter() - start, cpu_seconds(server_pid) - cpu
    failed = [a for a in acks if not a.get("ok")]
    if failed:
        raise SystemExit(f"{len(failed)} sends failed, e.g. {failed[0]}")
    for sio in clients:
        await sio.disconnect()
    return sent, elapsed, cpu


def measure(
    name: str,
    url: str,
    room_id: str,
    auths: list[Auth],
    args: argparse.Namespace,
    server_pid: int,
) -> dict[str, float]:
    """`auths` has one entry per receiving socket, then one per sender."""
    ctx = mp.get_context("spawn")
    per_worker = args.clients // args.workers
    pipes, procs = [], []
    for worker in range(args.workers):
        parent, child = ctx.Pipe()
        mine = auths[worker * per_worker : (worker + 1) * per_worker]
        proc = ctx.Process(target=receiver, args=(url, room_id, mine, child))
        proc.start()
        pipes.append(parent)
        procs.append(proc)
    for parent in pipes:
        assert parent.recv() == "ready"
    print(
        f"  {name}: {per_worker * args.workers} receivers connected; {args.senders} senders"
        f" posting {args.rate}/s for {args.seconds} s",
        flush=True,
    )
    senders = auths[per_worker * args.workers :][: args.senders]
    sent, elapsed, cpu = asyncio.run(_send(url, room_id, senders, args, server_pid))
    latencies: list[float] = []
    for parent in pipes:
        parent.send("stop")
        latencies.extend(parent.recv())
    for proc in procs:
        proc.join(timeout=30)
    expected = sent * per_worker * args.workers
    latencies.sort()
    return {
        "deliveries_per_s": len(latencies) / elapsed,
        "delivered": len(latencies) / expected,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
        "cpu_ms_per_1k": cpu * 1000 / max(1, len(latencies)) * 1000,
    }


def start_bare() -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, str(ROOT / "bench" / "bare_broadcast.py"), str(port)])
    url = f"http://127.0.0.1:{port}"
    wait_healthy(url, "/socket.io/?EIO=4&transport=polling")
    return proc, url


def start_twinrooms(
    data_dir: str, args: argparse.Namespace
) -> tuple[subprocess.Popen[bytes], str, str, list[Auth]]:
    port = free_port()
    env = {
        **os.environ,
        "TWINROOMS_PORT": str(port),
        "TWINROOMS_DATA_DIR": data_dir,
        "TWINROOMS_TEST_FAST_HASH": "1",
        "TWINROOMS_RATE_CHAT": "1000000/1",
        "TWINROOMS_RATE_LOGIN": "1000000/1",
        "TWINROOMS_TOKEN_SECONDS": "3600",
        "TWINROOMS_LOG_LEVEL": "warning",
    }
    proc = subprocess.Popen([sys.executable, "-m", "server", "serve"], cwd=ROOT, env=env)
    url = f"http://127.0.0.1:{port}"
    wait_healthy(url)
    post = _signed_in_poster(url)
    post(
        "/api/auth/signup",
        {"username": "bench", "password": "benchmark", "display_name": "Bench", "country": "FR"},
    )
    room = post("/api/rooms", {"name": "Benchmark"})
    receivers = -(-args.clients // SOCKETS_PER_PUPIL)
    sheet: list[dict[str, str]] = []
    while len(sheet) < receivers + args.senders:
        count = min(200, receivers + args.senders - len(sheet))
        names = [{"display_name": f"Pupil {len(sheet) + i}"} for i in range(count)]
        sheet += post(f"/api/rooms/{room['id']}/pupils", {"pupils": names})
    tokens = []
    for pupil in sheet:
        login = _signed_in_poster(url)
        login("/api/auth/login", {"username": pupil["username"], "password": pupil["password"]})
        tokens.append({"token": login("/api/auth/token", {})["token"]})
    auths: list[Auth] = [tokens[i // SOCKETS_PER_PUPIL] for i in range(args.clients)]
    return proc, url, room["id"], auths + tokens[receivers:]


def _signed_in_poster(url: str) -> Any:
    """A JSON POST function with a cookie jar of its own."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())

    def post(path: str, body: dict[str, Any]) -> Any:
        request = urllib.request.Request(
            url + path, json.dumps(body).encode(), {"Content-Type": "application/json"}
        )
        return json.loads(opener.open(request).read() or b"null")

    return post


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=300)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--rate", type=float, default=40)
    parser.add_argument("--senders", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=10)
    args = parser.parse_args()
    results = {}
    proc, url = start_bare()
    try:
        print("bare python-socketio broadcast:", flush=True)
        anonymous: list[Auth] = [None] * (args.clients + args.senders)
        results["bare"] = measure("bare", url, "bench", anonymous, args, proc.pid)
    finally:
        proc.terminate()
        proc.wait()
    with tempfile.TemporaryDirectory() as data_dir:
        proc, url, room_id, auths = start_twinrooms(data_dir, args)
        try:
            print("twinrooms chat:send (persisted):", flush=True)
            results["twinrooms"] = measure("twinrooms", url, room_id, auths, args, proc.pid)
        finally:
            proc.terminate()
            proc.wait()
    print(
        f"\n{'server':<12}{'deliveries/s':>14}{'delivered':>11}{'p50 ms':>9}{'p99 ms':>9}"
        f"{'server cpu ms/1k deliveries':>29}"
    )
    for name, r in results.items():
        print(
            f"{name:<12}{r['deliveries_per_s']:>14.0f}{r['delivered']:>10.1%}{r['p50_ms']:>9.1f}"
            f"{r['p99_ms']:>9.1f}{r['cpu_ms_per_1k']:>29.1f}"
        )
    bare, ours = results["bare"], results["twinrooms"]
    print(
        f"\nratio twinrooms/bare: deliveries {ours['deliveries_per_s'] / bare['deliveries_per_s']:.2f}x, "
        f"p50 {ours['p50_ms'] / bare['p50_ms']:.2f}x, p99 {ours['p99_ms'] / bare['p99_ms']:.2f}x, "
        f"server cpu per delivery {ours['cpu_ms_per_1k'] / bare['cpu_ms_per_1k']:.2f}x"
    )


if __name__ == "__main__":
    main()
