"""The baseline for bench/chat_fanout.py: a bare python-socketio broadcast server, nothing else.

`chat` joins nothing and stores nothing: it emits the payload to the room and acknowledges.
"""

from __future__ import annotations

import gc
import sys
from typing import Any

import socketio
from aiohttp import web


def main(port: int) -> None:
    gc.set_threshold(50_000, 50, 1_000)  # the same GC tuning as `twinrooms serve`
    sio = socketio.AsyncServer(async_mode="aiohttp", cors_allowed_origins=["http://127.0.0.1"])
    app = web.Application()
    sio.attach(app)

    @sio.on("room:join")  # type: ignore[misc]
    async def join(sid: str, data: dict[str, Any]) -> dict[str, Any]:
        await sio.enter_room(sid, data["room_id"])
        return {"ok": True}

    @sio.on("chat:send")  # type: ignore[misc]
    async def chat(sid: str, data: dict[str, Any]) -> dict[str, Any]:
        await sio.emit("post:new", {"body": data["body"]}, room=data["room_id"])
        return {"ok": True}

    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


if __name__ == "__main__":
    main(int(sys.argv[1]))
