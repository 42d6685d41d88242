"""What the approvals service answers people with (pure values): an approval as the queue,
the detail page and the history show it, a decision, a bulk decision's per-item result and
an emergency command. The in-process API returns them, the internal gRPC API carries them
(``servicer.py`` / ``client.py``), and the client rebuilds the same values."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from faramesh_cloud.approvals.domain import AgeBand, State, withdrawal


@dataclass(frozen=True, slots=True)
class Approval:
    approval_id: str
    stack_id: str
    defer_token: str
    agent_id: str
    tool_id: str
    session_id: str
    args_json: str
    matched_rule_id: str
    reason_code: str
    reason: str
    priority: str
    dpr_record_id: str
    policy_version: str
    created_at: datetime
    deadline: datetime
    state: str
    resolved_at: datetime | None
    resolved_by: str
    resolved_by_label: str
    resolution_reason: str
    resolution_source: str
    decision_id: str
    bulk_action_id: str
    now: datetime  # the service's clock when it read the row (ages are measured against it)
    resolution_record_id: str  # the DPR the daemon wrote applying a Cloud decision ('' if none)
    daemon_state: str  # what the daemon reported last: pending, approved, denied, expired, withdrawn

    @property
    def withdrawn_how(self) -> str:
        """For a withdrawn approval: how the daemon resolved it (else '')."""
        if self.state != "withdrawn":
            return ""
        return withdrawal(self.daemon_state, self.resolved_by_label or self.resolved_by, self.resolution_reason)

    @property
    def pending_s(self) -> float:
        end = self.resolved_at or self.now
        return max(0.0, (end - self.created_at).total_seconds())

    @property
    def age_band(self) -> str:
        return AgeBand.of(self.pending_s).name


@dataclass(frozen=True, slots=True)
class Decision:
    approval_id: str
    decision_id: str
    state: State
    decided_at: datetime


@dataclass(frozen=True, slots=True)
class BulkResult:
    bulk_action_id: str
    decided: list[Decision]
    refused: dict[str, str]  # approval id -> why
    codes: dict[str, str] = field(default_factory=dict)  # approval id -> refusal code (already_resolved, ...)


@dataclass(frozen=True, slots=True)
class Command:
    command_id: str
    stack_id: str
    agent_id: str
    command_type: str
    reason: str
    issued_by: str
    issued_by_label: str
    issued_at: datetime
    state: str
    delivered_at: datetime | None
    acked_at: datetime | None
    applied_at: datetime | None
    outcome: str
    message: str
    dpr_record_id: str



@dataclass(frozen=True, slots=True)
class ApproverCount:
    """One approver's decisions taken in Cloud on the summary's approvals: ``single`` one by
    one, ``bulk`` as part of a bulk action (``approved`` + ``denied`` == ``single`` + ``bulk``)."""

    approver_id: str  # user id or API key id
    label: str  # e-mail address or key name at the time of the decision
    approved: int
    denied: int
    single: int
    bulk: int


@dataclass(frozen=True, slots=True)
class CommandCount:
    """The emergency commands of one type issued in the summary's range: how many the daemon
    acknowledged, how many of those it applied (outcome ``applied`` or ``already_in_effect``),
    and the median seconds from issue to acknowledgement (None when none was acknowledged)."""

    command_type: str  # "kill" or "isolate"
    issued: int
    acknowledged: int
    applied: int
    median_ack_s: float | None


@dataclass(frozen=True, slots=True)
class ApprovalSummary:
    """The approval workflow of one organisation (and the stacks asked) over [start, end):
    approvals created in the range by their state now, pending time (created to resolved,
    resolved ones only; None when none is resolved), approvers, bulk actions, and the
    emergency commands issued in the range, by type (both types always present)."""

    start: datetime
    end: datetime
    approved: int
    denied: int
    expired: int
    withdrawn: int
    pending: int
    median_pending_s: float | None
    p95_pending_s: float | None
    approvers: list[ApproverCount]  # most decisions first, then by label
    bulk_actions: int  # distinct bulk actions that decided approvals of the range
    bulk_decided: int  # approvals of the range decided as part of one
    commands: list[CommandCount]  # kill, then isolate

    @property
    def total(self) -> int:
        return self.approved + self.denied + self.expired + self.withdrawn + self.pending
