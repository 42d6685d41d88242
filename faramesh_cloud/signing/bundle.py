"""Signed JSON bundles: one generic, offline-verifiable format for exports.

A bundle is one JSON object::

    {
      "format":     "faramesh-cloud/signed-bundle/v1",
      "kind":       "platform-audit-log",          # what the entries are (others: DPR exports)
      "created_at": "2026-01-01T12:00:00.000000Z",
      "org":        {"id": "...", "slug": "...", "name": "..."},
      "query":      {...},                          # how the entries were selected
      "entries":    [...],                          # kind-specific records
      "chain":      {...},                          # kind-specific chain facts
      "signature":  {"algorithm": "ed25519", "key_id": "...", "value": "<base64>"}
    }

The signature is ed25519 over the canonical JSON (``faramesh_cloud.signing.canonical``) of
the whole object without its ``signature`` member. ``key_id`` is only a hint: verification
uses the public key the verifier was given, never one found in the file.

Streamed signature (``"algorithm": "ed25519-entries-sha256"``), for bundles too large to hold
in memory (a report's appendix of a million DPRs): the same object, but the signature is
ed25519 over the canonical JSON of the object without its ``signature`` member and with
``entries`` replaced by ``{"count": N, "sha256": D}``, where N is the number of entries and
D the lowercase hex SHA-256 of the canonical JSON of the ``entries`` array itself (``[``,
the canonical JSON of each entry separated by ``,``, ``]``; ``[]`` when empty). A writer
hashes each entry as it goes (``faramesh_cloud.signing.stream``); a verifier recomputes N
and D from the entries it reads, so every entry is covered exactly as in the one-shot
form. Member order in the file does not matter (verifiers parse it). Both forms are
``faramesh-cloud/signed-bundle/v1``; ``faramesh-cloud verify-bundle`` checks both.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from faramesh_cloud.signing.canonical import canonical_json
from faramesh_cloud.signing.keys import key_id

FORMAT: Final = "faramesh-cloud/signed-bundle/v1"
SIGNATURE_ALGORITHM: Final = "ed25519"
STREAMED_ALGORITHM: Final = "ed25519-entries-sha256"


class BundleError(ValueError):
    """A file is not a signed bundle; the message says what is wrong."""


def iso_utc(moment: datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SS.ffffffZ``: always UTC, always six fractional digits."""
    if moment.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def build_bundle(*, kind: str, org: Mapping[str, str], entries: Sequence[Mapping[str, Any]],
                 chain: Mapping[str, Any], query: Mapping[str, Any] | None = None,
                 created_at: datetime) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "kind": kind,
        "created_at": iso_utc(created_at),
        "org": dict(org),
        "query": dict(query or {}),
        "entries": [dict(e) for e in entries],
        "chain": dict(chain),
    }


def signed_bytes(bundle: Mapping[str, Any]) -> bytes:
    return canonical_json({k: v for k, v in bundle.items() if k != "signature"})


class EntriesDigest:
    """The ``{"count", "sha256"}`` that stands for ``entries`` under a streamed signature,
    computed one entry at a time (``add`` returns the entry's canonical bytes)."""

    def __init__(self) -> None:
        self._hash = hashlib.sha256(b"[")
        self.count = 0

    def add(self, entry: Any) -> bytes:
        data = canonical_json(entry)
        if self.count:
            self._hash.update(b",")
        self._hash.update(data)
        self.count += 1
        return data

    def summary(self) -> dict[str, Any]:
        final = self._hash.copy()
        final.update(b"]")
        return {"count": self.count, "sha256": final.hexdigest()}


def streamed_signed_bytes(bundle: Mapping[str, Any], entries: Mapping[str, Any]) -> bytes:
    """What a streamed signature covers: ``bundle`` without ``signature``, ``entries`` replaced
    by their ``EntriesDigest.summary()``."""
    return canonical_json({**{k: v for k, v in bundle.items() if k not in ("signature", "entries")},
                           "entries": dict(entries)})


def streamed_signature(bundle: Mapping[str, Any], entries: Mapping[str, Any],
                       key: Ed25519PrivateKey) -> dict[str, Any]:
    """The ``signature`` member of a streamed bundle whose other members are ``bundle``."""
    return {"algorithm": STREAMED_ALGORITHM, "key_id": key_id(key.public_key()),
            "value": base64.b64encode(key.sign(streamed_signed_bytes(bundle, entries))).decode("ascii")}


def check_streamed_signature(bundle: Mapping[str, Any], entries: Mapping[str, Any],
                             public_key: Ed25519PublicKey) -> tuple[bool, str]:
    """(valid, why-not) of a streamed signature, given the digest of the entries as read."""
    return _check(bundle, public_key, STREAMED_ALGORITHM, lambda: streamed_signed_bytes(bundle, entries))


def _entries_summary(bundle: Mapping[str, Any]) -> dict[str, Any]:
    digest = EntriesDigest()
    items = bundle.get("entries")
    for item in items if isinstance(items, list) else []:
        digest.add(item)
    return digest.summary()


def sign_bundle(bundle: Mapping[str, Any], key: Ed25519PrivateKey) -> dict[str, Any]:
    signature = key.sign(signed_bytes(bundle))
    return {**bundle, "signature": {
        "algorithm": SIGNATURE_ALGORITHM,
        "key_id": key_id(key.public_key()),
        "value": base64.b64encode(signature).decode("ascii"),
    }}


@dataclass
class BundleReport:
    kind: str
    entries: int
    signature_ok: bool
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.signature_ok and not self.problems


def check_signature(bundle: Mapping[str, Any], public_key: Ed25519PublicKey) -> tuple[bool, str]:
    """(valid, why-not) for the bundle's signature under ``public_key`` (either form)."""
    signature = bundle.get("signature")
    if isinstance(signature, Mapping) and signature.get("algorithm") == STREAMED_ALGORITHM:
        return _check(bundle, public_key, STREAMED_ALGORITHM,
                      lambda: streamed_signed_bytes(bundle, _entries_summary(bundle)))
    return _check(bundle, public_key, SIGNATURE_ALGORITHM, lambda: signed_bytes(bundle))


def _check(bundle: Mapping[str, Any], public_key: Ed25519PublicKey, algorithm: str,
           covered: Callable[[], bytes]) -> tuple[bool, str]:
    if bundle.get("format") != FORMAT:
        raise BundleError(f"not a signed bundle (format {bundle.get('format')!r}, expected {FORMAT!r})")
    signature = bundle.get("signature")
    if not isinstance(signature, Mapping) or signature.get("algorithm") != algorithm:
        return False, "the bundle has no ed25519 signature"
    try:
        raw = base64.b64decode(str(signature.get("value", "")), validate=True)
    except (binascii.Error, ValueError):
        return False, "the signature value is not base64"
    try:
        public_key.verify(raw, covered())
    except InvalidSignature:
        hint = ""
        if signature.get("key_id") != key_id(public_key):
            hint = (f" (it names key {signature.get('key_id')!r}; the key given is "
                    f"{key_id(public_key)!r}: check you have the right platform's key)")
        return False, "the signature does not match: the bundle was changed after signing, or " \
                      f"was signed by another key{hint}"
    return True, ""
