"""Per-agent chain verification that reports every finding and never stops at the first.

Intended semantics of the daemon's ``WAL.ReplayValidated`` (FARAMESH_FORMATS 1.6, 1.14):
one chain per ``agent_id`` from the genesis hash, each ``prev_record_hash`` equal to the
previous record's ``record_hash`` in arrival order. On top of the daemon's check this
verifier dedupes exact repeats, tells a gap (link to a record never seen) from a broken link
(link to an earlier record) and from a re-genesis, checks signatures, and keeps going: a
record with a bad hash still advances the tip to its stored hash, because that is what its
successor links to.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from faramesh_cloud.dpr.canonical import DprFormatError, canonical_bytes, genesis_prev_hash, hash_bytes
from faramesh_cloud.dpr.cascade import CascadeChecker
from faramesh_cloud.dpr.signatures import SignatureStatus, check_ed25519, check_hmac


class FindingKind(StrEnum):
    RECORD_HASH_MISMATCH = "record_hash_mismatch"
    BROKEN_LINK = "broken_link"
    GAP = "gap"
    INVALID_GENESIS = "invalid_genesis"
    REGENESIS = "regenesis"
    DUPLICATE = "duplicate_record"
    BAD_SIGNATURE = "bad_signature"
    UNTRUSTED_SIGNER = "untrusted_signer"
    BAD_HMAC = "bad_hmac"
    MALFORMED = "malformed_record"
    CASCADE = "cascade_invalid"
    WAL_CORRUPT = "wal_corrupt"


@dataclass(frozen=True, slots=True)
class Finding:
    kind: FindingKind
    agent_id: str
    record_id: str
    index: int  # 0-based position of the record in the input
    where: str  # human position: "line 3", "byte offset 2218"
    message: str


@dataclass(slots=True)
class AgentChain:
    """What the verifier knows of one agent's chain."""

    agent_id: str
    genesis: str
    tip: str | None = None
    length: int = 0
    segments: int = 0
    first_index: int = -1
    last_index: int = -1
    last_lamport: int = 0
    last_record_id: str = ""
    first_created_at: str = ""
    last_created_at: str = ""
    signatures: dict[str, int] = field(default_factory=dict)
    findings: int = 0
    seen: dict[str, int] = field(default_factory=dict)  # record_hash -> index


@dataclass(frozen=True, slots=True)
class RecordResult:
    record_hash_valid: bool
    ed25519: SignatureStatus
    hmac: SignatureStatus | None
    duplicate: bool


