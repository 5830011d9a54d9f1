"""Upload limits: oversize and over-quota uploads leave nothing behind, concurrent uploads share a
quota exactly, and a server killed mid-upload shows nothing partial after a restart."""

from __future__ import annotations

import asyncio
import io
import os
import signal
import sys
from asyncio.subprocess import Process
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from server.config import Settings
from tests.api.files_helpers import BOUNDARY, leftovers, multipart, stored_blobs, upload
from tests.conftest import Person, with_settings
from tests.ports import free_port

Room = dict[str, Any]
pytestmark = pytest.mark.timeout(60)


@pytest.fixture(params=["local", "s3"])
def blob_storage(request: pytest.FixtureRequest) -> str:
    """Every test here runs on local files and on an S3 bucket."""
    return str(request.param)


LIMIT = 1024 * 1024
FILE = 256 * 1024
FITS = 5


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return with_settings(settings, max_upload_bytes=LIMIT, room_quota_bytes=FITS * FILE + 1000)


NOTHING = {"temps": [], "blobs": [], "rows": 0, "blob_rows": 0}


async def test_an_oversize_upload_is_413_and_leaves_nothing(room: Room, settings: Settings) -> None:
    answer = await upload(room["_owner"], room["id"], "big.bin", os.urandom(LIMIT + 1), status=413)
    assert answer["error"]["code"] == "too_large"
    assert leftovers(settings) == NOTHING


async def test_an_oversize_upload_without_a_length_is_stopped_while_streaming(
    room: Room, settings: Settings
) -> None:
    body = multipart("big.bin", os.urandom(LIMIT + FILE))

    async def chunks() -> AsyncIterator[bytes]:  # chunked: the server cannot know the size ahead
        for start in range(0, len(body), 64 * 1024):
            yield body[start : start + 64 * 1024]

    owner: Person = room["_owner"]
    response = await owner.client.post(
        f"/api/rooms/{room['id']}/files",
        data=chunks(),
        headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
    )
    assert response.status == 413 and (await response.json())["error"]["code"] == "too_large"
    assert leftovers(settings) == NOTHING


async def test_an_upload_past_the_quota_is_413_and_leaves_nothing(
    room: Room, settings: Settings
) -> None:
    owner: Person = room["_owner"]
    for index in range(FITS):
        await upload(owner, room["id"], f"{index}.bin", os.urandom(FILE))
    before = leftovers(settings)
    answer = await upload(owner, room["id"], "one too many.bin", os.urandom(FILE), status=413)
    assert answer["error"]["code"] == "quota_exceeded"
    assert leftovers(settings) == before and before["rows"] == FITS
    await upload(owner, room["id"], "small.bin", b"still fits")


async def test_twenty_concurrent_uploads_store_exactly_those_that_fit(
    room: Room, settings: Settings
) -> None:
    owner: Person = room["_owner"]

    async def one(index: int) -> int:
        response = await owner.client.post(
            f"/api/rooms/{room['id']}/files",
            data=io.BytesIO(multipart(f"{index}.bin", os.urandom(FILE))),
            headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
        )
        await response.read()
        return response.status

    statuses = await asyncio.gather(*(one(index) for index in range(20)))
    assert sorted(statuses) == [201] * FITS + [413] * (20 - FITS)
    listed = await owner.call("GET", f"/api/rooms/{room['id']}/files")
    assert len(listed) == FITS
    state = leftovers(settings)
    assert state["temps"] == [] and len(state["blobs"]) == FITS and state["rows"] == FITS


async def test_deleting_keeps_counting_and_purging_frees_the_quota(
    room: Room, settings: Settings
) -> None:
    owner: Person = room["_owner"]
    made = [await upload(owner, room["id"], f"{i}.bin", os.urandom(FILE)) for i in range(FITS)]
    await owner.call("DELETE", f"/api/files/{made[0]['id']}", status=204)
    answer = await upload(owner, room["id"], "new.bin", os.urandom(FILE), status=413)
    assert answer["error"]["code"] == "quota_exceeded"
    await owner.call("POST", f"/api/files/{made[0]['id']}/purge", status=204)
    await upload(owner, room["id"], "new.bin", os.urandom(FILE))


