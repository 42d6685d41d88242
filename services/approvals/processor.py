"""The projection's processor (pure): ``sync.items.v1`` → approval facts (only items with
header ``kind`` = ``approval_event`` concern this service; everything else on the topic is
skipped), and the service's own topics (``approvals.events.v1``,
``commands.emergency.v1``) → the changes they carry, and ``registry.events.v1``'s pack
alerts → the deliveries carrying them (``pack_alerts.py``; other registry events skipped); what cannot be read is rejected with
the reason (the runner dead-letters it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

from faramesh_cloud_api.sync.v1 import approvals_pb2

from faramesh_cloud.approvals.changes import Consumed, topic_of
from faramesh_cloud.approvals.domain import State
from faramesh_cloud.approvals.events import decode
from faramesh_cloud.approvals.pack_alerts import PackAlertQueued, pack_alert
from faramesh_cloud.consumer.runner import Rejected
from faramesh_cloud.events.approval_items import (
    DEFAULT_DEADLINE,
    approval_event,
    approval_tenant,
    received_at,
    stamp_time,
)
from faramesh_cloud.events.topics import APPROVAL_EVENTS, EMERGENCY_COMMANDS, REGISTRY_EVENTS
from faramesh_cloud.log.port import Message

_STATES: Final = {
    approvals_pb2.APPROVAL_STATE_PENDING: State.PENDING,
    approvals_pb2.APPROVAL_STATE_APPROVED: State.APPROVED,
    approvals_pb2.APPROVAL_STATE_DENIED: State.DENIED,
    approvals_pb2.APPROVAL_STATE_EXPIRED: State.EXPIRED,
    approvals_pb2.APPROVAL_STATE_WITHDRAWN: State.WITHDRAWN,
}
_PRIORITIES: Final = {
    approvals_pb2.APPROVAL_PRIORITY_CRITICAL: "critical",
    approvals_pb2.APPROVAL_PRIORITY_HIGH: "high",
}
_SOURCES: Final = {
    approvals_pb2.RESOLUTION_SOURCE_LOCAL: "local",
    approvals_pb2.RESOLUTION_SOURCE_CLOUD: "cloud",
    approvals_pb2.RESOLUTION_SOURCE_TIMEOUT: "timeout",
}


@dataclass(frozen=True, slots=True)
class ApprovalFact:
    """One ApprovalEvent, with its tenant and log position."""

    topic: str
    partition: int
    offset: int
    org_id: str
    stack_id: str
    state: State
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
    resolved_at: datetime | None
    resolved_by: str
    resolution_reason: str
    resolution_source: str


class ApprovalProcessor:
    def process(self, message: Message) -> ApprovalFact | Consumed | PackAlertQueued | Rejected | None:
        if message.topic == REGISTRY_EVENTS:
            return pack_alert(message)  # only pack alerts concern this service
        if message.topic in (APPROVAL_EVENTS, EMERGENCY_COMMANDS):
            change = decode(message)
            if isinstance(change, Rejected):
                return change
            if topic_of(change) != message.topic:
                return Rejected(f"{type(change).__name__} belongs on {topic_of(change)}, not {message.topic}")
            return Consumed(message.topic, message.partition, message.offset, change)
        tenant = approval_tenant(message)
        if not isinstance(tenant, tuple):
            return tenant
        org, stack = tenant
        event = approval_event(message)
        if isinstance(event, Rejected):
            return event
        state = _STATES.get(event.state)
        a = event.approval
        if state is None or not a.defer_token or not a.agent_id:
            return Rejected("approval_event needs a state, a defer_token and an agent_id")
        seen = received_at(message)
        created = stamp_time(a.created_at, seen)
        resolution = event.resolution if event.HasField("resolution") else None
        try:
            args = a.args_snapshot_json.decode("utf-8")
        except UnicodeDecodeError:
            args = a.args_snapshot_json.decode("utf-8", "replace")
        return ApprovalFact(
            topic=message.topic, partition=message.partition, offset=message.offset,
            org_id=org, stack_id=stack, state=state, defer_token=a.defer_token, agent_id=a.agent_id,
            tool_id=a.tool_id, session_id=a.session_id, args_json=args, matched_rule_id=a.matched_rule_id,
            reason_code=a.reason_code, reason=a.reason, priority=_PRIORITIES.get(a.priority, "normal"),
            dpr_record_id=a.dpr_record_id, policy_version=a.policy_version, created_at=created,
            deadline=stamp_time(a.deadline, created + DEFAULT_DEADLINE),
            resolved_at=stamp_time(resolution.resolved_at, seen) if resolution is not None else None,
            resolved_by=resolution.approver_id if resolution is not None else "",
            resolution_reason=resolution.reason if resolution is not None else "",
            resolution_source=_SOURCES.get(resolution.source, "") if resolution is not None else "",
        )
