"""What a compliance report says, as plain data (pure: no I/O, no clock).

The job runner fills a ``ReportModel`` from the compliance service's projections and the audit
index's query port; ``render.py`` draws it; ``appendix.py`` writes the DPR export it certifies.
Counts are ints, rates are fractions in [0, 1], instants are timezone-aware datetimes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class CoverageStatus(StrEnum):
    FULL = "full"
    PARTIAL = "partial"
    GAP = "gap"


class PostureStatus(StrEnum):
    EVIDENCE = "evidence"
    POLICY = "policy"
    GAP = "gap"


@dataclass(frozen=True)
class Parameters:
    org_id: str
    org_slug: str
    org_name: str
    framework: str  # slug, e.g. "soc2"
    framework_title: str  # e.g. "SOC 2 (Trust Services Criteria)"
    stacks: tuple[str, ...]
    start: datetime
    end: datetime
    generated_at: datetime
    generated_by: str  # the member's email or API key name
    stack_names: Mapping[str, str] = field(default_factory=dict)  # stack id -> its name, for people

    def stack_label(self, stack_id: str) -> str:
        """A stack as people know it: its name and the start of its id (the id alone if unnamed)."""
        name = self.stack_names.get(stack_id)
        return f"{name} ({stack_id[:8]})" if name else stack_id

    def org(self) -> dict[str, str]:
        return {"id": self.org_id, "slug": self.org_slug, "name": self.org_name}


@dataclass(frozen=True)
class CertifiedChain:
    """One agent chain of one stack as the audit index verified it. ``head_*`` is the last
    record of the chain inside the range (what the appendix ends that chain with)."""

    stack_id: str
    agent_id: str
    head_record_hash: str
    head_chain_index: int | None
    length: int  # records of the chain in the index (whole chain)
    records_in_range: int
    segments: int
    findings_in_range: int
    verified_at: datetime | None


@dataclass(frozen=True)
class CoverageRow:
    stack_id: str
    agent_id: str
    status: CoverageStatus
    tools: tuple[str, ...]  # tools called in the period
    gap_tools: tuple[str, ...] = ()  # tools a default decided: all their calls, or "(some calls)"


@dataclass(frozen=True)
class EffectBucket:
    start: datetime
    counts: Mapping[str, int]  # effect (PERMIT, DENY, DEFER, ...) -> decisions


@dataclass(frozen=True)
class DecisionStats:
    buckets: tuple[EffectBucket, ...] = ()
    top_tools: tuple[tuple[str, int], ...] = ()
    top_agents: tuple[tuple[str, int], ...] = ()
    top_rules: tuple[tuple[str, int], ...] = ()
    total: int = 0  # verified DPRs in range
    unverified_summaries: int = 0  # legacy summaries, not DPRs: counted apart

    @property
    def by_effect(self) -> dict[str, int]:
        totals: dict[str, int] = {}
        for bucket in self.buckets:
            for effect, count in bucket.counts.items():
                totals[effect] = totals.get(effect, 0) + count
        return dict(sorted(totals.items()))

    @property
    def deny_rate(self) -> float:
        denied = sum(c for e, c in self.by_effect.items() if e.upper().startswith("DENY"))
        return denied / self.total if self.total else 0.0


@dataclass(frozen=True)
class ApprovalsSummary:
    by_outcome: Mapping[str, int] = field(default_factory=dict)  # approved, denied, expired, ...
    median_pending_s: float | None = None
    p95_pending_s: float | None = None
    approvers: tuple[tuple[str, int], ...] = ()  # who, decisions
    bulk_actions: int = 0
    expired: int = 0

    @property
    def total(self) -> int:
        return sum(self.by_outcome.values())


@dataclass(frozen=True)
class PostureRow:
    control_id: str
    title: str
    status: PostureStatus


@dataclass(frozen=True)
class ExecutiveSummary:
    decisions: int
    deny_rate: float
    stacks: int
    agent_chains: int
    chains_with_findings: int
    findings: int
    approvals: int
    agents_full: int
    agents_partial: int
    agents_gap: int
    controls_evidence: int
    controls_policy: int
    controls_gap: int


@dataclass(frozen=True)
class ReportModel:
    parameters: Parameters
    certificate: tuple[CertifiedChain, ...] = ()
    coverage: tuple[CoverageRow, ...] = ()
    stats: DecisionStats = field(default_factory=DecisionStats)
    approvals: ApprovalsSummary = field(default_factory=ApprovalsSummary)
    posture: tuple[PostureRow, ...] = ()

    @property
    def empty(self) -> bool:
        """No decision in the range: the report says so instead of drawing empty charts."""
        return self.stats.total == 0 and not any(c.records_in_range for c in self.certificate)

    def summary(self) -> ExecutiveSummary:
        def count(rows: tuple[CoverageRow, ...] | tuple[PostureRow, ...], status: str) -> int:
            return sum(1 for r in rows if r.status == status)

        return ExecutiveSummary(
            decisions=self.stats.total, deny_rate=self.stats.deny_rate,
            stacks=len({c.stack_id for c in self.certificate} | set(self.parameters.stacks)),
            agent_chains=len(self.certificate),
            chains_with_findings=sum(1 for c in self.certificate if c.findings_in_range),
            findings=sum(c.findings_in_range for c in self.certificate), approvals=self.approvals.total,
            agents_full=count(self.coverage, CoverageStatus.FULL),
            agents_partial=count(self.coverage, CoverageStatus.PARTIAL),
            agents_gap=count(self.coverage, CoverageStatus.GAP),
            controls_evidence=count(self.posture, PostureStatus.EVIDENCE),
            controls_policy=count(self.posture, PostureStatus.POLICY),
            controls_gap=count(self.posture, PostureStatus.GAP))
