"""Strict verification of one artifact version against the keys an organisation trusts (pure).

Today's daemon checks a pack's signature only against the public key sent in the same
response and never checks a provider manifest's (REGISTRY_PROTOCOL.md §3-4). Cloud checks
harder, whatever the daemon does: a version is **verified** only when its signature is valid
under the public key *Cloud stores* for its ``key_id`` and that key is one the organisation
trusts (the official key and Cloud's registry keys, retired ones included: rotation keeps old
signatures verifiable). Everything else says why not:

* ``unsigned``: no signature at all (a community artifact not yet signed);
* ``untrusted-key``: a valid signature, but by a key the organisation does not trust (the key
  it carries verifies the bytes; Cloud does not list its ``key_id``);
* ``invalid``: the signature does not verify (under the trusted key of that id, or at all),
  or it carries a public key different from the one Cloud lists under the same id;
* ``malformed``: not a signature object upstream's formats allow.

What is signed (upstream's formats exactly): a policy or framework profile's raw FPL bytes; a
provider manifest's compact Go-JSON without ``signature`` (keys in the order name, version,
dev_only, capabilities, config_schema, downloads; maps sorted; ``omitempty`` honoured; each
download ``url, sha256_hex, size``).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from faramesh_cloud.dpr.gojson import dumps


class Verdict(StrEnum):
    VERIFIED = "verified"
    UNSIGNED = "unsigned"
    UNTRUSTED_KEY = "untrusted-key"
    INVALID = "invalid"
    MALFORMED = "malformed"


@dataclass(frozen=True, slots=True)
class TrustedKey:
    key_id: str
    public_key: bytes  # raw 32 bytes
    owner: str
    origin: str  # 'official' | 'cloud'
    retired: bool = False


@dataclass(frozen=True, slots=True)
class Verification:
    verdict: Verdict
    key_id: str
    message: str
    key_owner: str = ""
    key_origin: str = ""

    @property
    def verified(self) -> bool:
        return self.verdict is Verdict.VERIFIED


def _sorted(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _sorted(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_sorted(v) for v in value]
    return value


def manifest_signed_bytes(manifest: Mapping[str, Any]) -> bytes:
    """The bytes a provider manifest's signature covers (FARAMESH_FORMATS.md §5)."""
    out: dict[str, Any] = {"name": manifest.get("name", ""), "version": manifest.get("version", "")}
    if manifest.get("dev_only"):
        out["dev_only"] = True
    if manifest.get("capabilities"):
        out["capabilities"] = list(manifest["capabilities"])
    if manifest.get("config_schema"):
        out["config_schema"] = _sorted(manifest["config_schema"])
    downloads = manifest.get("downloads") or {}
    out["downloads"] = {p: {"url": d.get("url", ""), "sha256_hex": d.get("sha256_hex", ""), "size": d.get("size", 0)}
                        for p, d in sorted(downloads.items())}
    return dumps(out)


def _b64(text: Any, size: int) -> bytes | None:
    if not isinstance(text, str):
        return None
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw if len(raw) == size else None


def _valid(public_key: bytes, signature: bytes, message: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


def verify(signature: Mapping[str, Any] | None, message: bytes, trusted: Mapping[str, TrustedKey]) -> Verification:
    """``signature`` (the ``.fpl.sig`` JSON or a manifest's ``signature``) over ``message``,
    judged against ``trusted`` (key id → key)."""
    if not signature:
        return Verification(Verdict.UNSIGNED, "", "not signed: no signature was published with this version")
    key_id = str(signature.get("key_id") or "")
    algorithm = signature.get("algorithm")
    value = _b64(signature.get("value_b64"), 64)
    carried = _b64(signature.get("public_key_b64"), 32) if signature.get("public_key_b64") else None
    if algorithm != "ed25519" or value is None or not key_id:
        return Verification(Verdict.MALFORMED, key_id, "the signature is not an Ed25519 signature in upstream's "
                            "format (key_id, algorithm \"ed25519\", a 64-byte value_b64)")
    key = trusted.get(key_id)
    if key is None:
        if carried is not None and _valid(carried, value, message):
            return Verification(Verdict.UNTRUSTED_KEY, key_id, f"signature by an untrusted key: {key_id!r} is valid "
                                "for these bytes, but it is not a key this organisation trusts")
        return Verification(Verdict.INVALID, key_id, f"the signature does not verify, and its key {key_id!r} is not "
                            "one this organisation trusts")
    who = {"key_owner": key.owner, "key_origin": key.origin}
    if carried is not None and carried != key.public_key:
        return Verification(Verdict.INVALID, key_id, f"the signature names key {key_id!r} but carries a different "
                            "public key than the one Cloud lists under that id", **who)
    if not _valid(key.public_key, value, message):
        return Verification(Verdict.INVALID, key_id, f"the signature does not verify under trusted key {key_id!r}: "
                            "the bytes were changed after signing, or it was made by another key", **who)
    retired = " (retired key; signatures made before its retirement stay valid)" if key.retired else ""
    return Verification(Verdict.VERIFIED, key_id, f"signed by {key.origin} key {key_id!r} ({key.owner}){retired}",
                        **who)
