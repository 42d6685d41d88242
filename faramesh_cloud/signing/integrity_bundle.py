"""Standalone chain-integrity certificates as signed bundles (``kind = "integrity-certificate"``).

What Cloud certifies about each agent chain of the chosen stacks over a range, signed by the
platform key, without the records themselves (a report carries those as its appendix): one
entry per (stack, agent) chain with the records in the range, the first and last of them
(id, hash, chain position), how their hashes and signatures verified, the whole chain's
length, segments and tip, when Cloud last verified it, and the findings about records of the
range (kind, severity, record, message). ``chain`` totals them. ``verify-bundle`` checks the
signature and that the entries are well formed and add up to the totals.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from faramesh_cloud.signing.bundle import BundleReport, check_signature

KIND: Final = "integrity-certificate"
ENTRY_KEYS: Final = ("stack_id", "agent_id", "records", "first", "head", "invalid_hashes", "signatures",
                     "chain_length", "segments", "tip_hash", "verified_at", "findings", "intact")


def chain_facts(entries: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    return {"agent_chains": len(entries), "records": sum(int(e["records"]) for e in entries),
            "chains_with_findings": sum(1 for e in entries if e["findings"]),
            "findings": sum(len(e["findings"]) for e in entries),
            "intact": all(bool(e["intact"]) for e in entries)}


def verify_integrity_bundle(bundle: Mapping[str, Any], public_key: Ed25519PublicKey) -> BundleReport:
    ok, why = check_signature(bundle, public_key)
    items = bundle.get("entries")
    items = items if isinstance(items, list) else []
    report = BundleReport(KIND, len(items), ok)
    if not ok:
        report.problems.append(why)
    for i, item in enumerate(items):
        missing = [k for k in ENTRY_KEYS if not isinstance(item, Mapping) or k not in item]
        if missing:
            report.problems.append(f"entry {i}: not a chain certificate (missing {', '.join(missing)})")
    if report.problems:
        return report
    stated = bundle.get("chain")
    if not isinstance(stated, Mapping) or dict(stated) != chain_facts(items):
        report.problems.append("the totals in 'chain' do not add up to the entries")
    else:
        report.notes.append(f"{stated['agent_chains']} agent chains, {stated['records']} records, "
                            f"{stated['findings']} findings; "
                            + ("every chain intact" if stated["intact"] else "NOT every chain is intact"))
    return report
