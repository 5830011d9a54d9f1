"""SFU CPU per forwarded stream-second: encoded passthrough against a decode/re-encode relay.

One publisher sends 640x360 VP8 (aiortc's encoder held at its 500 kbit/s target, synthetic moving
frames with a strip of noise so the encoder has work to spend its bits on) to K subscribers through
a media server running in a child process, whose own CPU time (`time.process_time()`: every
thread of that process, none of the peers' encode/decode) is measured over `--duration` seconds.
Two servers, same run, same peers: the SFU of `media.sfu` (encoded passthrough) and a baseline
built on aiortc's `MediaRelay` (decode once, re-encode per subscriber). Subscribers do not decode:
they count the encoded frames and bytes they receive. Everything stays on 127.0.0.1.

    .venv/bin/python bench/sfu.py --duration 20 --subscribers 1,4,16 [--repeat 3]

The machine is shared: `--repeat` runs each case several times, alternating the two servers,
and reports the median run of each.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

import av
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpCodecParameters,
    RTCSessionDescription,
    VideoStreamTrack,
)
from aiortc.codecs import vpx
from aiortc.contrib.media import MediaRelay
from aiortc.jitterbuffer import JitterFrame

from media.sfu import Sfu, SfuConfig
from media.sfu.aiortc_private import gather_on, tap_receiver

LOOPBACK = ["127.0.0.1"]
WIDTH, HEIGHT = 640, 360
FPS = 30  # VideoStreamTrack's rate
NOISE = 3000  # noisy bytes per frame: puts the encoder at about its 500 kbit/s target
# Receivers' REMB would raise every VP8 encoder (the publisher's, and the relay's per subscriber)
# to 1.5 Mbit/s; the workload is a ~500 kbit/s class camera, so hold them there (both processes
# import this module).
vpx.MAX_BITRATE = vpx.DEFAULT_BITRATE


class BenchCamera(VideoStreamTrack):
    """Moving stripes under a strip of fresh noise at the top, 30 fps."""

    def __init__(self) -> None:
        super().__init__()
        size = av.VideoFrame(WIDTH, HEIGHT, "yuv420p").planes[0].buffer_size
        self._stripes = bytes(range(256)) * (size // 256 + 2)
        self._size, self._count = size, 0

    async def recv(self) -> av.VideoFrame:
        pts, time_base = await self.next_timestamp()
        frame = av.VideoFrame(WIDTH, HEIGHT, "yuv420p")
        shift = (self._count * 3) % 256
        self._count += 1
        luma = os.urandom(NOISE) + self._stripes[shift : shift + self._size - NOISE]
        frame.planes[0].update(luma)
        for plane in frame.planes[1:]:
            plane.update(bytes([128]) * plane.buffer_size)
        frame.pts, frame.time_base = pts, time_base
        return frame


async def local_sdp(pc: RTCPeerConnection, remote: str | None) -> str:
    """Apply `remote` (an offer) if given, then our offer or answer, gathered on loopback."""
    if remote is not None:
        await pc.setRemoteDescription(RTCSessionDescription(remote, "offer"))
    description = await (pc.createAnswer() if remote is not None else pc.createOffer())
    with gather_on(LOOPBACK):
        await pc.setLocalDescription(description)
    return str(pc.localDescription.sdp)


def new_pc() -> RTCPeerConnection:
    return RTCPeerConnection(RTCConfiguration(iceServers=[]))


# ---- the server side, in the child process -------------------------------------------------


class PassthroughServer:
    """The SFU under test: one session, the publisher and K subscribers (one video slot each)."""

    def __init__(self) -> None:
        self.sfu = Sfu(SfuConfig(addresses=LOOPBACK, last_n=1))
        self.sfu.join("bench", "publisher", "publisher")

    async def publish(self, offer: str) -> str:
        return await self.sfu.publish("bench", "publisher", offer)

    async def subscribe(self, index: int) -> str:
        self.sfu.join("bench", f"s{index}", f"s{index}")
        return await self.sfu.subscribe("bench", f"s{index}")

    async def answer(self, index: int, sdp: str) -> None:
        await self.sfu.answer("bench", f"s{index}", sdp)

    async def close(self) -> None:
        await self.sfu.close()


class RelayServer:
    """The baseline: aiortc's MediaRelay, decoding once and encoding once per subscriber."""

    def __init__(self) -> None:
        self.relay = MediaRelay()
        self.source: MediaStreamTrack | None = None
        self.pcs: dict[int, RTCPeerConnection] = {}

    async def publish(self, offer: str) -> str:
        pc = self.pcs[-1] = new_pc()
        pc.on("track", self._on_track)
        return await local_sdp(pc, offer)

    def _on_track(self, track: MediaStreamTrack) -> None:
        self.source = track

    async def subscribe(self, index: int) -> str:
        assert self.source is not None
        pc = self.pcs[index] = new_pc()
        pc.addTransceiver(self.relay.subscribe(self.source, buffered=False), "sendonly")
        return await local_sdp(pc, None)

    async def answer(self, index: int, sdp: str) -> None:
        await self.pcs[index].setRemoteDescription(RTCSessionDescription(sdp, "answer"))

    async def close(self) -> None:
        for pc in self.pcs.values():
            await pc.close()


