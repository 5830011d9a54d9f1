"""The `twinrooms` command as an operator runs it: serve, stop cleanly, refuse bad settings, admin."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import MotoServer

pytestmark = pytest.mark.timeout(60)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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
