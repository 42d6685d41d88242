"""The platform signing key (ed25519): the shared secret ``platform_signing_key``.

``faramesh_cloud.secrets`` finds it (inline, a ``_file``, ``secrets_dir``), or under ``up`` makes
it once in ``<data_dir>/keys/platform-ed25519.pem`` (PKCS#8 PEM, mode 0600; two processes
starting at once cannot each make one). The public key is what verifiers of signed bundles need (``faramesh-cloud verify-bundle FILE
--public-key KEY``); it is served at ``/api/v1/platform/signing-key``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from faramesh_cloud.config import Settings
from faramesh_cloud.secrets import resolve_secret

KEY_FILE = Path("keys") / "platform-ed25519.pem"


class SigningKeyError(ValueError):
    """A key cannot be read; the message says what to pass instead."""


def platform_signing_key(settings: Settings) -> Ed25519PrivateKey:
    """The platform signing key as ``settings`` give it (``faramesh_cloud.secrets``)."""
    loaded = serialization.load_pem_private_key(resolve_secret(settings, "platform_signing_key"), password=None)
    assert isinstance(loaded, Ed25519PrivateKey)  # resolve_secret checked the type
    return loaded


def load_or_create_signing_key(data_dir: Path) -> Ed25519PrivateKey:
    """The data-dir key of an embedded install (``platform_signing_key`` with only a data dir)."""
    return platform_signing_key(Settings(data_dir=Path(data_dir)))


def public_raw(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def public_pem(key: Ed25519PublicKey) -> str:
    return key.public_bytes(serialization.Encoding.PEM,
                            serialization.PublicFormat.SubjectPublicKeyInfo).decode("ascii")


def key_id(key: Ed25519PublicKey) -> str:
    """A short name for a public key: the first 16 hex digits of SHA-256 of its raw bytes."""
    return hashlib.sha256(public_raw(key)).hexdigest()[:16]


def parse_public_key(text: str) -> Ed25519PublicKey:
    """An ed25519 public key from PEM, or its 32 raw bytes as base64 or hex."""
    text = text.strip()
    if text.startswith("-----BEGIN"):
        try:
            loaded = serialization.load_pem_public_key(text.encode("ascii"))
        except ValueError as exc:
            raise SigningKeyError(f"not a readable PEM public key ({exc}); pass the PEM the platform serves") from None
        if not isinstance(loaded, Ed25519PublicKey):
            raise SigningKeyError("the PEM key is not an ed25519 key; pass the platform signing key")
        return loaded
    raw: bytes | None = None
    if len(text) == 64:
        try:
            raw = bytes.fromhex(text)
        except ValueError:
            raw = None
    if raw is None:
        try:
            raw = base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_" if "-" in text or "_" in text else None,
                                   validate=True)
        except (binascii.Error, ValueError):
            raw = None
    if raw is None or len(raw) != 32:
        raise SigningKeyError("a public key is a PEM block, or 32 bytes as 64 hex digits or base64; "
                              "pass the key from /api/v1/platform/signing-key")
    return Ed25519PublicKey.from_public_bytes(raw)


def load_public_key(value: str) -> Ed25519PublicKey:
    """``value`` is a file holding the key, or the key itself."""
    path = Path(value).expanduser()
    if len(value) < 4096 and path.is_file():
        return parse_public_key(path.read_text("ascii", errors="replace"))
    return parse_public_key(value)
