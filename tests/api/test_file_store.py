"""The blob store under faults and collection: S3 going away mid-upload or before a download, a
blob row whose bytes are gone, a sweep racing an upload of the same bytes, and bytes without a row."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from typing import Any

import pytest
from aiohttp import web

from server.config import Settings
from server.filestore import SWEEPER
from server.sweeper import ORPHAN_SECONDS
from tests.api.files_helpers import BOUNDARY, download, leftovers, multipart, stored_blobs, upload
from tests.api.s3_proxy import HoldingProxy
from tests.api.test_files import png
from tests.conftest import MotoServer, Person, s3_settings

Room = dict[str, Any]
pytestmark = pytest.mark.timeout(60)
FILE = 256 * 1024


@pytest.fixture(params=["local", "s3"])
def blob_storage(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def own_moto(aws_credentials: None) -> Iterator[MotoServer]:
    """A moto server of this test's own, which the test may stop and start again."""
    server = MotoServer()
    server.start()
    yield server
    server.stop()


class TestS3GoingAway:
    @pytest.fixture
    def blob_storage(self) -> str:
        return "local"  # replaced below by a bucket on the test's own moto

    @pytest.fixture
    def settings(self, settings: Settings, own_moto: MotoServer) -> Settings:
        return replace(s3_settings(settings, own_moto), room_quota_bytes=2 * FILE + 4096)

    async def test_s3_down_mid_upload_is_503_and_leaves_nothing(
        self, room: Room, settings: Settings, own_moto: MotoServer
    ) -> None:
        owner: Person = room["_owner"]
        kept = await upload(owner, room["id"], "kept.png", png())
        data = os.urandom(FILE)
        body = multipart("lost.bin", data)

        async def body_that_outlives_s3() -> AsyncIterator[bytes]:
            yield body[: len(body) // 2]
            await asyncio.to_thread(own_moto.stop)  # S3 goes away while the body streams in
            yield body[len(body) // 2 :]

        response = await owner.client.post(
            f"/api/rooms/{room['id']}/files",
            data=body_that_outlives_s3(),
            headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
        )
        assert response.status == 503
        assert (await response.json())["error"]["code"] == "unavailable"
        state = leftovers(replace(settings, s3_bucket=""))  # the bucket cannot be asked now
        assert state["rows"] == 1 and state["temps"] == []

        status, headers, answer = await download(owner, kept["id"])
        assert status == 503 and "ETag" not in headers
        assert b'"unavailable"' in answer
        response = await owner.client.get(f"/api/files/{kept['id']}/thumbnail")
        assert response.status == 503

        await asyncio.to_thread(own_moto.start)  # back, on the same port, but empty
        own_moto.client().create_bucket(Bucket=settings.s3_bucket)
        # The failed upload's quota was given back: the room holds one picture and two of these.
        await upload(owner, room["id"], "lost.bin", data)
        await upload(owner, room["id"], "again.bin", os.urandom(FILE - 4096))


async def test_a_file_of_several_parts_comes_back_whole_and_by_ranges(
    room: Room, settings: Settings
) -> None:
    owner: Person = room["_owner"]
    data = os.urandom(2 * 8 * 1024 * 1024 + 1234)  # three parts on S3: 8 MiB, 8 MiB, the rest
    made = await upload(owner, room["id"], "parts.bin", data)
    status, _, body = await download(owner, made["id"])
    assert status == 200 and body == data
    start = 8 * 1024 * 1024 - 10  # across the first boundary between parts
    status, headers, body = await download(owner, made["id"], {"Range": f"bytes={start}-"})
    assert status == 206 and body == data[start:]
    assert headers["Content-Range"] == f"bytes {start}-{len(data) - 1}/{len(data)}"
    assert stored_blobs(settings) == [made["sha256"]]


async def test_a_blob_whose_bytes_are_gone_is_a_logged_500_never_a_short_200(
    room: Room, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    owner: Person = room["_owner"]
    made = await upload(owner, room["id"], "a.bin", os.urandom(FILE))
    sha256 = made["sha256"]
    if settings.s3_bucket:
        key = f"{settings.s3_prefix}blobs/{sha256[:2]}/{sha256[2:4]}/{sha256}"
        MotoServer.at(settings.s3_endpoint).client().delete_object(
            Bucket=settings.s3_bucket, Key=key
        )
    else:
        (settings.data_dir / "blobs" / sha256[:2] / sha256[2:4] / sha256).unlink()
    with caplog.at_level(logging.ERROR):
        for headers in (None, {"Range": "bytes=10-99"}):
            status, got, body = await download(owner, made["id"], headers)
            assert status == 500 and got["Content-Type"].startswith("application/json")
            assert b'"internal"' in body and "ETag" not in got
    assert sha256 in caplog.text


class TestSweepRacingAnUpload:
    @pytest.fixture
    def blob_storage(self) -> str:
        return "local"  # replaced below by a bucket behind a proxy that can hold deletions back

    @pytest.fixture
    async def proxy(self, moto: MotoServer) -> AsyncIterator[HoldingProxy]:
        proxy = HoldingProxy(moto.port)
        await proxy.start()
        yield proxy
        await proxy.close()

    @pytest.fixture
    def settings(self, settings: Settings, moto: MotoServer, proxy: HoldingProxy) -> Settings:
        return replace(s3_settings(settings, moto), s3_endpoint=proxy.url)

    async def test_an_upload_of_bytes_a_sweep_is_deleting_keeps_its_file(
        self, app: web.Application, people: Any, settings: Settings, proxy: HoldingProxy
    ) -> None:
        owner: Person = await people()
        data = os.urandom(FILE)
        doomed = await owner.call("POST", "/api/rooms", {"name": "Doomed"}, status=201)
        other = await owner.call("POST", "/api/rooms", {"name": "Other"}, status=201)
        await upload(owner, doomed["id"], "a.bin", data)
        # The room's versions go with it; the next sweep finds the blob unused.
        await owner.call("DELETE", f"/api/rooms/{doomed['id']}", status=204)
        proxy.hold = True
        sweeping = asyncio.create_task(app[SWEEPER].sweep(time.time()))
        await asyncio.wait_for(proxy.held.wait(), 10)  # the sweep is deleting the bytes now
        proxy.head_answered.clear()
        uploading = asyncio.create_task(upload(owner, other["id"], "a.bin", data))
        # Let the upload go as far as it can while the deletion is held back: until S3 told it
        # the bytes are there (they are, for a moment), or for a second if it waits its turn.
        answered = asyncio.create_task(proxy.head_answered.wait())
        await asyncio.wait({uploading, answered}, timeout=1, return_when=asyncio.FIRST_COMPLETED)
        answered.cancel()
        proxy.release.set()
        made = await asyncio.wait_for(uploading, 20)
        await asyncio.wait_for(sweeping, 20)
        status, _, body = await download(owner, made["id"])
        assert status == 200 and body == data
        direct = replace(settings, s3_endpoint=f"http://127.0.0.1:{proxy.target}")
        assert stored_blobs(direct) == [made["sha256"]]  # (not through the proxy: sync client)


async def test_bytes_without_a_row_go_once_they_are_an_hour_old(
    app: web.Application, room: Room, settings: Settings
) -> None:
    owner: Person = room["_owner"]
    kept = await upload(owner, room["id"], "kept.bin", os.urandom(FILE))
    stray = "ab" * 32  # bytes a sweep stopped short of deleting with their row
    if settings.s3_bucket:
        MotoServer.at(settings.s3_endpoint).client().put_object(
            Bucket=settings.s3_bucket, Key=f"{settings.s3_prefix}blobs/ab/ab/{stray}", Body=b"x"
        )
    else:
        path = settings.data_dir / "blobs" / "ab" / "ab" / stray
        path.parent.mkdir(parents=True)
        path.write_bytes(b"x")
    await app[SWEEPER].sweep(time.time())
    assert stored_blobs(settings) == sorted([kept["sha256"], stray])
    await app[SWEEPER].sweep(time.time() + ORPHAN_SECONDS + 60)
    assert stored_blobs(settings) == [kept["sha256"]]
    assert (await download(owner, kept["id"]))[0] == 200
