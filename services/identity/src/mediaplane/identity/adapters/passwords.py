"""Password hashing: argon2id (argon2-cffi) at the OWASP baseline.

Parameters: memory 19 MiB (19456 KiB), 2 iterations, 1 lane, 16-byte salt,
32-byte hash (OWASP Password Storage Cheat Sheet, argon2id, first option).
A hash made with other parameters is re-hashed at the next successful sign-in.
"""

from __future__ import annotations

import argon2
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

HASHER = argon2.PasswordHasher(
    time_cost=2,
    memory_cost=19456,
    parallelism=1,
    hash_len=32,
    salt_len=16,
    type=argon2.Type.ID,
)

# Verified against when the email is unknown, so an unknown email costs the same
# time as a wrong password (no enumeration by timing).
_DUMMY = HASHER.hash("not a password of anyone: only here to spend the same time")


def hash_password(password: str) -> str:
    return HASHER.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    """Whether `password` matches `stored`; with `stored=None` spends the time and says no."""
    try:
        HASHER.verify(stored or _DUMMY, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
    return stored is not None


def needs_rehash(stored: str) -> bool:
    return HASHER.check_needs_rehash(stored)
