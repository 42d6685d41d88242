"""The chain-integrity projection, pure: a batch of records plus the stored chain state in,
link statuses, findings and the new chain state out.

Link classification is the kernel's ``ChainVerifier`` (``faramesh_cloud.dpr.chain``), run
over each agent's chain with its state seeded from what PostgreSQL stores: the tip, the
length and segment count, and the part of the agent's "seen" set this batch can touch (the
stored hashes equal to a record hash or a prev hash in the batch). That is exactly what the
verifier reads, so a batch verified against stored state classifies every record as one
verifier run over the whole stream would. The record hash was computed and signatures were
checked once by the processor; the verifier reuses the hash, and signature results become
findings here without being checked again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from faramesh_cloud.audit_index.domain import (
    LINK_KINDS,
    ChainFinding,
    IndexedRecord,
    LinkStatus,
    severity_of,
)
from faramesh_cloud.dpr.canonical import genesis_prev_hash
from faramesh_cloud.dpr.chain import AgentChain, ChainVerifier, FindingKind, seen_key
from faramesh_cloud.dpr.signatures import SignatureStatus

ChainKey = tuple[str, str, str]  # (org_id, stack_id, agent_id)

_SIGNATURE_FINDINGS = {
    SignatureStatus.INVALID: (FindingKind.BAD_SIGNATURE,
                              "Ed25519 signature does not verify over the canonical bytes"),
    SignatureStatus.UNTRUSTED: (FindingKind.UNTRUSTED_SIGNER,
                                "Ed25519 signature is valid but by a key not pinned for this stack"),
}


@dataclass(slots=True)
class AgentState:
    """What PostgreSQL keeps per (org, stack, agent) chain."""

    tip_hash: str
    tip_record_id: str
    chain_length: int
    segments: int
    last_lamport: int
    first_created_at: str
    last_created_at: str
    last_verified_ns: int


@dataclass(slots=True)
class ChainLink:
    """A record that joined its agent's chain (duplicates never do)."""

    key: ChainKey
    record_hash: str
    record_id: str
    chain_index: int


@dataclass(slots=True)
class ChainOutcome:
    link_status: list[LinkStatus]  # one per input record, same order
    findings: list[ChainFinding] = field(default_factory=list)
    agents: dict[ChainKey, AgentState] = field(default_factory=dict)  # every chain touched
    links: list[ChainLink] = field(default_factory=list)


def lookup_hashes(records: Sequence[IndexedRecord],
                  agents: Mapping[ChainKey, AgentState] | None = None) -> dict[ChainKey, set[str]]:
    """Per chain, the hashes whose stored positions the projection needs to know: each
    record's own (is it a repeat?) and its predecessor's (a broken link or a gap?).

    With ``agents`` (the batch's chains as stored, locked), the records that extend their
    chain's tip are left out: a record whose predecessor is its chain's tip, as is every
    record of its chain before it in the batch (log order). ``ChainVerifier.add`` looks up no
    predecessor that is the tip, and such a record's own hash can be a stored member of its
    chain only if the chain held it before the tip (a record delivered ahead of its
    predecessor, then again). Then ``project`` links it once more, and saving it as a new
    member violates the members' primary key: the caller rolls back and asks again without
    ``agents``, so the outcome is exactly the one every hash looked up gives. In steady
    traffic every record extends its tip and the batch looks up nothing."""
    wanted: dict[ChainKey, set[str]] = {}
    tips: dict[ChainKey, str] = {}
    if agents is not None:
        tips = {key: state.tip_hash for key, state in agents.items() if state.chain_length > 0 and state.tip_hash}
    for rec in records:
        key = rec.chain_key
        hashes = wanted.setdefault(key, set())
        meta = rec.meta
        tip = tips.get(key)
        if tip is not None and meta.prev_record_hash == tip and meta.record_hash:
            tips[key] = meta.record_hash
            continue
        tips.pop(key, None)  # its tip is unknown from here on: the rest of the chain looks up
        hashes.add(meta.record_hash)
        hashes.add(meta.prev_record_hash)
    return wanted


