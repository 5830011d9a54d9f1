"""Service routes: health, metrics only for the bearer of their token, no software versions."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest
from aiohttp.test_utils import TestServer

from server.config import Settings
from tests.conftest import Person, with_settings

People = Callable[..., Awaitable[Person]]
TOKEN = "scrape-token-0123456789abcdefghijklmnop"
pytestmark = pytest.mark.timeout(30)


@pytest.fixture
def settings(settings: Settings, request: pytest.FixtureRequest) -> Settings:
    return with_settings(settings, metrics_token=getattr(request, "param", ""))


async def test_health_answers_anyone(people: People) -> None:
    visitor = await people(signup=False)
    assert await visitor.call("GET", "/healthz") == {"status": "ok"}


async def test_without_a_token_metrics_are_not_served_at_all(people: People) -> None:
    visitor = await people(signup=False)
    for headers in ({}, {"Authorization": "Bearer "}, {"Authorization": f"Bearer {TOKEN}"}):
        response = await visitor.client.get("/metrics", headers=headers)
        unknown = await visitor.client.get("/no-such-page", headers=headers)
        assert response.status == unknown.status == 404
        assert await response.json() == await unknown.json()


@pytest.mark.parametrize("settings", [TOKEN], indirect=True)
async def test_metrics_need_their_bearer_token(people: People) -> None:
    visitor = await people(signup=False)
    await visitor.call("GET", "/healthz")
    for authorization in (
        None,
        "",
        "Bearer",
        "Bearer wrong",
        f"Bearer {TOKEN[:-1]}",
        f"Bearer {TOKEN}x",
        f"Basic {TOKEN}",
        TOKEN,
    ):
        headers = {} if authorization is None else {"Authorization": authorization}
        response = await visitor.client.get("/metrics", headers=headers)
        body = await response.json()
        assert response.status == 401 and body["error"]["code"] == "not_signed_in", authorization
        assert response.headers["WWW-Authenticate"] == 'Bearer realm="metrics"'
    for authorization in (f"Bearer {TOKEN}", f"bearer   {TOKEN}"):
        response = await visitor.client.get("/metrics", headers={"Authorization": authorization})
        text = await response.text()
        assert response.status == 200 and "twinrooms_http_requests_total" in text
        assert 'route="/healthz"' in text


async def test_no_answer_names_the_server_software(people: People, server: TestServer) -> None:
    visitor = await people(signup=False)
    for path in ("/", "/healthz", "/api/me", "/api/nothing", "/metrics", "/static/app.js",
                 "/socket.io/?EIO=4&transport=polling"):  # fmt: skip
        response = await visitor.client.get(path)
        assert response.headers.get("Server") == "twinrooms", (path, response.headers)
    # Even a request that never reaches the application (it cannot be parsed).
    reader, writer = await asyncio.open_connection(server.host, server.port)
    writer.write(b"NOT A REQUEST\r\n\r\n")
    await writer.drain()
    head = await asyncio.wait_for(reader.read(4096), timeout=5)
    writer.close()
    await writer.wait_closed()
    assert head.split(b"\r\n")[0].endswith(b" 400 Bad Request"), head
    assert b"aiohttp" not in head and b"Python" not in head, head
