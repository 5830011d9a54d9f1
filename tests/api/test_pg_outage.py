"""PostgreSQL lost at run time: HTTP answers 503 `unavailable` with `Retry-After`, socket acks
carry the same code, `/healthz` says 503, and nothing answers 500. The database sits behind a
loopback TCP relay that the test cuts, as a network failure or a stopped server would."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from urllib.parse import urlsplit

import pytest
from aiohttp.test_utils import TestServer

from server.app import create_app
from server.config import Settings
from tests.conftest import Person

pytestmark = pytest.mark.parametrize("store", ["postgres"], indirect=True)


class Relay:
    """Forwards loopback connections to the database until `cut`, then refuses them."""

    def __init__(self, port: int) -> None:
        self.target = port
        self.server: asyncio.Server | None = None
        self.writers: list[asyncio.StreamWriter] = []

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target)
        self.writers += [writer, up_writer]
        await asyncio.gather(
            self._pipe(reader, up_writer), self._pipe(up_reader, writer), return_exceptions=True
        )

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        finally:
            writer.close()

    async def cut(self) -> None:
        assert self.server is not None
        self.server.close()
        for writer in self.writers:
            writer.transport.abort()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.server.wait_closed(), 5)


@pytest.fixture
async def relay(database_url: str) -> AsyncIterator[Relay]:
    found = Relay(int(urlsplit(database_url).port or 5432))
    yield found
    if found.server is not None and found.server.is_serving():
        await found.cut()


@pytest.fixture
async def relayed(settings: Settings, relay: Relay) -> Settings:
    port = await relay.start()
    parts = urlsplit(settings.database_url)
    url = parts._replace(netloc=f"{parts.username}:{parts.password}@127.0.0.1:{port}").geturl()
    return replace(settings, database_url=url)


@pytest.fixture
def app(relayed: Settings) -> object:
    return create_app(relayed)


async def test_a_lost_database_is_503_unavailable_over_http_and_in_socket_acks(
    server: TestServer, people: Callable[..., Awaitable[Person]], relay: Relay
) -> None:
    owner = await people("owner")
    room = await owner.call("POST", "/api/rooms", {"name": "Rivers"}, status=201)
    sio = await owner.connect()
    await relay.cut()

    response = await owner.client.get(f"/api/rooms/{room['id']}")
    assert response.status == 503
    assert (await response.json())["error"]["code"] == "unavailable"
    assert int(response.headers["Retry-After"]) > 0
    health = await owner.client.get("/healthz")
    assert health.status == 503 and (await health.json())["error"]["code"] == "unavailable"
    ack = await sio.call("chat:send", {"room_id": room["id"], "body": "hello"}, timeout=10)
    assert ack["ok"] is False and ack["error"]["code"] == "unavailable", ack
