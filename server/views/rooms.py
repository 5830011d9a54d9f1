"""Rooms, members, invites, joining and pupil accounts over HTTP."""

from __future__ import annotations

from typing import Any, Literal

from aiohttp import web
from pydantic import Field

from rooms.invites import NewAccount
from server.inputs import Int64, Payload, body
from server.keys import SERVICES, SETTINGS
from server.session import client_ip, current_user, limit, set_session, signed_in

routes = web.RouteTableDef()


class NewRoom(Payload):
    name: str = Field(max_length=120)
    description: str = Field(default="", max_length=4000)


class RoomSettings(Payload):
    chat_mode: Literal["everyone", "teachers"] | None = None
    lobby: bool | None = None
    pupils_camera_off: bool | None = None


class RoomChanges(Payload):
    name: str | None = Field(default=None, max_length=120)
    description: str | None = Field(default=None, max_length=4000)
    settings: RoomSettings | None = None


class NewInvite(Payload):
    role: Literal["teacher", "member", "guest"]
    max_uses: Int64 | None = None
    expires_in: Int64 | None = None


class Join(Payload):
    code: str = Field(max_length=64)
    username: str | None = Field(default=None, max_length=64)
    password: str | None = Field(default=None, max_length=256)
    display_name: str | None = Field(default=None, max_length=64)
    country: str | None = Field(default=None, max_length=2)


class PupilName(Payload):
    display_name: str = Field(max_length=64)


class NewPupils(Payload):
    pupils: list[PupilName] = Field(max_length=200)


class RoleChange(Payload):
    role: Literal["teacher", "member", "guest"]


@routes.post("/api/rooms")
async def create_room(request: web.Request) -> web.Response:
    user = await signed_in(request)
    data = await body(request, NewRoom)
    room = await request.app[SERVICES].rooms.create(user, data.name, data.description)
    return web.json_response(room.to_json(), status=201)


@routes.get("/api/rooms")
async def list_rooms(request: web.Request) -> web.Response:
    user = await signed_in(request)
    return web.json_response(await request.app[SERVICES].rooms.list_for(user))


@routes.get("/api/rooms/{room_id}")
async def get_room(request: web.Request) -> web.Response:
    user = await signed_in(request)
    room = await request.app[SERVICES].rooms.get(user, request.match_info["room_id"])
    return web.json_response(room.to_json())


@routes.patch("/api/rooms/{room_id}")
async def edit_room(request: web.Request) -> web.Response:
    user = await signed_in(request)
    data = await body(request, RoomChanges)
    changes: dict[str, Any] = data.model_dump(exclude_none=True)
    room = await request.app[SERVICES].rooms.update(user, request.match_info["room_id"], changes)
    return web.json_response(room.to_json())


@routes.delete("/api/rooms/{room_id}")
async def delete_room(request: web.Request) -> web.Response:
    user = await signed_in(request)
    room_id = request.match_info["room_id"]
    await request.app[SERVICES].rooms.delete(user, room_id)
    return web.Response(status=204)


@routes.post("/api/rooms/{room_id}/invites")
async def create_invite(request: web.Request) -> web.Response:
    user = await signed_in(request)
    data = await body(request, NewInvite)
    invite = await request.app[SERVICES].invites.create(
        user, request.match_info["room_id"], data.role, data.max_uses, data.expires_in
    )
    return web.json_response(invite.to_json(), status=201)


@routes.get("/api/rooms/{room_id}/invites")
async def list_invites(request: web.Request) -> web.Response:
    user = await signed_in(request)
    invites = await request.app[SERVICES].invites.codes(user, request.match_info["room_id"])
    return web.json_response([invite.to_json() for invite in invites])


@routes.delete("/api/rooms/{room_id}/invites/{code}")
async def revoke_invite(request: web.Request) -> web.Response:
    user = await signed_in(request)
    info = request.match_info
    await request.app[SERVICES].invites.revoke(user, info["room_id"], info["code"])
    return web.Response(status=204)


@routes.post("/api/join")
async def join(request: web.Request) -> web.Response:
    user = await current_user(request)
    await limit(
        request, "join", request.app[SETTINGS].rate_join, user.id if user else client_ip(request)
    )
    data = await body(request, Join)
    account = None
    if user is None and data.username is not None and data.password is not None:
        name = data.display_name or data.username
        account = NewAccount(data.username, data.password, name, data.country)
    joiner, room = await request.app[SERVICES].invites.join(data.code, user, account)
    response = web.json_response({"user": joiner.to_json(), "room": room.to_json()})
    if user is None:
        set_session(
            request, response, await request.app[SERVICES].accounts.start_session(joiner.id)
        )
    return response


@routes.post("/api/rooms/{room_id}/pupils")
async def create_pupils(request: web.Request) -> web.Response:
    user = await signed_in(request)
    data = await body(request, NewPupils)
    sheet = await request.app[SERVICES].invites.create_pupils(
        user, request.match_info["room_id"], [p.display_name for p in data.pupils]
    )
    return web.json_response(sheet, status=201)


@routes.patch("/api/rooms/{room_id}/members/{user_id}")
async def change_role(request: web.Request) -> web.Response:
    user = await signed_in(request)
    data = await body(request, RoleChange)
    info = request.match_info
    member = await request.app[SERVICES].rooms.set_role(
        user, info["room_id"], info["user_id"], data.role
    )
    return web.json_response(member.to_json())


@routes.delete("/api/rooms/{room_id}/members/{user_id}")
async def remove_member(request: web.Request) -> web.Response:
    user = await signed_in(request)
    room_id, target = request.match_info["room_id"], request.match_info["user_id"]
    await request.app[SERVICES].rooms.remove(user, room_id, target)
    return web.Response(status=204)


@routes.post("/api/rooms/{room_id}/members/{user_id}/password")
async def reset_password(request: web.Request) -> web.Response:
    user = await signed_in(request)
    info = request.match_info
    card = await request.app[SERVICES].invites.reset_password(
        user, info["room_id"], info["user_id"]
    )
    return web.json_response(card)
