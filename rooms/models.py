"""The domain's records and their JSON shapes (the contract's "Shapes")."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from rooms.store.db import Row


def iso(epoch: float | None) -> str | None:
    """Seconds since the epoch as ISO 8601 UTC with a `Z`; None stays None."""
    if epoch is None:
        return None
    moment = datetime.fromtimestamp(epoch, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class User:
    """A platform account; `role` is the platform role (admin, teacher, pupil)."""

    id: str
    username: str
    display_name: str
    country: str
    role: str

    @classmethod
    def from_row(cls, row: Row) -> User:
        return cls(row["id"], row["username"], row["display_name"], row["country"], row["role"])

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "username": self.username,
            "display_name": self.display_name,
            "country": self.country,
            "role": self.role,
        }


@dataclass(frozen=True)
class Member:
    """A user as a member of one room; `role` is the room role."""

    user: User
    role: str

    def to_json(self) -> dict[str, Any]:
        return {**self.user.to_json(), "role": self.role}


@dataclass(frozen=True)
class Room:
    """A project room as one caller sees it (`my_role` and `my_muted_until` are theirs)."""

    id: str
    name: str
    description: str
    owner_id: str
    my_role: str | None
    settings: dict[str, Any]
    members: list[Member] = field(default_factory=list)
    my_muted_until: float | None = None  # the caller's own forum and chat mute, while it lasts

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "my_role": self.my_role,
            "my_muted_until": iso(self.my_muted_until),
            "settings": self.settings,
            "members": [m.to_json() for m in self.members],
        }


@dataclass(frozen=True)
class Invite:
    """A join code for a room, with its role, use limit and expiry."""

    code: str
    room_id: str
    role: str
    max_uses: int
    uses: int
    expires_at: float
    revoked: bool
    created_by: str

    @classmethod
    def from_row(cls, row: Row) -> Invite:
        return cls(
            row["code"],
            row["room_id"],
            row["role"],
            row["max_uses"],
            row["uses"],
            row["expires_at"],
            bool(row["revoked"]),
            row["created_by"],
        )

    def usable(self, now: float) -> bool:
        return not self.revoked and self.uses < self.max_uses and now < self.expires_at

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "room_id": self.room_id,
            "role": self.role,
            "max_uses": self.max_uses,
            "uses": self.uses,
            "expires_at": iso(self.expires_at),
            "revoked": self.revoked,
            "created_by": self.created_by,
        }
