"""A lean Socket.IO client for the benchmarks' fleets: the protocol (Engine.IO 4, Socket.IO 5) over
one aiohttp WebSocket, with nothing else.

Hundreds of clients share a process and the machine's cores with the server they measure. The
full python-socketio client spends a task, a queue hop and several decodes on each event, and a
fleet of them on two cores adds its own queueing to every latency it records: at half the bare
server's maximum the clients, not the server, made most of the p99. This one parses each frame
once and calls the handler in the receiving loop, so what a benchmark times is the server's.
Both servers of a benchmark are measured with it, so the ratios compare servers, not clients.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import aiohttp

Handler = Callable[[Any], None]


class LeanClient:
    """One Socket.IO connection on the default namespace: `connect`, `call` (an event with an
    ack), `on` (a plain function called with each event's data), `disconnect`. `timeout` bounds
    a connection's opening and each ack."""

    def __init__(self, session: aiohttp.ClientSession, timeout: float = 60) -> None:
        self.session = session
        self.timeout = timeout
        self._pongs: set[asyncio.Task[None]] = set()
        self.handlers: dict[str, Handler] = {}
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._ids = itertools.count()
        self._acks: dict[int, asyncio.Future[Any]] = {}
        self._connected: asyncio.Future[dict[str, Any]] | None = None
        self._reader: asyncio.Task[None] | None = None

    def on(self, event: str, handler: Handler) -> None:
        self.handlers[event] = handler

    async def connect(self, url: str, auth: dict[str, Any]) -> None:
        """Open the WebSocket and the namespace; raises with the server's reason if refused."""
        parts = urlsplit(url)
        ws_url = f"ws://{parts.netloc}/socket.io/?EIO=4&transport=websocket"
        ws_timeout = aiohttp.ClientWSTimeout(ws_receive=None, ws_close=self.timeout)
        self._ws = await self.session.ws_connect(ws_url, timeout=ws_timeout)
        opening = await asyncio.wait_for(self._ws.receive_str(), self.timeout)
        if not opening.startswith("0"):
            raise ConnectionError(f"no Engine.IO open packet: {opening[:80]}")
        self._connected = asyncio.get_running_loop().create_future()
        self._reader = asyncio.create_task(self._read())
        await self._ws.send_str("40" + json.dumps(auth))
        await asyncio.wait_for(self._connected, self.timeout)

    async def call(self, event: str, data: Any) -> Any:
        """Emit `event` with `data` and return the server's acknowledgement."""
        assert self._ws is not None
        ack_id = next(self._ids)
        future = asyncio.get_running_loop().create_future()
        self._acks[ack_id] = future
        try:
            await self._ws.send_str(f"42{ack_id}" + json.dumps([event, data]))
            return await asyncio.wait_for(future, self.timeout)
        finally:
            self._acks.pop(ack_id, None)

    async def disconnect(self) -> None:
        if self._ws is not None:
            await self._ws.send_str("41")
            await self._ws.close()
        if self._reader is not None:
            await self._reader

    async def _read(self) -> None:
        assert self._ws is not None and self._connected is not None
        async for message in self._ws:
            if message.type != aiohttp.WSMsgType.TEXT:
                break
            self._packet(message.data)
        for future in [self._connected, *self._acks.values()]:
            if not future.done():
                future.set_exception(ConnectionError("the server closed the connection"))

    def _packet(self, text: str) -> None:
        """One Engine.IO packet: a ping is answered; a Socket.IO packet is dispatched."""
        if text == "2":
            assert self._ws is not None
            pong = asyncio.create_task(self._ws.send_str("3"))
            self._pongs.add(pong)
            pong.add_done_callback(self._pongs.discard)
        elif text.startswith("42"):  # an event: 42[<ack id>]["name", data...]
            name, *args = json.loads(text[text.index("[") :])
            handler = self.handlers.get(name)
            if handler is not None:
                handler(args[0] if args else None)
        elif text.startswith("43"):  # an ack: 43<id>[data]
            start = text.index("[")
            future = self._acks.get(int(text[2:start]))
            if future is not None and not future.done():
                future.set_result(json.loads(text[start:])[0])
        elif text.startswith("40") and self._connected is not None:
            self._connected.set_result(json.loads(text[2:] or "{}"))
        elif text.startswith("44") and self._connected is not None:  # connect refused
            self._connected.set_exception(ConnectionError(f"refused: {text[2:]}"))
