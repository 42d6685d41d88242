"""``sync.items.v1`` → what notifications need to know about approvals (pure).

Only ``approval_event`` items concern this service: a PENDING snapshot opens (or refreshes)
a request; a resolved one (approved, denied, expired) closes it. The daemon reports every
outcome there, a Cloud decision included (resolution source ``cloud``), so this one topic is
enough; this service keeps its own small projection and never reads the approvals tables.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from faramesh_cloud_api.sync.v1 import approvals_pb2

from faramesh_cloud.consumer.runner import Rejected
from faramesh_cloud.events.approval_items import (
    DEFAULT_DEADLINE,
    approval_event,
    approval_tenant,
    received_at,
    stamp_time,
)
from faramesh_cloud.log.port import Message

_OUTCOMES: Final = {
    approvals_pb2.APPROVAL_STATE_APPROVED: "approved",
    approvals_pb2.APPROVAL_STATE_DENIED: "denied",
    approvals_pb2.APPROVAL_STATE_EXPIRED: "expired",
}
_PRIORITIES: Final = {
    approvals_pb2.APPROVAL_PRIORITY_CRITICAL: "critical",
    approvals_pb2.APPROVAL_PRIORITY_HIGH: "high",
}


@dataclass(frozen=True, slots=True)
class ApprovalSeen:
    topic: str
    partition: int
    offset: int
    org_id: str
    stack_id: str
    defer_token: str
    agent_id: str
    tool_id: str
    session_id: str
    reason: str
    priority: str
    matched_rule_id: str
    created_at: datetime
    deadline: datetime
    outcome: str  # "" while pending; approved | denied | expired
    resolved_by: str
    received_at: datetime | None = None  # when the log took it (the same on a replay)


class NotificationProcessor:
    def process(self, message: Message) -> ApprovalSeen | Rejected | None:
        tenant = approval_tenant(message)
        if not isinstance(tenant, tuple):
            return tenant
        org, stack = tenant
        try:
            uuid.UUID(org)
        except ValueError:
            return Rejected(f"organisation header {org!r} is not a UUID")
        event = approval_event(message)
        if isinstance(event, Rejected):
            return event
        a = event.approval
        if event.state == approvals_pb2.APPROVAL_STATE_UNSPECIFIED:
            return Rejected("approval_event needs a state")
        # Any state but PENDING closes the request (a state added to the enum later too).
        outcome = "" if event.state == approvals_pb2.APPROVAL_STATE_PENDING else _OUTCOMES.get(event.state, "resolved")
        if not a.defer_token or not a.agent_id:
            return Rejected("approval_event needs a defer_token and an agent_id")
        seen = received_at(message)
        created = stamp_time(a.created_at, seen)
        return ApprovalSeen(
            topic=message.topic, partition=message.partition, offset=message.offset, org_id=org, stack_id=stack,
            defer_token=a.defer_token, agent_id=a.agent_id, tool_id=a.tool_id, session_id=a.session_id,
            reason=a.reason, priority=_PRIORITIES.get(a.priority, "normal"), matched_rule_id=a.matched_rule_id,
            created_at=created, deadline=stamp_time(a.deadline, created + DEFAULT_DEADLINE), outcome=outcome,
            resolved_by=event.resolution.approver_id if event.HasField("resolution") else "", received_at=seen)
