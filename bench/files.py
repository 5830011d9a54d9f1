"""File archive throughput: Twinrooms downloads against nginx with sendfile, and a 1 GiB upload's
memory; with `--s3`, the same through a node whose blobs are in an S3 bucket.

Both servers run on loopback in the same run and serve the same 256 MiB file; downloads alternate
between them (5 runs each by default) and are fetched by curl into /dev/null, so the client costs
the same for both. Then 1 GiB is uploaded to Twinrooms while the server's resident memory is
sampled. Targets: download >= 0.8x nginx, RSS growth during the upload <= 32 MiB.

With `--s3`, a second node keeps its blobs in a bucket of a moto server on loopback (started here,
`python -m moto.server`); the 256 MiB file is downloaded through that node and 1 GiB uploaded to
it, with the node's RSS sampled during both. Target: RSS flat (+/- 32 MiB) for both. moto is no
real S3 (it keeps objects in its own process and parses every request in Python): the figures say
what the node costs, not what a bucket can deliver.
Usage: `python bench/files.py [--runs 5] [--size-mib 256] [--upload-mib 1024] [--s3]`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp

MIB = 1024 * 1024
BOUNDARY = "benchBoundary5d1c9a"
NGINX = "/usr/sbin/nginx"
NGINX_CONF = """
daemon off;
{user}
worker_processes 1;
pid {root}/nginx.pid;
error_log {root}/nginx-error.log;
events {{ worker_connections 64; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    client_body_temp_path {root}/body;
    proxy_temp_path {root}/proxy;
    fastcgi_temp_path {root}/fastcgi;
    uwsgi_temp_path {root}/uwsgi;
    scgi_temp_path {root}/scgi;
    types {{ application/octet-stream bin; }}
    server {{ listen 127.0.0.1:{port}; root {root}/www; }}
}}
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_healthy(url: str) -> None:
    for _ in range(200):
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except urllib.error.HTTPError:
            return  # it answers, if only with an error status
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"{url} did not come up")


def start_twinrooms(
    root: Path, extra: dict[str, str] | None = None
) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {
        **os.environ,
        **(extra or {}),
        "TWINROOMS_DATA_DIR": str(root),
        "TWINROOMS_PORT": str(port),
        "TWINROOMS_TEST_FAST_HASH": "1",
        "TWINROOMS_MAX_UPLOAD_BYTES": str(4096 * MIB),
        "TWINROOMS_ROOM_QUOTA_BYTES": str(8192 * MIB),
        "TWINROOMS_LOG_LEVEL": "warning",
    }
    process = subprocess.Popen([sys.executable, "-m", "server", "serve"], env=env)
    wait_healthy(f"http://127.0.0.1:{port}/healthz")
    return process, f"http://127.0.0.1:{port}"


