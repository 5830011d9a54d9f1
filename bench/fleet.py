"""Servers and classes for the benchmarks: a Twinrooms node and a bare python-socketio server as
subprocesses on loopback, and rooms of pupils with their own accounts and socket tokens.

Each pupil is a real account made by the room's teacher (`POST /api/rooms/{id}/pupils`), signed in
and given a Socket.IO token, so per-user limits apply exactly as in a school.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
GENEROUS = "1000000/1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_healthy(url: str, path: str = "/healthz") -> None:
    for _ in range(400):
        try:
            urllib.request.urlopen(url + path, timeout=1)
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"server at {url} did not start")


def cpu_seconds(pid: int, *, main_thread: bool = False) -> float:
    """User and system CPU time of a process so far, or of its main thread only (the event
    loop's, where the server's Python runs; Linux /proc)."""
    path = f"/proc/{pid}/task/{pid}/stat" if main_thread else f"/proc/{pid}/stat"
    fields = Path(path).read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kib(pid: int) -> int:
    """Resident memory of a process now, in KiB (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


@dataclass
class Server:
    """A running server subprocess: its process and base URL."""

    proc: subprocess.Popen[bytes]
    url: str

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait()


def start_bare() -> Server:
    port = free_port()
    proc = subprocess.Popen([sys.executable, str(ROOT / "bench" / "bare_broadcast.py"), str(port)])
    url = f"http://127.0.0.1:{port}"
    wait_healthy(url, "/socket.io/?EIO=4&transport=polling")
    return Server(proc, url)


def add_database_option(parser: argparse.ArgumentParser) -> None:
    """`--database postgresql://...`: also measure a node on that (empty) PostgreSQL database."""
    parser.add_argument(
        "--database",
        default="",
        help="a postgresql:// URL of an empty database: also run Twinrooms on PostgreSQL and"
        " print its ratio against the same run on SQLite",
    )


def start_twinrooms(data_dir: str, database: str = "", **settings: str) -> Server:
    """A Twinrooms node on `data_dir`, on SQLite, or on the PostgreSQL URL `database`."""
    if database:
        settings = {**settings, "database_url": database}
    port = free_port()
    env = {
        **os.environ,
        "TWINROOMS_PORT": str(port),
        "TWINROOMS_DATA_DIR": data_dir,
        "TWINROOMS_TEST_FAST_HASH": "1",
        "TWINROOMS_RATE_CHAT": GENEROUS,
        "TWINROOMS_RATE_LOGIN": GENEROUS,
        "TWINROOMS_RATE_SIGNUP": GENEROUS,
        "TWINROOMS_TOKEN_SECONDS": "3600",
        "TWINROOMS_LOG_LEVEL": "warning",
        **{f"TWINROOMS_{key.upper()}": value for key, value in settings.items()},
    }
    proc = subprocess.Popen([sys.executable, "-m", "server", "serve"], cwd=ROOT, env=env)
    url = f"http://127.0.0.1:{port}"
    wait_healthy(url)
    return Server(proc, url)


class Browser:
    """One HTTP client with its own cookie jar (one signed-in person)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())

    def post(self, path: str, body: dict[str, Any]) -> Any:
        request = urllib.request.Request(
            self.url + path, json.dumps(body).encode(), {"Content-Type": "application/json"}
        )
        return json.loads(self.opener.open(request).read() or b"null")


@dataclass
class Classroom:
    """A room and the Socket.IO `auth` of each of its pupils."""

    room_id: str
    auths: list[dict[str, str]]


def classrooms(url: str, rooms: int, per_room: int) -> list[Classroom]:
    """`rooms` rooms of `per_room` pupils each, every pupil signed in with a socket token."""
    teacher = Browser(url)
    teacher.post(
        "/api/auth/signup",
        {"username": "bench", "password": "benchmark", "display_name": "Bench", "country": "FR"},
    )
    made = []
    for r in range(rooms):
        room = teacher.post("/api/rooms", {"name": f"Class {r}"})
        names = [{"display_name": f"Pupil {r}.{i}"} for i in range(per_room)]
        auths = []
        for pupil in teacher.post(f"/api/rooms/{room['id']}/pupils", {"pupils": names}):
            browser = Browser(url)
            browser.post(
                "/api/auth/login", {"username": pupil["username"], "password": pupil["password"]}
            )
            auths.append({"token": browser.post("/api/auth/token", {})["token"]})
        made.append(Classroom(room["id"], auths))
    return made


def bare_classrooms(rooms: int, per_room: int) -> list[Classroom]:
    """The same shape for the bare server, which checks no one."""
    return [Classroom(f"room{r}", [{}] * per_room) for r in range(rooms)]
