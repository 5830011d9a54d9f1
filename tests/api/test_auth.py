"""Accounts over HTTP: sign-up, login, logout, sessions, tokens, origins and rate limits."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from ipaddress import ip_network

import pytest
from aiohttp.test_utils import TestClient, TestServer

from rooms.ratelimit import Rate
from server.app import create_app
from server.config import Settings
from server.session import COOKIE
from tests.conftest import PUBLIC_URL, Person

pytestmark = pytest.mark.both_engines

People = Callable[..., Awaitable[Person]]
SIGNUP = {
    "username": "marie",
    "password": "correct horse",
    "display_name": "Marie",
    "country": "fr",
}


async def test_signup_creates_a_signed_in_teacher(people: People) -> None:
    visitor = await people(signup=False)
    user = await visitor.call("POST", "/api/auth/signup", SIGNUP, status=201)
    assert user == {**user, "username": "marie", "country": "FR", "role": "teacher"}
    me = await visitor.call("GET", "/api/me")
    assert me["id"] == user["id"] and me["rooms"] == []


async def test_the_session_cookie_is_httponly_and_lax(people: People) -> None:
    visitor = await people(signup=False)
    response = await visitor.client.post("/api/auth/signup", json=SIGNUP)
    cookie = response.cookies[COOKIE]
    assert cookie["httponly"] and cookie["samesite"] == "Lax" and not cookie["secure"]
    assert len(cookie.value) >= 32


async def test_a_taken_username_is_409_whatever_its_case(people: People) -> None:
    await people("marie")
    visitor = await people(signup=False)
    body = await visitor.call(
        "POST", "/api/auth/signup", {**SIGNUP, "username": "MARIE"}, status=409
    )
    assert body["error"]["code"] == "username_taken"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"username": "a"}, "username"),
        ({"password": "short"}, "password"),
        ({"country": "France"}, "country"),
        ({"display_name": ""}, "display_name"),
        ({"username": 42}, "username"),
    ],
)
async def test_bad_signup_fields_are_named(
    people: People, change: dict[str, object], field: str
) -> None:
    visitor = await people(signup=False)
    body = await visitor.call("POST", "/api/auth/signup", {**SIGNUP, **change}, status=400)
    assert body["error"]["code"] == "invalid" and field in body["error"]["message"]


async def test_login_rotates_the_session_and_logout_ends_it(people: People) -> None:
    teacher = await people("marie")
    first = teacher.session_token()
    await teacher.call(
        "POST", "/api/auth/login", {"username": "Marie", "password": "correct horse"}
    )
    second = teacher.session_token()
    assert second != first
    stale = await people(signup=False)
    stale.client.session.cookie_jar.update_cookies({COOKIE: first})
    assert (await stale.call("GET", "/api/me", status=401))["error"]["code"] == "not_signed_in"
    await teacher.call("POST", "/api/auth/logout", status=204)
    again = await people(signup=False)
    again.client.session.cookie_jar.update_cookies({COOKIE: second})
    await again.call("GET", "/api/me", status=401)


async def test_wrong_credentials_are_401_bad_credentials(people: People) -> None:
    await people("marie")
    visitor = await people(signup=False)
    for username in ("marie", "nobody"):
        body = await visitor.call(
            "POST", "/api/auth/login", {"username": username, "password": "wrong pass"}, status=401
        )
        assert body["error"]["code"] == "bad_credentials"


async def test_a_socket_token_is_issued_to_the_signed_in_only(people: People) -> None:
    teacher = await people("marie")
    body = await teacher.call("POST", "/api/auth/token")
    assert body["expires_in"] == 300 and body["token"].startswith(teacher.id + ".")
    visitor = await people(signup=False)
    await visitor.call("POST", "/api/auth/token", status=401)


async def test_a_foreign_origin_cannot_change_anything(people: People) -> None:
    teacher = await people("marie")
    response = await teacher.client.post(
        "/api/rooms", json={"name": "x"}, headers={"Origin": "http://evil.test"}
    )
    assert response.status == 403 and (await response.json())["error"]["code"] == "bad_origin"
    response = await teacher.client.post(
        "/api/rooms", json={"name": "x"}, headers={"Origin": PUBLIC_URL}
    )
    assert response.status == 201
    assert (await teacher.call("GET", "/api/rooms"))[0]["name"] == "x"


async def _server(settings: Settings) -> tuple[TestServer, TestClient]:
    server = TestServer(create_app(settings), host="127.0.0.1")
    client = TestClient(server)
    await client.start_server()
    return server, client


async def test_closed_signup_is_403(settings: Settings) -> None:
    _, client = await _server(replace(settings, signup="closed"))
    response = await client.post("/api/auth/signup", json=SIGNUP)
    assert response.status == 403 and (await response.json())["error"]["code"] == "forbidden"
    await client.close()


async def test_login_is_rate_limited_per_username_with_retry_after(settings: Settings) -> None:
    _, client = await _server(replace(settings, rate_login=Rate(3, 60)))
    for _ in range(3):
        response = await client.post("/api/auth/login", json={"username": "x", "password": "y" * 8})
        assert response.status == 401
    response = await client.post("/api/auth/login", json={"username": "x", "password": "y" * 8})
    assert response.status == 429 and int(response.headers["Retry-After"]) >= 1
    assert (await response.json())["error"]["code"] == "rate_limited"
    await client.close()


async def _login_from(client: TestClient, forwarded: str) -> int:
    response = await client.post(
        "/api/auth/login",
        json={"username": f"x{forwarded}", "password": "y" * 8},
        headers={"X-Forwarded-For": forwarded},
    )
    return response.status


async def test_x_forwarded_for_counts_only_from_a_trusted_proxy(settings: Settings) -> None:
    # Per-IP signup limit: the login bucket is also keyed by username, so vary the usernames.
    _, client = await _server(replace(settings, rate_login=Rate(2, 60)))
    # Untrusted peer: the header is ignored, so two "different" clients share one bucket.
    assert [await _login_from(client, ip) for ip in ("10.1.1.1", "10.2.2.2", "10.3.3.3")] == [
        401,
        401,
        429,
    ]
    await client.close()
    trusting = replace(
        settings, rate_login=Rate(2, 60), trusted_proxies=(ip_network("127.0.0.0/8"),)
    )
    _, client = await _server(trusting)
    for ip in ("10.1.1.1", "10.2.2.2", "10.3.3.3"):
        assert await _login_from(client, ip) == 401
    # A spoofed hop to the left of what the trusted proxy saw changes nothing.
    assert await _login_from(client, "6.6.6.6, 10.1.1.1") == 401
    assert await _login_from(client, "7.7.7.7, 10.1.1.1") == 429
    await client.close()


async def test_config_publishes_the_limits_the_server_enforces(people: People) -> None:
    visitor = await people(signup=False)
    config = await visitor.call("GET", "/api/auth/config")
    assert config["signed_in"] is False
    limits = config["limits"]
    assert limits["display_name"] == 64 and limits["room_description"] == 4000
    teacher = await people()
    name = "N" * limits["display_name"]
    body = {"username": "longname", "password": "correct horse", "country": "FR"}
    await visitor.call("POST", "/api/auth/signup", {**body, "display_name": name}, status=201)
    too_long = {**body, "username": "longname2", "display_name": name + "N"}
    refused = await teacher.call("POST", "/api/auth/signup", too_long, status=400)
    assert refused["error"]["params"]["max"] == limits["display_name"]
    description = "d" * limits["room_description"]
    await teacher.call("POST", "/api/rooms", {"name": "R", "description": description}, status=201)
    await teacher.call(
        "POST", "/api/rooms", {"name": "R", "description": description + "d"}, status=400
    )
    assert (await teacher.call("GET", "/api/auth/config"))["signed_in"] is True