def start_nginx(root: Path, data: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    (root / "www").mkdir()
    os.link(data, root / "www" / "file.bin")
    user = "user root;" if os.geteuid() == 0 else ""
    conf = root / "nginx.conf"
    conf.write_text(NGINX_CONF.format(user=user, root=root, port=port))
    process = subprocess.Popen([NGINX, "-c", str(conf), "-p", str(root)])
    wait_healthy(f"http://127.0.0.1:{port}/")  # any answer (even 403/404) means it listens
    return process, f"http://127.0.0.1:{port}"


def curl_seconds(url: str, cookie: str = "") -> float:
    """Wall time of one download by curl into /dev/null."""
    command = ["curl", "-sS", "-o", "/dev/null", "-w", "%{time_total} %{size_download}", url]
    if cookie:
        command[1:1] = ["-H", f"Cookie: {cookie}"]
    out = subprocess.run(command, check=True, capture_output=True, text=True, timeout=120).stdout
    return float(out.split()[0])


async def chunks(total: int, piece: bytes, head: bytes) -> AsyncIterator[bytes]:
    yield head
    sent = 0
    while sent < total:
        part = piece[: total - sent]
        sent += len(part)
        yield part
    yield f"\r\n--{BOUNDARY}--\r\n".encode()


async def upload(http: aiohttp.ClientSession, url: str, name: str, total: int, piece: bytes) -> str:
    head = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    headers = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
    async with http.post(url, data=chunks(total, piece, head), headers=headers) as response:
        body = await response.json()
        if response.status != 201:
            raise SystemExit(f"upload failed: {response.status} {body}")
        return str(body["id"])


def rss_kib(pid: int, field: str = "VmRSS") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


async def sample_rss(pid: int, peak: list[int], stop: asyncio.Event) -> None:
    while not stop.is_set():
        peak[0] = max(peak[0], rss_kib(pid))
        await asyncio.sleep(0.02)


async def setup_room(http: aiohttp.ClientSession, base: str) -> str:
    account = {"username": "bench", "password": "benchmark pw", "display_name": "Bench"}
    async with http.post(f"{base}/api/auth/signup", json={**account, "country": "DE"}) as r:
        assert r.status == 201, await r.text()
    async with http.post(f"{base}/api/rooms", json={"name": "Bench"}) as r:
        return str((await r.json())["id"])


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="twinrooms-bench-") as tmp:
        processes: list[subprocess.Popen[bytes]] = []
        try:
            await measure(Path(tmp), args, processes)
        finally:
            for process in processes:
                process.terminate()
                process.wait(10)


async def measure(
    root: Path, args: argparse.Namespace, processes: list[subprocess.Popen[bytes]]
) -> None:
    twin, base = start_twinrooms(root / "twinrooms")
    processes.append(twin)
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar, timeout=aiohttp.ClientTimeout(600)) as http:
        room_id = await setup_room(http, base)
        size, piece = args.size_mib * MIB, os.urandom(MIB)
        print(f"uploading the {args.size_mib} MiB download file to Twinrooms", flush=True)
        file_id = await upload(http, f"{base}/api/rooms/{room_id}/files", "big.bin", size, piece)
        blob = next((root / "twinrooms" / "blobs").glob("??/??/*"))
        nginx_url = ""
        if shutil.which(NGINX):
            nginx, nginx_base = start_nginx(_mk(root), blob)
            processes.append(nginx)
            nginx_url = f"{nginx_base}/file.bin"
        else:
            print(f"{NGINX} is not installed: Twinrooms' downloads alone", flush=True)
        cookie = "; ".join(f"{c.key}={c.value}" for c in jar)
        twin_url = f"{base}/api/files/{file_id}/content"
        await download_rounds(args.runs, size, twin_url, cookie, nginx_url)
        files_url = f"{base}/api/rooms/{room_id}/files"
        await upload_memory(http, twin.pid, files_url, args.upload_mib, piece)
    if args.s3:
        await measure_s3(root, args, processes)


S3_ENV = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench"}


