"""Sending one event to a channel's sockets: encoded once, queued to each socket in order.

python-socketio's `AsyncServer.emit` encodes the packet once too, but then starts a task per
recipient and waits for them all. The dispatcher emits a room's events one after another, so each
event woke every recipient's writer on its own: a class of 30 and a burst of 20 posts cost 600
writer wake-ups, timers and tasks, where the bare server, whose handlers emit side by side, let
each writer take several packets per wake-up. Here the packet goes straight into each socket's
Engine.IO queue (an unbounded `asyncio.Queue`: putting never suspends), so the events of a burst
are all queued before any writer runs, and each writer sends what has gathered in one wake-up.

Putting directly also keeps the order of events per socket by construction (python-socketio's own
documentation warns that concurrent emits may interleave). It uses the manager's
`get_participants` and the Engine.IO server's `send_packet`, both public, and only for the default
in-process client manager, which is what every node uses (a cluster's nodes talk over our own bus).
"""

from __future__ import annotations

from typing import Any

import socketio
from engineio import packet as eio_packet
from socketio import packet as sio_packet

NAMESPACE = "/"


async def send(sio: socketio.AsyncServer, event: str, data: Any, channel: str) -> None:
    """Queue `event` with `data` to every socket in `channel` (a room channel or a sid), in
    the order of calls, without yielding to other tasks between recipients."""
    encoded = sio.packet_class(sio_packet.EVENT, namespace=NAMESPACE, data=[event, data]).encode()
    packets = [
        eio_packet.Packet(eio_packet.MESSAGE, part)
        for part in (encoded if isinstance(encoded, list) else [encoded])
    ]
    for _sid, eio_sid in sio.manager.get_participants(NAMESPACE, channel):
        for pkt in packets:
            await sio.eio.send_packet(eio_sid, pkt)
