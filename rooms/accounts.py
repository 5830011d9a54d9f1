"""Accounts: sign-up, credentials and server-side sessions."""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Callable, Collection

from rooms.effects import SessionEnded
from rooms.errors import Conflict, Invalid, NotSignedIn
from rooms.ids import new_id
from rooms.models import User
from rooms.passwords import Passwords
from rooms.store.db import Store, Tx, UniqueViolation
from rooms.text import one_line

USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{2,31}")
COUNTRY = re.compile(r"[A-Z]{2}")
IDLE_SECONDS = 3 * 24 * 3600
USERNAME_MIN, USERNAME_MAX = 3, 32
PASSWORD_MIN, PASSWORD_MAX = 8, 256
MAX_DISPLAY_NAME = 64


def check_username(username: str) -> str:
    """The canonical (lower-case) form of `username`, or `Invalid`."""
    canonical = username.strip().lower()
    if not USERNAME.fullmatch(canonical):
        raise Invalid(
            "username: 3-32 characters, letters, digits, '.', '_' or '-', starting with a "
            "letter or digit.",
            field="username",
            rule="username",
            min=USERNAME_MIN,
            max=USERNAME_MAX,
        )
    return canonical


def check_password(password: str) -> str:
    if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        raise Invalid(
            "password: 8 to 256 characters.",
            field="password",
            rule="length",
            min=PASSWORD_MIN,
            max=PASSWORD_MAX,
        )
    return password


def check_display_name(name: str) -> str:
    name = one_line(name)
    if not 1 <= len(name) <= MAX_DISPLAY_NAME:
        raise Invalid(
            f"display_name: 1 to {MAX_DISPLAY_NAME} characters.",
            field="display_name",
            rule="length",
            min=1,
            max=MAX_DISPLAY_NAME,
        )
    return name


def check_country(country: str) -> str:
    code = country.strip().upper()
    if not COUNTRY.fullmatch(code):
        raise Invalid(
            "country: a two-letter ISO 3166 code such as FR or PL.", field="country", rule="country"
        )
    return code


def session_hash(token: str) -> str:
    """Sessions are stored and known by hash: a leaked database (or socket token, or log of
    open sockets) holds no usable cookie."""
    return hashlib.sha256(token.encode()).hexdigest()


