"""Settings: read once from `TWINROOMS_*` variables (or a TOML file), then frozen."""

from __future__ import annotations

import ipaddress
import json
import os
import secrets
import socket
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from rooms.errors import Invalid
from rooms.ratelimit import Rate

PREFIX = "TWINROOMS_"


class ConfigError(Exception):
    """A bad setting; its message is the one line the operator sees."""


@dataclass(frozen=True)
class Settings:
    """Everything a node needs to know, built once by `load` and passed to `create_app`."""

    data_dir: Path
    secret_key: bytes
    host: str = "127.0.0.1"
    port: int = 8080
    database_url: str = ""
    redis_url: str = ""
    trusted_proxies: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    node_id: str = ""
    s3_bucket: str = ""
    s3_endpoint: str = ""
    s3_region: str = ""
    s3_prefix: str = ""
    s3_path_style: bool = False
    public_url: str = ""
    allowed_origins: tuple[str, ...] = ()
    signup: str = "open"
    max_upload_bytes: int = 104_857_600
    room_quota_bytes: int = 5_368_709_120
    trash_days: float = 30
    session_days: float = 14
    token_seconds: int = 300
    session_check_seconds: float = 10
    max_sockets_per_user: int = 10
    rate_login: Rate = Rate(10, 60)
    rate_signup: Rate = Rate(20, 3600)
    rate_join: Rate = Rate(20, 60)
    rate_post: Rate = Rate(30, 60)
    rate_chat: Rate = Rate(20, 10)
    rate_upload: Rate = Rate(60, 3600)
    rate_events: float = 1.0  # scales every client event's bucket (server/realtime/limits.py)
    ice_servers: list[dict[str, Any]] = field(default_factory=list)
    turn_secret: str = ""
    metrics_token: str = ""
    media_addresses: tuple[str, ...] = ()
    last_n: int = 9
    log_level: str = "info"
    test_fast_hash: bool = False

    @property
    def origins(self) -> list[str]:
        """The origins browsers may use: the public URL's and the extra allowed ones."""
        return [_origin(self.public_url), *self.allowed_origins]

    @property
    def secure_cookies(self) -> bool:
        return self.public_url.startswith("https://")

    @property
    def clustered(self) -> bool:
        """Whether this node is one of several sharing Redis, PostgreSQL and object storage."""
        return bool(self.redis_url)

    @property
    def database_path(self) -> Path:
        if self.database_url.startswith("sqlite:///"):
            return Path(self.database_url.removeprefix("sqlite:///"))
        return self.data_dir / "twinrooms.sqlite3"


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _int(text: str) -> int:
    return int(text)


def _bool(text: str) -> bool:
    if text.lower() in ("1", "true", "yes", "on"):
        return True
    if text.lower() in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(text)


def _csv(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def _networks(text: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(part, strict=False) for part in _csv(text))


def _node_id(text: str) -> str:
    if not text or len(text) > 64 or not all(c.isalnum() or c in "-_.:" for c in text):
        raise ValueError("1 to 64 letters, digits, '-', '_', '.' or ':'")
    return text


def _ice(text: str) -> list[dict[str, Any]]:
    servers = json.loads(text)
    if not isinstance(servers, list) or not all(
        isinstance(s, dict) and "urls" in s for s in servers
    ):
        raise ValueError("a JSON list of {urls, username?, credential?} objects")
    return servers


def _rate(text: str) -> Rate:
    try:
        return Rate.parse(text)
    except Invalid as exc:
        raise ValueError(exc.message) from None


def _choice(*allowed: str) -> Callable[[str], str]:
    def parse(text: str) -> str:
        if text not in allowed:
            raise ValueError(f"one of {', '.join(allowed)}")
        return text

    return parse


PARSERS: dict[str, Callable[[str], Any]] = {
    "host": str,
    "port": _int,
    "database_url": str,
    "redis_url": str,
    "trusted_proxies": _networks,
    "node_id": _node_id,
    "s3_bucket": str,
    "s3_endpoint": str,
    "s3_region": str,
    "s3_prefix": str,
    "s3_path_style": _bool,
    "public_url": str,
    "allowed_origins": _csv,
    "signup": _choice("open", "closed"),
    "max_upload_bytes": _int,
    "room_quota_bytes": _int,
    "trash_days": float,
    "session_days": float,
    "token_seconds": _int,
    "session_check_seconds": float,
    "max_sockets_per_user": _int,
    "rate_events": float,
    **{f"rate_{n}": _rate for n in ("login", "signup", "join", "post", "chat", "upload")},
    "ice_servers": _ice,
    "turn_secret": str,
    "metrics_token": str,
    "media_addresses": _csv,
    "last_n": _int,
    "log_level": _choice("debug", "info", "warning", "error"),
    "test_fast_hash": _bool,
}


def _raw_values(environ: Mapping[str, str]) -> dict[str, str]:
    values: dict[str, str] = {}
    config_file = environ.get(PREFIX + "CONFIG")
    if config_file:
        try:
            table = tomllib.loads(Path(config_file).read_text())
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"{PREFIX}CONFIG: cannot read {config_file}: {exc}") from None
        for key, value in table.items():
            values[key.lower()] = value if isinstance(value, str) else json.dumps(value)
    for key, value in environ.items():
        if key.startswith(PREFIX) and key != PREFIX + "CONFIG":
            values[key.removeprefix(PREFIX).lower()] = value
    return values


