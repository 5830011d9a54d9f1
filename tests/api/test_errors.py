"""What bad input gets: a JSON error with the right status, never a traceback."""

from __future__ import annotations

import io
from collections.abc import Awaitable, Callable

import pytest

from tests.conftest import Person

People = Callable[..., Awaitable[Person]]


async def test_malformed_json_is_400(people: People) -> None:
    teacher = await people()
    response = await teacher.client.post(
        "/api/rooms", data=b"{not json", headers={"Content-Type": "application/json"}
    )
    body = await response.json()
    assert response.status == 400 and body["error"]["code"] == "invalid"


@pytest.mark.parametrize("payload", [[], "room", 3, None, {"name": 5}, {}])
async def test_wrong_shapes_and_types_are_400(people: People, payload: object) -> None:
    teacher = await people()
    body = await teacher.call("POST", "/api/rooms", payload, status=400)
    assert body["error"]["code"] == "invalid"


async def test_a_body_over_one_mebibyte_is_413(people: People) -> None:
    teacher = await people()
    huge = b'{"name": "' + b"x" * (1024 * 1024) + b'"}'
    response = await teacher.client.post(
        "/api/rooms", data=io.BytesIO(huge), headers={"Content-Type": "application/json"}
    )
    assert response.status == 413 and (await response.json())["error"]["code"] == "too_large"


async def test_unknown_routes_and_methods_answer_json(people: People) -> None:
    visitor = await people(signup=False)
    assert (await visitor.call("GET", "/api/nothing", status=404))["error"]["code"] == "not_found"
    body = await visitor.call("DELETE", "/healthz", status=405)
    assert body["error"]["code"] == "method_not_allowed"


async def test_anonymous_callers_are_401(people: People) -> None:
    visitor = await people(signup=False)
    for method, path in [
        ("GET", "/api/me"),
        ("GET", "/api/rooms"),
        ("POST", "/api/rooms"),
        ("GET", "/api/rooms/x"),
    ]:
        body = await visitor.call(
            method, path, {"name": "x"} if method == "POST" else None, status=401
        )
        assert body["error"]["code"] == "not_signed_in"
