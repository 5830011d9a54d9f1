"""A cluster on loopback for the tests: Redis (with a password), PostgreSQL, nginx, two nodes.

nginx listens on four ports: one balancing between the nodes as in production (no sticky
sessions), one in front of each node, so that a test can put a person on node A or node B
while every request still passes through nginx (and its `X-Forwarded-For`), and one that sends
everything to node A while it answers and to node B after (`url("a-first")`).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import socketio

from server.session import COOKIE
from tests.conftest import S3_ENV
from tests.ports import free_port
from tests.redis_server import RedisServer

SECRET_KEY = "cluster test secret key, the same on every node"
METRICS_TOKEN = "m" * 32
_pupils = itertools.count()
ROOT = Path(__file__).resolve().parents[2]


def nginx_binary() -> str | None:
    return shutil.which("nginx") or (
        "/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None
    )


NGINX_CONF = """
worker_processes 1;
pid {root}/nginx.pid;
error_log {root}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {root}/client_body;
    proxy_temp_path {root}/proxy;
    fastcgi_temp_path {root}/fastcgi;
    uwsgi_temp_path {root}/uwsgi;
    scgi_temp_path {root}/scgi;
    map $http_upgrade $connection_upgrade {{ default upgrade; '' close; }}
    upstream both {{ server 127.0.0.1:{a}; server 127.0.0.1:{b}; }}
    upstream only_a {{ server 127.0.0.1:{a}; }}
    upstream only_b {{ server 127.0.0.1:{b}; }}
    upstream a_first {{ server 127.0.0.1:{a}; server 127.0.0.1:{b} backup; }}
{servers}
}}
"""

SERVER = """
    server {{
        listen 127.0.0.1:{port};
        client_max_body_size 20m;
        location / {{
            proxy_pass http://{upstream};
            proxy_http_version 1.1;
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_read_timeout 75s;
            proxy_next_upstream error timeout;
        }}
    }}
"""


class Node:
    """One `twinrooms serve` process."""

    def __init__(self, name: str, env: dict[str, str], root: Path) -> None:
        self.name = name
        self.port = free_port()
        self.env = {**env, "TWINROOMS_PORT": str(self.port), "TWINROOMS_NODE_ID": f"node-{name}"}
        self.log = root / f"node-{name}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "server", "serve"],
                env=self.env,
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def healthz(self) -> dict[str, Any] | None:
        try:
            url = f"http://127.0.0.1:{self.port}/healthz"
            with urllib.request.urlopen(url, timeout=1) as answer:
                return dict(json.load(answer))
        except (OSError, ValueError):
            return None

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"node {self.name} exited: {self.log.read_text()[-2000:]}")
            health = self.healthz()
            if health is not None and health.get("status") == "ok":
                return
            time.sleep(0.1)
        raise RuntimeError(
            f"node {self.name} did not become healthy: {self.log.read_text()[-2000:]}"
        )

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None


class Cluster:
    """Redis, two nodes and nginx in a temporary folder (PostgreSQL is the caller's)."""

    def __init__(self, database_url: str, redis: RedisServer, **settings: str) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="twinrooms-cluster-"))
        self.root.chmod(0o755)  # nginx's workers (another user, under root) spool bodies here
        self.redis = redis
        self.nginx_port, self.port_a, self.port_b = free_port(), free_port(), free_port()
        self.port_a_first = free_port()
        base = {k: v for k, v in os.environ.items() if not k.startswith("TWINROOMS_")}
        env = {
            **base,
            "TWINROOMS_DATABASE_URL": database_url,
            "TWINROOMS_REDIS_URL": redis.url,
            "TWINROOMS_SECRET_KEY": SECRET_KEY,
            "TWINROOMS_METRICS_TOKEN": METRICS_TOKEN,
            "TWINROOMS_PUBLIC_URL": f"http://127.0.0.1:{self.nginx_port}",
            # A browser may load the site through any of nginx's ports.
            "TWINROOMS_ALLOWED_ORIGINS": ",".join(
                f"http://127.0.0.1:{port}" for port in (self.port_a, self.port_b, self.port_a_first)
            ),
            "TWINROOMS_TEST_FAST_HASH": "1",
            "TWINROOMS_MEDIA_ADDRESSES": "127.0.0.1",
            "TWINROOMS_RATE_EVENTS": "1000",
            "TWINROOMS_LOG_LEVEL": "warning",
            **S3_ENV,
            **{
                f"TWINROOMS_RATE_{n}": "10000/1"
                for n in ("LOGIN", "SIGNUP", "JOIN", "POST", "CHAT")
            },
            **{f"TWINROOMS_{k.upper()}": v for k, v in settings.items()},
        }
        self.a = Node("a", {**env, "TWINROOMS_DATA_DIR": str(self.root / "a")}, self.root)
        self.b = Node("b", {**env, "TWINROOMS_DATA_DIR": str(self.root / "b")}, self.root)
        self.nginx: subprocess.Popen[bytes] | None = None

    def url(self, where: str = "") -> str:
        ports = {"": self.nginx_port, "a": self.port_a, "b": self.port_b}
        port = {**ports, "a-first": self.port_a_first}[where]
        return f"http://127.0.0.1:{port}"

    def start(self) -> None:
        self.a.start()
        self.b.start()
        self._start_nginx()
        self.a.wait_ready()
        self.b.wait_ready()

    def _start_nginx(self) -> None:
        binary = nginx_binary()
        assert binary is not None
        servers = "".join(
            SERVER.format(port=port, upstream=upstream)
            for port, upstream in (
                (self.nginx_port, "both"),
                (self.port_a, "only_a"),
                (self.port_b, "only_b"),
                (self.port_a_first, "a_first"),
            )
        )
        conf = NGINX_CONF.format(root=self.root, a=self.a.port, b=self.b.port, servers=servers)
        (self.root / "nginx.conf").write_text(conf)
        self.nginx = subprocess.Popen(
            [
                binary,
                "-p",
                str(self.root),
                "-c",
                str(self.root / "nginx.conf"),
                "-g",
                "daemon off;",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port_b), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"nginx did not start: {(self.root / 'error.log').read_text()}")

    def stop(self) -> None:
        for node in (self.a, self.b):
            node.stop()
        if self.nginx is not None:
            self.nginx.terminate()
            self.nginx.wait(timeout=10)
            self.nginx = None
        shutil.rmtree(self.root, ignore_errors=True)

    async def metrics(self, node: Node) -> str:
        async with aiohttp.ClientSession() as http:
            headers = {"Authorization": f"Bearer {METRICS_TOKEN}"}
            async with http.get(f"http://127.0.0.1:{node.port}/metrics", headers=headers) as got:
                assert got.status == 200
                return await got.text()


