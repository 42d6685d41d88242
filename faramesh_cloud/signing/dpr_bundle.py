"""DPR search exports as signed bundles (``kind = "dpr-search-export"``), and their offline check.

Each entry carries the record's exact bytes (``raw``, the JSON the daemon wrote), its
``record_hash``, ``prev_record_hash`` and chain position (``stack_id``, ``agent_id``,
``chain_index``). Entries are ordered by stack, agent and chain position, so a verifier
checks, besides the bundle signature, every record's hash recomputed from ``raw`` and the
link between consecutive records of one agent wherever the bundle holds both.

A compliance report's appendix is such a bundle written with the streamed signature
(``bundle.py``, ``stream.py``); ``verify_dpr_bundle_stream`` checks one in bounded memory.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import IO, Any, Final

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from faramesh_cloud.dpr.canonical import DprFormatError, canonical_bytes, hash_bytes, parse_record
from faramesh_cloud.signing.bundle import (
    FORMAT,
    STREAMED_ALGORITHM,
    BundleError,
    BundleReport,
    EntriesDigest,
    check_signature,
    check_streamed_signature,
)
from faramesh_cloud.signing.stream import read_bundle

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


class EntryChecker:
    """Checks DPR export entries one at a time, in file order: each record's hash from its raw
    bytes, and the link to the previous entry when it is the same agent's previous position.
    Keeps only the last entry and each agent chain's head (last entry seen)."""

    def __init__(self) -> None:
        self.problems: list[str] = []
        self.count = 0
        self.links = 0
        self.heads: dict[tuple[str, str], tuple[int | None, str]] = {}  # (stack, agent) -> (index, hash)
        self._previous: tuple[Any, Any, int | None, str] | None = None  # (stack, agent, chain_index, hash)

    def add(self, item: Any) -> None:
        i = self.count
        self.count += 1
        record = _check_entry(i, item, self.problems)
        if record is None:
            self._previous = None
            return
        index = item.get("chain_index")
        here = (item.get("stack_id"), item.get("agent_id"), index if isinstance(index, int) else None,
                str(record.get("record_hash")))
        previous = self._previous
        if (previous is not None and previous[:2] == here[:2] and previous[2] is not None
                and here[2] is not None and here[2] == previous[2] + 1):
            self.links += 1
            if record.get("prev_record_hash") != previous[3]:
                self.problems.append(
                    f"entry {i} ({item.get('record_id')}): broken link: prev_record_hash "
                    f"{record.get('prev_record_hash')} is not the hash of chain position {previous[2]} ({previous[3]})")
        self.heads[(str(here[0]), str(here[1]))] = (here[2], here[3])
        self._previous = here

    def note(self) -> str:
        return (f"{self.count} record hashes recomputed from their raw bytes; {self.links} chain links "
                "checked between consecutive records of an agent")


def verify_dpr_bundle(bundle: Mapping[str, Any], public_key: Ed25519PublicKey) -> BundleReport:
    signature_ok, why = check_signature(bundle, public_key)
    items = bundle.get("entries")
    items = items if isinstance(items, list) else []
    report = BundleReport(kind=str(bundle.get("kind")), entries=len(items), signature_ok=signature_ok)
    if not signature_ok:
        report.problems.append(why)
    checker = EntryChecker()
    for item in items:
        checker.add(item)
    report.problems.extend(checker.problems)
    report.notes.append(checker.note())
    return report


@dataclass
class StreamedDprReport:
    """What ``verify_dpr_bundle_stream`` found: the report, the bundle's members but
    ``entries``, and the head (chain index, record hash) of each (stack, agent) chain in it."""

    report: BundleReport
    members: dict[str, Any]
    heads: dict[tuple[str, str], tuple[int | None, str]]


def verify_dpr_bundle_stream(source: IO[str], public_key: Ed25519PublicKey) -> StreamedDprReport:
    """Verify a DPR bundle read as a stream (bounded memory): it must carry the streamed
    signature (``ed25519-entries-sha256``); raises ``BundleError`` when it is not a bundle."""
    checker = EntryChecker()
    digest = EntriesDigest()
    members: dict[str, Any] = {}
    for event, key, value in read_bundle(source):
        if event == "entry":
            digest.add(value)
            checker.add(value)
        else:
            members[key] = value
    if members.get("format") != FORMAT:
        raise BundleError(f"not a signed bundle (format {members.get('format')!r}, expected {FORMAT!r})")
    signature = members.get("signature")
    if isinstance(signature, Mapping) and signature.get("algorithm") == STREAMED_ALGORITHM:
        signature_ok, why = check_streamed_signature(members, digest.summary(), public_key)
    else:
        signature_ok, why = False, f"the bundle is not signed with {STREAMED_ALGORITHM} (streamed form)"
    report = BundleReport(kind=str(members.get("kind")), entries=checker.count, signature_ok=signature_ok)
    if not signature_ok:
        report.problems.append(why)
    if members.get("kind") != KIND:
        report.problems.append(f"the bundle is a {members.get('kind')!r}, not a {KIND!r}")
    report.problems.extend(checker.problems)
    report.notes.append(checker.note())
    return StreamedDprReport(report, members, checker.heads)
