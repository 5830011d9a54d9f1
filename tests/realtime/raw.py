"""A Socket.IO client that writes the wire protocol itself, so that a test can send any text as an
event's payload: JSON nested past any encoder's limit, NaN, numbers of any size."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp

from server.session import COOKIE
from tests.conftest import Person


class RawSocket:
    """One signed-in Engine.IO 4 WebSocket on the default namespace."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self._ids = 0

    @classmethod
    @contextlib.asynccontextmanager
    async def open(cls, person: Person) -> AsyncIterator[RawSocket]:
        url = person.server.make_url("/socket.io/?EIO=4&transport=websocket")
        headers = {"Cookie": f"{COOKIE}={person.session_token()}"}
        async with person.client.session.ws_connect(url, headers=headers) as ws:
            async with asyncio.timeout(10):
                opened = await ws.receive_str()
                assert opened.startswith("0{"), opened
                await ws.send_str("40")
                connected = await ws.receive_str()
                assert connected.startswith("40{"), connected
            yield cls(ws)

    async def call(self, event: str, payload: str | None, *extra: str) -> Any:
        """Send `event` with `payload` (raw JSON text; None sends none) and return its ack."""
        self._ids += 1
        args = ",".join([json.dumps(event), *([payload] if payload is not None else []), *extra])
        await self.ws.send_str(f"42{self._ids}[{args}]")
        prefix = f"43{self._ids}["
        async with asyncio.timeout(15):
            while True:
                message = await self.ws.receive()
                if message.type != aiohttp.WSMsgType.TEXT:
                    raise AssertionError(f"the server closed the socket: {message}")
                if message.data == "2":  # Engine.IO ping
                    await self.ws.send_str("3")
                elif message.data.startswith(prefix):
                    return json.loads(message.data[len(prefix) - 1 :])[0]
