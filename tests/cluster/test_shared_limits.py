"""Rate limits hold across nodes (one bucket in Redis), and the client IP behind nginx is the
forwarded one only when nginx is a trusted proxy. Migrations run once when nodes start together."""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable

import aiohttp
import asyncpg

from tests.cluster.harness import ROOT, Cluster, Visitor

People = Callable[..., Awaitable[Visitor]]
Start = Callable[..., Awaitable[Cluster]]
_names = itertools.count()


async def signup(cluster: Cluster, node: str, forwarded: str) -> int:
    name = f"limited{next(_names)}"
    body = {"username": name, "password": "correct horse", "display_name": name, "country": "FR"}
    async with aiohttp.ClientSession() as http:
        url = cluster.url(node) + "/api/auth/signup"
        async with http.post(url, json=body, headers={"X-Forwarded-For": forwarded}) as answer:
            return answer.status


async def test_a_burst_split_across_nodes_meets_one_bucket(start_cluster: Start) -> None:
    # Without TRUSTED_PROXIES, everyone behind nginx is nginx's address: one bucket for all.
    cluster = await start_cluster(rate_signup="3/3600")
    spread = [await signup(cluster, node, f"10.0.0.{i}") for i, node in enumerate("abab")]
    assert spread == [201, 201, 201, 429]
    cluster.stop()
    # With nginx trusted, each forwarded address has its own bucket, still shared by the nodes.
    cluster = await start_cluster(rate_signup="3/3600", trusted_proxies="127.0.0.1/32")
    assert [await signup(cluster, node, f"10.1.0.{i}") for i, node in enumerate("abab")] == [
        201
    ] * 4
    assert [await signup(cluster, node, "10.2.0.1") for node in "abab"] == [201, 201, 201, 429]


async def test_nodes_starting_together_on_an_empty_database_migrate_once(
    start_cluster: Start,
) -> None:
    cluster = await start_cluster(migrated=False)
    url = cluster.a.env["TWINROOMS_DATABASE_URL"]
    connection = await asyncpg.connect(url)
    try:
        rows = await connection.fetch(
            "SELECT version, name FROM schema_migrations ORDER BY version"
        )
    finally:
        await connection.close()
    versions = [row["version"] for row in rows]
    files = (ROOT / "rooms" / "store" / "migrations").glob("*.sql")
    expected = sorted(
        {int(path.name[:4]) for path in files if not path.name.endswith(".sqlite.sql")}
    )
    assert versions == expected
