"""Limits per user on Socket.IO: how many sockets one user may hold open at once; why a
connection is refused."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest
import socketio
from aiohttp.test_utils import TestServer

from server.session import COOKIE
from tests.conftest import Person

People = Callable[..., Awaitable[Person]]
pytestmark = pytest.mark.timeout(30)
DEFAULT_CAP = 10  # MAX_SOCKETS_PER_USER


async def refusal(server: TestServer, **kwargs: Any) -> Any:
    """The `connect_error` of a connection the server must refuse: `{message, data}`."""
    errors: list[Any] = []
    async with aiohttp.ClientSession() as session:
        sio = socketio.AsyncClient(reconnection=False, http_session=session)
        sio.on("connect_error", errors.append)
        with pytest.raises(socketio.exceptions.ConnectionError):
            await sio.connect(
                str(server.make_url("/")), transports=["websocket"], wait_timeout=5, **kwargs
            )
    assert len(errors) == 1, errors
    return errors[0]


async def test_a_user_holds_at_most_the_cap_of_sockets_and_the_next_is_refused(
    people: People, server: TestServer
) -> None:
    pupil, classmate = await people(), await people()
    for _ in range(DEFAULT_CAP):
        await pupil.connect()
    cookie = {"Cookie": f"{COOKIE}={pupil.session_token()}"}
    error = await refusal(server, headers=cookie)
    assert error["data"]["code"] == "too_many_connections" and "10" in error["message"]
    assert error["data"]["message"] == error["message"]
    token = (await pupil.call("POST", "/api/auth/token"))["token"]
    error = await refusal(server, auth={"token": token})
    assert error["data"]["code"] == "too_many_connections"
    assert all(sio.connected for sio in pupil.sockets)

    await classmate.connect()  # the cap is per user, not per node
    await pupil.sockets[0].disconnect()
    again = await pupil.connect()  # a closed socket frees its place
    assert again.connected


async def test_a_refused_connection_says_why_in_its_data(server: TestServer) -> None:
    error = await refusal(server)
    assert error == {
        "message": "Sign in first.",
        "data": {"code": "not_signed_in", "message": "Sign in first."},
    }
