"""The approvals service's events on the wire (``faramesh_cloud_api.approvals.v1``
``events.proto``): :mod:`changes` to log records and back, and the sync v1 ``Delivery`` a
decision becomes. The only module of the service's write side that touches generated code.

A record's key is ``<org>/<stack>``, its headers ``org``, ``stack``, ``kind`` (the message
name) and ``event-id``; the tenant is read from the headers and a body naming another
organisation or stack is refused, like an unknown kind or bytes that do not decode (the
consumer dead-letters them with the reason)."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Final

from faramesh_cloud_api.approvals.v1 import events_pb2 as pb
from faramesh_cloud_api.sync.v1 import actor_pb2, approvals_pb2, deliveries_pb2, emergency_pb2
from google.protobuf.message import DecodeError
from google.protobuf.message import Message as Proto

from faramesh_cloud.approvals.changes import (
    ApprovalDecided,
    ApprovalExpired,
    Change,
    DeliveryAcknowledged,
    DeliveryHandedOut,
    EmergencyCommandAcknowledged,
    EmergencyCommandDelivered,
    EmergencyCommandIssued,
)
from faramesh_cloud.approvals.domain import CommandType, Verdict
from faramesh_cloud.consumer.runner import Rejected
from faramesh_cloud.events.topics import H_EVENT_ID, H_KIND, H_ORG, H_STACK, stack_key
from faramesh_cloud.log.port import LogRecord, Message
from faramesh_cloud.platform_audit.events import Actor, ActorType
from faramesh_cloud.rpc.wire import moment

MAX_INT4: Final = 2**31 - 1

VERDICTS: Final = {Verdict.APPROVE: approvals_pb2.APPROVAL_VERDICT_APPROVE,
                   Verdict.DENY: approvals_pb2.APPROVAL_VERDICT_DENY}
COMMAND_TYPES: Final = {CommandType.KILL: emergency_pb2.EMERGENCY_COMMAND_TYPE_AGENT_KILL,
                        CommandType.ISOLATE: emergency_pb2.EMERGENCY_COMMAND_TYPE_AGENT_ISOLATE}
DELIVERY_OUTCOMES: Final = {
    deliveries_pb2.DELIVERY_OUTCOME_ACCEPTED: "accepted",
    deliveries_pb2.DELIVERY_OUTCOME_CONFLICT: "conflict",
    deliveries_pb2.DELIVERY_OUTCOME_NOT_FOUND: "not_found",
    deliveries_pb2.DELIVERY_OUTCOME_REFUSED: "refused",
    deliveries_pb2.DELIVERY_OUTCOME_UNSUPPORTED: "unsupported",
}
COMMAND_OUTCOMES: Final = {
    emergency_pb2.EMERGENCY_COMMAND_OUTCOME_APPLIED: "applied",
    emergency_pb2.EMERGENCY_COMMAND_OUTCOME_ALREADY_IN_EFFECT: "already_in_effect",
    emergency_pb2.EMERGENCY_COMMAND_OUTCOME_REJECTED: "rejected",
    emergency_pb2.EMERGENCY_COMMAND_OUTCOME_FAILED: "failed",
}
_DELIVERY_NUMBERS: Final = {v: k for k, v in DELIVERY_OUTCOMES.items()}
_COMMAND_NUMBERS: Final = {v: k for k, v in COMMAND_OUTCOMES.items()}


def delivery_outcome(number: int) -> str:
    return DELIVERY_OUTCOMES.get(number, "unspecified")  # type: ignore[call-overload,no-any-return]


def command_outcome(number: int) -> str:
    return COMMAND_OUTCOMES.get(number, "unspecified")  # type: ignore[call-overload,no-any-return]


def _stamp(target: Any, at: datetime | None) -> None:
    if at is not None:
        target.FromDatetime(at)


def _actor(actor: Actor) -> pb.EventActor:
    return pb.EventActor(type=str(actor.type), id=actor.id, label=actor.label)


def _from_actor(actor: pb.EventActor) -> Actor:
    return Actor(ActorType(actor.type), actor.id, actor.label)


# -- encode -------------------------------------------------------------------------------

def _message(change: Change) -> Proto:
    common = {"event_id": change.event_id, "org_id": change.org_id, "stack_id": change.stack_id}
    message: Proto
    match change:
        case ApprovalDecided():
            message = pb.ApprovalDecided(
                **common, approval_id=change.approval_id, defer_token=change.defer_token,
                decision_id=change.decision_id, verdict=VERDICTS[change.verdict], approver=_actor(change.approver),
                reason=change.reason, bulk_action_id=change.bulk_action_id, agent_id=change.agent_id,
                dpr_record_id=change.dpr_record_id)
        case ApprovalExpired():
            message = pb.ApprovalExpired(**common, approval_id=change.approval_id, defer_token=change.defer_token,
                                         agent_id=change.agent_id)
        case DeliveryHandedOut():
            message = pb.DeliveryHandedOut(**common, delivery_id=change.delivery_id, approval_id=change.approval_id,
                                           handed_out=change.handed_out)
        case DeliveryAcknowledged():
            message = pb.DeliveryAcknowledged(
                **common, delivery_id=change.delivery_id, approval_id=change.approval_id,
                outcome=_DELIVERY_NUMBERS.get(change.outcome, 0), message=change.message,
                dpr_record_id=change.dpr_record_id)
        case EmergencyCommandIssued():
            message = pb.EmergencyCommandIssued(
                **common, command_id=change.command_id, agent_id=change.agent_id,
                command_type=COMMAND_TYPES[change.command_type], reason=change.reason,
                issued_by=_actor(change.issued_by))
        case EmergencyCommandDelivered():
            message = pb.EmergencyCommandDelivered(**common, command_id=change.command_id)
        case EmergencyCommandAcknowledged():
            message = pb.EmergencyCommandAcknowledged(
                **common, command_id=change.command_id, outcome=_COMMAND_NUMBERS.get(change.outcome, 0),
                dpr_record_id=change.dpr_record_id, message=change.message)
            _stamp(message.applied_at, change.applied_at)
    _stamp(message.occurred_at, change.occurred_at)  # type: ignore[attr-defined]
    return message


def encode(change: Change) -> LogRecord:
    """The log record of ``change`` (its topic: ``changes.topic_of``)."""
    return LogRecord(stack_key(change.org_id, change.stack_id), _message(change).SerializeToString(), {
        H_ORG: change.org_id.encode(), H_STACK: change.stack_id.encode(),
        H_KIND: type(change).__name__.encode(), H_EVENT_ID: change.event_id.encode()})


# -- decode -------------------------------------------------------------------------------

def _decided(m: pb.ApprovalDecided, at: datetime) -> Change:
    verdicts = {v: k for k, v in VERDICTS.items()}
    if m.verdict not in verdicts:
        raise ValueError(f"verdict {m.verdict} is neither approve nor deny")
    return ApprovalDecided(m.event_id, at, m.org_id, m.stack_id, m.approval_id, m.defer_token, m.decision_id,
                           verdicts[m.verdict], _from_actor(m.approver), m.reason, m.bulk_action_id, m.agent_id,
                           m.dpr_record_id)


def _issued(m: pb.EmergencyCommandIssued, at: datetime) -> Change:
    types = {v: k for k, v in COMMAND_TYPES.items()}
    if m.command_type not in types:
        raise ValueError(f"command type {m.command_type} is neither kill nor isolate")
    return EmergencyCommandIssued(m.event_id, at, m.org_id, m.stack_id, m.command_id, m.agent_id,
                                  types[m.command_type], m.reason, _from_actor(m.issued_by))


_DECODERS: Final[Mapping[str, tuple[type[Proto], Callable[[Any, datetime], Change]]]] = {
    "ApprovalDecided": (pb.ApprovalDecided, _decided),
    "ApprovalExpired": (pb.ApprovalExpired, lambda m, at: ApprovalExpired(
        m.event_id, at, m.org_id, m.stack_id, m.approval_id, m.defer_token, m.agent_id)),
    "DeliveryHandedOut": (pb.DeliveryHandedOut, lambda m, at: DeliveryHandedOut(
        m.event_id, at, m.org_id, m.stack_id, m.delivery_id, m.approval_id, m.handed_out)),
    "DeliveryAcknowledged": (pb.DeliveryAcknowledged, lambda m, at: DeliveryAcknowledged(
        m.event_id, at, m.org_id, m.stack_id, m.delivery_id, m.approval_id, delivery_outcome(m.outcome), m.message,
        m.dpr_record_id)),
    "EmergencyCommandIssued": (pb.EmergencyCommandIssued, _issued),
    "EmergencyCommandDelivered": (pb.EmergencyCommandDelivered, lambda m, at: EmergencyCommandDelivered(
        m.event_id, at, m.org_id, m.stack_id, m.command_id)),
    "EmergencyCommandAcknowledged": (pb.EmergencyCommandAcknowledged, lambda m, at: EmergencyCommandAcknowledged(
        m.event_id, at, m.org_id, m.stack_id, m.command_id, command_outcome(m.outcome), moment(m, "applied_at"),
        m.dpr_record_id, m.message)),
}
_IDS: Final = {"ApprovalDecided": ("approval_id", "decision_id"), "ApprovalExpired": ("approval_id",),
               "DeliveryHandedOut": ("delivery_id", "approval_id"),
               "DeliveryAcknowledged": ("delivery_id", "approval_id"), "EmergencyCommandIssued": ("command_id",),
               "EmergencyCommandDelivered": ("command_id",), "EmergencyCommandAcknowledged": ("command_id",)}
KINDS: Final = tuple(_DECODERS)
# A delivery's events name its approval, or none (a registry pack alert: pack_alerts.py).
_DELIVERY_KINDS: Final = frozenset({"DeliveryHandedOut", "DeliveryAcknowledged"})


def _is_uuid(value: str) -> bool:
    try:
        return str(uuid.UUID(value)) == value
    except ValueError:
        return False


def _problem(kind: str, body: Any, org: str, stack: str) -> str | None:
    """Why the projection could not store this body (checked here, so the sink never
    fails on data: a sink failure is retried, a rejection is dead-lettered)."""
    if (body.org_id, body.stack_id) != (org, stack):
        return f"names org/stack {body.org_id}/{body.stack_id} but its headers say {org}/{stack}"
    if not body.HasField("occurred_at") or not _is_uuid(body.event_id) or not _is_uuid(org):
        return "needs an event_id and an org_id (UUIDs) and occurred_at"
    bad = [name for name in _IDS[kind] if not _is_uuid(getattr(body, name))
           and not (name == "approval_id" and kind in _DELIVERY_KINDS and not body.approval_id)]
    if getattr(body, "bulk_action_id", "") and not _is_uuid(body.bulk_action_id):
        bad.append("bulk_action_id")
    if bad:
        return f"has no valid {', '.join(bad)} (a UUID)"
    if getattr(body, "handed_out", 0) > MAX_INT4:
        return f"handed_out {body.handed_out} is out of range"
    return None


def decode(message: Message) -> Change | Rejected:
    """The change a record of ``approvals.events.v1`` / ``commands.emergency.v1`` carries,
    or why it cannot be applied."""
    kind = message.headers.get(H_KIND, b"").decode("utf-8", "replace")
    found = _DECODERS.get(kind)
    if found is None:
        return Rejected(f"unknown approvals event kind {kind!r} (expected one of {', '.join(KINDS)})")
    try:
        org, stack = message.headers[H_ORG].decode(), message.headers[H_STACK].decode()
    except (KeyError, UnicodeDecodeError) as exc:
        return Rejected(f"{kind} without a readable tenant header ({exc})")
    cls, build = found
    try:
        body = cls.FromString(message.value)
    except DecodeError as exc:
        return Rejected(f"not a {kind}: {exc}")
    problem = _problem(kind, body, org, stack)
    if problem is not None:
        return Rejected(f"{kind} {problem}")
    try:
        change = build(body, body.occurred_at.ToDatetime(tzinfo=UTC))  # type: ignore[attr-defined]
    except ValueError as exc:  # an unknown verdict / type / actor type, a timestamp out of range
        return Rejected(f"{kind}: {exc}")
    if any("\x00" in v for v in _strings(change)):
        return Rejected(f"{kind} holds a NUL character, which the projection cannot store")
    return change


def _strings(change: Change) -> list[str]:
    values = [getattr(change, f.name) for f in dataclasses.fields(change)]
    values += [a.id for a in values if isinstance(a, Actor)] + [a.label for a in values if isinstance(a, Actor)]
    return [v for v in values if isinstance(v, str)]


# -- what a decision becomes for the daemon -------------------------------------------------

def delivery_payload(change: ApprovalDecided) -> bytes:
    """The sync v1 ``Delivery`` handed to the daemon (delivery id = decision id)."""
    approver = change.approver
    decision = approvals_pb2.ApprovalDecision(
        decision_id=change.decision_id, defer_token=change.defer_token, agent_id=change.agent_id,
        verdict=VERDICTS[change.verdict],
        approver=actor_pb2.Actor(user_id=approver.id, email=approver.label if "@" in approver.label else "",
                                 display_name=approver.label),
        reason=change.reason, dpr_record_id=change.dpr_record_id, bulk_action_id=change.bulk_action_id,
    )
    decision.decided_at.FromDatetime(change.occurred_at)
    delivery = deliveries_pb2.Delivery(delivery_id=change.decision_id, approval_decision=decision)
    delivery.created_at.FromDatetime(change.occurred_at)
    return delivery.SerializeToString()
