"""The `twinrooms` command as an operator runs it: serve, stop cleanly, refuse bad settings, admin."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import pytest

from tests.conftest import MotoServer
from tests.pg import PgServer
from tests.ports import free_port
from tests.redis_server import RedisServer

pytestmark = pytest.mark.timeout(60)


def environment(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TWINROOMS_")}
    return {**env, "TWINROOMS_DATA_DIR": str(data_dir), "TWINROOMS_TEST_FAST_HASH": "1", **extra}


def test_serve_answers_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    env = environment(tmp_path, TWINROOMS_PORT=str(port))
    process = subprocess.Popen(
        [sys.executable, "-m", "server", "serve"], env=env, stderr=subprocess.PIPE
    )
    try:
        for _ in range(100):
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/healthz", timeout=1
                ) as answer:
                    assert json.load(answer) == {"status": "ok"}
                break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("the server did not start")
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0
    finally:
        process.kill()
        process.communicate()
    assert (tmp_path / "twinrooms.sqlite3").exists()


def test_a_bad_setting_stops_the_start_with_one_line(tmp_path: Path) -> None:
    env = environment(tmp_path, TWINROOMS_PORT="http")
    done = subprocess.run(
        [sys.executable, "-m", "server", "serve"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "twinrooms: TWINROOMS_PORT='http' is not valid: invalid literal for int() with base 10: 'http'"
    ]


def serve_fails(tmp_path: Path, database_url: str) -> list[str]:
    """The stderr lines of a `serve` that must stop before listening, with exit code 2."""
    env = environment(
        tmp_path, TWINROOMS_PORT=str(free_port()), TWINROOMS_DATABASE_URL=database_url
    )
    done = subprocess.run(
        [sys.executable, "-m", "server", "serve"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2, done.stderr
    return [line for line in done.stderr.splitlines() if not line[:4].isdigit()]  # not logging


def test_an_unreachable_postgresql_stops_the_start_with_one_line(tmp_path: Path) -> None:
    [line] = serve_fails(tmp_path, f"postgresql://nobody@127.0.0.1:{free_port()}/twinrooms")
    assert line.startswith("twinrooms: TWINROOMS_DATABASE_URL: cannot use the database: ")


async def test_a_refused_login_or_an_uncreatable_extension_stops_the_start_with_one_line(
    tmp_path: Path, pg_server: PgServer
) -> None:
    url = await pg_server.fresh(migrated=False)
    admin = await asyncpg.connect(url)
    try:
        # May create tables, but not extensions (CREATE on the database is not granted).
        await admin.execute("CREATE ROLE weakling LOGIN PASSWORD 'right'")
        await admin.execute("GRANT ALL ON SCHEMA public TO weakling")
    finally:
        await admin.close()
    parts = urlsplit(url)
    wrong = parts._replace(netloc=f"weakling:wrong@{parts.hostname}:{parts.port}").geturl()
    weak = parts._replace(netloc=f"weakling:right@{parts.hostname}:{parts.port}").geturl()
    try:
        [refused] = serve_fails(tmp_path, wrong)
        [no_extension] = serve_fails(tmp_path, weak)
    finally:
        await pg_server.drop(url)
    assert "password authentication failed" in refused, refused
    assert "wrong" not in refused  # never the password
    assert "unaccent" in no_extension and "Traceback" not in no_extension


@pytest.mark.parametrize("reachable", [False, True])
def test_a_bucket_that_is_missing_or_unreachable_stops_the_start_with_one_line(
    tmp_path: Path, moto: MotoServer, reachable: bool
) -> None:
    endpoint = moto.url if reachable else f"http://127.0.0.1:{free_port()}"
    env = environment(
        tmp_path,
        TWINROOMS_S3_BUCKET="no-such-bucket",
        TWINROOMS_S3_ENDPOINT=endpoint,
        TWINROOMS_S3_PATH_STYLE="1",
    )
    done = subprocess.run(
        [sys.executable, "-m", "server", "serve"],
        env=env,
        capture_output=True,
        text=True,
        timeout=50,
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("twinrooms: TWINROOMS_S3_BUCKET: ")


def test_admin_creates_the_first_accounts(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "server", "admin", "create-user", "--username", "Head",
               "--display-name", "Head Teacher", "--country", "it", "--role", "admin", "--password-stdin"]  # fmt: skip
    done = subprocess.run(
        command,
        env=environment(tmp_path),
        input="a long password\n",
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0 and done.stdout.startswith("created admin head ")
    again = subprocess.run(
        command,
        env=environment(tmp_path),
        input="a long password\n",
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert again.returncode == 1 and "taken" in again.stderr


def _serve_clustered(tmp_path: Path, redis_url: str) -> list[str]:
    env = environment(
        tmp_path,
        TWINROOMS_PORT=str(free_port()),
        TWINROOMS_DATABASE_URL=f"postgresql://nobody@127.0.0.1:{free_port()}/twinrooms",
        TWINROOMS_SECRET_KEY="s" * 32,
        TWINROOMS_S3_BUCKET="never-reached",
        TWINROOMS_REDIS_URL=redis_url,
    )
    done = subprocess.run(
        [sys.executable, "-m", "server", "serve"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2, done.stderr
    return [line for line in done.stderr.splitlines() if not line[:4].isdigit()]


def test_a_refused_or_passwordless_redis_stops_the_start_with_one_line(tmp_path: Path) -> None:
    [refused] = _serve_clustered(tmp_path, f"redis://127.0.0.1:{free_port()}/0")
    assert refused.startswith("twinrooms: TWINROOMS_REDIS_URL: cannot use Redis: "), refused
    redis = RedisServer()
    redis.start()
    try:
        [no_auth] = _serve_clustered(tmp_path, f"redis://127.0.0.1:{redis.port}/0")
        [wrong] = _serve_clustered(tmp_path, f"redis://:wrong-one@127.0.0.1:{redis.port}/0")
    finally:
        redis.stop()
    assert no_auth.startswith("twinrooms: TWINROOMS_REDIS_URL: cannot use Redis: ")
    assert "Authentication required" in no_auth, no_auth
    assert wrong.startswith("twinrooms: TWINROOMS_REDIS_URL: cannot use Redis: ")
    assert "wrong-one" not in wrong
