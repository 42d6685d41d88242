"""Stack API keys: ``fmc_sk_<key_id>_<secret>`` (pure: format, generation, hashing).

* ``fmc_`` = Faramesh Cloud, ``sk_`` = stack key (docs/sync-api.md): secret scanners and
  log redaction find them by that prefix, and a credential of another kind is turned away
  before any lookup.
* ``key_id``: 16 lower-case hex characters, the primary key of the stored row, so a lookup
  is one index probe and never a scan over hashes.
* ``secret``: 32 random bytes (256 bits) as unpadded base64url. It may contain ``_`` and
  ``-``; the key id never does, so the first ``_`` after the prefix splits the two.

Only ``sha256(secret)`` is stored. A slow password hash (bcrypt, scrypt, argon2) exists to
make guessing *low-entropy* human passwords expensive; these secrets are 256 uniformly
random bits, so no guessing attack is feasible against a leaked SHA-256 digest, and a slow
hash would only add tens of milliseconds of CPU to every RPC a daemon makes.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import Final

KEY_PREFIX: Final = "fmc_sk_"
_KEY_ID_HEX: Final = 16
_SECRET_BYTES: Final = 32
_KEY_ID = re.compile(r"^[0-9a-f]{16}$")
_SECRET = re.compile(r"^[A-Za-z0-9_-]{43}$")


@dataclass(frozen=True, slots=True)
class ParsedKey:
    key_id: str
    secret: str

    @property
    def prefix(self) -> str:
        """The non-secret part shown in the UI to tell keys apart: ``fmc_sk_<key_id>``."""
        return display_prefix(self.key_id)


def display_prefix(key_id: str) -> str:
    return f"{KEY_PREFIX}{key_id}"


def new_key() -> tuple[ParsedKey, str]:
    """A fresh key and its plaintext (the only time the plaintext exists)."""
    key = ParsedKey(
        key_id=secrets.token_hex(_KEY_ID_HEX // 2),
        secret=secrets.token_urlsafe(_SECRET_BYTES),
    )
    return key, f"{KEY_PREFIX}{key.key_id}_{key.secret}"


def looks_like_stack_key(text: str) -> bool:
    return text.startswith(KEY_PREFIX)


def parse_key(plaintext: str) -> ParsedKey | None:
    """Split a plaintext key; None when it is not a well-formed stack key."""
    if not plaintext.startswith(KEY_PREFIX):
        return None
    key_id, sep, secret = plaintext[len(KEY_PREFIX) :].partition("_")
    if not sep or _KEY_ID.match(key_id) is None or _SECRET.match(secret) is None:
        return None
    return ParsedKey(key_id=key_id, secret=secret)


def secret_digest(secret: str) -> bytes:
    """SHA-256 of the secret (see the module docstring for why a fast hash is right)."""
    return hashlib.sha256(secret.encode("ascii")).digest()
