"""The signed bus: typed JSON messages between the nodes of a cluster, over one Redis channel.

Redis is a shared, reachable service, and anyone who can `PUBLISH` on it could otherwise make
every node emit to its sockets or close them. So every message is an envelope

    {"v": 1, "node", "boot", "n", "ts", "type", "body", "mac"}

whose `mac` is an HMAC-SHA256 of the rest (canonical JSON: sorted keys, no spaces) under a key
derived from `SECRET_KEY`, which only the nodes hold. A message is dropped before any effect, and
counted in `twinrooms_bus_rejected_total{reason}`, when it is over 64 KiB, not JSON, unsigned or
wrongly signed, of an unknown version or type, more than 30 s off the receiver's clock, or not
newer (`n`) than the last one seen from the same (node, boot): a captured message cannot be
replayed. Nothing is ever unpickled.

Publishing never makes local delivery wait for Redis: `publish` appends to a bounded outbox (the
oldest message goes, counted, when it is full) that one task drains. The listener reconnects
within seconds, and notices a Redis that stopped answering by its own pings.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import secrets
import time
from collections import deque
from collections.abc import Awaitable, Callable, Collection
from typing import Any

import redis.asyncio
from prometheus_client import Counter

log = logging.getLogger(__name__)

CHANNEL = "tr:bus"
VERSION = 1
MAX_BYTES = 64 * 1024
MAX_SKEW = 30.0  # seconds between the sender's clock and ours
OUTBOX = 10_000
STALE_IN_OUTBOX = 20.0  # a message that waited this long would be refused as stale anyway
PING_EVERY = 3.0
SILENT_LIMIT = 8.0  # no answer to our pings for this long: the connection is dead
RETRY_MAX = 2.0
LOG_EVERY = 10.0

Handler = Callable[[str, dict[str, Any]], Awaitable[None]]
Hook = Callable[[], Awaitable[None]]


def bus_key(secret_key: bytes) -> bytes:
    """The MAC key: derived, so that the bus never uses the key that signs socket tokens."""
    return hashlib.sha256(b"twinrooms cluster bus\0" + secret_key).digest()


def canonical(envelope: dict[str, Any]) -> bytes:
    return json.dumps(
        envelope, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode()


def sign(key: bytes, envelope: dict[str, Any]) -> bytes:
    """The wire form of an envelope: its fields and their MAC."""
    mac = hmac.new(key, canonical(envelope), hashlib.sha256).hexdigest()
    return canonical({**envelope, "mac": mac})


def redis_client(url: str) -> redis.asyncio.Redis:
    """A client that never makes a caller wait long for a Redis that does not answer."""
    return redis.asyncio.from_url(
        url, socket_connect_timeout=1, socket_timeout=1, protocol=2, retry_on_timeout=False
    )


class Rejected(Exception):
    """A message that must have no effect; `reason` labels the counter."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Verifier:
    """Checks envelopes and remembers, per (node, boot), the last counter seen."""

    def __init__(
        self, key: bytes, types: Collection[str], clock: Callable[[], float] = time.time
    ) -> None:
        self.key = key
        self.types = frozenset(types)
        self.clock = clock
        self._last: dict[tuple[str, str], tuple[int, float]] = {}

    def check(self, raw: bytes) -> dict[str, Any]:
        """The verified envelope, or `Rejected` with the reason."""
        if len(raw) > MAX_BYTES:
            raise Rejected("too_large")
        try:
            envelope = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise Rejected("not_json") from None
        if not isinstance(envelope, dict):
            raise Rejected("not_json")
        mac = envelope.pop("mac", None)
        if not isinstance(mac, str):
            raise Rejected("unsigned")
        try:
            expected = hmac.new(self.key, canonical(envelope), hashlib.sha256).hexdigest()
        except ValueError:  # NaN or Infinity: never signed by a node
            raise Rejected("bad_mac") from None
        if not hmac.compare_digest(mac, expected):
            raise Rejected("bad_mac")
        if envelope.get("v") != VERSION:
            raise Rejected("unknown_version")
        if envelope.get("type") not in self.types:
            raise Rejected("unknown_type")
        node, boot, n, ts = (envelope.get(k) for k in ("node", "boot", "n", "ts"))
        body = envelope.get("body")
        if not (
            isinstance(node, str)
            and isinstance(boot, str)
            and isinstance(n, int)
            and isinstance(ts, int | float)
            and isinstance(body, dict)
        ):
            raise Rejected("malformed")
        now = self.clock()
        if abs(ts - now) > MAX_SKEW:
            raise Rejected("stale")
        last = self._last.get((node, boot))
        if last is not None and n <= last[0]:
            raise Rejected("replayed")
        self._last[(node, boot)] = (n, now)
        if len(self._last) > 1000:
            self._forget(now)
        return envelope

    def _forget(self, now: float) -> None:
        # A publisher quiet for twice the skew window can only send stale copies of old messages.
        for sender, (_, seen) in list(self._last.items()):
            if now - seen > 2 * MAX_SKEW:
                del self._last[sender]