def load(environ: Mapping[str, str] | None = None) -> Settings:
    """Build the Settings from the environment (the environment wins over the TOML file)."""
    raw = _raw_values(os.environ if environ is None else environ)
    parsed: dict[str, Any] = {}
    for key, text in raw.items():
        if key in ("data_dir", "secret_key"):
            continue
        if key not in PARSERS:
            raise ConfigError(f"{PREFIX}{key.upper()}: unknown setting")
        try:
            parsed[key] = PARSERS[key](text)
        except (ValueError, TypeError) as exc:
            raise ConfigError(f"{PREFIX}{key.upper()}={text!r} is not valid: {exc}") from None
    data_dir = Path(raw.get("data_dir") or "./data").resolve()
    _check(parsed)
    host, port = parsed.get("host", "127.0.0.1"), parsed.get("port", 8080)
    if not parsed.get("public_url"):
        shown = "localhost" if host in ("0.0.0.0", "::") else host
        parsed["public_url"] = f"http://{shown}:{port}"
    parsed["public_url"] = parsed["public_url"].rstrip("/")
    secret = _secret_key(raw.get("secret_key", ""), data_dir, bool(parsed.get("redis_url")))
    if not parsed.get("node_id"):
        # Unique per process: a restarted node is a new publisher on the bus (its counter restarts).
        parsed["node_id"] = f"{socket.gethostname()[:40]}:{port}:{secrets.token_hex(3)}"
    return Settings(data_dir=data_dir, secret_key=secret, **parsed)


def _check(parsed: dict[str, Any]) -> None:
    if not 0 <= parsed.get("port", 8080) <= 65535:
        raise ConfigError(f"{PREFIX}PORT must be between 0 and 65535")
    if parsed.get("session_check_seconds", 10) <= 0:
        raise ConfigError(f"{PREFIX}SESSION_CHECK_SECONDS must be above 0")
    if not 0 < parsed.get("rate_events", 1) < float("inf"):
        raise ConfigError(f"{PREFIX}RATE_EVENTS must be a number above 0")
    for key in (
        "max_upload_bytes",
        "room_quota_bytes",
        "token_seconds",
        "max_sockets_per_user",
        "last_n",
    ):
        if key in parsed and parsed[key] < 1:
            raise ConfigError(f"{PREFIX}{key.upper()} must be at least 1")
    if not 0 <= parsed.get("trash_days", 30) < float("inf"):
        raise ConfigError(f"{PREFIX}TRASH_DAYS must be a number of days, 0 or more")
    url = parsed.get("database_url", "")
    if url and not url.startswith(("sqlite:///", "postgresql://")):
        raise ConfigError(f"{PREFIX}DATABASE_URL must start with sqlite:/// or postgresql://")
    redis = parsed.get("redis_url", "")
    if redis:
        if urlsplit(redis).scheme not in ("redis", "rediss", "unix"):
            raise ConfigError(f"{PREFIX}REDIS_URL must start with redis://, rediss:// or unix://")
        if not url.startswith("postgresql://"):
            # Nodes on node-local data would silently split the rooms between them.
            raise ConfigError(f"{PREFIX}REDIS_URL needs a postgresql:// {PREFIX}DATABASE_URL")
        if not parsed.get("s3_bucket"):
            # Blobs in each node's DATA_DIR would be missing on every other node.
            raise ConfigError(f"{PREFIX}REDIS_URL needs {PREFIX}S3_BUCKET")
    endpoint = parsed.get("s3_endpoint", "")
    if endpoint and urlsplit(endpoint).scheme not in ("http", "https"):
        raise ConfigError(f"{PREFIX}S3_ENDPOINT must be an http:// or https:// URL")
    s3_only = ("s3_endpoint", "s3_region", "s3_prefix", "s3_path_style")
    if not parsed.get("s3_bucket") and any(key in parsed for key in s3_only):
        raise ConfigError(f"{PREFIX}S3_* settings need {PREFIX}S3_BUCKET")
    token = parsed.get("metrics_token", "")
    if token and len(token) < 32:
        raise ConfigError(f"{PREFIX}METRICS_TOKEN must be at least 32 characters")
    public = parsed.get("public_url", "")
    if public and urlsplit(public).scheme not in ("http", "https"):
        raise ConfigError(f"{PREFIX}PUBLIC_URL must be an http:// or https:// URL")


def _secret_key(given: str, data_dir: Path, clustered: bool) -> bytes:
    """The given key, or one generated once into DATA_DIR/secret_key (single node only)."""
    if given:
        if len(given) < 32:
            raise ConfigError(f"{PREFIX}SECRET_KEY must be at least 32 characters")
        return given.encode()
    if clustered:
        raise ConfigError(f"{PREFIX}SECRET_KEY is required with {PREFIX}REDIS_URL")
    path = data_dir / "secret_key"
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(48))
        return path.read_text().strip().encode()
    except OSError as exc:
        raise ConfigError(f"{PREFIX}DATA_DIR: cannot use {data_dir}: {exc.strerror}") from None
