"""Signing and checking chain checkpoints (pure): ed25519 with the platform signing key over
the canonical JSON of the checkpoint without ``key_id`` and ``signature``. The platform public
key (``/api/v1/platform/signing-key``) checks it offline, as it checks signed bundles."""

from __future__ import annotations

import base64
import binascii
from datetime import UTC
from typing import Any

import msgspec
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from faramesh_cloud.audit_index.retention.events import Checkpoint
from faramesh_cloud.signing.canonical import canonical_json
from faramesh_cloud.signing.keys import key_id

PURPOSE = "faramesh-cloud/chain-checkpoint/v1"


def signed_payload(cp: Checkpoint) -> bytes:
    body: dict[str, Any] = msgspec.to_builtins(cp)
    body.pop("key_id", None)
    body.pop("signature", None)
    # The instant in UTC, microseconds, whatever zone a store hands it back in.
    body["removed_on"] = cp.removed_on.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    body["purpose"] = PURPOSE
    return canonical_json(body)


def sign(cp: Checkpoint, key: Ed25519PrivateKey) -> Checkpoint:
    value = base64.b64encode(key.sign(signed_payload(cp))).decode("ascii")
    return msgspec.structs.replace(cp, key_id=key_id(key.public_key()), signature=value)


def verify(cp: Checkpoint, public_key: Ed25519PublicKey) -> bool:
    try:
        public_key.verify(base64.b64decode(cp.signature, validate=True), signed_payload(cp))
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True
