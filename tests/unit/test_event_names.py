"""One list of events: what the server emits, what docs/api.md documents as sent to clients and
what the web client handles (or deliberately ignores) are the same names."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from server.config import Settings
from server.realtime.limits import event_classes

ROOT = Path(__file__).resolve().parents[2]
EVENT = re.compile(
    r"^(?:(?:room|member|thread|post|file|folder|session|media|report|chat):[a-z_]+"
    r"|presence|moderation)$"
)

EMITTERS = ("emit", "to_teachers")


def client_events() -> set[str]:
    """Every event a client may send (each has a rate-limit class)."""
    classes = event_classes(Settings(data_dir=ROOT, secret_key="x" * 32))
    return {name for cls in classes.values() for name in cls.events if ":" in name}


def emitted_by_server() -> set[str]:
    """Event names written in the server's code, less those only clients send; a name both sides
    send (`media:hand`) counts when the server passes it to an `emit` call."""
    names: set[str] = set()
    emitted: set[str] = set()
    for path in [*(ROOT / "server").rglob("*.py"), *(ROOT / "rooms").rglob("*.py")]:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                if EVENT.match(node.value):
                    names.add(node.value)
            elif isinstance(node, ast.Call) and getattr(node.func, "attr", "") in EMITTERS:
                emitted |= {a.value for a in node.args if isinstance(a, ast.Constant)}
    return {name for name in names if name not in client_events() or name in emitted}


def documented() -> set[str]:
    """Names in docs/api.md's server-to-client tables and its `**Events**` paragraphs."""
    names: set[str] = set()
    server_side = paragraph = False
    for line in (ROOT / "docs" / "api.md").read_text(encoding="utf-8").splitlines():
        if line.startswith("#") or "→" in line:
            server_side = "Server → client" in line
        paragraph = line.startswith("**Events**") or (paragraph and line.strip() != "")
        if paragraph:
            names |= {n for n in re.findall(r"`([^`]+)`", line) if EVENT.match(n)}
        elif server_side and line.startswith("| `"):
            first = line.split("|")[1]
            names |= {n for n in re.findall(r"`([^`]+)`", first) if EVENT.match(n)}
    return names


def handled_by_client() -> set[str]:
    """`SERVER_EVENTS` and `IGNORED_EVENTS` in socket.js, and the call's subscriptions in call.js."""
    socket_js = (ROOT / "static" / "socket.js").read_text(encoding="utf-8")
    names: set[str] = set()
    for const in ("SERVER_EVENTS", "IGNORED_EVENTS"):
        body = re.search(rf"export const {const} = \[(.*?)\];", socket_js, re.S)
        assert body, const
        names |= set(re.findall(r'"([^"]+)"', body.group(1)))
    call_js = (ROOT / "static" / "call.js").read_text(encoding="utf-8")
    media = dict(re.findall(r'^  (\w+): "(media:[a-z_]+)"', call_js, re.M))
    table = re.search(
        r"async join\(\) \{\s*for \(const \[name, fn\] of \[(.*?)\]\) \{", call_js, re.S
    )
    assert table
    for quoted, const in re.findall(r'^\s*\[(?:"([^"]+)"|MEDIA\.(\w+)),', table.group(1), re.M):
        names.add(quoted or media[const])
    return names


@pytest.mark.timeout(10)
def test_the_server_the_docs_and_the_client_name_the_same_events() -> None:
    server, docs, client = emitted_by_server(), documented(), handled_by_client()
    assert "post:new" in server and "media:state" in server and "presence" in server
    assert sorted(server - docs) == [], "emitted but not documented"
    assert sorted(docs - server) == [], "documented but never emitted"
    assert sorted(server - client) == [], "emitted but not handled by the client"
    assert sorted(client - server) == [], "handled by the client but never emitted"