def s3_environment(settings: Settings) -> dict[str, str]:
    if not settings.s3_bucket:
        return {}
    return {
        "TWINROOMS_S3_BUCKET": settings.s3_bucket,
        "TWINROOMS_S3_ENDPOINT": settings.s3_endpoint,
        "TWINROOMS_S3_PREFIX": settings.s3_prefix,
        "TWINROOMS_S3_PATH_STYLE": "1",
    }


async def start_node(data_dir: Path, port: int, extra: dict[str, str]) -> Process:
    env = {
        **os.environ,
        **extra,
        "TWINROOMS_DATA_DIR": str(data_dir),
        "TWINROOMS_PORT": str(port),
        "TWINROOMS_TEST_FAST_HASH": "1",
        "TWINROOMS_LOG_LEVEL": "warning",
    }
    process = await asyncio.create_subprocess_exec(sys.executable, "-m", "server", "serve", env=env)
    async with aiohttp.ClientSession() as session:
        for _ in range(200):
            try:
                async with session.get(f"http://127.0.0.1:{port}/healthz") as response:
                    if response.status == 200:
                        return process
            except aiohttp.ClientConnectionError:
                pass
            await asyncio.sleep(0.05)
    process.kill()
    await process.wait()
    raise RuntimeError("the server did not start")


async def test_a_server_killed_mid_upload_shows_nothing_partial_after_restart(
    tmp_path: Path, settings: Settings
) -> None:
    data_dir, port = tmp_path / "node", free_port()
    base = f"http://127.0.0.1:{port}"
    extra = s3_environment(settings)
    process = await start_node(data_dir, port, extra)
    try:
        jar = aiohttp.CookieJar(unsafe=True)
        async with aiohttp.ClientSession(cookie_jar=jar) as http:
            room_id = await _sign_up_with_a_room(http, base)
            body = multipart("slow.bin", os.urandom(8 * 1024 * 1024))
            sent = asyncio.Event()

            async def slowly() -> AsyncIterator[bytes]:
                for start in range(0, len(body), 256 * 1024):
                    yield body[start : start + 256 * 1024]
                    if start >= 2 * 1024 * 1024:
                        sent.set()
                    await asyncio.sleep(0.05)

            headers = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
            posting = asyncio.create_task(
                http.post(f"{base}/api/rooms/{room_id}/files", data=slowly(), headers=headers)
            )
            await asyncio.wait_for(sent.wait(), 20)
            temps = list((data_dir / "blobs" / "tmp").iterdir())
            assert len(temps) == 1 and temps[0].stat().st_size > 0  # it was really mid-upload
            process.send_signal(signal.SIGKILL)
            await asyncio.wait_for(process.wait(), 10)
            with pytest.raises(aiohttp.ClientError):
                await posting
        process = await start_node(data_dir, port, extra)
        assert list((data_dir / "blobs" / "tmp").iterdir()) == []
        assert stored_blobs(replace(settings, data_dir=data_dir)) == []
        async with (
            aiohttp.ClientSession(cookie_jar=jar) as http,
            http.get(f"{base}/api/rooms/{room_id}/files") as response,
        ):
            assert response.status == 200 and await response.json() == []
    finally:
        if process.returncode is None:
            process.kill()
        await asyncio.wait_for(process.wait(), 10)


async def _sign_up_with_a_room(http: aiohttp.ClientSession, base: str) -> str:
    account = {"username": "killtest", "password": "correct horse", "display_name": "K"}
    async with http.post(f"{base}/api/auth/signup", json={**account, "country": "DE"}) as r:
        assert r.status == 201
    async with http.post(f"{base}/api/rooms", json={"name": "Kill"}) as r:
        assert r.status == 201
        return str((await r.json())["id"])
