"""Approvals on the simulated daemon: the pending-approval items it pushes, and what it does
with a Cloud delivery (docs/sync-api.md section 5). Pure: :func:`plan_delivery` looks at the
daemon's state and one delivery and says what to do; the daemon carries it out.

Applying an ``ApprovalDecision`` (the daemon resolves the defer and the waiting call is
resumed at once):

* approve: a resume DPR, ``effect`` PERMIT, ``reason_code`` APPROVAL_GRANTED, with the
  HMAC-signed approval envelope (FARAMESH_FORMATS 3.3) in ``approval_envelope``;
* deny: a DENY DPR, ``reason_code`` APPROVAL_DENIED, carrying the signed envelope as well
  (``approved`` false, status ``denied``) so the record names who denied and why;
* either way an ``ApprovalEvent`` with the new state, source CLOUD and the decision id.

The daemon host also resolves some defers itself (:func:`local_choice`, off unless
``DaemonOptions.local_resolve_share`` is set): its CLI approves or denies one (source LOCAL,
the same DPRs as above), or the agent's session ends (``APPROVAL_STATE_WITHDRAWN``, no DPR).
Cloud then shows the approval withdrawn and refuses decisions on it; a Cloud decision that
still arrives is acknowledged CONFLICT.

Unknown token or another agent's token: NOT_FOUND. Verdict unset: REFUSED. Already resolved
by another decision, or expired: CONFLICT. The same decision delivered again: ACCEPTED,
with nothing applied twice.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import Any, Final

from faramesh_cloud_api.sync.v1 import approvals_pb2, deliveries_pb2, registry_pb2

from faramesh_cloud.dpr.gojson import dumps
from faramesh_cloud.simulator.envelope import approval_envelope
from faramesh_cloud.simulator.state import (
    Answer,
    DaemonState,
    Pending,
    RegistryAlertSeen,
    Resolution,
)

ACCEPTED: Final = deliveries_pb2.DELIVERY_OUTCOME_ACCEPTED
CONFLICT: Final = deliveries_pb2.DELIVERY_OUTCOME_CONFLICT
NOT_FOUND: Final = deliveries_pb2.DELIVERY_OUTCOME_NOT_FOUND
REFUSED: Final = deliveries_pb2.DELIVERY_OUTCOME_REFUSED
UNSUPPORTED: Final = deliveries_pb2.DELIVERY_OUTCOME_UNSUPPORTED

_PRIORITY: Final = {
    "critical": approvals_pb2.APPROVAL_PRIORITY_CRITICAL,
    "high": approvals_pb2.APPROVAL_PRIORITY_HIGH,
    "normal": approvals_pb2.APPROVAL_PRIORITY_NORMAL,
}
_STATE: Final = {
    "approved": approvals_pb2.APPROVAL_STATE_APPROVED,
    "denied": approvals_pb2.APPROVAL_STATE_DENIED,
    "expired": approvals_pb2.APPROVAL_STATE_EXPIRED,
    "withdrawn": approvals_pb2.APPROVAL_STATE_WITHDRAWN,
}
RESUMED_REASON: Final = "action approved and resumed successfully"
NS: Final = 1_000_000_000
# What the daemon host does with a defer it resolves itself (faramesh approvals approve|deny
# sends no approver id and these default reasons; the session ending withdraws it).
LOCAL_OUTCOMES: Final = ("approved", "denied", "withdrawn")
LOCAL_REASONS: Final = {"approved": "approved via CLI", "denied": "denied via CLI",
                        "withdrawn": "agent session ended before a decision"}
LOCAL_APPROVER: Final = "local-cli"


def pending_approval(p: Pending) -> approvals_pb2.PendingApproval:
    message = approvals_pb2.PendingApproval(
        defer_token=p.token, agent_id=p.agent_id, tool_id=p.tool_id, session_id=p.session_id,
        args_snapshot_json=dumps(p.args) if p.args else b"", matched_rule_id=p.rule_id,
        reason_code=p.reason_code, reason=p.reason, priority=_PRIORITY.get(p.priority, approvals_pb2.APPROVAL_PRIORITY_UNSPECIFIED),
        approvals_required=1, dpr_record_id=p.record_id, policy_version=p.policy_version,
        kind=approvals_pb2.DEFER_KIND_DEFER,
    )
    message.created_at.FromNanoseconds(p.created_ns)
    message.deadline.FromNanoseconds(p.deadline_ns)
    return message


def approval_event(p: Pending, resolution: Resolution | None = None, *, approver_id: str = "",
                   reason: str = "", source: int = 0) -> approvals_pb2.ApprovalEvent:
    if resolution is None:
        return approvals_pb2.ApprovalEvent(state=approvals_pb2.APPROVAL_STATE_PENDING,
                                           approval=pending_approval(p))
    approval = pending_approval(p)
    if approver_id:
        approval.approvals_received = 1
        approval.approver_ids.append(approver_id)
    event = approvals_pb2.ApprovalEvent(
        state=_STATE[resolution.status], approval=approval,
        resolution=approvals_pb2.ApprovalResolution(
            approver_id=approver_id, reason=reason, source=source,  # type: ignore[arg-type]
            cloud_decision_id=resolution.decision_id),
    )
    event.resolution.resolved_at.FromNanoseconds(resolution.resolved_ns)
    return event


def expiry_event(p: Pending, now_ns: int) -> tuple[Resolution, approvals_pb2.ApprovalEvent]:
    resolution = Resolution(status="expired", resolved_ns=now_ns)
    return resolution, approval_event(p, resolution, reason="expired",
                                      source=approvals_pb2.RESOLUTION_SOURCE_TIMEOUT)


def local_choice(p: Pending, now_ns: int, share: float, after_s: float) -> str | None:
    """Whether the daemon host resolves this defer itself now, and how: a stable share of
    the defers (by token) once they have waited ``after_s``, before their deadline; one of
    :data:`LOCAL_OUTCOMES`, or None (left to Cloud)."""
    if share <= 0 or now_ns - p.created_ns < after_s * NS or p.deadline_ns <= now_ns:
        return None
    draw = zlib.crc32(p.token.encode())
    if draw % 10_000 >= share * 10_000:
        return None
    return LOCAL_OUTCOMES[(draw // 10_000) % len(LOCAL_OUTCOMES)]


def _resolved_record(pending: Pending, approver: str, approved: bool, reason: str, status: str, now_ns: int,
                     hmac_key: bytes) -> dict[str, Any]:
    """The agent's next DPR for a resolved defer: the resumed PERMIT, or the DENY, each with
    the signed approval envelope."""
    envelope = approval_envelope(hmac_key, token=pending.token, approver_id=approver, approved=approved,
                                 reason=reason, status=status, resolved_ns=now_ns)
    record: dict[str, Any] = {
        "tool_id": pending.tool_id, "session_id": pending.session_id,
        "matched_rule_id": pending.rule_id, "selector_snapshot": pending.args,
        "args_structural_sig": pending.args_sig, "approval_envelope": envelope, "defer_token": None,
    }
    if approved:
        record.update(effect="PERMIT", reason_code="APPROVAL_GRANTED", reason=RESUMED_REASON)
    else:
        record.update(effect="DENY", reason_code="APPROVAL_DENIED",
                      reason=f"approval denied by {approver}: {reason}")
    return record


def local_resolution(p: Pending, outcome: str, now_ns: int,
                     hmac_key: bytes) -> tuple[dict[str, Any] | None, Resolution, approvals_pb2.ApprovalEvent]:
    """The daemon host resolved ``p`` itself (its CLI approved / denied it, or the session
    ended): the agent's next DPR (None when withdrawn: the call never resumes), the new
    state and the ApprovalEvent (source LOCAL) that tells Cloud to withdraw it."""
    reason = LOCAL_REASONS[outcome]
    resolution = Resolution(status=outcome, resolved_ns=now_ns)
    if outcome == "withdrawn":
        return None, resolution, approval_event(p, resolution, reason=reason,
                                                source=approvals_pb2.RESOLUTION_SOURCE_LOCAL)
    approved = outcome == "approved"
    record = _resolved_record(p, LOCAL_APPROVER, approved, reason, outcome, now_ns, hmac_key)
    return record, resolution, approval_event(p, resolution, approver_id=LOCAL_APPROVER, reason=reason,
                                              source=approvals_pb2.RESOLUTION_SOURCE_LOCAL)


@dataclass(slots=True)
class DeliveryPlan:
    """What to do with one delivery. ``record`` (field overrides for the agent's next DPR)
    and ``event`` are set when a decision is applied; ``resolution`` / ``expired`` say how
    the state changes."""

    answer: Answer
    agent_id: str = ""
    token: str = ""
    record: dict[str, Any] | None = None
    resolution: Resolution | None = None
    event: approvals_pb2.ApprovalEvent | None = None
    expired: list[tuple[str, Resolution, approvals_pb2.ApprovalEvent]] = field(default_factory=list)
    notification_revision: int | None = None
    alert: tuple[str, RegistryAlertSeen] | None = None  # (alert_id, what to record)
    remember: bool = True


def plan_delivery(state: DaemonState, delivery: deliveries_pb2.Delivery, now_ns: int,
                  hmac_key: bytes) -> DeliveryPlan:
    known = state.deliveries.get(delivery.delivery_id)
    if known is not None:
        return DeliveryPlan(answer=known, remember=False)
    kind = delivery.WhichOneof("payload")
    if kind == "approval_decision":
        return _decision(state, delivery.approval_decision, now_ns, hmac_key)
    if kind == "notification_config_update":
        revision = delivery.notification_config_update.revision
        if revision <= state.notification_revision:
            return DeliveryPlan(Answer(outcome=ACCEPTED, at_ns=now_ns,
                                       message=f"revision {revision} is not newer than {state.notification_revision}; kept"))
        return DeliveryPlan(Answer(outcome=ACCEPTED, at_ns=now_ns, message=f"routing revision {revision} recorded"),
                            notification_revision=revision)
    if kind == "registry_pack_alert":
        return _alert(delivery.registry_pack_alert, now_ns)
    return DeliveryPlan(Answer(outcome=UNSUPPORTED, at_ns=now_ns,
                               message="this daemon does not know this delivery kind"))


def _alert(alert: registry_pb2.RegistryPackAlert, now_ns: int) -> DeliveryPlan:
    """A registry pack alert is recorded and shown (``faramesh status``), never acted on: the
    daemon does not change an import by itself."""
    severity = registry_pb2.AlertSeverity.Name(alert.severity).removeprefix("ALERT_SEVERITY_").lower()
    seen = RegistryAlertSeen(name=alert.current.name, current=alert.current.version, latest=alert.latest_version,
                             yanked=alert.yanked, severity=severity, summary=alert.summary, received_ns=now_ns)
    what = "yanked" if alert.yanked else f"-> {alert.latest_version}"
    return DeliveryPlan(Answer(outcome=ACCEPTED, at_ns=now_ns,
                               message=f"alert recorded: {seen.name} {seen.current} {what}"),
                        alert=(alert.alert_id, seen))


def _decision(state: DaemonState, decision: approvals_pb2.ApprovalDecision, now_ns: int,
              hmac_key: bytes) -> DeliveryPlan:
    token = decision.defer_token
    if decision.verdict not in (approvals_pb2.APPROVAL_VERDICT_APPROVE, approvals_pb2.APPROVAL_VERDICT_DENY):
        return DeliveryPlan(Answer(outcome=REFUSED, at_ns=now_ns, message="the verdict is not APPROVE or DENY"))
    done = state.resolved.get(token)
    if done is not None:
        if done.decision_id and done.decision_id == decision.decision_id:
            return DeliveryPlan(Answer(outcome=ACCEPTED, at_ns=now_ns, dpr_record_id=done.dpr_record_id,
                                       message="already applied"))
        return DeliveryPlan(Answer(outcome=CONFLICT, at_ns=now_ns, message=f"defer {token} was already {done.status}"))
    pending = state.pending.get(token)
    if pending is None or pending.agent_id != decision.agent_id:
        return DeliveryPlan(Answer(outcome=NOT_FOUND, at_ns=now_ns,
                                   message=f"no pending approval {token!r} for agent {decision.agent_id!r}"))
    if pending.deadline_ns <= now_ns:
        resolution, event = expiry_event(pending, now_ns)
        return DeliveryPlan(Answer(outcome=CONFLICT, at_ns=now_ns, message=f"defer {token} expired before the decision"),
                            expired=[(token, resolution, event)])
    approved = decision.verdict == approvals_pb2.APPROVAL_VERDICT_APPROVE
    approver = f"cloud:{decision.approver.user_id}" if decision.approver.user_id else "cloud"
    status = "approved" if approved else "denied"
    record = _resolved_record(pending, approver, approved, decision.reason, status, now_ns, hmac_key)
    resolution = Resolution(status=status, decision_id=decision.decision_id, resolved_ns=now_ns)
    event = approval_event(pending, resolution, approver_id=approver, reason=decision.reason,
                           source=approvals_pb2.RESOLUTION_SOURCE_CLOUD)
    return DeliveryPlan(Answer(outcome=ACCEPTED, at_ns=now_ns, message=f"defer {token} {status}"),
                        agent_id=pending.agent_id, token=token, record=record, resolution=resolution,
                        event=event)
