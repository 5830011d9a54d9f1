"""Collecting a Socket.IO client's events in tests, with a way to wait for one."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import socketio


class Inbox:
    """Collects the events a client receives, in arrival order."""

    def __init__(self, sio: socketio.AsyncClient, *events: str) -> None:
        self.items: list[tuple[str, Any]] = []
        self._arrived = asyncio.Event()
        for name in events:
            sio.on(name, self._collector(name))

    def _collector(self, name: str) -> Callable[[Any], Awaitable[None]]:
        async def collect(data: Any) -> None:
            self.add(name, data)

        return collect

    def add(self, name: str, data: Any) -> None:
        """Record an event (for a client that handles it itself as well)."""
        self.items.append((name, data))
        self._arrived.set()

    def named(self, name: str) -> list[Any]:
        return [data for event, data in self.items if event == name]

    async def wait_for(self, predicate: Callable[[str, Any], bool], within: float = 10) -> Any:
        """The first event that satisfies `predicate`, waiting up to `within` seconds for it."""

        async def scan() -> Any:
            while True:
                for name, data in self.items:
                    if predicate(name, data):
                        return data
                self._arrived.clear()
                await self._arrived.wait()

        return await asyncio.wait_for(scan(), within)