def serve(conn: Connection, mode: str) -> None:
    """Child process entry point: answer commands from the pipe until "close"."""
    asyncio.run(_serve(conn, mode))


async def _serve(conn: Connection, mode: str) -> None:
    server = PassthroughServer() if mode == "passthrough" else RelayServer()
    loop = asyncio.get_running_loop()
    while True:
        command, *args = await loop.run_in_executor(None, conn.recv)
        if command == "cpu":
            conn.send(time.process_time())
        elif command == "close":
            await server.close()
            conn.send(None)
            return
        else:
            conn.send(await getattr(server, command)(*args))


# ---- the peers, in the parent process -------------------------------------------------------


class Counter:
    """Encoded frames and bytes one subscriber received (no decoding)."""

    def __init__(self) -> None:
        self.frames = 0
        self.bytes = 0

    def __call__(self, codec: RTCRtpCodecParameters, frame: JitterFrame) -> None:
        self.frames += 1
        self.bytes += len(frame.data)

    def ended(self) -> None:
        pass


@dataclass
class Result:
    mode: str
    subscribers: int
    cpu: float
    frames: int
    bytes: int
    duration: float

    @property
    def cpu_per_stream_second(self) -> float:
        return self.cpu / (self.subscribers * self.duration)

    @property
    def fps(self) -> float:
        return self.frames / (self.subscribers * self.duration)

    @property
    def kbps(self) -> float:
        return self.bytes * 8 / 1000 / (self.subscribers * self.duration)


class Bench:
    """One case: a child server, one publisher and K counting subscribers."""

    def __init__(self, mode: str, subscribers: int) -> None:
        context = multiprocessing.get_context("spawn")
        self.conn, child = context.Pipe()
        self.process = context.Process(target=serve, args=(child, mode), daemon=True)
        self.mode, self.k = mode, subscribers
        self.pcs: list[RTCPeerConnection] = []
        self.counters: list[Counter] = []

    async def call(self, *command: Any) -> Any:
        def roundtrip() -> Any:
            self.conn.send(command)
            return self.conn.recv()

        return await asyncio.get_running_loop().run_in_executor(None, roundtrip)

    async def connect(self) -> None:
        self.process.start()
        publisher = new_pc()
        self.pcs.append(publisher)
        publisher.addTransceiver(BenchCamera(), "sendonly")
        answer = await self.call("publish", await local_sdp(publisher, None))
        await publisher.setRemoteDescription(RTCSessionDescription(answer, "answer"))
        await asyncio.sleep(0.5)  # the relay needs the publisher's track before subscribers
        for index in range(self.k):
            await self.add_subscriber(index)

    async def add_subscriber(self, index: int) -> None:
        pc, counter = new_pc(), Counter()
        self.pcs.append(pc)
        self.counters.append(counter)

        def on_track(track: MediaStreamTrack) -> None:
            receiver = next(r for r in pc.getReceivers() if r.track is track)
            if track.kind == "video":
                tap_receiver(receiver, counter, counter.ended)

        pc.on("track", on_track)
        offer = await self.call("subscribe", index)
        await self.call("answer", index, await local_sdp(pc, offer))

    async def measure(self, duration: float, warmup: float) -> Result:
        for _ in range(200):  # every subscriber receives within 20 s, or we measure anyway
            if all(c.frames for c in self.counters):
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(warmup)
        frames, octets = self.totals()
        cpu = await self.call("cpu")
        started = time.monotonic()
        while (elapsed := time.monotonic() - started) < duration:
            await asyncio.sleep(min(5.0, duration - elapsed))
            done = time.monotonic() - started
            print(f"  {self.mode:11} K={self.k:<2} {done:5.1f}/{duration:g} s", flush=True)
        cpu = await self.call("cpu") - cpu
        elapsed = time.monotonic() - started
        frames2, octets2 = self.totals()
        return Result(self.mode, self.k, cpu, frames2 - frames, octets2 - octets, elapsed)

    def totals(self) -> tuple[int, int]:
        return sum(c.frames for c in self.counters), sum(c.bytes for c in self.counters)

    async def close(self) -> None:
        await self.call("close")
        for pc in self.pcs:
            await pc.close()
        self.process.join(timeout=10)
        if self.process.is_alive():
            self.process.kill()


