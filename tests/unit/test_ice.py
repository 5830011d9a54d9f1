"""ICE servers for clients and the SFU, and coturn REST credentials."""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

from server.config import load
from server.realtime.ice import TURN_SECONDS, client_ice_servers, sfu_config, turn_credentials

SERVERS = '[{"urls": "stun:stun.example.org"}, {"urls": ["turns:turn.example.org:443"]}]'


def settings(**extra: str) -> Any:
    env = {"TWINROOMS_ICE_SERVERS": SERVERS, "TWINROOMS_DATA_DIR": "/nonexistent", **extra}
    return load(env)


def test_turn_credentials_are_what_coturn_recomputes_from_the_shared_secret() -> None:
    found = turn_credentials("s3cret", "user-1", now=1_000_000.9)
    assert found["username"] == f"{1_000_000 + TURN_SECONDS}:user-1"
    digest = hmac.new(b"s3cret", found["username"].encode(), hashlib.sha1).digest()
    assert base64.b64decode(found["credential"]) == digest


def test_only_turn_entries_get_per_user_credentials() -> None:
    stun, turn = client_ice_servers(settings(TWINROOMS_TURN_SECRET="k"), "u", now=0)
    assert stun == {"urls": "stun:stun.example.org"}
    assert turn["username"] == f"{TURN_SECONDS}:u" and turn["credential"]
    assert client_ice_servers(settings(), "u", now=0)[1] == {"urls": ["turns:turn.example.org:443"]}


def test_the_sfu_skips_turn_entries_whose_credentials_are_minted_per_client() -> None:
    config = sfu_config(settings(TWINROOMS_TURN_SECRET="k"))
    assert config.ice_servers == [{"urls": "stun:stun.example.org"}]
