"""What the audit index stores: one row per distinct DPR, and the chain findings about it.

Pure data: no I/O. ``IndexedRecord`` is the processor's output (one per message) and the
sink's input; the sink adds what only the chain state can tell (``LinkStatus``) and the
per-organisation live-tail sequence.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import msgspec

from faramesh_cloud.dpr.chain import FindingKind
from faramesh_cloud.dpr.meta import RecordMeta
from faramesh_cloud.dpr.signatures import SignatureStatus

# The one projection name under which the sink stores its consumed log position.
PROJECTION = "audit-index"
# The chain verifier's (issue 18: group ``audit-verifier``); its positions are the watermark
# below which a row is checked (``verification_state``).
VERIFIER_PROJECTION = "audit-verifier"
# Whose committed positions the reads take as "checked" (the watermark below which a row is
# no longer ``verifying``): the chain verifier's (the one switch: every reader defaults to it).
CHECKED_BY = VERIFIER_PROJECTION


class LinkStatus(StrEnum):
    """How a record's ``prev_record_hash`` relates to its agent's chain when it arrived."""

    LINKED = "linked"  # links to the agent's tip, or is a first record with the genesis hash
    GAP = "gap"  # links to a record never seen: records are missing before it
    BROKEN_LINK = "broken_link"  # links to an earlier record of the chain, not the tip
    INVALID_GENESIS = "invalid_genesis"  # first record of the agent, prev is not the genesis hash
    REGENESIS = "regenesis"  # restarts from genesis mid-chain (daemon compaction or restart)
    DUPLICATE = "duplicate"  # same record_hash as a record already in the chain
    UNCHECKED = "unchecked"  # the chain verifier could not place it (never expected)


class SignatureKind(StrEnum):
    NONE = "none"
    ED25519 = "ed25519"
    HMAC = "hmac"  # daemon-local key: Cloud cannot check it


class Severity(StrEnum):
    CRITICAL = "critical"  # raises an audit alert
    WARNING = "warning"
    INFO = "info"


# Link findings, in the order that decides a record's LinkStatus when several apply.
LINK_KINDS: dict[FindingKind, LinkStatus] = {
    FindingKind.DUPLICATE: LinkStatus.DUPLICATE,
    FindingKind.INVALID_GENESIS: LinkStatus.INVALID_GENESIS,
    FindingKind.REGENESIS: LinkStatus.REGENESIS,
    FindingKind.BROKEN_LINK: LinkStatus.BROKEN_LINK,
    FindingKind.GAP: LinkStatus.GAP,
}

# A hash mismatch, a link that does not hold, a signature that does not verify, or a WAL
# damaged before its end (``wal_problems.py``) is evidence of tampering or loss: a critical alert. A re-genesis is what daemon compaction
# does (FARAMESH_FORMATS 1.6.4); a byte-identical repeat is what at-least-once delivery does.
SEVERITY: dict[FindingKind, Severity] = {
    FindingKind.RECORD_HASH_MISMATCH: Severity.CRITICAL,
    FindingKind.BROKEN_LINK: Severity.CRITICAL,
    FindingKind.GAP: Severity.CRITICAL,
    FindingKind.INVALID_GENESIS: Severity.CRITICAL,
    FindingKind.BAD_SIGNATURE: Severity.CRITICAL,
    FindingKind.UNTRUSTED_SIGNER: Severity.CRITICAL,
    FindingKind.WAL_CORRUPT: Severity.CRITICAL,
    FindingKind.REGENESIS: Severity.WARNING,
    FindingKind.DUPLICATE: Severity.INFO,
}


def severity_of(kind: str) -> Severity:
    try:
        return SEVERITY.get(FindingKind(kind), Severity.WARNING)
    except ValueError:
        return Severity.WARNING


class IndexedRecord(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """One DPR message, verified on its own (hash, signature) and ready to index.

    A frozen msgspec struct: one is built per DPR on the index's hot path, and its C
    ``__init__`` costs about a quarter of a frozen dataclass's 31 ``object.__setattr__``
    calls; it holds no cycles, so the garbage collector does not track it."""

    # Where it sits on the log.
    topic: str
    partition: int
    offset: int
    # Origin, from the log headers (tenancy never comes from the record body).
    org_id: str
    stack_id: str
    source: str
    origin_seq: int
    origin_buffer: str
    received_ns: int
    # The record.
    raw: str  # the record's JSON exactly as the daemon wrote it (valid UTF-8)
    content_sha256: str  # hex SHA-256 of ``raw``: the row's identity with org/stack/agent/id
    meta: RecordMeta  # or the kernel's one-decode ``RecordView`` (the same attributes and more)
    created_ns: int
    session_id: str
    tool_id: str
    action_type: str
    effect: str
    matched_rule_id: str
    reason_code: str
    reason: str
    intercept_adapter: str
    policy_version: str
    incident_severity: str
    schema_version: str
    # Verification of the record on its own.
    computed_hash: str  # SHA-256 of the canonical bytes (the chain projection reuses it)
    hash_valid: bool
    signature_status: SignatureStatus
    signature_kind: SignatureKind
    # The pin history generation ``signature_status`` was checked under (-1: none); the sink
    # re-checks a record whose stack's pins changed since (``trust.py``).
    trust_generation: int = -1

    @property
    def agent_id(self) -> str:
        return self.meta.agent_id

    @property
    def record_id(self) -> str:
        return self.meta.record_id

    @property
    def record_hash(self) -> str:
        return self.meta.record_hash

    @property
    def chain_key(self) -> tuple[str, str, str]:
        return (self.org_id, self.stack_id, self.meta.agent_id)

    @property
    def identity(self) -> tuple[str, str, str, str, str]:
        """Two messages with the same identity are the same row of the index."""
        return (self.org_id, self.stack_id, self.meta.agent_id, self.meta.record_id, self.content_sha256)

    @property
    def log_position(self) -> str:
        return f"{self.topic}[{self.partition}]@{self.offset}"


@dataclass(frozen=True, slots=True)
class ChainFinding:
    """One chain-integrity finding about one record (keyed by record and kind)."""

    org_id: str
    stack_id: str
    agent_id: str
    record_id: str
    record_hash: str
    kind: str
    severity: Severity
    message: str
    chain_index: int  # 0-based position in the agent's chain where the record arrived
    log_position: str
    record_created_at: str
    detected_ns: int  # when the record was received (deterministic on replay)


# The audit index's projection of decisions.legacy.v1 stores its log position under this name.
LEGACY_PROJECTION = "audit-index-legacy"


class SummaryRow(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """One unverified decision summary (``decisions.legacy.v1``) ready to index: the legacy
    processor's output, the legacy sink's input. ``record_id`` is the deduplication key
    with org and stack: the daemon's record_id, or ``no-record-id-<partition>-<offset>``
    when it sent none (such an event cannot be told from a repeat, so each is kept)."""

    topic: str
    partition: int
    offset: int
    org_id: str
    stack_id: str
    source: str  # legacy-feed or webhook
    origin_seq: int
    origin_buffer: str
    received_ns: int
    record_id: str
    created_ns: int  # the daemon's timestamp in UTC (or the receive time, see the processor)
    created_at_text: str  # created_ns as RFC 3339 UTC, nine fraction digits
    agent_id: str
    session_id: str
    effect: str
    tool_id: str
    matched_rule_id: str
    reason_code: str
    reason: str
    policy_version: str
    raw: str  # the event exactly as it is on the log (the daemon's timestamp text unchanged)

    @property
    def key(self) -> tuple[str, str, str]:
        """(org, stack, record_id): one row per key, whatever feed or retry brought it."""
        return (self.org_id, self.stack_id, self.record_id)

    @property
    def log_position(self) -> str:
        return f"{self.topic}[{self.partition}]@{self.offset}"
