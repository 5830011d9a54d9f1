"""The shared file archive over HTTP: upload, listing, download, thumbnails, versions, folders."""

from __future__ import annotations

from aiohttp import web
from pydantic import Field

from media.sniff import is_image
from media.thumbnails import ThumbnailError
from rooms.errors import Invalid, NotFound, TooLarge
from server.downloads import send
from server.filestore import ARCHIVE, BLOBS, FOLDERS, SWEEPER, THUMBNAILS
from server.inputs import Payload, body, query_int
from server.keys import SETTINGS
from server.session import limit, signed_in
from server.uploads import Upload, receive

routes = web.RouteTableDef()


class NewFolder(Payload):
    path: str = Field(max_length=1024)


class FolderMove(Payload):
    path: str = Field(max_length=1024)
    new_path: str = Field(max_length=1024)


class FileMove(Payload):
    name: str | None = Field(default=None, max_length=1024)
    folder: str | None = Field(default=None, max_length=1024)


def _version(request: web.Request) -> int | None:
    return query_int(request, "version", None)


@routes.post("/api/rooms/{room_id}/files")
async def upload(request: web.Request) -> web.Response:
    user = await signed_in(request)
    await limit(request, "upload", request.app[SETTINGS].rate_upload, user.id)
    where = Upload(user, request.match_info["room_id"], request.query.get("folder", ""))
    stored = await receive(request, where)
    return web.json_response(stored.to_json(), status=201)


@routes.get("/api/rooms/{room_id}/files")
async def list_files(request: web.Request) -> web.Response:
    user = await signed_in(request)
    deleted = request.query.get("deleted") in ("1", "true")
    files = await request.app[ARCHIVE].files(
        user, request.match_info["room_id"], request.query.get("folder"), deleted=deleted
    )
    return web.json_response([f.to_json() for f in files])


@routes.get("/api/files/{file_id}")
async def get_file(request: web.Request) -> web.Response:
    user = await signed_in(request)
    stored = await request.app[ARCHIVE].get(user, request.match_info["file_id"], _version(request))
    return web.json_response(stored.to_json())


@routes.get("/api/files/{file_id}/content")
async def content(request: web.Request) -> web.StreamResponse:
    user = await signed_in(request)
    stored = await request.app[ARCHIVE].get(user, request.match_info["file_id"], _version(request))
    return await send(request, stored, request.app[BLOBS])


@routes.get("/api/files/{file_id}/versions")
async def versions(request: web.Request) -> web.Response:
    user = await signed_in(request)
    found = await request.app[ARCHIVE].versions(user, request.match_info["file_id"])
    return web.json_response([f.to_json() for f in found])


@routes.get("/api/files/{file_id}/thumbnail")
async def thumbnail(request: web.Request) -> web.StreamResponse:
    user = await signed_in(request)
    stored = await request.app[ARCHIVE].get(user, request.match_info["file_id"], _version(request))
    if not is_image(stored.mime):
        raise NotFound("thumbnail", stored.id)
    blobs = request.app[BLOBS]
    try:
        path = await request.app[THUMBNAILS].get(
            stored.sha256, lambda: blobs.local_copy(stored.sha256)
        )
    except ThumbnailError as exc:
        raise (TooLarge(str(exc)) if exc.too_large else Invalid(str(exc))) from None
    headers = {"Cache-Control": "private, max-age=86400", "Content-Type": "image/webp"}
    return web.FileResponse(path, headers=headers)


@routes.delete("/api/files/{file_id}")
async def delete_file(request: web.Request) -> web.Response:
    user = await signed_in(request)
    await request.app[ARCHIVE].delete(user, request.match_info["file_id"])
    return web.Response(status=204)


@routes.patch("/api/files/{file_id}")
async def move_file(request: web.Request) -> web.Response:
    user = await signed_in(request)
    data = await body(request, FileMove)
    moved = await request.app[ARCHIVE].move(
        user, request.match_info["file_id"], name=data.name, folder=data.folder
    )
    return web.json_response(moved.to_json())


@routes.post("/api/files/{file_id}/restore")
async def restore_file(request: web.Request) -> web.Response:
    user = await signed_in(request)
    stored = await request.app[ARCHIVE].restore(user, request.match_info["file_id"])
    return web.json_response(stored.to_json())


@routes.post("/api/files/{file_id}/purge")
async def purge_file(request: web.Request) -> web.Response:
    user = await signed_in(request)
    await request.app[SWEEPER].purge(user, request.match_info["file_id"])
    return web.Response(status=204)


@routes.get("/api/rooms/{room_id}/folders")
async def list_folders(request: web.Request) -> web.Response:
    user = await signed_in(request)
    return web.json_response(await request.app[FOLDERS].paths(user, request.match_info["room_id"]))


@routes.post("/api/rooms/{room_id}/folders")
async def create_folder(request: web.Request) -> web.Response:
    user = await signed_in(request)
    data = await body(request, NewFolder)
    made = await request.app[FOLDERS].create(user, request.match_info["room_id"], data.path)
    return web.json_response(made, status=201)


@routes.patch("/api/rooms/{room_id}/folders")
async def move_folder(request: web.Request) -> web.Response:
    user = await signed_in(request)
    data = await body(request, FolderMove)
    room_id = request.match_info["room_id"]
    moved = await request.app[FOLDERS].move(user, room_id, data.path, data.new_path)
    return web.json_response(moved)


@routes.delete("/api/rooms/{room_id}/folders")
async def delete_folder(request: web.Request) -> web.Response:
    user = await signed_in(request)
    path = request.query.get("path", "")
    await request.app[FOLDERS].delete(user, request.match_info["room_id"], path)
    return web.Response(status=204)
