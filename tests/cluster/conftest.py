"""Fixtures of the cluster tests: real Redis, PostgreSQL, nginx and two `twinrooms serve` nodes."""

from __future__ import annotations

import itertools
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest

from tests.cluster.harness import Cluster, Visitor, nginx_binary, visitor
from tests.conftest import MotoServer
from tests.pg import PgServer
from tests.redis_server import RedisServer

pytestmark = pytest.mark.timeout(120)
_names = itertools.count()


def _require(found: object, what: str) -> None:
    if not found:
        reason = f"{what} not found; make system-deps installs it"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)


@pytest.fixture
def redis() -> Iterator[RedisServer]:
    import shutil

    _require(shutil.which("redis-server"), "redis-server")
    server = RedisServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def start_cluster(
    pg_server: PgServer, redis: RedisServer, moto: MotoServer
) -> AsyncIterator[Callable[..., Awaitable[Cluster]]]:
    """Starts a cluster on a fresh database (`migrated=False`: an empty one) and a bucket of its
    own, with extra settings as keyword arguments (`rate_login="3/60"`)."""
    _require(nginx_binary(), "nginx")
    made: list[tuple[Cluster, str]] = []

    async def start(*, migrated: bool = True, **settings: str) -> Cluster:
        url = await pg_server.fresh(migrated=migrated)
        cluster = Cluster(url, redis, **{**moto.node_settings(), **settings})
        made.append((cluster, url))
        cluster.start()
        return cluster

    yield start
    for cluster, url in made:
        cluster.stop()
        await pg_server.drop(url)


@pytest.fixture
async def people() -> AsyncIterator[Callable[..., Awaitable[Visitor]]]:
    """Visitors (signed-up teachers by default) on a base URL."""
    made: list[Visitor] = []

    async def make(base: str, *, signup: bool = True) -> Visitor:
        person = visitor(base)
        made.append(person)
        if signup:
            name = f"teacher{next(_names)}"
            body: dict[str, Any] = {
                "username": name,
                "password": "correct horse",
                "display_name": name.title(),
                "country": "FR",
            }
            person.user = await person.call("POST", "/api/auth/signup", body, status=201)
        return person

    yield make
    for person in made:
        await person.close()
