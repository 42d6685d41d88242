"""Password hashing: argon2id (``argon2-cffi``), PHC strings with their parameters inside.

A hash made with other parameters than the configured ones still verifies and is flagged
by :meth:`Passwords.needs_rehash`, so sign-in upgrades it. Verifying for a user who does
not exist runs against a dummy hash, so "no such user" costs the same time as "wrong
password". The cost parameters are configuration (``IdentityConfig``): the defaults are
argon2-cffi's, RFC 9106's second recommendation (64 MiB, 3 passes).
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_LENGTH = 12
MAX_LENGTH = 1024


def check_policy(password: str) -> str | None:
    """Why ``password`` is not acceptable, or None."""
    if len(password) < MIN_LENGTH:
        return f"use at least {MIN_LENGTH} characters for the password"
    if len(password) > MAX_LENGTH:
        return f"use at most {MAX_LENGTH} characters for the password"
    if password.strip() == "":
        return "the password cannot be only spaces"
    return None


class Passwords:
    def __init__(self, *, time_cost: int = 3, memory_kib: int = 65536, parallelism: int = 4) -> None:
        self._hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism)
        self._dummy = self._hasher.hash("not a password: compared against when the user is unknown")

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, stored: str | None, password: str) -> bool:
        """True when ``password`` matches ``stored`` (None: unknown user or no password set)."""
        try:
            return self._hasher.verify(stored or self._dummy, password) and stored is not None
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored: str) -> bool:
        try:
            return self._hasher.check_needs_rehash(stored)
        except InvalidHashError:
            return True