def _seed(agent_id: str, state: AgentState | None, seen: Mapping[str, int]) -> AgentChain:
    chain = AgentChain(agent_id, genesis_prev_hash(agent_id), seen={seen_key(h): i for h, i in seen.items()})
    if state is not None and state.chain_length > 0:
        chain.tip = state.tip_hash
        chain.length = state.chain_length
        chain.segments = state.segments
        chain.first_index = 0
        chain.last_index = state.chain_length - 1
        chain.last_lamport = state.last_lamport
        chain.last_record_id = state.tip_record_id
        chain.first_created_at = state.first_created_at
        chain.last_created_at = state.last_created_at
    return chain


def project(
    records: Sequence[IndexedRecord],
    agents: Mapping[ChainKey, AgentState],
    seen: Mapping[ChainKey, Mapping[str, int]],
) -> ChainOutcome:
    """Place ``records`` (in log order) on their agents' chains.

    ``agents``: stored state of the chains involved (absent = a chain not seen yet).
    ``seen``: per chain, stored ``record_hash -> chain index`` for at least the hashes
    ``lookup_hashes(records)`` names.
    """
    verifiers: dict[tuple[str, str], ChainVerifier] = {}
    verified_ns: dict[ChainKey, int] = {}
    outcome = ChainOutcome(link_status=[])
    for rec in records:
        key = rec.chain_key
        verifier = verifiers.get(key[:2])
        if verifier is None:
            verifier = verifiers[key[:2]] = ChainVerifier(check_signatures=False)
        chain = verifier.chains.get(rec.agent_id)
        if chain is None:
            chain = verifier.chains[rec.agent_id] = _seed(rec.agent_id, agents.get(key), seen.get(key, {}))
        index = chain.length
        before = len(verifier.findings)
        result = verifier.add(rec.meta, index, rec.log_position, computed_hash=rec.computed_hash)
        kinds = [(f.kind, f.message) for f in verifier.findings[before:]]
        if result is None:
            outcome.link_status.append(LinkStatus.UNCHECKED)
        else:
            outcome.link_status.append(_link_status(kinds))
            if not result.duplicate:
                outcome.links.append(ChainLink(key, rec.record_hash, rec.record_id, index))
                signature = _SIGNATURE_FINDINGS.get(rec.signature_status)
                if signature is not None:
                    kinds.append(signature)
        outcome.findings.extend(_finding(rec, kind, message, index) for kind, message in kinds)
        verified_ns[key] = max(verified_ns.get(key, 0), rec.received_ns)
    for (org_id, stack_id), verifier in verifiers.items():
        for agent_id, chain in verifier.chains.items():
            key = (org_id, stack_id, agent_id)
            previous = agents.get(key)
            outcome.agents[key] = AgentState(
                tip_hash=chain.tip or "",
                tip_record_id=chain.last_record_id,
                chain_length=chain.length,
                segments=chain.segments,
                last_lamport=chain.last_lamport,
                first_created_at=chain.first_created_at,
                last_created_at=chain.last_created_at,
                last_verified_ns=max(verified_ns.get(key, 0), previous.last_verified_ns if previous else 0),
            )
    return outcome


def _link_status(kinds: list[tuple[FindingKind, str]]) -> LinkStatus:
    if kinds:
        found = {kind for kind, _ in kinds}
        for kind, status in LINK_KINDS.items():  # in precedence order
            if kind in found:
                return status
    return LinkStatus.LINKED


def _finding(rec: IndexedRecord, kind: FindingKind, message: str, index: int) -> ChainFinding:
    return ChainFinding(
        org_id=rec.org_id,
        stack_id=rec.stack_id,
        agent_id=rec.agent_id,
        record_id=rec.record_id,
        record_hash=rec.record_hash,
        kind=kind.value,
        severity=severity_of(kind.value),
        message=message,
        chain_index=index,
        log_position=rec.log_position,
        record_created_at=rec.meta.created_at,
        detected_ns=rec.received_ns,
    )
