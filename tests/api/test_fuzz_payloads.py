"""Every request model of the HTTP API, fuzzed through the real server: hostile JSON (numbers past
64 bits, control characters, wrong types, deep nesting) always gets a 4xx JSON error or success,
never a 500, and nothing is logged at ERROR. `tests/realtime/test_fuzz_events.py` does the same
for Socket.IO payloads; together they cover every `Payload` model of the server (checked below,
so that a new model cannot go unfuzzed)."""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, quote_from_bytes

import pytest
from hypothesis import given
from hypothesis import strategies as st

import server.app  # noqa: F401  (imports every module that defines a payload model)
from server.inputs import Payload
from server.views import auth, files, forum, rooms, sessions
from tests.api.files_helpers import upload
from tests.conftest import Person, join_as_pupil
from tests.fuzz import FUZZ, NASTY_TEXT, TEXT, Named, errors_logged, payloads
from tests.realtime.test_fuzz_events import EVENTS

People = Callable[..., Awaitable[Person]]
Room = dict[str, Any]


@dataclass(frozen=True)
class Route:
    """Where a model is sent and a valid body for it; `{room}`-style names are filled from the
    scene. `visitor` routes are called by someone without an account."""

    method: str
    path: str
    valid: dict[str, Any]
    visitor: bool = False


HTTP: dict[type[Payload], Route] = {
    auth.SignUp: Route(
        "POST",
        "/api/auth/signup",
        {"username": "fuzz", "password": "a password", "display_name": "F", "country": "FR"},
        visitor=True,
    ),
    auth.Login: Route(
        "POST", "/api/auth/login", {"username": "owner", "password": "x" * 8}, visitor=True
    ),
    rooms.NewRoom: Route("POST", "/api/rooms", {"name": "Lakes", "description": "d"}),
    rooms.RoomChanges: Route(
        "PATCH",
        "/api/rooms/{room}",
        {"name": "Seas", "description": "", "settings": {"lobby": False, "chat_mode": "everyone"}},
    ),
    rooms.NewInvite: Route(
        "POST", "/api/rooms/{room}/invites", {"role": "member", "max_uses": 5, "expires_in": 600}
    ),
    rooms.Join: Route(
        "POST",
        "/api/join",
        {"code": "{code}", "username": "newcomer", "password": "a password", "country": "FR"},
        visitor=True,
    ),
    rooms.NewPupils: Route(
        "POST", "/api/rooms/{room}/pupils", {"pupils": [{"display_name": "Ada"}]}
    ),
    rooms.RoleChange: Route("PATCH", "/api/rooms/{room}/members/{pupil}", {"role": "member"}),
    forum.NewThread: Route("POST", "/api/rooms/{room}/threads", {"title": "T", "body": "B"}),
    forum.ThreadChanges: Route(
        "PATCH", "/api/threads/{thread}", {"title": "T", "pinned": True, "locked": False}
    ),
    forum.PostBody: Route("PATCH", "/api/posts/{post}", {"body": "edited"}),
    forum.Reaction: Route("POST", "/api/posts/{post}/reactions", {"emoji": "👍", "on": True}),
    forum.ReadMark: Route("POST", "/api/threads/{thread}/read", {"seq": 1}),
    forum.Report: Route("POST", "/api/posts/{post}/report", {"reason": "rude"}),
    forum.Hide: Route("POST", "/api/posts/{post}/hide", {"hidden": False}),
    forum.Mute: Route("PUT", "/api/rooms/{room}/mutes/{pupil}", {"minutes": 0}),
    forum.ChatMode: Route("PUT", "/api/rooms/{room}/chat_mode", {"mode": "everyone"}),
    files.NewFolder: Route("POST", "/api/rooms/{room}/folders", {"path": "maps/old"}),
    files.FolderMove: Route("PATCH", "/api/rooms/{room}/folders", {"path": "a", "new_path": "b"}),
    files.FileMove: Route("PATCH", "/api/files/{file}", {"name": "b.txt"}),
    sessions.NewSession: Route(
        "POST", "/api/rooms/{room}/sessions", {"title": "T", "scheduled_at": "2099-01-01T09:00Z"}
    ),
}
# Models that only travel inside another one, fuzzed through it.
NESTED: dict[type[Payload], type[Payload]] = {
    rooms.RoomSettings: rooms.RoomChanges,
    rooms.PupilName: rooms.NewPupils,
}

