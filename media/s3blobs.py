"""Blobs in an S3-compatible bucket, through aiobotocore: `<prefix>blobs/ab/cd/<sha256>`.

Uploads still arrive in a local temporary file (counted, hashed, limited); `put` then sends that
file: one `PutObject` under 8 MiB, else a multipart upload of 8 MiB parts with at most 4 in flight
(so at most 32 MiB of an upload is in memory), aborted on any failure. Both carry
`If-None-Match: *`, so an object is never overwritten: identical bytes that arrive twice at once
are stored once. Downloads go through the node with ranged `GetObject`s, so our own headers (ETag,
Content-Disposition, nosniff, the sandbox CSP) stay on every answer.

Any failure to reach the bucket (refused, timed out, 5xx) is `BlobUnavailable`; an object that is
absent where it should be is `BlobMissing`. Credentials come from the standard `AWS_*` variables,
which botocore reads itself.
"""

from __future__ import annotations

import asyncio
import io
import logging
import secrets
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiobotocore.config import AioConfig
from aiobotocore.session import get_session
from botocore.exceptions import BotoCoreError, ClientError

from media.blobs import (
    CHUNK,
    BlobMissing,
    BlobUnavailable,
    Chunks,
    StoredBlob,
    TempUpload,
    clean_temp_dir,
    is_digest,
)

log = logging.getLogger(__name__)
PART = 8 * 1024 * 1024  # S3's parts are at least 5 MiB; 8 MiB keeps a 1 GiB upload at 128 parts
PARTS_IN_FLIGHT = 4
MISSING = {"404", "NoSuchKey", "NotFound"}
EXISTS = {"412", "PreconditionFailed"}  # If-None-Match: * met an object already there
# Short timeouts and few retries: an upload or a download waits for them, and a 503 that says
# "try again" serves the user better than a request hanging for minutes.
TIMEOUTS = {"connect_timeout": 5, "read_timeout": 30, "retries": {"max_attempts": 2}}


@dataclass(frozen=True)
class S3Config:
    """Where the bucket is: its name, an endpoint for non-AWS stores, region, key prefix, style."""

    bucket: str
    endpoint: str = ""
    region: str = ""
    prefix: str = ""
    path_style: bool = False


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


class ObjectRange:
    """The body of a ranged GetObject, read in chunks and closed on every way out."""

    def __init__(self, body: Any, sha256: str, length: int) -> None:
        self._body = body
        self._sha256 = sha256
        self._left = length

    def __aiter__(self) -> ObjectRange:
        return self

    async def __anext__(self) -> bytes:
        if self._left <= 0:
            await self.aclose()
            raise StopAsyncIteration
        try:
            chunk = await self._body.read(min(CHUNK, self._left))
        except (TimeoutError, BotoCoreError, OSError) as exc:
            await self.aclose()
            raise BlobUnavailable(f"reading blob {self._sha256}: {exc}") from exc
        if not chunk:
            await self.aclose()
            raise BlobMissing(f"blob {self._sha256} is shorter than its row says")
        self._left -= len(chunk)
        return bytes(chunk)

    async def aclose(self) -> None:
        """Release the HTTP response (safe to call more than once)."""
        self._body.close()


