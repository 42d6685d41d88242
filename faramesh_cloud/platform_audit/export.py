"""Export the platform audit log as a signed bundle, and verify one offline.

The bundle (``faramesh_cloud.signing.bundle``) has ``kind = "platform-audit-log"``, the
entries in their exported form (``AuditEntry.to_json``) oldest first, and ``chain``::

    {"algorithm": "sha256-canonical-json-v1", "genesis_hash": ..., "first_seq": ...,
     "last_seq": ..., "head_seq": ..., "head_hash": ..., "complete": bool}

``head_*`` is the organisation's chain tip when exported; ``complete`` says the entries run
from 1 to the head without a gap (an unfiltered export).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from faramesh_cloud.platform_audit.chain import (
    ALGORITHM,
    BUNDLE_KIND,
    entry_from_json,
    genesis_hash,
    verify_entries,
)
from faramesh_cloud.platform_audit.store import AuditFilter, PlatformAuditLog
from faramesh_cloud.signing.bundle import BundleReport, build_bundle, check_signature, sign_bundle


async def export_bundle(log: PlatformAuditLog, org: Mapping[str, str], where: AuditFilter,
                        key: Ed25519PrivateKey, now: datetime) -> dict[str, Any]:
    """``org`` is ``{"id", "slug", "name"}``; the entries are those ``where`` selects."""
    org_id = org["id"]
    head_seq, head_hash = await log.head(org_id)
    entries = [e for e in await log.entries(org_id, where) if e.seq <= head_seq]
    report = verify_entries(org_id, entries)
    complete = report.complete and (report.last_seq or 0) == head_seq
    chain = {
        "algorithm": ALGORITHM, "genesis_hash": genesis_hash(org_id),
        "first_seq": report.first_seq, "last_seq": report.last_seq,
        "head_seq": head_seq, "head_hash": head_hash, "complete": complete,
    }
    bundle = build_bundle(kind=BUNDLE_KIND, org=org, entries=[e.to_json() for e in entries],
                          chain=chain, query=where.as_query(), created_at=now)
    return sign_bundle(bundle, key)


def verify_bundle(bundle: Mapping[str, Any], public_key: Ed25519PublicKey) -> BundleReport:
    """Signature first; then every entry's hash and the links between consecutive entries."""
    signature_ok, why = check_signature(bundle, public_key)
    raw_entries = bundle.get("entries")
    if not isinstance(raw_entries, list):
        raw_entries = []
    report = BundleReport(kind=str(bundle.get("kind")), entries=len(raw_entries), signature_ok=signature_ok)
    if not signature_ok:
        report.problems.append(why)
    if bundle.get("kind") != BUNDLE_KIND:
        report.problems.append(f"kind {bundle.get('kind')!r} is not {BUNDLE_KIND!r}")
        return report
    org = bundle.get("org")
    org_id = str(org.get("id")) if isinstance(org, Mapping) else ""
    entries = []
    for index, raw in enumerate(raw_entries):
        try:
            entries.append(entry_from_json(raw))
        except ValueError as exc:
            report.problems.append(f"entries[{index}]: {exc}")
    chain_report = verify_entries(org_id, entries)
    report.problems += chain_report.problems
    chain = bundle.get("chain") if isinstance(bundle.get("chain"), Mapping) else {}
    assert isinstance(chain, Mapping)
    if chain.get("complete"):
        if not chain_report.complete:
            report.problems.append("the bundle says it is complete but entries are missing")
        elif chain_report.last_seq != chain.get("head_seq") or (
                chain_report.head_hash or genesis_hash(org_id)) != chain.get("head_hash"):
            report.problems.append("the last entry is not the chain head the bundle names")
    else:
        report.notes.append("a filtered export: each entry and each link between consecutive entries "
                            "was checked, entries outside the selection were not")
    return report