# Query parameters read as numbers or paths, with the routes that read them. (A request line over
# 8190 bytes is refused by aiohttp itself, which logs it at ERROR: values stay below that.)
QUERIES = [
    ("GET", "/api/threads/{thread}/posts?after={value}"),
    ("GET", "/api/threads/{thread}/posts?limit={value}"),
    ("GET", "/api/rooms/{room}/threads?after={value}"),
    ("GET", "/api/rooms/{room}/threads?limit={value}"),
    ("GET", "/api/files/{file}?version={value}"),
    ("GET", "/api/files/{file}/content?version={value}"),
    ("GET", "/api/files/{file}/thumbnail?version={value}"),
    ("GET", "/api/rooms/{room}/files?folder={value}"),
    ("GET", "/api/rooms/{room}/files?deleted={value}"),
    ("GET", "/api/rooms/{room}/search?q={value}"),
    ("DELETE", "/api/rooms/{room}/folders?path={value}"),
]


def every_payload_model() -> set[type[Payload]]:
    found: set[type[Payload]] = set()
    todo = [Payload]
    while todo:
        for model in todo.pop().__subclasses__():
            found.add(model)
            todo.append(model)
    return found


def test_every_payload_model_is_fuzzed() -> None:
    assert every_payload_model() == set(HTTP) | set(NESTED) | set(EVENTS)


@dataclass
class Scene(Named):
    """A room with an owner, a pupil, a thread with a post, an invite code and a file, and a
    visitor without an account."""

    owner: Person
    visitor: Person


@pytest.fixture
async def scene(people: People, room: Room) -> AsyncIterator[Scene]:
    owner: Person = room["_owner"]
    pupil = await join_as_pupil(people, owner, room["id"])
    thread = await owner.call(
        "POST", f"/api/rooms/{room['id']}/threads", {"title": "T", "body": "B"}, 201
    )
    post = await owner.call("POST", f"/api/threads/{thread['id']}/posts", {"body": "P"}, 201)
    invite = await owner.call(
        "POST", f"/api/rooms/{room['id']}/invites", {"role": "member", "max_uses": 1000}, 201
    )
    made = await upload(owner, room["id"], "notes.txt", b"notes")
    names = {
        "room": room["id"],
        "pupil": pupil.id,
        "thread": thread["id"],
        "post": post["id"],
        "code": invite["code"],
        "file": made["id"],
    }
    yield Scene(names, owner, await people(signup=False))


async def check_answer(person: Person, method: str, path: str, raw: bytes) -> None:
    response = await person.client.request(
        method, path, data=io.BytesIO(raw), headers={"Content-Type": "application/json"}
    )
    text = await response.text()
    assert response.status < 500, (method, path, raw[:300], response.status, text)
    if response.status >= 400:
        assert json.loads(text)["error"]["code"], text


@pytest.mark.timeout(60)
@pytest.mark.parametrize("model", list(HTTP), ids=lambda model: model.__name__)
@FUZZ
@given(data=st.data())
async def test_hostile_bodies_get_a_4xx_or_success_never_a_500(
    scene: Scene, model: type[Payload], data: st.DataObject, caplog: pytest.LogCaptureFixture
) -> None:
    route = HTTP[model]
    valid = json.loads(scene.fill(json.dumps(route.valid)))
    raw = data.draw(payloads(valid))
    caplog.clear()
    person = scene.visitor if route.visitor else scene.owner
    await check_answer(person, route.method, scene.fill(route.path), raw.encode())
    assert errors_logged(caplog) == []


@pytest.mark.timeout(60)
@FUZZ
@given(
    route=st.sampled_from(QUERIES),
    value=st.one_of(
        st.integers(min_value=-(2**70), max_value=2**70).map(str),
        st.sampled_from(["²", "٣", "1e3", "0x10", " 1", "1 ", "9" * 4400, "-0"]),
        TEXT.filter(lambda text: max(text, default="") < "\ud800"),  # quote() needs UTF-8
        NASTY_TEXT.filter(lambda text: text != "\ud800"),
    ).map(lambda text: quote(text, safe=""))
    | st.binary(max_size=20).map(quote_from_bytes),  # percent-escapes that are not UTF-8
)
async def test_hostile_query_parameters_get_a_4xx_or_success_never_a_500(
    scene: Scene, route: tuple[str, str], value: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.clear()
    method, path = route
    target = scene.fill(path).replace("{value}", value)
    response = await scene.owner.client.request(method, target)
    text = await response.text()
    assert response.status < 500, (target, response.status, text)
    assert errors_logged(caplog) == []