async def run_case(mode: str, k: int, duration: float, warmup: float) -> Result:
    bench = Bench(mode, k)
    try:
        async with asyncio.timeout(duration + warmup + 60):
            await bench.connect()
            return await bench.measure(duration, warmup)
    finally:
        await bench.close()


def report(results: list[Result]) -> None:
    print(
        "\nK   passthrough cpu-s/stream-s  relay cpu-s/stream-s  relay/pass  per frame"
        "  fps p/r    kbit/s p/r"
    )
    by_k: dict[int, dict[str, Result]] = {}
    for result in results:
        by_k.setdefault(result.subscribers, {})[result.mode] = result
    for k, pair in sorted(by_k.items()):
        p, r = pair["passthrough"], pair["relay"]
        ratio = r.cpu_per_stream_second / p.cpu_per_stream_second
        per_frame = ratio * p.fps / max(r.fps, 1e-9)
        print(
            f"{k:<3} {p.cpu_per_stream_second:26.5f}  {r.cpu_per_stream_second:20.5f}"
            f"  {ratio:9.1f}x  {per_frame:8.1f}x  {p.fps:4.1f}/{r.fps:<4.1f}"
            f"  {p.kbps:5.0f}/{r.kbps:<5.0f}"
        )
    for k, pair in sorted(by_k.items()):
        for result in pair.values():
            if result.fps < 0.95 * FPS:
                print(
                    f"K={k}: the {result.mode} server fell behind ({result.fps:.1f} of {FPS} fps):"
                    " its CPU per stream-second is what the machine had left, not what the"
                    " streams needed; the per-frame ratio compares the work actually done"
                )
    for mode in ("passthrough", "relay"):
        high = max((r for r in results if r.mode == mode), key=lambda r: r.subscribers)
        print(f"{mode}: one core carries about {1 / high.cpu_per_stream_second:.0f} streams "
              f"(at K={high.subscribers}, fixed costs included)")  # fmt: skip
    marginal(results)


def marginal(results: list[Result]) -> None:
    for mode in ("passthrough", "relay"):
        runs = sorted((r for r in results if r.mode == mode), key=lambda r: r.subscribers)
        low, high = runs[0], runs[-1]
        if high.subscribers == low.subscribers:
            continue
        per_stream = (high.cpu / high.duration - low.cpu / low.duration) / (
            high.subscribers - low.subscribers
        )
        print(f"{mode}: marginal {per_stream * 100:.2f}% of a core per extra subscriber "
              f"(~{1 / max(per_stream, 1e-9):.0f} streams per core)")  # fmt: skip


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=20.0, help="seconds measured per case")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds before measuring")
    parser.add_argument("--subscribers", default="1,4,16", help="comma-separated K values")
    parser.add_argument(
        "--repeat", type=int, default=1, help="runs per case, alternating; the median is kept"
    )
    args = parser.parse_args()
    results = []
    for k in (int(v) for v in args.subscribers.split(",")):
        runs: dict[str, list[Result]] = {"passthrough": [], "relay": []}
        for attempt in range(1, args.repeat + 1):
            for mode, done in runs.items():
                print(f"{mode} with {k} subscriber(s), run {attempt}/{args.repeat}...", flush=True)
                done.append(await run_case(mode, k, args.duration, args.warmup))
        for done in runs.values():
            done.sort(key=lambda r: r.cpu_per_stream_second)
            results.append(done[len(done) // 2])
            if len(done) > 1:
                spread = ", ".join(f"{r.cpu_per_stream_second:.5f}" for r in done)
                print(f"  {done[0].mode} K={k}: cpu-s/stream-s of each run {spread}")
    report(results)


if __name__ == "__main__":
    asyncio.run(main())