def start_moto(root: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    command = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    log = (root / "moto.log").open("wb")
    process = subprocess.Popen(command, stdout=log, stderr=log)
    wait_healthy(f"http://127.0.0.1:{port}/")
    return process, f"http://127.0.0.1:{port}"


def create_bucket(endpoint: str, name: str) -> None:
    request = urllib.request.Request(f"{endpoint}/{name}", method="PUT")
    urllib.request.urlopen(request, timeout=10).close()  # moto does not check signatures


async def measure_s3(
    root: Path, args: argparse.Namespace, processes: list[subprocess.Popen[bytes]]
) -> None:
    moto, endpoint = start_moto(root)
    processes.append(moto)
    create_bucket(endpoint, "bench")
    s3 = {
        **S3_ENV,
        "TWINROOMS_S3_BUCKET": "bench",
        "TWINROOMS_S3_ENDPOINT": endpoint,
        "TWINROOMS_S3_REGION": "us-east-1",
        "TWINROOMS_S3_PATH_STYLE": "1",
    }
    twin, base = start_twinrooms(root / "twinrooms-s3", s3)
    processes.append(twin)
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar, timeout=aiohttp.ClientTimeout(1800)) as http:
        room_id = await setup_room(http, base)
        size, piece = args.size_mib * MIB, os.urandom(MIB)
        files_url = f"{base}/api/rooms/{room_id}/files"
        print(f"S3: uploading the {args.size_mib} MiB download file", flush=True)
        file_id = await upload(http, files_url, "big.bin", size, piece)
        cookie = "; ".join(f"{c.key}={c.value}" for c in jar)
        url = f"{base}/api/files/{file_id}/content"
        before = rss_kib(twin.pid)
        peak, stop = [before], asyncio.Event()
        sampler = asyncio.create_task(sample_rss(twin.pid, peak, stop))
        speeds = []
        for run in range(1, args.runs + 1):
            seconds = await asyncio.to_thread(curl_seconds, url, cookie)
            speeds.append(size / seconds / MIB)
            print(f"S3 run {run}/{args.runs} {speeds[-1]:8.0f} MiB/s", flush=True)
        stop.set()
        await sampler
        print(
            f"S3 download median: {statistics.median(speeds):.0f} MiB/s; node RSS "
            f"{before / 1024:.1f} MiB before, peak {peak[0] / 1024:.1f} MiB, "
            f"growth {(peak[0] - before) / 1024:.1f} MiB (target <= 32)"
        )
        print("S3: ", end="", flush=True)
        await upload_memory(http, twin.pid, files_url, args.upload_mib, piece)


def _mk(root: Path) -> Path:
    path = root / "nginx"
    path.mkdir()
    return path


async def download_rounds(runs: int, size: int, twin_url: str, cookie: str, nginx_url: str) -> None:
    speeds: dict[str, list[float]] = {"twinrooms": [], "nginx": []}
    servers = [("nginx", nginx_url, ""), ("twinrooms", twin_url, cookie)]
    servers = [server for server in servers if server[1]]
    curl_seconds(*servers[0][1:])  # warm the page cache for both (one file)
    for run in range(1, runs + 1):
        for name, url, jar in servers:
            seconds = await asyncio.to_thread(curl_seconds, url, jar)
            speeds[name].append(size / seconds / MIB)
            print(f"run {run}/{runs} {name:9} {speeds[name][-1]:8.0f} MiB/s", flush=True)
    twin = statistics.median(speeds["twinrooms"])
    if not nginx_url:
        print(f"download median: twinrooms {twin:.0f} MiB/s")
        return
    ngx = statistics.median(speeds["nginx"])
    print(f"download median: twinrooms {twin:.0f} MiB/s, nginx {ngx:.0f} MiB/s")
    print(f"download ratio twinrooms/nginx: {twin / ngx:.2f} (target >= 0.80)")


async def upload_memory(
    http: aiohttp.ClientSession, pid: int, url: str, mib: int, piece: bytes
) -> None:
    before = rss_kib(pid)
    peak, stop = [before], asyncio.Event()
    sampler = asyncio.create_task(sample_rss(pid, peak, stop))
    started = time.perf_counter()
    print(f"uploading {mib} MiB (RSS before: {before / 1024:.1f} MiB)", flush=True)
    await upload(http, url, "huge.bin", mib * MIB, piece)
    seconds = time.perf_counter() - started
    stop.set()
    await sampler
    growth = (peak[0] - before) / 1024
    print(
        f"upload: {mib / seconds:.0f} MiB/s; server RSS peak {peak[0] / 1024:.1f} MiB, "
        f"growth {growth:.1f} MiB (target <= 32), VmHWM {rss_kib(pid, 'VmHWM') / 1024:.1f} MiB"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--size-mib", type=int, default=256)
    parser.add_argument("--upload-mib", type=int, default=1024)
    parser.add_argument("--s3", action="store_true", help="also through a node on S3 (moto)")
    asyncio.run(main(parser.parse_args()))
