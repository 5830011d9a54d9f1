"""The `twinrooms` command: `serve` starts a node, `admin create-user` makes the first accounts."""

from __future__ import annotations

import argparse
import asyncio
import gc
import getpass
import logging
import sys
import time
from collections.abc import Sequence

import redis.asyncio
from aiohttp import web

from media.blobs import BlobUnavailable
from rooms.errors import DomainError
from server import config
from server.app import build_services, create_app, open_store
from server.filestore import blob_store

SWITCH_SECONDS = 0.0005  # how long a thread may hold the GIL while another waits for it


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="twinrooms", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="start a node (settings from TWINROOMS_* variables)")
    admin = commands.add_parser("admin", help="manage accounts").add_subparsers(
        dest="action", required=True
    )
    create = admin.add_parser("create-user", help="create an admin or teacher account")
    create.add_argument("--username", required=True)
    create.add_argument("--display-name", required=True)
    create.add_argument("--country", required=True, help="two-letter ISO code, e.g. FR")
    create.add_argument("--role", choices=("admin", "teacher"), default="teacher")
    create.add_argument(
        "--password-stdin", action="store_true", help="read the password from stdin"
    )
    args = parser.parse_args(argv)
    try:
        settings = config.load()
    except config.ConfigError as exc:
        print(f"twinrooms: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    for chatty in ("botocore.credentials", "aiobotocore.credentials"):
        # "Found credentials in environment variables" at every start says nothing useful.
        logging.getLogger(chatty).setLevel(logging.WARNING)
    if args.command == "serve":
        return serve(settings)
    return asyncio.run(create_user(settings, args))


def serve(settings: config.Settings) -> int:
    """Run a node until SIGINT or SIGTERM, then close every connection and resource cleanly."""
    # Fewer, later collections: the default thresholds put long GC pauses into fan-out latency.
    gc.set_threshold(50_000, 50, 1_000)
    # The event loop shares the GIL with the database's threads (SQLite's writer and reader),
    # which drop it around every statement and then wait for it back: up to the switch interval
    # (5 ms by default) while the loop runs Python. A tenth of that keeps a group commit from
    # crawling behind the fan-out (+6-10% of the chat's most messages per second on two cores).
    sys.setswitchinterval(SWITCH_SECONDS)
    problem = asyncio.run(preflight(settings))
    if problem:
        print(f"twinrooms: {problem}", file=sys.stderr)
        return 2
    app = create_app(settings)

    async def freeze(_: web.Application) -> None:
        gc.freeze()  # start-up objects live forever: keep them out of every later collection

    app.on_startup.append(freeze)
    logging.getLogger(__name__).info("Twinrooms on %s", settings.public_url)
    web.run_app(
        app, host=settings.host, port=settings.port, shutdown_timeout=5, print=None, access_log=None
    )
    return 0


async def preflight(settings: config.Settings) -> str:
    """Why the node cannot start (one line), or "" when it can: in a cluster, Redis answers our
    password; the shared database is reachable, lets us in and takes the migrations (PostgreSQL's
    `unaccent` extension included); and the blob store answers (an S3 bucket missing or
    unreachable). Checked before the server starts, so a failure is one line and not a traceback
    from start-up."""
    if settings.clustered:
        problem = await redis_problem(settings.redis_url)
        if problem:
            return f"{config.PREFIX}REDIS_URL: cannot use Redis: {problem}"
    if settings.database_url.startswith("postgresql://"):
        store = open_store(settings)
        try:
            await store.open()
        except Exception as exc:  # any failure to connect or migrate is the operator's to fix
            return f"{config.PREFIX}DATABASE_URL: cannot use the database: {_one_line(exc)}"
        await store.close()
    blobs = blob_store(settings)
    try:
        await blobs.open()
    except BlobUnavailable as exc:
        return f"{config.PREFIX}S3_BUCKET: {_one_line(exc)}"
    await blobs.close()
    return ""


async def redis_problem(url: str) -> str:
    """Why Redis at `url` cannot be used (refused, a wrong or missing password), or ""."""
    client = redis.asyncio.from_url(url, socket_connect_timeout=2, socket_timeout=2, protocol=2)
    try:
        await client.ping()
    except Exception as exc:  # refused, NOAUTH, WRONGPASS, a bad URL: the operator's to fix
        return _one_line(exc)
    finally:
        await client.aclose()
    return ""


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:300]


async def create_user(settings: config.Settings, args: argparse.Namespace) -> int:
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("Password: ")
    services = build_services(settings, time.time)
    await services.db.open()
    try:
        user = await services.accounts.create_user(
            args.username, password, args.display_name, args.country, args.role
        )
    except DomainError as exc:
        print(f"twinrooms: {exc.message}", file=sys.stderr)
        return 1
    finally:
        await services.db.close()
    print(f"created {user.role} {user.username} ({user.id})")
    return 0
