"""Ports for the servers the tests start: free now, and outside the kernel's ephemeral range.

`bind(("127.0.0.1", 0))` picks from the ephemeral range, the range the kernel also hands to
outgoing connections; a server started a moment later on such a port may find it taken by one of
the many connections the tests make ("address already in use"). A port below that range goes to
no connection, only to whoever binds it.
"""

from __future__ import annotations

import random
import socket
from pathlib import Path

LOWEST = 10_000
_given: set[int] = set()  # never the same port twice in one run, bound yet or not


def _ephemeral_start() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port() -> int:
    """A loopback port nobody listens on now, below the ephemeral range."""
    highest = _ephemeral_start()
    for _ in range(1000):
        port = random.randrange(LOWEST, highest) if highest > LOWEST + 1000 else 0
        if port in _given:
            continue
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            port = int(probe.getsockname()[1])
        _given.add(port)
        return port
    raise RuntimeError("no free port below the ephemeral range")
