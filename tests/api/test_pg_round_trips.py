"""What a chat message costs PostgreSQL: once the sender has written, one statement, which
PostgreSQL commits on its own. The check of the sender's rights is answered from the row the
previous check read, and the post goes only if a guard in its statement, that same read, still
returns that row. Each statement is a round trip between the node and the database, and on one
node that is what limits how many messages it takes; a post used to cost nine (BEGIN, one per
statement, COMMIT, and a reset each time a pooled connection went back to the pool), then two.

The statements are counted by PostgreSQL itself (`pg_stat_statements`), for this test's database.
"""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest

from server.config import Settings
from tests.conftest import Person

pytestmark = [
    pytest.mark.timeout(60),
    pytest.mark.parametrize("store", ["postgres"], indirect=True),
]
SENDS = 10


async def statements_run(conn: asyncpg.Connection) -> int:
    """Statements this test's database has run so far, the counting itself left out."""
    value = await conn.fetchval(
        "SELECT COALESCE(SUM(calls), 0) FROM pg_stat_statements"
        " WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())"
        " AND query NOT LIKE '%pg_stat_statements%'"
    )
    return int(value)


async def test_a_chat_message_costs_postgresql_one_statement(
    room: dict[str, Any], settings: Settings
) -> None:
    owner: Person = room["_owner"]
    sio = await owner.connect()
    assert (await sio.call("room:join", {"room_id": room["id"]}))["ok"]
    conn = await asyncpg.connect(settings.database_url)
    try:
        await conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        warm = await sio.call("chat:send", {"room_id": room["id"], "body": "first"})
        assert warm["ok"], warm
        before = await statements_run(conn)
        acks = [
            await sio.call("chat:send", {"room_id": room["id"], "body": f"message {i}"})
            for i in range(SENDS)
        ]
        spent = await statements_run(conn) - before
    finally:
        await conn.close()
    assert [ack["post"]["seq"] for ack in acks] == [
        warm["post"]["seq"] + 1 + i for i in range(SENDS)
    ]
    # One per message; the slack is for a periodic check of the node's that may fall in between.
    assert spent <= SENDS + 2, f"{spent} statements for {SENDS} messages"
