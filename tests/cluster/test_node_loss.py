"""A node killed outright: its clients resume on the other node through nginx with nothing lost,
and its users leave everyone's presence within 30 s."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from tests.cluster.harness import Cluster, Visitor, ack, pupil_in
from tests.cluster.test_live import online, record, room_with_pupil, seqs

People = Callable[..., Awaitable[Visitor]]
Start = Callable[..., Awaitable[Cluster]]


async def test_sigkill_of_a_node_loses_no_acknowledged_post(
    start_cluster: Start, people: People
) -> None:
    cluster, teacher, pupil, room_id = await room_with_pupil(start_cluster, people)
    other = await pupil_in(people, teacher, room_id, cluster.url("a"))  # stays away afterwards
    on_a, on_b, other_a = await pupil.connect(), await teacher.connect(), await other.connect()
    inbox_a, inbox_b = record(on_a), record(on_b)
    for sio in (on_a, on_b, other_a):
        assert (await ack(sio, "room:join", {"room_id": room_id}))["ok"]
    await inbox_b.wait_for(online(inbox_b, pupil.id, teacher.id, other.id))
    acked = []
    for i in range(6):
        reply = await ack(
            on_a if i % 2 else on_b, "chat:send", {"room_id": room_id, "body": f"m{i}"}
        )
        acked.append(reply["post"]["room_seq"])
    await inbox_a.wait_for(lambda e, d: e == "post:new" and d.get("room_seq") == acked[-1])
    seen = seqs(inbox_a, room_id)
    assert cluster.a.process is not None
    cluster.a.process.kill()
    for i in range(2):
        reply = await ack(on_b, "chat:send", {"room_id": room_id, "body": f"after {i}"})
        acked.append(reply["post"]["room_seq"])
    # The pupil's client reconnects through nginx's shared address: node B answers.
    again = await pupil.connect(cluster.url())
    resumed = await ack(again, "room:join", {"room_id": room_id, "since": seen[-1]})
    assert resumed["ok"] and not resumed["has_more"]
    missed = [item["data"]["room_seq"] for item in resumed["missed"]]
    assert set(acked) <= set(seen) | set(missed)
    assert missed == list(range(seen[-1] + 1, seen[-1] + 1 + len(missed)))

    async def gone() -> None:  # the other pupil, never back, leaves the teacher's presence
        while True:
            latest = inbox_b.named("presence")[-1]
            if other.id not in {u["id"] for u in latest["users"]}:
                return
            await asyncio.sleep(0.2)

    await asyncio.wait_for(gone(), 35)
