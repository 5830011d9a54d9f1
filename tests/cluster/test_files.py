"""The archive is one archive on every node: a file uploaded through one node downloads through
the other, whole, by range and with validators; and only one node sweeps at a time."""

from __future__ import annotations

import io
import os
from collections.abc import Awaitable, Callable

from server.cluster.bus import redis_client
from server.cluster.lease import RedisLease
from tests.api.files_helpers import BOUNDARY, multipart
from tests.cluster.harness import Cluster, Visitor
from tests.redis_server import RedisServer

People = Callable[..., Awaitable[Visitor]]
Start = Callable[..., Awaitable[Cluster]]


async def test_a_file_uploaded_on_a_downloads_on_b(start_cluster: Start, people: People) -> None:
    cluster = await start_cluster()
    on_a = await people(cluster.url("a"))
    room = await on_a.call("POST", "/api/rooms", {"name": "Maps"}, status=201)
    data = os.urandom(300_000)
    async with on_a.http.post(
        cluster.url("a") + f"/api/rooms/{room['id']}/files",
        data=io.BytesIO(multipart("map.bin", data)),
        headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
    ) as answer:
        assert answer.status == 201, await answer.text()
        made = await answer.json()
    content = cluster.url("b") + f"/api/files/{made['id']}/content"
    async with on_a.http.get(content) as whole:
        assert whole.status == 200 and await whole.read() == data
        etag = whole.headers["ETag"]
    async with on_a.http.get(content, headers={"Range": "bytes=1000-1999"}) as part:
        assert part.status == 206 and await part.read() == data[1000:2000]
    async with on_a.http.get(content, headers={"If-None-Match": etag}) as same:
        assert same.status == 304
    async with on_a.http.get(content, headers={"Range": "bytes=400000-"}) as beyond:
        assert beyond.status == 416


async def test_one_node_sweeps_at_a_time(redis: RedisServer) -> None:
    first = RedisLease(redis_client(redis.url), "node-a")
    second = RedisLease(redis_client(redis.url), "node-b")
    try:
        async with first.hold() as held_a:
            assert held_a
            async with second.hold() as held_b:
                assert not held_b
        async with second.hold() as held_b:
            assert held_b  # given back at the end of the first sweep
        redis.stop()
        async with first.hold() as held_a:
            assert not held_a  # no Redis, no lease: the sweep waits for the next round
    finally:
        await first.close()
        await second.close()
