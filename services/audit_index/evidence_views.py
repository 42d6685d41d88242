"""What the audit index answers for evidence and reports (compliance's reads of it): decision
statistics, tool usage, per-chain integrity certificates, counts, and the records of a range
with their exact bytes (``ChainRecord``, the form ``signing.dpr_bundle.entry`` takes).

Plain data. Every range is half-open ``[start_ns, end_ns)`` on the record's created_at, in
Unix nanoseconds; ``stacks`` empty means every stack of the organisation. "Verified" means
a DPR (``dpr_records``: hash, chain link and signature checked by the index, whatever the
outcome); "unverified" a decision summary from the legacy feed or a webhook, counted apart.

Another service reaches these through ``faramesh_cloud.audit_index.client`` (which
re-exports them): the in-process ``IndexReader`` and the gRPC ``AuditIndexClient`` both
satisfy :class:`AuditEvidence`."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Protocol

from faramesh_cloud.audit_index.domain import ChainFinding
from faramesh_cloud.audit_index.views import ChainRecord, RecordSummary

DENY: Final = "DENY"
MAX_BUCKETS: Final = 10_000  # a chart's worth; a finer bucket over a long range is refused
MAX_TOP: Final = 100
EXPORT_PAGE: Final = 1_000  # records per page of export_range (memory stays bounded per page)


@dataclass(frozen=True, slots=True)
class Ranked:
    """One name (tool, agent, rule) with how many verified DPRs in the range carry it."""

    name: str
    count: int


@dataclass(frozen=True, slots=True)
class EffectBucket:
    """Verified DPRs per effect created in ``[start_ns, start_ns + bucket_ns)``."""

    start_ns: int
    counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True, slots=True)
class DecisionStats:
    """Decision statistics of a range. Every count is of verified DPRs except the
    ``unverified_*`` ones (legacy decision summaries no DPR replaced), which are not in the
    totals, the buckets, the tops or the deny rate."""

    start_ns: int
    end_ns: int
    bucket_ns: int
    total: int
    by_effect: dict[str, int]
    buckets: list[EffectBucket]  # every bucket from start_ns (empty ones too), in time order
    top_tools: list[Ranked]  # most calls first, then by name
    top_agents: list[Ranked]
    top_rules: list[Ranked]  # by matched_rule_id; "" is a call no explicit rule matched
    unverified_total: int
    unverified_by_effect: dict[str, int]

    @property
    def deny_rate(self) -> float:
        """DENY decisions over all verified decisions (0.0 on an empty range)."""
        return self.by_effect.get(DENY, 0) / self.total if self.total else 0.0


@dataclass(frozen=True, slots=True)
class ToolUsage:
    """How many verified DPRs one agent's calls of one tool got, per matched rule, effect and
    what decided them (``matched_rule_id`` "" when no explicit rule matched: ``decided_by`` is
    then "default", the agent's default, or "guard", a kill switch, budget or other guard that
    decides before any rule is evaluated)."""

    stack_id: str
    agent_id: str
    tool_id: str
    matched_rule_id: str
    effect: str
    calls: int
    decided_by: str = "rule"


@dataclass(frozen=True, slots=True)
class ChainPoint:
    """One record's place on its agent chain (``chain_index`` None when the index has not
    linked it: a record whose chain state it does not hold)."""

    record_id: str
    record_hash: str
    chain_index: int | None
    created_at: str  # exactly as the daemon wrote it


@dataclass(frozen=True, slots=True)
class ChainCertificate:
    """What the index certifies about one (stack, agent) chain over a range.

    ``records`` counts the chain's records created in the range (duplicates apart),
    ``first`` and ``head`` are its first and last (by chain position), ``invalid_hashes``
    and ``signatures`` how they verified. ``chain_length``, ``segments``, ``tip`` and
    ``verified_ns`` are the whole chain as the index holds it now (its tip may be past the
    range); ``findings`` are the open findings about records created in the range."""

    stack_id: str
    agent_id: str
    records: int
    duplicates: int
    first: ChainPoint | None
    head: ChainPoint | None
    invalid_hashes: int
    signatures: dict[str, int]  # signature_status -> records (valid, unsigned, invalid, untrusted)
    chain_length: int
    segments: int
    tip_hash: str
    tip_record_id: str
    verified_ns: int  # when the index last verified a record of this chain (receive time)
    findings: list[ChainFinding]

    @property
    def intact(self) -> bool:
        return not self.findings and not self.invalid_hashes


class AuditEvidence(Protocol):
    """The audit index's evidence reads, as ``IndexReader`` and ``AuditIndexClient`` give them."""

    async def decision_stats(self, org_id: str, stacks: Sequence[str], start_ns: int, end_ns: int,
                             bucket_ns: int, top: int = 10) -> DecisionStats: ...

    async def tool_usage(self, org_id: str, stacks: Sequence[str], start_ns: int,
                         end_ns: int) -> list[ToolUsage]: ...

    async def sample_records(self, org_id: str, stack_id: str, agent_id: str, tool_id: str, start_ns: int,
                             end_ns: int, limit: int = 10) -> list[RecordSummary]: ...

    async def integrity_certificate(self, org_id: str, stacks: Sequence[str], start_ns: int,
                                    end_ns: int) -> list[ChainCertificate]: ...

    def export_range(self, org_id: str, stacks: Sequence[str], start_ns: int, end_ns: int,
                     page_size: int = EXPORT_PAGE) -> AsyncIterator[ChainRecord]: ...

    async def count(self, org_id: str, filters: Mapping[str, str], start_ns: int | None, end_ns: int | None,
                    stacks: Sequence[str] = ()) -> int: ...
