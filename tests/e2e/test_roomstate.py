"""The web client's room state (`static/roomstate.js`) in real Chromium, fed events by hand.

The page loads the real module; its two imports (`api.js`, `socket.js`) are replaced by small
stand-ins served by the browser itself, so the test decides exactly which events arrive and when.
No request leaves the browser.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from playwright.async_api import Browser, Page, Route

from tests.e2e.conftest import ROOT

BASE = "http://127.0.0.1:9"  # never contacted: every request is answered by the routes below
FAKE_SOCKET = """
export const SERVER_EVENTS = ["presence", "post:new", "post:edit", "file:new", "file:edit",
  "room:edit"];
class FakeLive {
  constructor() { this.handlers = new Map(); this.requests = []; this.connected = true; }
  on(name, fn) {
    if (!this.handlers.has(name)) this.handlers.set(name, new Set());
    this.handlers.get(name).add(fn);
    return () => this.handlers.get(name).delete(fn);
  }
  request(name, data) {
    return new Promise((resolve, reject) => this.requests.push({ name, data, resolve, reject }));
  }
  send() {}
  fire(name, data) { for (const fn of this.handlers.get(name) || []) fn(data); }
}
export const live = new FakeLive();
window.live = live;
"""
FAKE_API = """
const room = { id: "r1", name: "Rivers", my_role: "member", members: [], settings: {} };
const files = [{ id: "f1", name: "loaded.txt", folder: "" }];
export const paths = { room: () => "room", files: () => "files", folders: () => "folders" };
export const api = { get: async (path) => ({ room, files, folders: [] })[path] };
export async function allThreads() { return []; }
export async function allPosts() { return []; }
"""
OPEN = """
async () => {
  const { RoomSession } = await import("/static/roomstate.js");
  const session = new RoomSession("r1", { id: "me" });
  window.session = session;
  window.seen = [];
  session.addEventListener("change", (e) => {
    const { kind, data } = e.detail;
    if (kind === "files") window.seen.push(data.name);
  });
  const opening = session.open();
  await new Promise((resolve) => setTimeout(resolve, 0));
  live.requests.shift().resolve({ presence: { users: [] }, seq: 5 });
  await opening;
}
"""


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context()

    async def serve(route: Route) -> None:
        path = route.request.url.removeprefix(BASE)
        if path == "/":
            await route.fulfill(body="<!doctype html><title>t</title>", content_type="text/html")
        elif path == "/static/socket.js":
            await route.fulfill(body=FAKE_SOCKET, content_type="text/javascript")
        elif path == "/static/api.js":
            await route.fulfill(body=FAKE_API, content_type="text/javascript")
        elif path == "/static/roomstate.js":
            body = (ROOT / "static" / "roomstate.js").read_text()
            await route.fulfill(body=body, content_type="text/javascript")
        else:
            await route.fulfill(status=404, body="")

    await context.route(f"{BASE}/**", serve)
    opened = await context.new_page()
    await opened.goto(f"{BASE}/")
    await opened.evaluate(OPEN)
    yield opened
    await context.close()


def edit(name: str, seq: int) -> dict[str, Any]:
    return {"id": "f1", "room_id": "r1", "name": name, "folder": "", "room_seq": seq}


@pytest.mark.timeout(60)
async def test_a_stale_edit_arriving_again_never_overwrites_newer_state(page: Page) -> None:
    result = await page.evaluate(
        """([newer, stale, loaded]) => {
          live.fire("file:edit", loaded);  // already in what the room loaded (seq 5)
          live.fire("file:edit", newer);
          live.fire("file:edit", stale);   // a duplicate of an earlier edit, arriving late
          return [session.files.get("f1").name, window.seen, session.maxSeq];
        }""",
        [edit("newer", 7), edit("stale", 6), edit("loaded twice", 5)],
    )
    assert result == ["newer", ["newer"], 7]


@pytest.mark.timeout(60)
async def test_live_events_wait_while_a_resume_is_in_flight(page: Page) -> None:
    result = await page.evaluate(
        """async ([missed, later]) => {
          const resuming = session.onStatus({ connected: true, again: true });
          await new Promise((resolve) => setTimeout(resolve, 0));
          const asked = live.requests.shift();
          live.fire("file:edit", later);   // live, while the resume's answer is on its way
          const during = session.files.get("f1").name;
          asked.resolve({ presence: { users: [] }, seq: 7, has_more: false,
                          missed: [{ event: "file:edit", data: missed }, { event: "file:edit",
                          data: later }] });
          await resuming;
          return [asked.data, during, session.files.get("f1").name, window.seen];
        }""",
        [edit("missed", 6), edit("later", 7)],
    )
    assert result == [
        {"room_id": "r1", "since": 5},
        "loaded.txt",
        "later",
        ["missed", "later"],
    ]
