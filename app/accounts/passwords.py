"""Passwords: Argon2id through pwdlib (argon2-cffi underneath).

Parameters: Argon2id, time cost 3, memory 64 MiB (65,536 KiB), parallelism 4,
16-byte salt, 32-byte hash: RFC 9106's second recommended option, and
argon2-cffi's defaults. Hashes carry their parameters, so raising them later
re-hashes each password at its next sign-in (``verify`` returns the new hash).
"""

from __future__ import annotations

from functools import cache

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

TIME_COST, MEMORY_COST_KIB, PARALLELISM = 3, 65_536, 4


@cache
def _hasher() -> PasswordHash:
    return PasswordHash((Argon2Hasher(
        time_cost=TIME_COST, memory_cost=MEMORY_COST_KIB, parallelism=PARALLELISM,
        hash_len=32, salt_len=16,
    ),))


def hash_password(password: str) -> str:
    return _hasher().hash(password)


@cache
def _stand_in() -> str:
    return hash_password("a password nobody has")


def verify(password: str, password_hash: str | None) -> tuple[bool, str | None]:
    """Whether ``password`` matches, and a new hash if the stored one is outdated.

    Without a hash (no such account, or one that signs in by SSO only) a stand-in
    is checked all the same, so that the answer takes as long either way and
    says nothing about which emails have accounts.
    """
    if password_hash is None:
        _hasher().verify(password, _stand_in())
        return False, None
    return _hasher().verify_and_update(password, password_hash)
