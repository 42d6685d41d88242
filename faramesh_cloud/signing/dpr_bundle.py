"""DPR search exports as signed bundles (``kind = "dpr-search-export"``), and their offline check.

Each entry carries the record's exact bytes (``raw``, the JSON the daemon wrote), its
``record_hash``, ``prev_record_hash`` and chain position (``stack_id``, ``agent_id``,
``chain_index``). Entries are ordered by stack, agent and chain position, so a verifier
checks, besides the bundle signature, every record's hash recomputed from ``raw`` and the
link between consecutive records of one agent wherever the bundle holds both.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from faramesh_cloud.dpr.canonical import DprFormatError, canonical_bytes, hash_bytes, parse_record
from faramesh_cloud.signing.bundle import BundleReport, check_signature

KIND: Final = "dpr-search-export"
HASH_ALGORITHM: Final = "sha256-dpr-canonical"


def entry(record: Any) -> dict[str, Any]:
    """The export form of one stored record (``record_id``, ``record_hash``, ``raw``, ...)."""
    return {"stack_id": record.stack_id, "agent_id": record.agent_id, "record_id": record.record_id,
            "created_at": record.created_at, "chain_index": record.chain_index,
            "link_status": record.link_status, "record_hash": record.record_hash,
            "prev_record_hash": record.prev_record_hash, "raw": record.raw}


def chain_facts(entries: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    agents = {(e["stack_id"], e["agent_id"]) for e in entries}
    return {"hash_algorithm": HASH_ALGORITHM, "records": len(entries), "agent_chains": len(agents),
            "order": "stack_id, agent_id, chain_index"}


def _check_entry(i: int, item: Any, problems: list[str]) -> dict[str, Any] | None:
    if not isinstance(item, Mapping) or not isinstance(item.get("raw"), str):
        problems.append(f"entry {i}: not a DPR export entry (no 'raw' text)")
        return None
    data = item["raw"].encode("utf-8")
    try:
        record = parse_record(data)
        computed = hash_bytes(canonical_bytes(record, data))
    except (DprFormatError, ValueError) as exc:
        problems.append(f"entry {i} ({item.get('record_id')}): raw is not a DPR: {exc}")
        return None
    if computed != record.get("record_hash") or computed != item.get("record_hash"):
        problems.append(f"entry {i} ({item.get('record_id')}): hash mismatch: the raw bytes hash to {computed}, "
                        f"the record says {record.get('record_hash')}, the entry says {item.get('record_hash')}")
    if record.get("record_id") != item.get("record_id") or record.get("agent_id") != item.get("agent_id"):
        problems.append(f"entry {i}: record_id/agent_id of the entry differ from its raw record")
    return record


def verify_dpr_bundle(bundle: Mapping[str, Any], public_key: Ed25519PublicKey) -> BundleReport:
    signature_ok, why = check_signature(bundle, public_key)
    items = bundle.get("entries")
    items = items if isinstance(items, list) else []
    report = BundleReport(kind=str(bundle.get("kind")), entries=len(items), signature_ok=signature_ok)
    if not signature_ok:
        report.problems.append(why)
    links = 0
    previous: tuple[Any, Any, int | None, str] | None = None  # (stack, agent, chain_index, record_hash)
    for i, item in enumerate(items):
        record = _check_entry(i, item, report.problems)
        if record is None:
            previous = None
            continue
        index = item.get("chain_index")
        here = (item.get("stack_id"), item.get("agent_id"), index if isinstance(index, int) else None,
                str(record.get("record_hash")))
        if (previous is not None and previous[:2] == here[:2] and previous[2] is not None
                and here[2] is not None and here[2] == previous[2] + 1):
            links += 1
            if record.get("prev_record_hash") != previous[3]:
                report.problems.append(
                    f"entry {i} ({item.get('record_id')}): broken link: prev_record_hash "
                    f"{record.get('prev_record_hash')} is not the hash of chain position {previous[2]} ({previous[3]})")
        previous = here
    report.notes.append(f"{len(items)} record hashes recomputed from their raw bytes; {links} chain links "
                        "checked between consecutive records of an agent")
    return report
