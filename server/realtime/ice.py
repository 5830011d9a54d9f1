"""ICE for the SFU and its clients: the SFU's config from settings, and TURN credentials.

With `TURN_SECRET` set, every client gets credentials of its own in coturn's REST style
(`use-auth-secret`): the username is `"<expiry epoch>:<user_id>"` and the credential is
base64(HMAC-SHA1(secret, username)), which coturn recomputes without any shared state.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

from aiohttp import web

from media.sfu import Sfu, SfuConfig
from server.config import Settings

# Long enough for a school day's lessons (coturn checks expiry at allocation and on each refresh),
# short enough that a leaked credential soon stops working.
TURN_SECONDS = 6 * 3600

SFU = web.AppKey("sfu", Sfu)


def sfu_config(settings: Settings) -> SfuConfig:
    """The SFU's ICE servers, gathering addresses and last-N, from the node's settings.

    TURN entries without a username (their credentials are minted per client from
    `TURN_SECRET`) are left out: the SFU is the relay's far end and needs no allocation itself.
    """
    servers = [s for s in settings.ice_servers if not _is_turn(s.get("urls")) or s.get("username")]
    return SfuConfig(
        ice_servers=servers,
        addresses=settings.media_addresses,
        last_n=settings.last_n,
    )


def turn_credentials(secret: str, user_id: str, now: float) -> dict[str, str]:
    """A short-lived coturn REST username and credential for one user."""
    username = f"{int(now) + TURN_SECONDS}:{user_id}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return {"username": username, "credential": base64.b64encode(digest).decode()}


def _is_turn(urls: Any) -> bool:
    listed = [urls] if isinstance(urls, str) else list(urls or [])
    return any(str(url).startswith(("turn:", "turns:")) for url in listed)


def client_ice_servers(settings: Settings, user_id: str, now: float) -> list[dict[str, Any]]:
    """The RTCIceServer list a client should use; TURN entries get per-user credentials."""
    servers = [dict(server) for server in settings.ice_servers]
    if settings.turn_secret:
        credentials = turn_credentials(settings.turn_secret, user_id, now)
        for server in servers:
            if _is_turn(server.get("urls")):
                server.update(credentials)
    return servers
