"""Shared fixtures: settings on a temporary directory, a real listening server, people with their
own HTTP clients and cookie jars, and real Socket.IO clients connected to that server."""

from __future__ import annotations

import itertools
import os
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import socketio
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from rooms.ratelimit import Rate
from server.app import create_app
from server.config import Settings
from server.session import COOKIE
from tests.pg import PgServer, binaries
from tests.ports import free_port

PUBLIC_URL = "http://twinrooms.test"
GENEROUS = Rate(10_000, 1)
RACE_ROUNDS_DEFAULT = 2  # enough for `make test` to run every race test; more with the option


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--race-rounds",
        type=int,
        default=None,
        help="rounds of each repeated race test (marked `race`); also TWINROOMS_RACE_ROUNDS",
    )


def race_rounds_of(config: pytest.Config) -> int:
    """How many times a `race` test repeats its scenario: `--race-rounds`, else the
    TWINROOMS_RACE_ROUNDS variable, else a few (never zero: race tests always run)."""
    option = config.getoption("--race-rounds")
    rounds = option if option is not None else int(os.environ.get("TWINROOMS_RACE_ROUNDS", "0"))
    return max(1, rounds or RACE_ROUNDS_DEFAULT)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # A race test is bounded by its rounds: `@pytest.mark.race(seconds=...)` per round.
    rounds = race_rounds_of(config)
    for item in items:
        marker = item.get_closest_marker("race")
        if marker is not None:
            item.add_marker(pytest.mark.timeout(60 + rounds * marker.kwargs["seconds"]))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # Modules marked `both_engines` run each test that reaches a store on SQLite and PostgreSQL.
    if "store" in metafunc.fixturenames and metafunc.definition.get_closest_marker("both_engines"):
        metafunc.parametrize("store", ["sqlite", "postgres"], indirect=True)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """One PostgreSQL server for the whole run; skipped (a failure under CI=true) without it."""
    found = binaries()
    if found is None:
        reason = "PostgreSQL binaries (initdb, pg_ctl) not found; apt-get install postgresql"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    server = PgServer(found)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def store(request: pytest.FixtureRequest) -> str:
    """The engine under test: "sqlite", or "postgres" in `both_engines` modules' second run."""
    return str(getattr(request, "param", "sqlite"))


@pytest.fixture
async def database_url(store: str, request: pytest.FixtureRequest) -> AsyncIterator[str]:
    """The DATABASE_URL of a fresh, migrated database on the engine under test ("" is the
    default SQLite file in DATA_DIR)."""
    if store == "sqlite":
        yield ""
        return
    pg: PgServer = request.getfixturevalue("pg_server")
    url = await pg.fresh()
    yield url
    await pg.drop(url)


@pytest.fixture
def race_rounds(request: pytest.FixtureRequest) -> int:
    """The rounds of a `race` test (see `race_rounds_of`)."""
    return race_rounds_of(request.config)


S3_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


class MotoServer:
    """An S3-compatible server (moto) on loopback, in a process of its own."""

    def __init__(self, port: int = 0) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    @classmethod
    def at(cls, url: str) -> MotoServer:
        """A handle on a server already running at `url` (to look into its buckets)."""
        return cls(int(url.rsplit(":", 1)[1]))

    def start(self) -> None:
        command = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)]
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        for _ in range(300):
            try:
                urllib.request.urlopen(self.url, timeout=1).close()
                return
            except urllib.error.HTTPError:
                return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("moto did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)

    def client(self) -> Any:
        import boto3

        return boto3.client("s3", endpoint_url=self.url, region_name="us-east-1")

    def bucket(self) -> str:
        """A new, empty bucket."""
        name = f"twinrooms-{secrets.token_hex(6)}"
        self.client().create_bucket(Bucket=name)
        return name

    def node_settings(self) -> dict[str, str]:
        """A new, empty bucket as a node's `TWINROOMS_S3_*` settings (lower-case names)."""
        return {
            "s3_bucket": self.bucket(),
            "s3_endpoint": self.url,
            "s3_path_style": "true",
            "s3_region": "us-east-1",
        }

    def keys(self, bucket: str) -> list[str]:
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=bucket)
        return sorted(item["Key"] for page in pages for item in page.get("Contents", []))


@pytest.fixture(scope="session")
def aws_credentials() -> Iterator[None]:
    """The `AWS_*` variables botocore reads, set for the session (moto accepts any)."""
    with pytest.MonkeyPatch.context() as patch:
        for key, value in S3_ENV.items():
            patch.setenv(key, value)
        yield


@pytest.fixture(scope="session")
def moto(aws_credentials: None) -> Iterator[MotoServer]:
    """One moto server for the whole session; each test that uses it takes a bucket of its own."""
    server = MotoServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def blob_storage() -> str:
    """Where blobs go: "local" (files under DATA_DIR) unless a module parametrises it with "s3"."""
    return "local"


def s3_settings(settings: Settings, moto: MotoServer) -> Settings:
    return replace(
        settings,
        s3_bucket=moto.bucket(),
        s3_endpoint=moto.url,
        s3_region="us-east-1",
        s3_prefix="node/",
        s3_path_style=True,
    )


