"""Secrets of a destination sealed at rest with AES-256-GCM under a service's key, bound to
the organisation and the destination (associated data), so a sealed value copied onto
another organisation's or destination's row does not open."""

from __future__ import annotations

import json
import secrets


class SecretBox:
    """Seals a destination's secret fields (AES-256-GCM, associated data = org and id)."""

    def __init__(self, key: bytes, what: str = "the notifications key") -> None:
        if len(key) != 32:
            raise ValueError(f"{what} is 32 bytes")
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        self._aead = AESGCM(key)

    def seal(self, org_id: str, destination_id: str, secret: dict[str, str]) -> bytes:
        nonce = secrets.token_bytes(12)
        return nonce + self._aead.encrypt(nonce, json.dumps(secret).encode(), f"{org_id}/{destination_id}".encode())

    def open(self, org_id: str, destination_id: str, sealed: bytes) -> dict[str, str]:
        plain = self._aead.decrypt(sealed[:12], sealed[12:], f"{org_id}/{destination_id}".encode())
        value: dict[str, str] = json.loads(plain)
        return value
