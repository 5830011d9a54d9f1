"""The web client in real Chromium against a real server process.

Each test gets its own `twinrooms serve` on a free loopback port with its own data directory,
and one headless Debian Chromium (never a downloaded browser) with fake camera and microphone.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from tests.cluster.conftest import redis, start_cluster  # noqa: F401 (the cluster e2e tests)
from tests.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--allow-loopback-in-peer-connection",
]


def wait_healthy(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"the server exited with {proc.returncode}:\n{log.read_text()[-4000:]}")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=1) as res:
                if res.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.1)
    pytest.fail(f"the server did not answer /healthz within {timeout}s:\n{log.read_text()[-4000:]}")


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[str]:
    """The base URL of a fresh `python -m server serve` on 127.0.0.1."""
    port = free_port()
    data = tmp_path / "data"
    data.mkdir()
    env = {
        **os.environ,
        "TWINROOMS_HOST": "127.0.0.1",
        "TWINROOMS_PORT": str(port),
        "TWINROOMS_DATA_DIR": str(data),
        "TWINROOMS_MEDIA_ADDRESSES": "127.0.0.1",
        "TWINROOMS_ICE_SERVERS": "[]",
        "TWINROOMS_TEST_FAST_HASH": "1",
    }
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "server", "serve"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc, log)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def chromium() -> Path:
    """Debian's Chromium; its absence fails the test loudly instead of skipping it."""
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: the e2e tests use Debian's chromium "
            "(`make system-deps` or `apt-get install -y chromium`)"
        )
    return CHROMIUM


@pytest.fixture
async def browser(chromium: Path) -> AsyncIterator[Browser]:
    async with async_playwright() as pw:
        instance = await pw.chromium.launch(
            executable_path=str(chromium), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield instance
        finally:
            await instance.close()


@dataclass
class Visitor:
    """One browser context (one user) with the page it drives and the errors it saw."""

    context: BrowserContext
    page: Page
    base: str
    errors: list[str] = field(default_factory=list)

    async def goto(self, hash_: str = "") -> None:
        await self.page.goto(f"{self.base}/{hash_}")

    async def shot(self, name: str) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        await self.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


class Visitors:
    """Opens one browser context per user on the live server and closes them all at the end."""

    def __init__(self, browser: Browser, base: str) -> None:
        self.browser = browser
        self.base = base
        self.made: list[Visitor] = []

    async def new(self, locale: str = "en-GB", bypass_csp: bool = False) -> Visitor:
        """A new user's browser; `bypass_csp` only for tests that inject a checker (axe-core)."""
        return await new_visitor(self, locale, bypass_csp)


@pytest.fixture
async def visitors(browser: Browser, live_server: str) -> AsyncIterator[Visitors]:
    made = Visitors(browser, live_server)
    yield made
    for visitor in made.made:
        await visitor.context.close()


async def new_visitor(visitors: Visitors, locale: str, bypass_csp: bool = False) -> Visitor:
    base = visitors.base
    context = await visitors.browser.new_context(
        base_url=base,
        bypass_csp=bypass_csp,
        locale=locale,
        timezone_id="Europe/Paris",
        viewport={"width": 1280, "height": 860},
    )
    context.set_default_timeout(15_000)
    page = await context.new_page()
    visitor = Visitor(context, page, base)
    page.on("pageerror", lambda exc: visitor.errors.append(str(exc)))
    visitors.made.append(visitor)
    return visitor