class ChainVerifier:
    def __init__(
        self,
        *,
        check_signatures: bool = True,
        trusted_keys: Collection[str] | None = None,
        hmac_key: bytes | None = None,
    ) -> None:
        self._check_signatures = check_signatures
        self._trusted = trusted_keys
        self._hmac_key = hmac_key
        self.chains: dict[str, AgentChain] = {}
        self.findings: list[Finding] = []
        self.records = 0
        self._cascade = CascadeChecker()

    def _find(self, kind: FindingKind, rec: Mapping[str, Any], index: int, where: str, msg: str) -> None:
        agent = str(rec.get("agent_id", ""))
        self.findings.append(Finding(kind, agent, str(rec.get("record_id", "")), index, where, msg))
        chain = self.chains.get(agent)
        if chain is not None:
            chain.findings += 1

    def malformed(self, index: int, where: str, message: str) -> None:
        """Report an input item that is not a DPR at all."""
        self.findings.append(Finding(FindingKind.MALFORMED, "", "", index, where, message))

    def add(self, rec: Mapping[str, Any], index: int, where: str = "") -> RecordResult | None:
        """Verify one record in arrival order. Returns None when it is not a usable DPR."""
        where = where or f"record {index}"
        try:
            canonical = canonical_bytes(rec)
        except DprFormatError as exc:
            self.malformed(index, where, f"not a DPR: {exc}")
            return None
        agent = rec.get("agent_id")
        stored = rec.get("record_hash")
        prev = rec.get("prev_record_hash")
        if not (isinstance(agent, str) and agent and isinstance(stored, str) and isinstance(prev, str)):
            self.malformed(index, where, "not a DPR: agent_id, record_hash and prev_record_hash are required strings")
            return None
        self.records += 1
        chain = self.chains.get(agent)
        if chain is None:
            chain = self.chains[agent] = AgentChain(agent, genesis_prev_hash(agent))
        computed = hash_bytes(canonical)
        hash_ok = computed == stored
        if not hash_ok:
            self._find(FindingKind.RECORD_HASH_MISMATCH, rec, index, where,
                       f"record_hash {stored} does not match the recomputed {computed}: a hashed field was changed")
        if stored in chain.seen:
            self._find(FindingKind.DUPLICATE, rec, index, where,
                       f"repeat of the record at index {chain.seen[stored]} (same record_hash); "
                       "not counted again in the chain")
            return RecordResult(hash_ok, SignatureStatus.UNSIGNED, None, True)
        self._link(chain, rec, prev, index, where)

        chain.tip = stored
        chain.seen[stored] = index
        chain.length += 1
        if chain.first_index < 0:
            chain.first_index = index
            chain.first_created_at = str(rec.get("created_at", ""))
        chain.last_index = index
        chain.last_record_id = str(rec.get("record_id", ""))
        chain.last_created_at = str(rec.get("created_at", ""))
        lamport = rec.get("lamport_seq")
        if isinstance(lamport, int):
            chain.last_lamport = lamport

        ed = SignatureStatus.UNSIGNED
        mac: SignatureStatus | None = None
        if self._check_signatures:
            ed = check_ed25519(rec, canonical, self._trusted)
            chain.signatures[ed.value] = chain.signatures.get(ed.value, 0) + 1
            if ed is SignatureStatus.INVALID:
                self._find(FindingKind.BAD_SIGNATURE, rec, index, where,
                           "Ed25519 signature does not verify over the canonical bytes")
            elif ed is SignatureStatus.UNTRUSTED:
                self._find(FindingKind.UNTRUSTED_SIGNER, rec, index, where,
                           f"signed by {rec.get('signer_public_key')}, which is not a trusted key")
            if self._hmac_key is not None:
                mac = check_hmac(rec, self._hmac_key)
                if mac is SignatureStatus.INVALID:
                    self._find(FindingKind.BAD_HMAC, rec, index, where, "hmac_signature does not verify")
        self._cascade.add(rec, index)
        return RecordResult(hash_ok, ed, mac, False)

    def _link(self, chain: AgentChain, rec: Mapping[str, Any], prev: str, index: int, where: str) -> None:
        if chain.tip is None:
            chain.segments = 1
            if prev != chain.genesis:
                self._find(FindingKind.INVALID_GENESIS, rec, index, where,
                           f"first record of agent {chain.agent_id!r} has prev_record_hash {prev}, "
                           f"want the genesis hash {chain.genesis}")
            return
        if prev == chain.tip:
            return
        if prev == chain.genesis:
            chain.segments += 1
            self._find(FindingKind.REGENESIS, rec, index, where,
                       "chain restarts from genesis mid-stream (daemon restart without a store, or WAL compaction)")
        elif prev in chain.seen:
            self._find(FindingKind.BROKEN_LINK, rec, index, where,
                       f"prev_record_hash links to the record at index {chain.seen[prev]}, not to the "
                       f"previous record {chain.tip}")
        else:
            hint = ""
            lamport = rec.get("lamport_seq")
            if isinstance(lamport, int) and chain.last_lamport and lamport > chain.last_lamport + 1:
                hint = f"; lamport_seq jumps {chain.last_lamport} -> {lamport}, so {lamport - chain.last_lamport - 1} record(s) are missing"
            self._find(FindingKind.GAP, rec, index, where,
                       f"prev_record_hash {prev} is no record seen; want {chain.tip}{hint}")

    def finish(self) -> list[Finding]:
        """Run the whole-input checks (cascade) and return every finding, in input order."""
        for issue in self._cascade.finish():
            self.findings.append(Finding(FindingKind.CASCADE, issue.agent_id, issue.record_id,
                                         issue.index, f"record {issue.index}", issue.message))
        self.findings.sort(key=lambda f: f.index)
        return self.findings


def verify_records(records: Iterable[Mapping[str, Any]], **options: Any) -> ChainVerifier:
    """Convenience: verify an in-memory sequence of parsed records."""
    verifier = ChainVerifier(**options)
    for index, rec in enumerate(records):
        verifier.add(rec, index)
    verifier.finish()
    return verifier
