"""The one exception the SFU raises at its boundary.

The server maps a `MediaError` to a Socket.IO ack `{"ok": false, "error": {code, message}}`; the
codes below are stable and meant for that table.
"""

from __future__ import annotations

from typing import Literal

MediaErrorCode = Literal[
    "invalid",  # a malformed SDP, an unknown source label, a bad argument
    "not_found",  # an unknown session or participant
    "conflict",  # a call that does not fit the signalling state (answer without offer)
    "unsupported",  # the installed aiortc/aioice lacks a private name the SFU relies on
]


class MediaError(Exception):
    """An expected failure of a media operation, with a stable code and a human message.

    aiortc raises `ValueError`, `InvalidStateError`, `OperationError` and friends for bad or
    untimely SDP; the SFU translates those into `MediaError` so callers handle one type.
    """

    def __init__(self, code: MediaErrorCode, message: str) -> None:
        super().__init__(message)
        self.code: MediaErrorCode = code
        self.message = message

    def __repr__(self) -> str:
        return f"MediaError({self.code!r}, {self.message!r})"
