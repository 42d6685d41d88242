"""Per-record signature checks (FARAMESH_FORMATS 1.7): Ed25519 over the canonical bytes,
and the daemon-local HMAC over ``record_id`` followed by ``record_hash``."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Collection
from enum import StrEnum

from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey, VerifyKey

from faramesh_cloud.dpr.meta import RecordLike


class SignatureStatus(StrEnum):
    VALID = "valid"
    INVALID = "invalid"
    UNSIGNED = "unsigned"
    UNTRUSTED = "untrusted"  # valid, but by a key the stack never registered


def _b64(value: str, size: int) -> bytes | None:
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw if len(raw) == size else None


def key_id(public_key_b64: str) -> str:
    """The daemon's key id: hex SHA-256 of the raw 32-byte public key."""
    raw = _b64(public_key_b64, 32)
    if raw is None:
        raise ValueError("an Ed25519 public key is 32 bytes of standard base64")
    return hashlib.sha256(raw).hexdigest()


def check_ed25519(
    record: RecordLike,
    canonical: bytes,
    trusted_keys: Collection[str] | None = None,
) -> SignatureStatus:
    """Check ``signature`` with the embedded ``signer_public_key``. With ``trusted_keys``
    (base64 public keys pinned for the stack), a valid signature by any other key is
    UNTRUSTED: the key travels inside the record, so on its own it proves nothing."""
    signature = record.get("signature")
    if not signature:
        return SignatureStatus.UNSIGNED
    algorithm = record.get("signature_algorithm") or "ed25519"
    public = record.get("signer_public_key")
    if algorithm != "ed25519" or not isinstance(signature, str) or not isinstance(public, str):
        return SignatureStatus.INVALID
    sig = _b64(signature, 64)
    key = _b64(public, 32)
    if sig is None or key is None:
        return SignatureStatus.INVALID
    try:
        VerifyKey(key).verify(canonical, sig)
    except (BadSignatureError, ValueError):
        return SignatureStatus.INVALID
    if trusted_keys is not None and public not in trusted_keys:
        return SignatureStatus.UNTRUSTED
    return SignatureStatus.VALID


def check_hmac(record: RecordLike, key: bytes) -> SignatureStatus:
    mac = record.get("hmac_signature")
    if not mac:
        return SignatureStatus.UNSIGNED
    message = f"{record.get('record_id', '')}{record.get('record_hash', '')}".encode()
    want = hmac.new(key, message, hashlib.sha256).hexdigest()
    return SignatureStatus.VALID if hmac.compare_digest(want, str(mac)) else SignatureStatus.INVALID


def sign_ed25519(canonical: bytes, seed: bytes) -> tuple[str, str]:
    """(signature_b64, public_key_b64) as the daemon writes them. Used by the simulator."""
    key = SigningKey(seed)
    signature = key.sign(canonical).signature
    return (
        base64.b64encode(signature).decode(),
        base64.b64encode(bytes(key.verify_key)).decode(),
    )


def sign_hmac(record_id: str, record_hash: str, key: bytes) -> str:
    return hmac.new(key, f"{record_id}{record_hash}".encode(), hashlib.sha256).hexdigest()
