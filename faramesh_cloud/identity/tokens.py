"""Random secrets and their formats (pure).

* Session ids and invitation tokens: 32 random bytes, unpadded base64url (43 characters).
  Only their SHA-256 is stored, so a database leak yields no usable cookie or link.
* Platform API keys: ``fmc_pk_<key_id>_<secret>``: ``fmc_`` = Faramesh Cloud, ``pk_`` =
  platform key (stack keys are ``fmc_sk_``), ``key_id`` 16 lower-case hex characters (the
  stored row's primary key, so authentication is one index probe), ``secret`` 32 random
  bytes as unpadded base64url. Secret scanners find them by the prefix.

A fast hash is right for these: they are 256 uniformly random bits, so a leaked digest
cannot be guessed back, and a slow hash would only add CPU to every request.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import Final

API_KEY_PREFIX: Final = "fmc_pk_"
_KEY_ID: Final = re.compile(r"^[0-9a-f]{16}$")
_SECRET: Final = re.compile(r"^[A-Za-z0-9_-]{43}$")


def new_secret() -> str:
    """32 random bytes as unpadded base64url (43 characters)."""
    return secrets.token_urlsafe(32)


def digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode("utf-8")).digest()


def well_formed_secret(text: str) -> bool:
    return _SECRET.match(text) is not None


@dataclass(frozen=True, slots=True)
class ApiKeyParts:
    key_id: str
    secret: str

    @property
    def prefix(self) -> str:
        """The non-secret part, shown to tell keys apart."""
        return f"{API_KEY_PREFIX}{self.key_id}"


def new_api_key() -> tuple[ApiKeyParts, str]:
    """A fresh key and its plaintext (the only time the plaintext exists)."""
    parts = ApiKeyParts(secrets.token_hex(8), new_secret())
    return parts, f"{API_KEY_PREFIX}{parts.key_id}_{parts.secret}"


def parse_api_key(plaintext: str) -> ApiKeyParts | None:
    if not plaintext.startswith(API_KEY_PREFIX):
        return None
    key_id, sep, secret = plaintext[len(API_KEY_PREFIX):].partition("_")
    if not sep or _KEY_ID.match(key_id) is None or _SECRET.match(secret) is None:
        return None
    return ApiKeyParts(key_id, secret)