class Accounts:
    """Creates users, checks credentials, and keeps server-side sessions.

    A session is a 256-bit random token handed to the browser in a cookie; the database keeps only
    its hash. A session ends at logout, after `IDLE_SECONDS` without use, or `session_seconds` after
    it began, whichever comes first.
    """

    def __init__(
        self,
        db: Store,
        passwords: Passwords,
        *,
        clock: Callable[[], float],
        session_seconds: float,
    ) -> None:
        self.db = db
        self.passwords = passwords
        self.clock = clock
        self.session_seconds = session_seconds

    async def create_user(
        self,
        username: str,
        password: str,
        display_name: str,
        country: str,
        role: str,
        created_by: str | None = None,
    ) -> User:
        """Register a user with a hashed password; a taken username is a `Conflict`."""
        user = User(
            new_id(),
            check_username(username),
            check_display_name(display_name),
            check_country(country),
            role,
        )
        password_hash = await self.passwords.hash(check_password(password))

        async def insert(tx: Tx) -> User:
            await self.insert_user(tx, user, password_hash, created_by)
            return user

        return await self.db.write(insert)

    async def insert_user(
        self, tx: Tx, user: User, password_hash: str, created_by: str | None
    ) -> None:
        """Insert `user` inside an open transaction (joining rooms does this with the membership)."""
        if await tx.fetchone("SELECT 1 FROM users WHERE username = ?", (user.username,)):
            raise Conflict("That username is taken.", code="username_taken")
        try:
            await tx.execute(
                "INSERT INTO users (id, username, password_hash, display_name, country, role,"
                " created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    user.id,
                    user.username,
                    password_hash,
                    user.display_name,
                    user.country,
                    user.role,
                    created_by,
                    self.clock(),
                ),
            )
        except UniqueViolation:
            # Two sign-ups of one name on different connections both pass the SELECT above.
            raise Conflict("That username is taken.", code="username_taken") from None

    async def authenticate(self, username: str, password: str) -> User:
        """The user these credentials belong to, or `NotSignedIn` (`bad_credentials`)."""
        row = await self.db.fetchone(
            "SELECT * FROM users WHERE username = ?", (username.strip().lower(),)
        )
        stored = row["password_hash"] if row is not None else None
        if not await self.passwords.verify(stored, password) or row is None:
            raise NotSignedIn("Wrong username or password.", code="bad_credentials")
        return User.from_row(row)

    async def user(self, user_id: str) -> User | None:
        row = await self.db.fetchone("SELECT * FROM users WHERE id = ?", (user_id,))
        return User.from_row(row) if row is not None else None

    async def start_session(self, user_id: str) -> str:
        """A new session token for `user_id` (a fresh one at every login: no fixation)."""
        token = secrets.token_urlsafe(32)
        now = self.clock()

        async def insert(tx: Tx) -> None:
            await tx.execute(
                "DELETE FROM auth_sessions WHERE last_seen_at < ?", (now - IDLE_SECONDS,)
            )
            await tx.execute(
                "INSERT INTO auth_sessions (token_hash, user_id, created_at, last_seen_at)"
                " VALUES (?, ?, ?, ?)",
                (session_hash(token), user_id, now, now),
            )

        await self.db.write(insert)
        return token

    async def session_user(self, token: str) -> User | None:
        """The user a session token belongs to, if the session is alive; touches its idle clock."""
        return await self.session_owner(session_hash(token))

    async def session_owner(self, digest: str) -> User | None:
        """The user of the session with this hash (what socket tokens carry), if it is alive;
        touches its idle clock."""
        row = await self.db.fetchone(
            "SELECT users.*, auth_sessions.created_at AS started, auth_sessions.last_seen_at"
            " FROM auth_sessions JOIN users ON users.id = auth_sessions.user_id"
            " WHERE token_hash = ?",
            (digest,),
        )
        now = self.clock()
        if row is None:
            return None
        if now - row["started"] > self.session_seconds or now - row["last_seen_at"] > IDLE_SECONDS:
            await self._end(digest)
            return None
        if now - row["last_seen_at"] > 60:  # touch at most once a minute: reads stay reads
            await self.db.write(
                lambda tx: tx.execute(
                    "UPDATE auth_sessions SET last_seen_at = ? WHERE token_hash = ?",
                    (now, digest),
                )
            )
        return User.from_row(row)

    async def live_sessions(self, digests: Collection[str]) -> set[str]:
        """Which of these sessions (by hash) are alive now. A read only: it touches no idle clock,
        so an open socket alone never keeps its session alive."""
        now = self.clock()
        alive: set[str] = set()
        ordered = sorted(digests)
        for start in range(0, len(ordered), 500):  # well under SQLite's limit of parameters
            chunk = ordered[start : start + 500]
            rows = await self.db.fetchall(
                "SELECT token_hash FROM auth_sessions"
                f" WHERE token_hash IN ({', '.join('?' * len(chunk))})"
                " AND created_at >= ? AND last_seen_at >= ?",
                (*chunk, now - self.session_seconds, now - IDLE_SECONDS),
            )
            alive.update(row["token_hash"] for row in rows)
        return alive

    async def end_session(self, token: str) -> None:
        """End a session (logout, a new login): its sockets close once this commits."""
        await self._end(session_hash(token))

    async def _end(self, digest: str) -> None:
        async def apply(tx: Tx) -> None:
            await tx.execute("DELETE FROM auth_sessions WHERE token_hash = ?", (digest,))
            tx.effect(SessionEnded(digest))

        await self.db.write(apply)
