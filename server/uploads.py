"""Receiving an upload: multipart streamed to a temporary file, counted, hashed and limited.

aiohttp's `read_chunk` does not cap a part, so the size limit and the room's quota are enforced
here chunk by chunk. The bytes become a blob only once the whole body is read: the blob's row is
pinned, the bytes are stored (renamed into place, or sent to the bucket), and the file's row is
committed with the blob's reference (`rooms/blob_refs.py`). Any failure on the way removes the
temporary file, releases the quota and the pin; bytes stored for nothing are the collection's.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

from aiohttp import BodyPartReader, MultipartReader, web
from aiohttp.http_exceptions import BadHttpMessage
from aiohttp.multipart import BadContentDispositionHeader, BadContentDispositionParam

from media.blobs import CHUNK, BlobInfo, BlobUnavailable, TempUpload
from media.sniff import sniff
from rooms.archive import NewBlob, StoredFile
from rooms.errors import Invalid, TooLarge, Unavailable
from rooms.filenames import clean_folder, clean_name
from rooms.models import User
from rooms.quota import Reservation
from server.filestore import ARCHIVE, BLOB_REFS, BLOBS, SWEEPER
from server.keys import SETTINGS

# The multipart framing around the file (boundaries, part headers) is at most this much of the
# request's Content-Length: the rest is file bytes to reserve before they arrive.
FRAMING = 4096
FOLDER_FIELD_MAX = 2048
# A collection deleting the same bytes takes one DELETE per blob; waiting this long for it to end
# means the blob store is in trouble.
PIN_TRIES = 100
PIN_WAIT = 0.1


@dataclass(frozen=True)
class Upload:
    """Who uploads what where: the caller, the room and the folder named so far."""

    user: User
    room_id: str
    folder: str


def too_large(limit: int) -> TooLarge:
    return TooLarge(
        f"A file may be at most {limit} bytes.", reason="file_too_large", params={"max": limit}
    )


@dataclass
class Received:
    """A file part read to the end: its clean name, the finished temporary file, the quota held."""

    name: str
    temp: TempUpload
    info: BlobInfo
    held: Reservation


async def receive(request: web.Request, upload: Upload) -> StoredFile:
    """Read the multipart body: the `file` part and an optional `folder` field, then store.

    Clients send fields in the order they are given (`curl -F`), so `folder` may come before or
    after the file. The bytes are received into a temporary file at once; the file's row, which
    needs the folder, is written only when the whole body is read.
    """
    limit = request.app[SETTINGS].max_upload_bytes
    expected = max(0, (request.content_length or 0) - FRAMING)
    if expected > limit:  # refused before a byte of the body is read
        raise too_large(limit)
    if request.content_type != "multipart/form-data":
        raise Invalid("file: the body must be multipart/form-data.", field="file", rule="format")
    with _malformed_form():
        reader = await request.multipart()
    folder = upload.folder
    received: Received | None = None
    try:
        while (part := await _next(reader)) is not None:
            with _malformed_form():
                field = part.name
            if field == "folder":
                folder = clean_folder(await _text(part))
            elif field == "file":
                if received is not None:
                    raise Invalid("file: one file per upload.", field="file", rule="one_file")
                received = await _receive_file(request, upload, part)
            else:
                await part.release()
        if received is None:
            raise Invalid("file: the form has no file part.", field="file", rule="required")
        return await _commit(request, Upload(upload.user, upload.room_id, folder), received)
    finally:
        if received is not None:
            received.temp.discard()  # nothing left once the blob store took it
            received.held.release()


@contextlib.contextmanager
def _malformed_form() -> Iterator[None]:
    """aiohttp's errors for a malformed form (boundary, part headers) as `invalid`.

    aiohttp only warns about a Content-Disposition it cannot read, and reads it as naming nothing;
    where warnings are errors, the warning itself lands here.
    """
    try:
        yield
    except (ValueError, BadHttpMessage, BadContentDispositionHeader, BadContentDispositionParam):
        raise Invalid(
            "file: the multipart form is malformed.", field="file", rule="format"
        ) from None


async def _next(reader: MultipartReader) -> BodyPartReader | None:
    with _malformed_form():
        part = await reader.next()
    if part is not None and not isinstance(part, BodyPartReader):
        raise Invalid("file: nested multipart is not supported.", field="file", rule="format")
    return part


async def _text(part: BodyPartReader) -> str:
    data = bytearray()
    while chunk := await part.read_chunk(FOLDER_FIELD_MAX):
        data += chunk
        if len(data) > FOLDER_FIELD_MAX:
            raise Invalid(
                f"folder: at most {FOLDER_FIELD_MAX} bytes.",
                field="folder",
                rule="max_bytes",
                max=FOLDER_FIELD_MAX,
            )
    return data.decode(errors="replace")


async def _receive_file(request: web.Request, upload: Upload, part: BodyPartReader) -> Received:
    """Hold quota for the part and stream it to a finished temporary file."""
    app = request.app
    with _malformed_form():
        filename = part.filename
    name = clean_name(filename or "")
    expected = max(0, (request.content_length or 0) - FRAMING)
    held = await app[ARCHIVE].reserve(upload.user, upload.room_id, expected)
    try:
        temp = app[BLOBS].temp()
        try:
            info = await _stream(part, temp, held, app[SETTINGS].max_upload_bytes)
        except BaseException:
            temp.discard()
            raise
    except BaseException:
        held.release()
        raise
    return Received(name, temp, info, held)


async def _stream(
    part: BodyPartReader, temp: TempUpload, held: Reservation, limit: int
) -> BlobInfo:
    """Copy the part into `temp`, stopping at once when it passes `limit` or the quota."""
    while chunk := await part.read_chunk(CHUNK):
        if temp.size + len(chunk) > limit:
            raise too_large(limit)
        held.cover(temp.size + len(chunk))
        temp.write(chunk)
    return await temp.finish()


async def _commit(request: web.Request, upload: Upload, received: Received) -> StoredFile:
    """Pin the blob's row, store the bytes, then record the file; give up the pin on failure."""
    app = request.app
    info = received.info
    pin = await _pin(request, info)
    try:
        await app[BLOBS].put(received.temp)
        blob = NewBlob(info.sha256, info.size, sniff(info.head), pin)
        return await app[ARCHIVE].add(
            upload.user, upload.room_id, upload.folder, received.name, blob, received.held
        )
    except BaseException as exc:
        await asyncio.shield(_give_up(app, info.sha256, pin, exc))
        raise


async def _give_up(app: web.Application, sha256: str, pin: float, error: BaseException) -> None:
    """Release the pin; bytes stored for nothing go at once, unless the store is what failed
    (then the next sweep deletes them)."""
    await app[BLOB_REFS].unpin(sha256, pin)
    if not isinstance(error, BlobUnavailable):
        await app[SWEEPER].collect([sha256])


async def _pin(request: web.Request, info: BlobInfo) -> float:
    """Pin the blob's row, waiting while a collection deletes the same bytes."""
    for _ in range(PIN_TRIES):
        pin = await request.app[BLOB_REFS].pin(info.sha256, info.size)
        if pin is not None:
            return pin
        await asyncio.sleep(PIN_WAIT)
    raise Unavailable("The file store is busy; please upload the file again.")
