"""Invite codes: when one stops admitting anybody."""

from __future__ import annotations

import pytest

from rooms.invites import normalise_code
from rooms.models import Invite


def invite(**changes: object) -> Invite:
    fields: dict[str, object] = dict(
        code="ABCDEFGHJK",
        room_id="r",
        role="member",
        max_uses=2,
        uses=0,
        expires_at=100.0,
        revoked=False,
        created_by="t",
    )
    fields.update(changes)
    return Invite(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("changes", "now", "usable"),
    [
        ({}, 50.0, True),
        ({}, 100.0, False),  # expired at its expiry instant
        ({"uses": 2}, 50.0, False),  # used up
        ({"revoked": True}, 50.0, False),
    ],
)
def test_a_code_admits_only_while_unexpired_unrevoked_and_not_used_up(
    changes: dict[str, object], now: float, usable: bool
) -> None:
    assert invite(**changes).usable(now) is usable


def test_codes_are_typed_forgivingly() -> None:
    assert normalise_code(" abcd-efgh jk ") == "ABCDEFGHJK"
