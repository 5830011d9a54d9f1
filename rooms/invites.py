"""Invites and joining: codes with a role, a use limit and an expiry; pupil accounts in bulk."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rooms.accounts import (
    Accounts,
    check_country,
    check_display_name,
    check_password,
    check_username,
)
from rooms.credentials import pupil_password, pupil_username
from rooms.effects import SessionEnded
from rooms.errors import Conflict, Forbidden, Invalid, InvalidCode, NotFound
from rooms.ids import new_id
from rooms.models import Invite, Room, User
from rooms.moderation import audit
from rooms.policy import Action, invite_action, may, require_manage
from rooms.rooms import Rooms
from rooms.store.db import Store, Tx

# No 0/O, 1/I/L: codes are read aloud in class and typed by children.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 10
DEFAULT_EXPIRY = 7 * 24 * 3600
MAX_EXPIRY = 365 * 24 * 3600
DEFAULT_USES = {"teacher": 1, "member": 50, "guest": 50}
MAX_PUPILS = 200


def normalise_code(code: str) -> str:
    """Codes are case-insensitive and may be typed with spaces or dashes."""
    return "".join(ch for ch in code.upper() if ch.isalnum())


def _random(alphabet: str, length: int) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))


@dataclass(frozen=True)
class NewAccount:
    """What a newcomer types when joining with a code."""

    username: str
    password: str
    display_name: str
    country: str | None = None


class Invites:
    """Creates, lists and revokes invite codes, lets people join with them, and makes pupils.

    Joining is one transaction: the code is checked and spent, the account (if new) and the
    membership are created together, so a used-up code can never admit one person too many.
    """

    def __init__(
        self, db: Store, rooms: Rooms, accounts: Accounts, *, clock: Callable[[], float]
    ) -> None:
        self.db = db
        self.rooms = rooms
        self.accounts = accounts
        self.clock = clock

    async def create(
        self, actor: User, room_id: str, role: str, max_uses: int | None, expires_in: int | None
    ) -> Invite:
        """A new code for `role`; teachers invite members and guests, the owner also teachers."""
        await self.rooms.require(actor, room_id, invite_action(role))
        uses = DEFAULT_USES[role] if max_uses is None else max_uses
        lifetime = DEFAULT_EXPIRY if expires_in is None else expires_in
        if not 1 <= uses <= 1000:
            raise Invalid("max_uses: 1 to 1000.", field="max_uses", rule="range", min=1, max=1000)
        if not 60 <= lifetime <= MAX_EXPIRY:
            raise Invalid(
                "expires_in: 60 seconds to 365 days.",
                field="expires_in",
                rule="range",
                min=60,
                max=MAX_EXPIRY,
            )
        invite = Invite(
            _random(CODE_ALPHABET, CODE_LENGTH),
            room_id,
            role,
            uses,
            0,
            self.clock() + lifetime,
            False,
            actor.id,
        )
        await self.db.write(
            lambda tx: tx.execute(
                "INSERT INTO invites (code, room_id, role, max_uses, expires_at, created_by,"
                " created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (invite.code, room_id, role, uses, invite.expires_at, actor.id, self.clock()),
            )
        )
        return invite

    async def codes(self, actor: User, room_id: str) -> list[Invite]:
        """The room's invites that the caller could have created: a partner teacher never sees
        the owner's teacher codes, which would let them hand teacher rights on."""
        role = await self.rooms.require(actor, room_id, Action.INVITE)
        rows = await self.db.fetchall(
            "SELECT * FROM invites WHERE room_id = ? ORDER BY created_at, code", (room_id,)
        )
        return [Invite.from_row(row) for row in rows if may(role, invite_action(row["role"]))]

    async def revoke(self, actor: User, room_id: str, code: str) -> None:
        """Revoke one of the invites `codes` shows the caller; any other code is unknown to them."""
        role = await self.rooms.require(actor, room_id, Action.INVITE)
        code = normalise_code(code)
        row = await self.db.fetchone(
            "SELECT role FROM invites WHERE room_id = ? AND code = ?", (room_id, code)
        )
        if row is None or not may(role, invite_action(row["role"])):
            raise InvalidCode()
        await self.db.write(
            lambda tx: tx.execute("UPDATE invites SET revoked = 1 WHERE code = ?", (code,))
        )

    async def join(
        self, code: str, user: User | None, account: NewAccount | None
    ) -> tuple[User, Room]:
        """Join the code's room as a signed-in `user`, or as a new `account` made on the way.

        A teacher invite makes a new account a platform teacher, any other a pupil. Joining a
        room one is already in changes nothing and spends no use.
        """
        code = normalise_code(code)
        password_hash = await self.accounts.passwords.hash(account.password) if account else None

        async def apply(tx: Tx) -> tuple[User, str]:
            row = await tx.fetchone("SELECT * FROM invites WHERE code = ?", (code,))
            if row is None or not Invite.from_row(row).usable(self.clock()):
                raise InvalidCode()
            invite = Invite.from_row(row)
            joiner = user or await self._new_account(tx, invite, account, password_hash)
            # Insert first, so that a member already in (or joining right now on another
            # connection: the insert waits for it) spends no use; then spend one only while one
            # is left. The conditional UPDATE takes the invite's row lock and re-checks the count
            # after any concurrent join commits, so the uses can never pass `max_uses`.
            if not await tx.execute(
                "INSERT INTO memberships (room_id, user_id, role, joined_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (room_id, user_id) DO NOTHING",
                (invite.room_id, joiner.id, invite.role, self.clock()),
            ):
                return joiner, invite.room_id
            if not await tx.execute(
                "UPDATE invites SET uses = uses + 1 WHERE code = ? AND uses < max_uses",
                (code,),
            ):
                raise InvalidCode()
            await self._announce_member(tx, invite.room_id, joiner, invite.role)
            return joiner, invite.room_id

        joiner, room_id = await self.db.write(apply)
        return joiner, await self.rooms.get(joiner, room_id)

    async def _new_account(
        self, tx: Tx, invite: Invite, account: NewAccount | None, password_hash: str | None
    ) -> User:
        if account is None or password_hash is None:
            raise Invalid(
                "username, password and display_name are needed to join.",
                field="username",
                rule="required",
            )
        owner = await tx.fetchone(
            "SELECT users.country FROM rooms JOIN users ON users.id = rooms.owner_id"
            " WHERE rooms.id = ?",
            (invite.room_id,),
        )
        assert owner is not None
        check_password(account.password)
        new_user = User(
            new_id(),
            check_username(account.username),
            check_display_name(account.display_name),
            check_country(account.country or owner["country"]),
            "teacher" if invite.role == "teacher" else "pupil",
        )
        await self.accounts.insert_user(tx, new_user, password_hash, invite.created_by)
        return new_user

    async def _add_member(self, tx: Tx, room_id: str, user: User, role: str) -> None:
        await tx.execute(
            "INSERT INTO memberships (room_id, user_id, role, joined_at) VALUES (?, ?, ?, ?)",
            (room_id, user.id, role, self.clock()),
        )
        await self._announce_member(tx, room_id, user, role)

    @staticmethod
    async def _announce_member(tx: Tx, room_id: str, user: User, role: str) -> None:
        await tx.emit(room_id, "member:new", {**user.to_json(), "role": role, "room_id": room_id})

    async def create_pupils(
        self, actor: User, room_id: str, names: list[str]
    ) -> list[dict[str, Any]]:
        """Pupil accounts for a class, as members of the room, with generated credentials.

        The answer is the only time the passwords are ever shown: teachers print it as a sheet.
        """
        await self.rooms.require(actor, room_id, Action.CREATE_PUPILS)
        if not 1 <= len(names) <= MAX_PUPILS:
            raise Invalid(
                f"pupils: 1 to {MAX_PUPILS} names.",
                field="pupils",
                rule="count",
                min=1,
                max=MAX_PUPILS,
            )
        displays = [check_display_name(name) for name in names]
        usernames = await self._free_usernames(displays)
        sheet = []
        for display, username in zip(displays, usernames, strict=True):
            password = pupil_password()
            sheet.append(
                (display, username, password, await self.accounts.passwords.hash(password))
            )

        async def apply(tx: Tx) -> None:
            for display, username, _, password_hash in sheet:
                pupil = User(new_id(), username, display, actor.country, "pupil")
                await self.accounts.insert_user(tx, pupil, password_hash, actor.id)
                await self._add_member(tx, room_id, pupil, "member")

        await self.db.write(apply)
        return [{"display_name": d, "username": u, "password": p} for d, u, p, _ in sheet]

    async def _free_usernames(self, displays: list[str]) -> list[str]:
        """One username per name, none taken and no two alike: a class may hold two Noé
        Lefèvre, and four digits after a common name sometimes meet an older account."""
        chosen: list[str | None] = [None] * len(displays)
        for _ in range(8):
            wanted = {i: pupil_username(d) for i, d in enumerate(displays) if chosen[i] is None}
            if not wanted:
                break
            names = sorted(set(wanted.values()))
            rows = await self.db.fetchall(
                f"SELECT username FROM users WHERE username IN ({', '.join('?' * len(names))})",
                names,
            )
            taken = {row["username"] for row in rows} | {c for c in chosen if c}
            for i, username in wanted.items():
                if username not in taken:
                    chosen[i] = username
                    taken.add(username)
        if any(c is None for c in chosen):
            raise Conflict("Could not find free usernames; try again.")
        return [c for c in chosen if c is not None]

    async def reset_password(self, actor: User, room_id: str, user_id: str) -> dict[str, Any]:
        """A new generated password for a pupil of the room, shown this once, for a teacher of
        that room; the pupil's sessions end (and their sockets close) with the old password.

        Only pupil accounts are reset this way, and only by someone who manages the pupil in
        this room: never a teacher's or an admin's account, whatever room they share.
        """
        actor_role = await self.rooms.require(actor, room_id, Action.CREATE_PUPILS)
        member = await self.rooms.member_of(room_id, user_id)
        if member is None:
            raise NotFound("member", user_id)
        require_manage(actor_role, member.role)
        if member.user.role != "pupil":
            raise Forbidden("Only pupils' passwords are reset by their teachers.")
        password = pupil_password()
        password_hash = await self.accounts.passwords.hash(password)

        async def apply(tx: Tx) -> None:
            await tx.execute(
                "UPDATE users SET password_hash = ? WHERE id = ?", (password_hash, user_id)
            )
            rows = await tx.fetchall(
                "SELECT token_hash FROM auth_sessions WHERE user_id = ?", (user_id,)
            )
            await tx.execute("DELETE FROM auth_sessions WHERE user_id = ?", (user_id,))
            for row in rows:
                tx.effect(SessionEnded(row["token_hash"]))
            await audit(tx, room_id, actor, "password_reset", "user", user_id)

        await self.db.write(apply)
        user = member.user
        return {"display_name": user.display_name, "username": user.username, "password": password}
