"""Opaque, URL-safe, unguessable identifiers and secrets."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime


def new_id() -> str:
    """A 96-bit random id: opaque, URL-safe, never sequential."""
    return secrets.token_urlsafe(12)


def utcnow() -> datetime:
    return datetime.now(UTC)


def isoformat(moment: datetime) -> str:
    """ISO 8601 in UTC with a `Z`, the one time format of the API."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