class Bus:
    """One node's end of the bus: `publish` (never waits), and a listener that hands each
    verified message of another node to `handler(type, body)`."""

    def __init__(
        self,
        url: str,
        secret_key: bytes,
        node: str,
        types: Collection[str],
        handler: Handler,
        rejected: Counter,
        dropped: Counter,
        on_subscribed: Hook,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.url = url
        self.node = node
        self.boot = secrets.token_hex(8)
        self.key = bus_key(secret_key)
        self.verifier = Verifier(self.key, types, clock)
        self.handler = handler
        self.rejected = rejected
        self.dropped = dropped
        self.on_subscribed = on_subscribed
        self.clock = clock
        self.subscribed = False
        self._n = 0
        self._outbox: deque[tuple[float, bytes]] = deque()
        self._wakeup = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._logged: dict[str, tuple[float, int]] = {}
        self._client = redis_client(url)
        self._listener_client = redis_client(url)

    async def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._send_loop(), name="bus-publish"),
            asyncio.create_task(self._listen_loop(), name="bus-listen"),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._client.aclose()
        await self._listener_client.aclose()

    def publish(self, type_: str, body: dict[str, Any]) -> None:
        """Sign and queue a message for every other node; returns at once."""
        self._n += 1
        envelope = {
            "v": VERSION,
            "node": self.node,
            "boot": self.boot,
            "n": self._n,
            "ts": self.clock(),
            "type": type_,
            "body": body,
        }
        if len(self._outbox) >= OUTBOX:
            self._outbox.popleft()
            self.dropped.inc()
        self._outbox.append((self.clock(), sign(self.key, envelope)))
        self._wakeup.set()

    async def _send_loop(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._outbox:
                queued, raw = self._outbox[0]
                if self.clock() - queued > STALE_IN_OUTBOX:
                    self._outbox.popleft()
                    self.dropped.inc()
                    continue
                try:
                    await self._client.publish(CHANNEL, raw)
                except Exception as exc:  # Redis away: keep the message, try again shortly
                    self._note("publish", f"publishing on the bus failed: {exc}")
                    await asyncio.sleep(0.5)
                    continue
                self._outbox.popleft()

    async def _listen_loop(self) -> None:
        delay = 0.25
        while True:
            try:
                await self._listen()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._note("listen", f"the bus listener lost Redis: {exc}")
            self.subscribed = False
            await asyncio.sleep(delay)
            delay = min(RETRY_MAX, delay * 2)

    async def _listen(self) -> None:
        pubsub = self._listener_client.pubsub()
        try:
            await pubsub.subscribe(CHANNEL)
            heard = self.clock()
            pinged = 0.0
            while True:
                message = await pubsub.get_message(timeout=1.0)
                now = self.clock()
                if message is not None:
                    heard = now
                    kind = message.get("type")
                    if kind == "subscribe":  # also after the client resubscribed by itself
                        self.subscribed = True
                        await self.on_subscribed()
                    elif kind == "message":
                        await self._receive(message["data"])
                if now - pinged > PING_EVERY:
                    pinged = now
                    await pubsub.ping()
                if now - heard > SILENT_LIMIT:
                    raise ConnectionError("Redis stopped answering")
        finally:
            self.subscribed = False
            with contextlib.suppress(Exception):
                await pubsub.aclose()

    async def _receive(self, raw: Any) -> None:
        if not isinstance(raw, bytes | str):
            return
        data = raw.encode() if isinstance(raw, str) else raw
        try:
            envelope = self.verifier.check(data)
        except Rejected as exc:
            self.reject(exc.reason)
            return
        if envelope["node"] == self.node and envelope["boot"] == self.boot:
            return  # our own message, already applied here
        try:
            await self.handler(envelope["type"], envelope["body"])
        except Rejected as exc:
            self.reject(exc.reason)
        except Exception:
            log.exception(
                "applying a %s message from %s failed", envelope["type"], envelope["node"]
            )

    def reject(self, reason: str) -> None:
        self.rejected.labels(reason).inc()
        self._note(f"reject:{reason}", f"dropped a bus message: {reason}")

    def _note(self, topic: str, text: str) -> None:
        """Log `text` at most once per 10 s per topic, with how often it happened meanwhile."""
        now = time.monotonic()
        last, count = self._logged.get(topic, (0.0, 0))
        if now - last >= LOG_EVERY:
            suffix = f" ({count} more since)" if count else ""
            log.warning("%s%s", text, suffix)
            self._logged[topic] = (now, 0)
        else:
            self._logged[topic] = (last, count + 1)