@dataclass
class Visitor:
    """Someone using the cluster through nginx's port for one node (or the balanced one)."""

    base: str
    http: aiohttp.ClientSession
    user: dict[str, Any] = field(default_factory=dict)
    sockets: list[socketio.AsyncClient] = field(default_factory=list)

    @property
    def id(self) -> str:
        return str(self.user["id"])

    async def call(
        self, method: str, path: str, json: Any = None, status: int = 200, *, base: str = ""
    ) -> Any:
        async with self.http.request(method, (base or self.base) + path, json=json) as answer:
            text = await answer.text()
            assert answer.status == status, f"{method} {path}: {answer.status} {text}"
            return await answer.json() if text else None

    def cookie(self) -> str:
        for cookie in self.http.cookie_jar:
            if cookie.key == COOKIE:
                return cookie.value
        raise AssertionError("not signed in")

    async def connect(self, base: str = "") -> socketio.AsyncClient:
        sio = socketio.AsyncClient(reconnection=False, http_session=self.http)
        await sio.connect(
            base or self.base,
            headers={"Cookie": f"{COOKIE}={self.cookie()}"},
            transports=["websocket"],
            wait_timeout=5,
        )
        self.sockets.append(sio)
        return sio

    async def close(self) -> None:
        for sio in self.sockets:
            if sio.connected:
                await sio.disconnect()
        await self.http.close()


def visitor(base: str) -> Visitor:
    return Visitor(base, aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)))


async def ack(sio: socketio.AsyncClient, event: str, data: Any) -> dict[str, Any]:
    reply = await asyncio.wait_for(sio.call(event, data, timeout=10), 15)
    assert isinstance(reply, dict)
    return reply


async def pupil_in(
    people: Callable[..., Awaitable[Visitor]], owner: Visitor, room_id: str, base: str
) -> Visitor:
    """A new pupil account, joined to the room by a member invite, using `base`."""
    invite = await owner.call(
        "POST", f"/api/rooms/{room_id}/invites", {"role": "member"}, status=201
    )
    pupil = await people(base, signup=False)
    name = f"pupil{next(_pupils)}"
    data = await pupil.call(
        "POST",
        "/api/join",
        {
            "code": invite["code"],
            "username": name,
            "password": "pupil password",
            "display_name": name.title(),
        },
    )
    pupil.user = data["user"]
    return pupil
