"""A loopback TCP proxy in front of an S3 server that can hold back DELETE requests, so a test can
put an upload exactly between a sweep's marking of a blob and the deletion of its bytes."""

from __future__ import annotations

import asyncio
import contextlib


class HoldingProxy:
    """Forwards every connection to `127.0.0.1:target`; while `hold` is set, a DELETE waits for
    `release`. `held` is set when one is waiting, `head_answered` when a HEAD got its answer."""

    def __init__(self, target: int) -> None:
        self.target = target
        self.port = 0
        self.hold = False
        self.held = asyncio.Event()
        self.release = asyncio.Event()
        self.head_answered = asyncio.Event()
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._connection, "127.0.0.1", 0)
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def close(self) -> None:
        self.release.set()
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _connection(
        self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        server_r, server_w = await asyncio.open_connection("127.0.0.1", self.target)
        last = {"method": b""}

        async def upstream() -> None:
            while data := await client_r.read(1 << 16):
                method = data.split(b" ", 1)[0]
                if method in (b"DELETE", b"HEAD", b"GET", b"PUT", b"POST"):
                    last["method"] = method
                if method == b"DELETE" and self.hold:
                    self.held.set()
                    await self.release.wait()
                server_w.write(data)
                await server_w.drain()
            server_w.close()

        async def downstream() -> None:
            while data := await server_r.read(1 << 16):
                client_w.write(data)
                await client_w.drain()
                if last["method"] == b"HEAD":
                    self.head_answered.set()
            client_w.close()

        try:
            await asyncio.gather(upstream(), downstream())
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            for writer in (client_w, server_w):
                with contextlib.suppress(Exception):
                    writer.close()
            self._tasks.discard(task)
