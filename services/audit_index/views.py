"""What the audit query API takes and returns (plain data; the explorer renders these)."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import orjson

from faramesh_cloud.audit_index.domain import ChainFinding
from faramesh_cloud.audit_index.retention.events import Checkpoint

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# A row is a DPR (hash, chain link and signature checked) or a decision summary from the
# legacy Horizon feed or a daemon webhook, which carries none of them.
VERIFIED: Final = "verified"
UNVERIFIED: Final = "unverified"
VERIFICATIONS: Final = (VERIFIED, UNVERIFIED)
# A DPR's verification state (issue 18: searchable first, verified right after): derived at
# read from the chain verifier's watermark and findings (``verification_state``). A decision
# summary's state is ``unverified`` (it has nothing to check).
VERIFYING: Final = "verifying"
FAILED: Final = "failed"
STATES: Final = (VERIFYING, VERIFIED, FAILED)


@dataclass(frozen=True, slots=True)
class SearchFilters:
    """Equality filters; ``None`` means any. ``rule_id`` is the record's matched_rule_id;
    ``verification`` is ``verified`` (DPRs) or ``unverified`` (decision summaries); ``state``
    is a DPR's verification state: ``verifying`` (searchable, the chain verifier has not
    checked it yet), ``verified`` or ``failed`` (an open critical finding names it); a state
    filter leaves the decision summaries out."""

    stack_id: str | None = None
    agent_id: str | None = None
    session_id: str | None = None
    effect: str | None = None
    action_type: str | None = None
    tool_id: str | None = None
    rule_id: str | None = None
    verification: str | None = None
    state: str | None = None

    def __post_init__(self) -> None:
        if self.verification is not None and self.verification not in VERIFICATIONS:
            raise ValueError(f"verification {self.verification!r} is not one of {', '.join(VERIFICATIONS)}")
        if self.state is not None and self.state not in STATES:
            raise ValueError(f"state {self.state!r} is not one of {', '.join(STATES)}")


@dataclass(frozen=True, slots=True)
class TimeRange:
    """Half-open ``[start_ns, end_ns)`` on the record's created_at, in Unix nanoseconds."""

    start_ns: int | None = None
    end_ns: int | None = None

    @classmethod
    def between(cls, start: datetime | None, end: datetime | None) -> TimeRange:
        """From timezone-aware datetimes (microsecond precision)."""
        return cls(_nanos(start) if start else None, _nanos(end) if end else None)