class S3Blobs:
    """Blobs as objects in a bucket; temporary files under `tmp` on the node's disk."""

    def __init__(self, config: S3Config, tmp: Path) -> None:
        self.config = config
        self.tmp = tmp
        self._stack = AsyncExitStack()
        self._client: Any = None

    async def open(self) -> None:
        """Connect, check that the bucket answers (`BlobUnavailable` if not), clean temp files."""
        await asyncio.to_thread(clean_temp_dir, self.tmp)
        config = AioConfig(
            s3={"addressing_style": "path" if self.config.path_style else "auto"}, **TIMEOUTS
        )
        self._client = await self._stack.enter_async_context(
            get_session().create_client(
                "s3",
                endpoint_url=self.config.endpoint or None,
                region_name=self.config.region or None,
                config=config,
            )
        )
        try:
            await self._client.head_bucket(Bucket=self.config.bucket)
        except (ClientError, BotoCoreError, OSError) as exc:
            await self.close()
            raise BlobUnavailable(f"bucket {self.config.bucket!r}: {exc}") from exc

    async def close(self) -> None:
        """Close the client's connections."""
        await self._stack.aclose()
        self._client = None

    def key(self, sha256: str) -> str:
        if not is_digest(sha256):
            raise ValueError("not a sha256 digest")
        return f"{self.config.prefix}blobs/{sha256[:2]}/{sha256[2:4]}/{sha256}"

    def temp(self) -> TempUpload:
        """A new local temporary file to receive an upload."""
        return TempUpload(self.tmp / f"{secrets.token_hex(16)}.part")

    async def put(self, upload: TempUpload) -> bool:
        """Store a finished upload unless its object exists; False when it already did."""
        assert upload.info is not None, "finish() the upload first"
        sha256, size = upload.info.sha256, upload.info.size
        key = self.key(sha256)
        try:
            if await self.exists(sha256):
                return False
            if size < PART:
                with FilePart(upload.path, 0, size) as body:
                    await self._client.put_object(
                        Bucket=self.config.bucket, Key=key, Body=body, IfNoneMatch="*"
                    )
            else:
                await self._multipart(key, upload.path, size)
            return True
        except ClientError as exc:
            if _code(exc) in EXISTS:
                return False
            raise BlobUnavailable(f"storing blob {sha256}: {exc}") from exc
        except (TimeoutError, BotoCoreError, OSError) as exc:
            raise BlobUnavailable(f"storing blob {sha256}: {exc}") from exc

    async def _multipart(self, key: str, path: Path, size: int) -> None:
        bucket = self.config.bucket
        started = await self._client.create_multipart_upload(Bucket=bucket, Key=key)
        upload_id = started["UploadId"]
        try:
            parts = await self._send_parts(key, upload_id, path, size)
            await self._client.complete_multipart_upload(
                Bucket=bucket,
                Key=key,
                UploadId=upload_id,
                MultipartUpload={"Parts": parts},
                IfNoneMatch="*",
            )
        except BaseException:
            try:
                await asyncio.shield(
                    self._client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
                )
            except Exception:  # the bucket's lifecycle rules must catch what we cannot abort
                log.warning("could not abort the multipart upload of %s", key, exc_info=True)
            raise

    async def _send_parts(
        self, key: str, upload_id: str, path: Path, size: int
    ) -> list[dict[str, Any]]:
        """Send the file in `PART`-sized parts, `PARTS_IN_FLIGHT` at a time. Each part is a window
        on the temporary file that the HTTP client reads in small chunks as it sends, so no part
        is ever held in memory whole."""
        slots = asyncio.Semaphore(PARTS_IN_FLIGHT)
        count = (size + PART - 1) // PART

        async def one(number: int) -> dict[str, Any]:
            async with slots:
                offset = (number - 1) * PART
                with FilePart(path, offset, min(PART, size - offset)) as body:
                    answer = await self._client.upload_part(
                        Bucket=self.config.bucket,
                        Key=key,
                        UploadId=upload_id,
                        PartNumber=number,
                        Body=body,
                    )
                return {"PartNumber": number, "ETag": answer["ETag"]}

        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(one(number)) for number in range(1, count + 1)]
        return [task.result() for task in tasks]

    async def open_range(self, sha256: str, start: int, length: int) -> Chunks:
        """A ranged GetObject, sent now: `BlobMissing` or `BlobUnavailable` before any byte."""
        if length <= 0:  # an empty file: a range cannot name zero bytes, so just check it exists
            if not await self.exists(sha256):
                raise BlobMissing(f"blob {sha256} is missing")
            return ObjectRange(_Empty(), sha256, 0)
        try:
            answer = await self._client.get_object(
                Bucket=self.config.bucket,
                Key=self.key(sha256),
                Range=f"bytes={start}-{start + length - 1}",
            )
        except ClientError as exc:
            if _code(exc) in MISSING:
                raise BlobMissing(f"blob {sha256} is missing") from None
            raise BlobUnavailable(f"reading blob {sha256}: {exc}") from exc
        except (TimeoutError, BotoCoreError, OSError) as exc:
            raise BlobUnavailable(f"reading blob {sha256}: {exc}") from exc
        return ObjectRange(answer["Body"], sha256, length)

    async def exists(self, sha256: str) -> bool:
        """A HeadObject: whether the blob's object is in the bucket."""
        try:
            await self._client.head_object(Bucket=self.config.bucket, Key=self.key(sha256))
        except ClientError as exc:
            if _code(exc) in MISSING:
                return False
            raise BlobUnavailable(f"checking blob {sha256}: {exc}") from exc
        except (TimeoutError, BotoCoreError, OSError) as exc:
            raise BlobUnavailable(f"checking blob {sha256}: {exc}") from exc
        return True

    async def delete(self, sha256: str) -> None:
        """Delete the blob's object (deleting an absent object is not an error in S3)."""
        try:
            await self._client.delete_object(Bucket=self.config.bucket, Key=self.key(sha256))
        except (TimeoutError, ClientError, BotoCoreError, OSError) as exc:
            raise BlobUnavailable(f"deleting blob {sha256}: {exc}") from exc

    async def list(self) -> AsyncIterator[StoredBlob]:
        """Every blob object under the prefix, with its last modification time."""
        pages = self._client.get_paginator("list_objects_v2").paginate(
            Bucket=self.config.bucket, Prefix=f"{self.config.prefix}blobs/"
        )
        try:
            async for page in pages:
                for item in page.get("Contents", []):
                    name = str(item["Key"]).rsplit("/", 1)[-1]
                    if is_digest(name):
                        yield StoredBlob(name, item["LastModified"].timestamp())
        except (TimeoutError, ClientError, BotoCoreError, OSError) as exc:
            raise BlobUnavailable(f"listing blobs: {exc}") from exc

    @asynccontextmanager
    async def local_copy(self, sha256: str) -> AsyncIterator[Path]:
        """The blob downloaded to a local temporary file, deleted when the context ends."""
        path = self.tmp / f"{secrets.token_hex(16)}.copy"
        try:
            chunks = await self.open_range(sha256, 0, await self._size(sha256))
            try:
                with path.open("xb") as target:
                    async for chunk in chunks:
                        target.write(chunk)
            finally:
                await chunks.aclose()
            yield path
        finally:
            path.unlink(missing_ok=True)

    async def _size(self, sha256: str) -> int:
        try:
            head = await self._client.head_object(Bucket=self.config.bucket, Key=self.key(sha256))
        except ClientError as exc:
            if _code(exc) in MISSING:
                raise BlobMissing(f"blob {sha256} is missing") from None
            raise BlobUnavailable(f"checking blob {sha256}: {exc}") from exc
        except (TimeoutError, BotoCoreError, OSError) as exc:
            raise BlobUnavailable(f"checking blob {sha256}: {exc}") from exc
        return int(head["ContentLength"])


class _Empty:
    """The body of an empty range."""

    async def read(self, _: int) -> bytes:
        return b""

    def close(self) -> None:
        pass


class FilePart(io.RawIOBase):
    """`length` bytes of a file from `offset`, as a seekable file of their own (botocore reads
    it to sign and checksum the part, and rewinds it to send it, or to send it again)."""

    def __init__(self, path: Path, offset: int, length: int) -> None:
        super().__init__()
        self._file = path.open("rb", buffering=0)
        self._offset = offset
        self._length = length
        self._position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._length}[whence]
        self._position = max(0, min(self._length, base + offset))
        return self._position

    def readinto(self, buffer: Any) -> int:
        count = min(len(buffer), self._length - self._position)
        if count <= 0:
            return 0
        self._file.seek(self._offset + self._position)
        read = self._file.readinto(memoryview(buffer)[:count]) or 0
        self._position += read
        return read

    def close(self) -> None:
        self._file.close()
        super().close()
