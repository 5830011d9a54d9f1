"""Fixtures for SFU tests: SFUs on loopback that record their events, and client peers."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator

import pytest
from aiortc import RTCPeerConnection

from media.sfu import OfferNeeded, Sfu, SfuConfig, SfuEvent

from .peers import LOOPBACK, Client


class Harness:
    """Builds SFUs and clients for one test, records SFU events, answers the SFU's re-offers
    on behalf of the subscribing client, and closes everything at the end."""

    def __init__(self) -> None:
        self.events: list[SfuEvent] = []
        self.subscribers: dict[tuple[str, str], Client] = {}
        self.sfus: list[Sfu] = []
        self.clients: list[Client] = []
        self._tasks: set[asyncio.Task[None]] = set()

    def sfu(self, last_n: int = 9) -> Sfu:
        sfu = Sfu(SfuConfig(ice_servers=[], addresses=LOOPBACK, last_n=last_n), self.listen)
        self.sfus.append(sfu)
        return sfu

    def client(self) -> Client:
        client = Client()
        self.clients.append(client)
        return client

    async def subscriber(self, sfu: Sfu, session_id: str, participant_id: str) -> Client:
        """A client that subscribes now and answers every later re-offer."""
        client = self.client()
        self.subscribers[(session_id, participant_id)] = client
        await client.subscribe(sfu, session_id, participant_id)
        return client

    def listen(self, event: SfuEvent) -> None:
        self.events.append(event)
        if isinstance(event, OfferNeeded):
            task = asyncio.ensure_future(self._answer(event))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _answer(self, event: OfferNeeded) -> None:
        client = self.subscribers[(event.session_id, event.participant_id)]
        answer = await client.answer_sdp(event.sdp)
        await self.sfus[0].answer(event.session_id, event.participant_id, answer)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for sfu in self.sfus:
            await sfu.close()
        for client in self.clients:
            await client.close()


def open_connections() -> list[RTCPeerConnection]:
    """Every RTCPeerConnection alive in the process that is not closed."""
    gc.collect()
    return [
        o
        for o in gc.get_objects()
        if isinstance(o, RTCPeerConnection) and o.connectionState != "closed"
    ]


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    harness = Harness()
    try:
        yield harness
    finally:
        await harness.close()