def _nanos(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError("pass a timezone-aware datetime (e.g. datetime(..., tzinfo=UTC))")
    return (moment - _EPOCH) // timedelta(microseconds=1) * 1_000


@dataclass(frozen=True, slots=True)
class RecordSummary:
    """One indexed DPR, or one unverified decision summary (``verification``), as the list
    views show it. A summary has no hash, link or signature: ``record_hash`` is empty,
    ``hash_valid`` false, ``link_status`` and ``signature_status`` say ``unverified``, and
    ``source`` is ``legacy-feed`` or ``webhook``.

    A DPR's ``state`` and its verdict columns (``hash_valid``, ``signature_status``,
    ``link_status``) are derived at read from the chain verifier's watermark and findings:
    while ``verifying`` they read ``false`` / ``unchecked`` / ``unchecked``."""

    org_id: str
    stack_id: str
    agent_id: str
    session_id: str
    record_id: str
    created_at: str  # exactly as the daemon wrote it (nanoseconds)
    created_ns: int
    effect: str
    action_type: str
    tool_id: str
    matched_rule_id: str
    reason_code: str
    reason: str
    lamport_seq: int
    record_hash: str
    hash_valid: bool
    signature_status: str  # valid / invalid / unsigned / untrusted (Ed25519)
    signature_kind: str  # ed25519 / hmac / none
    link_status: str  # linked / gap / broken_link / invalid_genesis / regenesis / duplicate
    source: str
    log_partition: int
    log_offset: int
    org_seq: int
    verification: str = VERIFIED
    state: str = UNVERIFIED  # a DPR: verifying / verified / failed (set by the reads)

    @property
    def verified(self) -> bool:
        return self.verification == VERIFIED


@dataclass(frozen=True, slots=True)
class SummaryReceipt:
    """How an unverified decision summary of one (stack, record_id) arrived: its first
    source, every source it came from and how many copies (deduplicated: one row shows),
    and whether a DPR with the same record_id replaced it."""

    stack_id: str
    record_id: str
    first_source: str
    sources: list[str]
    deliveries: int
    superseded: bool


@dataclass(frozen=True, slots=True)
class RecordDetail:
    """One DPR (or unverified summary) for the explain view: the summary, the exact bytes
    and the chain context."""

    summary: RecordSummary
    prev_record_hash: str
    raw: str  # a DPR: its JSON exactly as the daemon wrote it; a summary: its decisions.legacy.v1 event
    origin_seq: int
    origin_buffer: str
    received_ns: int
    chain_index: int | None  # 0-based position in the agent's chain; None for a duplicate or a summary
    findings: list[ChainFinding] = field(default_factory=list)
    # Unverified summaries received for this (stack, record_id): for a summary its own
    # receipt; for a DPR the summaries it replaced.
    receipt: SummaryReceipt | None = None
    # While the DPR is verifying: how many messages of its log partition the chain verifier
    # has still to check up to and including it (0 once checked, and for a summary).
    verifier_behind: int = 0

    def record(self) -> dict[str, Any]:
        """The parsed record (every field, including the ones the index has no column for)."""
        parsed: dict[str, Any] = orjson.loads(self.raw)
        return parsed


@dataclass(frozen=True, slots=True)
class ChainRecord:
    """One stored record with what a link check and an export need."""

    record_id: str
    record_hash: str
    prev_record_hash: str
    created_at: str
    raw: str
    stack_id: str
    agent_id: str
    link_status: str
    chain_index: int | None = None


@dataclass(frozen=True, slots=True)
class Page:
    records: list[RecordSummary]
    next_cursor: str | None  # pass back for the next page; None on the last page


@dataclass(frozen=True, slots=True)
class TailPage:
    records: list[RecordSummary]  # oldest first
    cursor: str  # pass as ``after`` to get what was indexed since


@dataclass(frozen=True, slots=True)
class AgentIntegrity:
    stack_id: str
    agent_id: str
    chain_length: int
    segments: int
    tip_hash: str
    tip_record_id: str
    last_lamport: int
    first_created_at: str
    last_created_at: str
    last_verified_ns: int
    findings: list[ChainFinding]
    checkpoint: Checkpoint | None = None  # retention removed the records up to it

    @property
    def verified_from(self) -> str:
        """How the chain verifies: from genesis, or from a retention checkpoint (what the
        integrity view says)."""
        cp = self.checkpoint
        if cp is None:
            return "verified from genesis"
        return (f"verified from checkpoint {cp.chain_index} (earlier records removed by retention on "
                f"{cp.removed_on.astimezone(UTC).date().isoformat()})")


@dataclass(frozen=True, slots=True)
class StackIntegrity:
    stack_id: str
    chain_length: int  # records on all the stack's agent chains
    segments: int
    last_verified_ns: int
    findings_by_kind: dict[str, int]
    critical_findings: int
    open_alerts: int
    agents: list[AgentIntegrity]

    @property
    def intact(self) -> bool:
        return self.critical_findings == 0


@dataclass(frozen=True, slots=True)
class Alert:
    alert_id: int
    org_id: str
    stack_id: str
    agent_id: str
    record_id: str
    record_hash: str
    kind: str
    severity: str
    message: str
    record_created_at: str
    created_at: datetime
    acknowledged: bool
    acknowledged_at: datetime | None = None
    acknowledged_by: str = ""
    acknowledged_note: str = ""


@dataclass(frozen=True, slots=True)
class Delegation:
    """One edge of a stack's delegation topology, from the DPRs' multi-agent linkage:
    ``child`` acted on behalf of ``parent`` (its records' ``invoked_by_agent_id``)."""

    parent: str
    child: str
    records: int  # the child's records carrying this link
    last_at: datetime
    last_record_id: str
    parent_on_stack: bool  # the parent has records on this stack too (else another stack's agent)


@dataclass(frozen=True, slots=True)
class PolicyVersionUse:
    """How many of a stack's records since some time were decided under one policy version."""

    stack_id: str
    policy_version: str
    records: int
    last_at: datetime
    last_record_id: str


@dataclass(frozen=True, slots=True)
class ArrivalBucket:
    """The records Cloud received from one stack in one bucket of reception time: how many,
    how many of them late (received more than the late threshold after the daemon created
    them: a catch-up after Cloud was blind), and the creation-time window the late ones came
    from (0, 0 when none)."""

    start_ns: int
    received: int
    late: int
    late_first_ns: int
    late_last_ns: int


@dataclass(frozen=True, slots=True)
class StackSeries:
    """One stack's decisions and denies per bucket of creation time (every bucket, empty ones too)."""

    stack_id: str
    decisions: list[int]
    denies: list[int]


class InvalidCursor(ValueError):
    """A cursor this API did not issue for this kind of query."""


def encode_cursor(kind: str, values: list[Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps([kind, *values])).decode().rstrip("=")


def decode_cursor(kind: str, cursor: str, types: tuple[type, ...]) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = orjson.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, orjson.JSONDecodeError):
        value = None
    if (
        not isinstance(value, list)
        or len(value) != len(types) + 1
        or value[0] != kind
        or not all(type(v) is t for v, t in zip(value[1:], types, strict=True))
    ):
        raise InvalidCursor(
            f"cursor {cursor[:40]!r} was not issued by this query; start again without a cursor"
        )
    return value[1:]
