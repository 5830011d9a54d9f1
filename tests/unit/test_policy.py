"""The role matrix, checked cell by cell over every role and action."""

from __future__ import annotations

import pytest

from rooms.errors import Forbidden, Invalid
from rooms.policy import ROOM_ROLES, Action, invite_action, may, require_manage

# Every action, and the roles that may do it: the contract's "Roles" paragraph as a table.
EXPECTED = {
    Action.VIEW_ROOM: {"guest", "member", "teacher", "owner"},
    Action.READ_FORUM: {"guest", "member", "teacher", "owner"},
    Action.READ_FILES: {"guest", "member", "teacher", "owner"},
    Action.JOIN_SESSION: {"guest", "member", "teacher", "owner"},
    Action.POST: {"member", "teacher", "owner"},
    Action.CHAT: {"member", "teacher", "owner"},
    Action.OPEN_THREAD: {"member", "teacher", "owner"},
    Action.UPLOAD: {"member", "teacher", "owner"},
    Action.REACT: {"member", "teacher", "owner"},
    Action.REPORT: {"member", "teacher", "owner"},
    Action.PUBLISH_MEDIA: {"member", "teacher", "owner"},
    Action.DELETE_OWN: {"member", "teacher", "owner"},
    Action.INVITE: {"teacher", "owner"},
    Action.CREATE_PUPILS: {"teacher", "owner"},
    Action.MODERATE: {"teacher", "owner"},
    Action.MANAGE_MEMBERS: {"teacher", "owner"},
    Action.START_SESSION: {"teacher", "owner"},
    Action.READ_AUDIT: {"teacher", "owner"},
    Action.INVITE_TEACHER: {"owner"},
    Action.MANAGE_TEACHERS: {"owner"},
    Action.EDIT_ROOM: {"owner"},
    Action.DELETE_ROOM: {"owner"},
}


def test_the_table_covers_every_action() -> None:
    assert set(EXPECTED) == set(Action)


@pytest.mark.parametrize("action", list(Action), ids=lambda a: a.name)
@pytest.mark.parametrize("role", [*ROOM_ROLES, None])
def test_each_role_may_do_exactly_its_actions(role: str | None, action: Action) -> None:
    assert may(role, action) == (role in EXPECTED[action])


MANAGE = [
    # actor, target, new role (None: removal), allowed
    ("owner", "teacher", "member", True),
    ("owner", "member", "teacher", True),
    ("owner", "teacher", None, True),
    ("owner", "owner", "member", False),
    ("teacher", "member", "guest", True),
    ("teacher", "guest", None, True),
    ("teacher", "member", "teacher", False),
    ("teacher", "teacher", None, False),
    ("teacher", "owner", None, False),
    ("member", "member", "guest", False),
    ("member", "guest", None, False),
    ("guest", "guest", None, False),
]


@pytest.mark.parametrize(("actor", "target", "new_role", "allowed"), MANAGE)
def test_managing_people_depends_on_both_roles(
    actor: str, target: str, new_role: str | None, allowed: bool
) -> None:
    if allowed:
        require_manage(actor, target, new_role)
    else:
        with pytest.raises(Forbidden):
            require_manage(actor, target, new_role)


def test_the_owner_role_is_never_handed_out() -> None:
    with pytest.raises(Invalid):
        require_manage("owner", "member", "owner")


def test_inviting_a_teacher_is_the_owners_call() -> None:
    assert invite_action("teacher") is Action.INVITE_TEACHER
    assert invite_action("member") is Action.INVITE
    with pytest.raises(Invalid):
        invite_action("owner")
