"""The baseline for bench/chat_fanout.py (and, given a Redis URL, bench/cluster.py): a bare
python-socketio broadcast server, nothing else.

`chat` checks nothing and stores nothing: it emits the message to the room and acknowledges.
The message has the shape and size of a Twinrooms `post:new` (ids, author, body, rendered HTML,
times), so the ratio measures what Twinrooms adds (authorisation, validation, persistence,
sequencing), not a difference in bytes on the wire.
"""

from __future__ import annotations

import gc
import itertools
import sys
import time
from datetime import UTC, datetime
from typing import Any

import socketio
from aiohttp import web


def main(port: int, redis_url: str = "") -> None:
    gc.set_threshold(50_000, 50, 1_000)  # the same GC tuning as `twinrooms serve`
    # With a Redis URL, several of these share their rooms through python-socketio's own queue
    # (bench/cluster.py's baseline).
    manager = socketio.AsyncRedisManager(redis_url) if redis_url else None
    sio = socketio.AsyncServer(
        async_mode="aiohttp", cors_allowed_origins=["http://127.0.0.1"], client_manager=manager
    )
    app = web.Application()
    sio.attach(app)

    @sio.on("room:join")
    async def join(sid: str, data: dict[str, Any]) -> dict[str, Any]:
        await sio.enter_room(sid, data["room_id"])
        return {"ok": True}

    seq = itertools.count(1)

    @sio.on("chat:send")
    async def chat(sid: str, data: dict[str, Any]) -> dict[str, Any]:
        n, now = next(seq), datetime.fromtimestamp(time.time(), UTC).isoformat()
        post = {
            "id": f"{n:022d}",
            "room_id": data["room_id"],
            "thread_id": "T" * 22,
            "seq": n,
            "author": {"id": "U" * 22, "display_name": "Bench", "country": "FR"},
            "body": data["body"],
            "html": f"<p>{data['body']}</p>\n",
            "created_at": now,
            "edited_at": None,
            "hidden": False,
            "reactions": {},
            "mentions": [],
            "room_seq": n,
        }
        await sio.emit("post:new", post, room=data["room_id"])
        return {"ok": True, "post": post}

    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else "")