@pytest.fixture
def settings(
    tmp_path: Path, database_url: str, blob_storage: str, request: pytest.FixtureRequest
) -> Settings:
    chosen = Settings(
        data_dir=tmp_path,
        database_url=database_url,
        secret_key=b"test secret key that is long enough!",
        public_url=PUBLIC_URL,
        test_fast_hash=True,
        rate_login=GENEROUS,
        rate_signup=GENEROUS,
        rate_join=GENEROUS,
        rate_post=GENEROUS,
        rate_chat=GENEROUS,
        rate_upload=GENEROUS,
        rate_events=1000,
        media_addresses=("127.0.0.1",),
    )
    if blob_storage == "s3":
        return s3_settings(chosen, request.getfixturevalue("moto"))
    return chosen


@pytest.fixture
def app(settings: Settings) -> web.Application:
    return create_app(settings)


@pytest.fixture
async def server(app: web.Application) -> AsyncIterator[TestServer]:
    test_server = TestServer(app, host="127.0.0.1")
    await test_server.start_server()
    yield test_server
    await test_server.close()


@dataclass
class Person:
    """A test user: their own HTTP client and cookie jar, and their Socket.IO connections."""

    client: TestClient
    server: TestServer
    user: dict[str, Any] = field(default_factory=dict)
    sockets: list[socketio.AsyncClient] = field(default_factory=list)
    http: aiohttp.ClientSession | None = None

    @property
    def id(self) -> str:
        return str(self.user["id"])

    async def call(self, method: str, path: str, json: Any = None, status: int = 200) -> Any:
        """Send a request and check its status; returns the decoded JSON body, if any."""
        response = await self.client.request(method, path, json=json)
        text = await response.text()
        assert response.status == status, f"{method} {path}: {response.status} {text}"
        return await response.json() if text else None

    def session_token(self) -> str:
        cookies = self.client.session.cookie_jar.filter_cookies(self.server.make_url("/"))
        return cookies[COOKIE].value

    async def connect(self, **kwargs: Any) -> socketio.AsyncClient:
        """A real Socket.IO client, signed in with this person's session cookie."""
        if self.http is None:
            self.http = aiohttp.ClientSession()
        sio = socketio.AsyncClient(reconnection=False, http_session=self.http)
        headers = {"Cookie": f"{COOKIE}={self.session_token()}"}
        await sio.connect(
            str(self.server.make_url("/")),
            headers=headers,
            transports=["websocket"],
            wait_timeout=5,
            **kwargs,
        )
        self.sockets.append(sio)
        return sio


_counter = itertools.count()


@pytest.fixture
async def people(server: TestServer) -> AsyncIterator[Callable[..., Awaitable[Person]]]:
    """A factory of signed-up teachers (or, with `signup=False`, anonymous visitors)."""
    made: list[Person] = []

    async def make(name: str = "", *, signup: bool = True, country: str = "FR") -> Person:
        client = TestClient(server)
        await client.start_server()
        person = Person(client, server)
        made.append(person)
        if signup:
            username = name or f"teacher{next(_counter)}"
            person.user = await person.call(
                "POST",
                "/api/auth/signup",
                {
                    "username": username,
                    "password": "correct horse",
                    "display_name": username.title(),
                    "country": country,
                },
                status=201,
            )
        return person

    yield make
    for person in made:
        for sio in person.sockets:
            await sio.disconnect()
        if person.http is not None:
            await person.http.close()
        await person.client.session.close()  # TestClient.close() would stop the shared server


@pytest.fixture
async def room(people: Callable[..., Awaitable[Person]]) -> dict[str, Any]:
    """A room founded by a teacher called `owner`, with the owner attached as `room["_owner"]`."""
    owner = await people("owner")
    data = await owner.call("POST", "/api/rooms", {"name": "Rivers of Europe"}, status=201)
    return {**data, "_owner": owner}


async def join_as_pupil(
    people: Callable[..., Awaitable[Person]], owner: Person, room_id: str, name: str = ""
) -> Person:
    """A new pupil account joined to the room with a member invite."""
    invite = await owner.call(
        "POST", f"/api/rooms/{room_id}/invites", {"role": "member"}, status=201
    )
    pupil = await people(signup=False)
    username = name or f"pupil{next(_counter)}"
    data = await pupil.call(
        "POST",
        "/api/join",
        {
            "code": invite["code"],
            "username": username,
            "password": "pupil password",
            "display_name": username.title(),
        },
    )
    pupil.user = data["user"]
    return pupil


def with_settings(settings: Settings, **changes: Any) -> Settings:
    return replace(settings, **changes)


def not_found(kind: str) -> dict[str, Any]:
    """The error body of a made-up id of `kind` (a room, a thread, a file version, ...)."""
    return {
        "code": "not_found",
        "message": f"No such {kind}.",
        "reason": "not_found",
        "params": {"kind": kind.replace(" ", "_")},
    }


async def assert_unknown_as_made_up(
    person: Person, base: str, ids: list[str], routes: list[tuple[str, str]], message: str
) -> None:
    """Each route answers an id of a room `person` is not in exactly as it answers a made-up id:
    nobody learns that something exists elsewhere."""
    for method, path in routes:
        for real_id in ids:
            real = await person.call(method, f"{base}/{real_id}{path}", status=404)
            made_up = await person.call(method, f"{base}/nosuchthing{path}", status=404)
            kind = message.removeprefix("No such ").removesuffix(".")
            expected = {"error": not_found(kind)}
            assert expected["error"]["message"] == message
            assert real == made_up == expected, (method, path)
