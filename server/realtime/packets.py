"""The server's Socket.IO packets: their JSON is decoded by `server.inputs.loads`.

python-socketio decodes a packet's JSON before any handler runs. Had that failed (a payload nested
thousands of levels deep exhausts Python's recursion limit), the client would get no ack and the
log a traceback. Here an event whose payload cannot be read still reaches its handler, as
`Unreadable`, and is answered `invalid` like any other bad payload.
"""

from __future__ import annotations

import json
import re
from typing import Any

import socketio

from rooms.errors import Invalid
from server.inputs import Unreadable, loads

# The event name that opens an event packet's JSON array: `["chat:send", ...`.
EVENT_NAME = re.compile(r'\s*\[\s*("(?:[^"\\]|\\.)*")')


class _Json:
    """The `json` module as python-socketio uses it, with `loads` guarded."""

    dumps = staticmethod(json.dumps)

    @staticmethod
    def loads(text: str) -> Any:
        try:
            return loads(text)
        except Invalid as exc:
            event = _event_name(text)
            if event is None:  # not an event: python-socketio drops the packet
                raise
            return [event, Unreadable(exc.message)]


def _event_name(text: str) -> str | None:
    """The event name opening an event packet's JSON array, if it can be read on its own."""
    match = EVENT_NAME.match(text)
    if match is None:
        return None
    try:
        name: str = json.loads(match.group(1))
    except ValueError:  # a bad escape or a raw control character in the name
        return None
    return name


class Packet(socketio.packet.Packet):
    """Socket.IO packets whose JSON goes through `server.inputs.loads`."""

    json = _Json
