"""The approvals service's events (pure): every change of an approval, a delivery or an
emergency command. A command handler builds one, applies it to the service's tables and
adds it to the outbox in one transaction; the projection applies the same change when it
reads it back from the log (a no-op then; on a rebuild from offset 0 it is what rebuilds
the tables). ``events.py`` puts them on the wire.

Ids are uuid5 of natural keys, so a rebuild gives the same ids (and URLs): an approval is
(org, stack, defer token), its one decision (and delivery) is the approval's, and each
event's id is its kind and the key of what it changed, so a retried or replayed change has
the same id. A bulk action's and a command's ids are random, and travel in the events.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from faramesh_cloud.approvals.domain import CommandType, Verdict
from faramesh_cloud.events.topics import APPROVAL_EVENTS, EMERGENCY_COMMANDS
from faramesh_cloud.platform_audit.events import Actor

NAMESPACE: Final = uuid.UUID("0b6f7a52-3f0e-5a4c-9d59-6a1f2c7e8b31")  # never change: ids depend on it


def _id(*parts: str) -> str:
    return str(uuid.uuid5(NAMESPACE, "/".join(parts)))


def approval_key(org_id: str, stack_id: str, defer_token: str) -> str:
    """The approval's id: the same for every snapshot of it and after every rebuild."""
    return _id("approval", str(uuid.UUID(org_id)), stack_id, defer_token)


def decision_key(approval_id: str) -> str:
    """The id of the approval's one decision, and of the delivery carrying it."""
    return _id("decision", str(uuid.UUID(approval_id)))


@dataclass(frozen=True, slots=True)
class ApprovalDecided:
    event_id: str
    occurred_at: datetime
    org_id: str
    stack_id: str
    approval_id: str
    defer_token: str
    decision_id: str
    verdict: Verdict
    approver: Actor
    reason: str
    bulk_action_id: str  # '' unless part of a bulk action
    agent_id: str
    dpr_record_id: str


@dataclass(frozen=True, slots=True)
class ApprovalExpired:
    event_id: str
    occurred_at: datetime  # the deadline that passed
    org_id: str
    stack_id: str
    approval_id: str
    defer_token: str
    agent_id: str


@dataclass(frozen=True, slots=True)
class DeliveryHandedOut:
    event_id: str
    occurred_at: datetime
    org_id: str
    stack_id: str
    delivery_id: str
    approval_id: str
    handed_out: int  # this hand-out included


@dataclass(frozen=True, slots=True)
class DeliveryAcknowledged:
    event_id: str
    occurred_at: datetime
    org_id: str
    stack_id: str
    delivery_id: str
    approval_id: str
    outcome: str  # accepted, conflict, not_found, refused, unsupported, unspecified
    message: str
    dpr_record_id: str


@dataclass(frozen=True, slots=True)
class EmergencyCommandIssued:
    event_id: str
    occurred_at: datetime
    org_id: str
    stack_id: str
    command_id: str
    agent_id: str
    command_type: CommandType
    reason: str
    issued_by: Actor


@dataclass(frozen=True, slots=True)
class EmergencyCommandDelivered:
    event_id: str
    occurred_at: datetime
    org_id: str
    stack_id: str
    command_id: str


@dataclass(frozen=True, slots=True)
class EmergencyCommandAcknowledged:
    event_id: str
    occurred_at: datetime
    org_id: str
    stack_id: str
    command_id: str
    outcome: str  # applied, already_in_effect, rejected, failed, unspecified
    applied_at: datetime | None
    dpr_record_id: str
    message: str


ApprovalChange = ApprovalDecided | ApprovalExpired | DeliveryHandedOut | DeliveryAcknowledged
CommandChange = EmergencyCommandIssued | EmergencyCommandDelivered | EmergencyCommandAcknowledged
Change = ApprovalChange | CommandChange
APPROVAL_KINDS: Final = (ApprovalDecided, ApprovalExpired, DeliveryHandedOut, DeliveryAcknowledged)
COMMAND_KINDS: Final = (EmergencyCommandIssued, EmergencyCommandDelivered, EmergencyCommandAcknowledged)


def topic_of(change: Change) -> str:
    return APPROVAL_EVENTS if isinstance(change, APPROVAL_KINDS) else EMERGENCY_COMMANDS


@dataclass(frozen=True, slots=True)
class Consumed:
    """A change read back from the log, with its position (the projection's row)."""

    topic: str
    partition: int
    offset: int
    change: Change


# -- what the handlers build ---------------------------------------------------------------

def decided(org_id: str, stack_id: str, approval_id: str, defer_token: str, verdict: Verdict, approver: Actor,
            reason: str, bulk_action_id: str | None, agent_id: str, dpr_record_id: str,
            at: datetime) -> ApprovalDecided:
    decision_id = decision_key(approval_id)
    return ApprovalDecided(_id("ApprovalDecided", decision_id), at, org_id, stack_id, approval_id, defer_token,
                           decision_id, verdict, approver, reason, bulk_action_id or "", agent_id, dpr_record_id)


def expired(org_id: str, stack_id: str, approval_id: str, defer_token: str, agent_id: str,
            deadline: datetime) -> ApprovalExpired:
    return ApprovalExpired(_id("ApprovalExpired", approval_id), deadline, org_id, stack_id, approval_id,
                           defer_token, agent_id)


def handed_out(org_id: str, stack_id: str, delivery_id: str, approval_id: str, times: int,
               at: datetime) -> DeliveryHandedOut:
    return DeliveryHandedOut(_id("DeliveryHandedOut", delivery_id, str(times)), at, org_id, stack_id, delivery_id,
                             approval_id, times)


def delivery_acknowledged(org_id: str, stack_id: str, delivery_id: str, approval_id: str, outcome: str,
                          message: str, dpr_record_id: str, at: datetime) -> DeliveryAcknowledged:
    return DeliveryAcknowledged(_id("DeliveryAcknowledged", delivery_id), at, org_id, stack_id, delivery_id,
                                approval_id, outcome, message, dpr_record_id)


def command_issued(org_id: str, stack_id: str, command_id: str, agent_id: str, command_type: CommandType,
                   reason: str, issued_by: Actor, at: datetime) -> EmergencyCommandIssued:
    return EmergencyCommandIssued(_id("EmergencyCommandIssued", command_id), at, org_id, stack_id, command_id,
                                  agent_id, command_type, reason, issued_by)


def command_delivered(org_id: str, stack_id: str, command_id: str, at: datetime) -> EmergencyCommandDelivered:
    return EmergencyCommandDelivered(_id("EmergencyCommandDelivered", command_id), at, org_id, stack_id, command_id)


def command_acknowledged(org_id: str, stack_id: str, command_id: str, outcome: str, applied_at: datetime | None,
                         dpr_record_id: str, message: str, at: datetime) -> EmergencyCommandAcknowledged:
    return EmergencyCommandAcknowledged(_id("EmergencyCommandAcknowledged", command_id), at, org_id, stack_id,
                                        command_id, outcome, applied_at, dpr_record_id, message)
