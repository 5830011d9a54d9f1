"""Sockets end with the session they were opened with: at logout, at a new login and at expiry,
whether opened with the cookie or with a socket token minted from it; the tokens stop working."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest
import socketio
from aiohttp.test_utils import TestServer

from rooms.accounts import IDLE_SECONDS
from server.config import Settings
from server.keys import SERVICES
from tests.conftest import Person, with_settings
from tests.realtime.test_limits import refusal

People = Callable[..., Awaitable[Person]]
pytestmark = pytest.mark.timeout(30)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return with_settings(settings, session_check_seconds=0.1)


class TokenSocket:
    """A socket opened with a socket token, and an event set when the server closes it."""

    def __init__(self, http: aiohttp.ClientSession) -> None:
        self.sio = socketio.AsyncClient(reconnection=False, http_session=http)
        self.closed = asyncio.Event()
        self.sio.on("disconnect", self.closed.set)

    async def connect(self, server: TestServer, token: str) -> None:
        url = str(server.make_url("/"))
        await self.sio.connect(url, transports=["websocket"], auth={"token": token}, wait_timeout=5)


async def token_socket(person: Person, server: TestServer) -> tuple[TokenSocket, str]:
    """A socket token of the person's session, and a socket opened with it."""
    token = (await person.call("POST", "/api/auth/token"))["token"]
    assert person.session_token() not in token  # the token never carries the cookie itself
    if person.http is None:
        person.http = aiohttp.ClientSession()
    socket = TokenSocket(person.http)
    await socket.connect(server, token)
    person.sockets.append(socket.sio)
    return socket, token


async def cookie_socket(person: Person) -> asyncio.Event:
    sio = await person.connect()
    closed = asyncio.Event()
    sio.on("disconnect", closed.set)
    return closed


async def closed(*events: asyncio.Event) -> None:
    await asyncio.wait_for(asyncio.gather(*(event.wait() for event in events)), 10)


async def test_logout_closes_token_sockets_too_and_their_token_stops_working(
    people: People, server: TestServer
) -> None:
    teacher, classmate = await people(), await people()
    by_cookie = await cookie_socket(teacher)
    by_token, token = await token_socket(teacher, server)
    other, _ = await token_socket(classmate, server)

    await teacher.call("POST", "/api/auth/logout", status=204)

    await closed(by_cookie, by_token.closed)
    error = await refusal(server, auth={"token": token})
    assert error["data"]["code"] == "not_signed_in"
    assert other.sio.connected  # another user's session goes on


async def test_a_new_login_ends_the_old_sessions_sockets(
    people: People, server: TestServer
) -> None:
    teacher = await people("marie")
    by_cookie = await cookie_socket(teacher)
    by_token, token = await token_socket(teacher, server)

    await teacher.call(
        "POST", "/api/auth/login", {"username": "marie", "password": "correct horse"}
    )

    await closed(by_cookie, by_token.closed)
    assert (await refusal(server, auth={"token": token}))["data"]["code"] == "not_signed_in"
    fresh, _ = await token_socket(teacher, server)  # the new session's tokens work
    assert fresh.sio.connected


@pytest.mark.parametrize("column", ["created_at", "last_seen_at"])
async def test_sockets_close_when_their_session_expires(
    people: People, server: TestServer, settings: Settings, column: str
) -> None:
    teacher, classmate = await people(), await people()
    by_cookie = await cookie_socket(teacher)
    by_token, token = await token_socket(teacher, server)
    other = await classmate.connect()

    # The session began (or was last used) longer ago than its lifetime (or the idle limit).
    age = settings.session_days * 86400 if column == "created_at" else IDLE_SECONDS
    db = server.app[SERVICES].db

    async def age_session(tx: Any) -> None:
        await tx.execute(
            f"UPDATE auth_sessions SET {column} = {column} - ? WHERE user_id = ?",
            (age + 60, teacher.id),
        )

    await db.write(age_session)

    await closed(by_cookie, by_token.closed)
    assert (await refusal(server, auth={"token": token}))["data"]["code"] == "not_signed_in"
    assert other.connected
