"""Input that used to reach deep into the server and come back as 500 with a traceback in the log:
JSON nested thousands deep, numbers past 64 bits, odd digits in the query, broken uploads."""

from __future__ import annotations

import io
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from server.inputs import INT64_MAX, MAX_DEPTH
from tests.api.files_helpers import BOUNDARY, upload
from tests.conftest import Person
from tests.fuzz import errors_logged

People = Callable[..., Awaitable[Person]]
Room = dict[str, Any]


async def send(person: Person, method: str, path: str, data: bytes, content_type: str) -> Any:
    """A request with a raw body; checks it is answered 400 `invalid` and returns the message."""
    response = await person.client.request(
        method, path, data=io.BytesIO(data), headers={"Content-Type": content_type}
    )
    body = await response.json()
    assert response.status == 400, (path, response.status, body)
    assert body["error"]["code"] == "invalid", body
    return body["error"]["message"]


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 100_000])
async def test_json_nested_past_the_limit_is_400(
    room: Room, depth: int, caplog: pytest.LogCaptureFixture
) -> None:
    owner: Person = room["_owner"]
    deep = b'{"name": "Deep", "x": ' + b"[" * (depth - 1) + b"]" * (depth - 1) + b"}"
    message = await send(owner, "POST", "/api/rooms", deep, "application/json")
    assert str(MAX_DEPTH) in message
    assert errors_logged(caplog) == []


async def test_json_nested_up_to_the_limit_is_read(room: Room) -> None:
    owner: Person = room["_owner"]
    depth = MAX_DEPTH - 1  # the body itself is the first level
    made = await owner.client.post(
        "/api/rooms",
        data=b'{"name": "Deep", "x": ' + b"[" * depth + b"]" * depth + b"}",
        headers={"Content-Type": "application/json"},
    )
    assert made.status == 201


async def test_numbers_past_64_bits_are_400_in_bodies_and_queries(
    room: Room, caplog: pytest.LogCaptureFixture
) -> None:
    owner: Person = room["_owner"]
    thread = (await owner.call("GET", f"/api/rooms/{room['id']}/threads"))[0]["id"]
    made = await upload(owner, room["id"], "notes.txt", b"notes")

    body = await owner.call("POST", f"/api/threads/{thread}/read", {"seq": 2**63}, status=400)
    assert body["error"]["message"].startswith("seq:")
    await owner.call("POST", f"/api/threads/{thread}/read", {"seq": INT64_MAX}, status=204)
    for path in (
        f"/api/threads/{thread}/posts?after={2**63}",
        f"/api/threads/{thread}/posts?limit={2**63}",
        f"/api/threads/{thread}/posts?after={'9' * 5000}",  # past int()'s own digit limit
        f"/api/threads/{thread}/posts?after=%C2%B2",  # "²": a digit to str.isdigit(), not int()
        f"/api/rooms/{room['id']}/threads?limit=%C2%B2",
        f"/api/files/{made['id']}?version={2**63}",
        f"/api/files/{made['id']}/content?version={2**64}",
    ):
        body = await owner.call("GET", path, status=400)
        assert body["error"]["code"] == "invalid", path
    assert await owner.call("GET", f"/api/threads/{thread}/posts?after={INT64_MAX}") == []
    for field, value in (("max_uses", 2**63), ("expires_in", -(2**63) - 1)):
        body = await owner.call(
            "POST", f"/api/rooms/{room['id']}/invites", {"role": "member", field: value}, 400
        )
        assert body["error"]["message"].startswith(f"{field}:")
    assert errors_logged(caplog) == []


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/json",
        "",
        "multipart/form-data",  # no boundary
        "multipart/form-data; boundary=" + "x" * 100,  # longer than the 70 allowed
        "multipart/form-data; boundary=another",  # not the body's
        f"multipart/mixed; boundary={BOUNDARY}",
    ],
)
async def test_an_upload_that_is_not_a_multipart_form_is_400(
    room: Room, content_type: str, caplog: pytest.LogCaptureFixture
) -> None:
    owner: Person = room["_owner"]
    body = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n\r\n'
        f"hello\r\n--{BOUNDARY}--\r\n"
    ).encode()
    await send(owner, "POST", f"/api/rooms/{room['id']}/files", body, content_type)
    assert errors_logged(caplog) == []
    assert await owner.call("GET", f"/api/rooms/{room['id']}/files") == []


@pytest.mark.parametrize(
    "disposition",
    [
        b'form-data; name="file"; filename="a\x01b.txt"',
        b'form-data; name="file"; filename="a\x00b.txt"',
        b'form-data; name="file"; filename="a\rb.txt"',
        b'form-data; name="file"; filename="a\x7fb.txt"',
        b"form-data; name=\"file\"; filename*=UTF-8''a%FF%FEb.txt",  # not UTF-8
        b"form-data; name=\"file\"; filename*=nonsense''a%01b.txt",  # no such charset
    ],
)
async def test_a_control_character_or_bad_encoding_in_a_file_name_is_400(
    room: Room, disposition: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    owner: Person = room["_owner"]
    body = (
        f"--{BOUNDARY}\r\nContent-Disposition: ".encode()
        + disposition
        + f"\r\n\r\nhello\r\n--{BOUNDARY}--\r\n".encode()
    )
    content_type = f"multipart/form-data; boundary={BOUNDARY}"
    await send(owner, "POST", f"/api/rooms/{room['id']}/files", body, content_type)
    assert errors_logged(caplog) == []
    assert await owner.call("GET", f"/api/rooms/{room['id']}/files") == []
