"""Server-side re-verification of one stored DPR for the explain view's Verify button: the
record hash recomputed from the stored bytes, the link to the previous record of the agent's
chain (or the genesis hash), the next record's link to this one, the Ed25519 signature, and
whether the signer is pinned for the stack (yes / no / the stack has no pins)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from faramesh_cloud.dpr.canonical import (
    DprFormatError,
    canonical_bytes,
    genesis_prev_hash,
    hash_bytes,
    parse_record,
)
from faramesh_cloud.dpr.signatures import SignatureStatus, check_ed25519


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    ok: bool | None  # None: not applicable / cannot be checked here
    message: str


def verify_record(raw: str, agent_id: str, chain_index: int | None, prev: Any | None, nxt: Any | None,
                  pinned: Collection[str] | None = None, checkpoint: Any | None = None) -> list[Check]:
    """``pinned``: the stack's unrevoked pinned signing keys (None or empty: no pins).
    ``checkpoint``: the agent chain's retention checkpoint, if retention removed its earlier
    records (the first record after it links to the checkpoint's hash)."""
    data = raw.encode("utf-8")
    try:
        record = parse_record(data)
        canonical = canonical_bytes(record, data)
    except (DprFormatError, ValueError) as exc:
        return [Check("hash", False, f"the stored bytes are not a well-formed DPR: {exc}")]
    stored_hash = str(record.get("record_hash") or "")
    computed = hash_bytes(canonical)
    checks = [Check("hash", computed == stored_hash,
                    f"SHA-256 of the canonical bytes is {computed}"
                    + ("; it matches record_hash" if computed == stored_hash else f"; record_hash says {stored_hash}"))]
    prev_hash = str(record.get("prev_record_hash") or "")
    if prev_hash == genesis_prev_hash(agent_id):
        checks.append(Check("link", True, "first record of the agent's chain: prev_record_hash is the genesis hash"))
    elif (prev is None and checkpoint is not None and checkpoint.record_hash == prev_hash
          and chain_index == checkpoint.chain_index + 1):
        checks.append(Check("link", True, f"prev_record_hash is the hash of the chain's retention checkpoint "
                            f"{checkpoint.chain_index} (record {checkpoint.record_id}, removed by retention on "
                            f"{checkpoint.removed_on.astimezone(UTC).date().isoformat()}; the checkpoint is signed with the "
                            f"platform key {checkpoint.key_id})"))
    elif prev is not None:
        ok = prev.record_hash == prev_hash and _recomputes(prev.raw, prev.record_hash)
        checks.append(Check("link", ok, f"prev_record_hash links to record {prev.record_id}"
                            + (", whose stored bytes hash to it" if ok else ", but its bytes do not hash to it")))
    else:
        checks.append(Check("link", False, f"no record with hash {prev_hash} on this agent's chain in the index "
                            "(a gap: records are missing before this one)"
                            if chain_index != 0 else "first record here, but prev_record_hash is not the genesis hash"))
    if nxt is not None:
        checks.append(Check("next", nxt.prev_record_hash == stored_hash,
                            f"record {nxt.record_id} links back to this record's hash"))
    else:
        checks.append(Check("next", None, "no later record links to this one yet (the chain's tip)"))
    status = check_ed25519(record, canonical)
    if status is SignatureStatus.UNSIGNED:
        hmac_only = bool(record.get("hmac_signature"))
        checks.append(Check("signature", None, "HMAC-signed with the daemon's local key: Cloud cannot check it"
                            if hmac_only else "the record carries no Ed25519 signature"))
    else:
        checks.append(Check("signature", status is SignatureStatus.VALID,
                            f"Ed25519 signature over the canonical bytes by the embedded key: {status.value}"))
        signer = record.get("signer_public_key")
        if not pinned:
            checks.append(Check("pinned", None, "signer pinned for this stack: no pins (any signer is accepted; "
                                "pin the stack's keys under Settings → Stacks)"))
        elif signer in pinned:
            checks.append(Check("pinned", True, "signer pinned for this stack: yes"))
        else:
            checks.append(Check("pinned", False, "signer pinned for this stack: no (an untrusted signer)"))
    return checks


def _recomputes(raw: str, record_hash: str) -> bool:
    data = raw.encode("utf-8")
    try:
        return hash_bytes(canonical_bytes(parse_record(data), data)) == record_hash
    except (DprFormatError, ValueError):
        return False
