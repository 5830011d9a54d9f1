"""Password hashing with argon2id, off the event loop."""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError


class Passwords:
    """Hashes and verifies passwords with argon2id.

    `fast=True` selects cheap parameters for test suites only; every real deployment uses
    argon2-cffi's defaults (RFC 9106's low-memory profile). Hashing runs in a worker thread because
    it deliberately takes tens of milliseconds.
    """

    def __init__(self, *, fast: bool = False) -> None:
        if fast:
            self._hasher = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
        else:
            self._hasher = PasswordHasher()
        self._dummy: str | None = None

    async def hash(self, password: str) -> str:
        return await asyncio.to_thread(self._hasher.hash, password)

    async def verify(self, stored: str | None, password: str) -> bool:
        """Whether `password` matches `stored`; with no stored hash, spend the same time anyway."""
        if stored is None:
            if self._dummy is None:
                self._dummy = await self.hash("no such user")
            stored = self._dummy
            password = password + "\0"
        try:
            return await asyncio.to_thread(self._hasher.verify, stored, password)
        except (VerificationError, InvalidHashError):
            return False
