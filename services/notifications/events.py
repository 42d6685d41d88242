"""The edge between the service's events (``changes.py``) and the log: protobuf messages of
``faramesh_cloud_api.notifications.v1`` on ``notifications.events.v1``.

* :func:`encode`: a change as a log record (key ``"<org>/-"``; headers ``org``, ``stack``,
  ``kind`` = the message name, ``event-id``).
* :class:`ChangeProcessor` (pure): a record read back as a change. It answers for EVERY
  record, so the consumer's stored position passes each one (the service's catch-up waits
  on that position): a kind this code does not know (written by a newer version during a
  rolling restart) is passed over, and a record that cannot be read carries the reason and
  is dead-lettered by the sink.
* :data:`OUTBOX`: the service's transactional outbox (``notifications_outbox``).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any, Final

from faramesh_cloud_api.notifications.v1 import events_pb2 as pb
from google.protobuf.message import Message as ProtoMessage
from google.protobuf.timestamp_pb2 import Timestamp

from faramesh_cloud.events import records
from faramesh_cloud.events.topics import (
    H_EVENT_ID,
    H_KIND,
    H_ORG,
    H_STACK,
    NOTIFICATION_EVENTS,
    org_key,
)
from faramesh_cloud.log.port import LogRecord
from faramesh_cloud.notifications.changes import (
    ApprovalRouted,
    Change,
    DeliveriesPruned,
    DestinationCreated,
    DestinationDeleted,
    DestinationSecretRotated,
    DestinationUpdated,
    NotificationDelivered,
    NotificationFailed,
    NotificationQueued,
    RoutingRuleDeleted,
    RoutingRuleSet,
    stack_of,
)
from faramesh_cloud.notifications.domain import Kind, Notice, Step, Subject
from faramesh_cloud.outbox.store import Outbox
from faramesh_cloud.platform_audit.events import Actor, ActorType
from faramesh_cloud.rpc.wire import read_instant

TOPIC: Final = NOTIFICATION_EVENTS
OUTBOX_TABLE: Final = "notifications_outbox"
OUTBOX: Final = Outbox(OUTBOX_TABLE)


def _stamp(value: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(value)
    return stamp




def _actor(actor: Actor) -> pb.Actor:
    return pb.Actor(type=actor.type.value, id=actor.id, label=actor.label)


def _actor_of(raw: pb.Actor) -> Actor:
    return Actor(ActorType(raw.type), raw.id, raw.label)


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False)


def _message(change: Change) -> ProtoMessage:
    common = {"event_id": change.event_id, "occurred_at": _stamp(change.occurred_at), "org_id": change.org_id}
    match change:
        case DestinationCreated():
            return pb.DestinationCreated(**common, actor=_actor(change.actor), destination_id=change.destination_id,
                                         name=change.name, kind=change.kind.value, config_json=_json(change.config),
                                         sealed_secret=change.sealed_secret)
        case DestinationSecretRotated():
            return pb.DestinationSecretRotated(**common, actor=_actor(change.actor),
                                               destination_id=change.destination_id,
                                               sealed_secret=change.sealed_secret, overlap_s=change.overlap_s)
        case DeliveriesPruned():
            return pb.DeliveriesPruned(**common, pruned_before=_stamp(change.pruned_before), rows=change.rows)
        case DestinationUpdated():
            return pb.DestinationUpdated(**common, actor=_actor(change.actor), destination_id=change.destination_id,
                                         name=change.name, config_json=_json(change.config))
        case DestinationDeleted():
            return pb.DestinationDeleted(**common, actor=_actor(change.actor), destination_id=change.destination_id,
                                         name=change.name)
        case RoutingRuleSet():
            steps = [pb.EscalationStep(after_minutes=s.after_minutes, destination_ids=list(s.destinations),
                                       group_ids=list(s.groups), group_email_destination_id=s.group_email)
                     for s in change.steps]
            return pb.RoutingRuleSet(**common, actor=_actor(change.actor), rule_id=change.rule_id,
                                     subject=change.subject.value, stack_id=change.stack_id,
                                     agent_id=change.agent_id, steps=steps)
        case RoutingRuleDeleted():
            return pb.RoutingRuleDeleted(**common, actor=_actor(change.actor), rule_id=change.rule_id,
                                         subject=change.subject.value, stack_id=change.stack_id,
                                         agent_id=change.agent_id)
        case ApprovalRouted():
            return pb.ApprovalRouted(**common, stack_id=change.stack_id, defer_token=change.defer_token,
                                     agent_id=change.agent_id, tool_id=change.tool_id, session_id=change.session_id,
                                     reason=change.reason, priority=change.priority,
                                     matched_rule_id=change.matched_rule_id, created_at=_stamp(change.created_at),
                                     deadline=_stamp(change.deadline), rule_id=change.rule_id)
        case NotificationQueued():
            n = change.notice
            return pb.NotificationQueued(**common, notification_id=change.notification_id,
                                         destination_id=change.destination_id, stack_id=n.stack_id,
                                         defer_token=n.defer_token, event=n.event.value, step=n.step,
                                         notice_json=_json(n.as_dict()))
        case NotificationDelivered():
            return pb.NotificationDelivered(**common, notification_id=change.notification_id,
                                            destination_id=change.destination_id, stack_id=change.stack_id,
                                            attempts=change.attempts, status=change.status)
        case NotificationFailed():
            return pb.NotificationFailed(**common, notification_id=change.notification_id,
                                         destination_id=change.destination_id, stack_id=change.stack_id,
                                         attempts=change.attempts, status=change.status, error=change.error)
    raise TypeError(f"not a notifications event: {change!r}")


def encode(change: Change) -> LogRecord:
    message = _message(change)
    headers = {H_ORG: change.org_id.encode(), H_STACK: stack_of(change).encode(),
               H_KIND: type(message).__name__.encode(), H_EVENT_ID: change.event_id.encode()}
    return LogRecord(org_key(change.org_id), message.SerializeToString(deterministic=True), headers)


def _id(value: str, what: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise ValueError(f"{what} {value!r} is not a UUID") from None


def _status(m: pb.NotificationDelivered | pb.NotificationFailed) -> int | None:
    return m.status if m.HasField("status") else None


def _destination_created(m: pb.DestinationCreated, c: dict[str, Any]) -> Change:
    config = json.loads(m.config_json or "{}")
    if not isinstance(config, dict):
        raise ValueError("config_json is not a JSON object")
    return DestinationCreated(**c, actor=_actor_of(m.actor), destination_id=_id(m.destination_id, "destination_id"),
                              name=m.name, kind=Kind(m.kind), config=config, sealed_secret=m.sealed_secret)


def _rotated(m: pb.DestinationSecretRotated, c: dict[str, Any]) -> Change:
    return DestinationSecretRotated(**c, actor=_actor_of(m.actor),
                                    destination_id=_id(m.destination_id, "destination_id"),
                                    sealed_secret=m.sealed_secret, overlap_s=m.overlap_s)


def _updated(m: pb.DestinationUpdated, c: dict[str, Any]) -> Change:
    config = json.loads(m.config_json or "{}")
    if not isinstance(config, dict):
        raise ValueError("config_json is not a JSON object")
    if not m.name:
        raise ValueError("a destination keeps a name")
    return DestinationUpdated(**c, actor=_actor_of(m.actor), destination_id=_id(m.destination_id, "destination_id"),
                              name=m.name, config=config)


def _pruned(m: pb.DeliveriesPruned, c: dict[str, Any]) -> Change:
    if not m.HasField("pruned_before"):
        raise ValueError("a prune says before when")
    return DeliveriesPruned(**c, pruned_before=read_instant(m.pruned_before), rows=m.rows)


def _deleted(m: pb.DestinationDeleted, c: dict[str, Any]) -> Change:
    return DestinationDeleted(**c, actor=_actor_of(m.actor), destination_id=_id(m.destination_id, "destination_id"),
                              name=m.name)


def _rule_set(m: pb.RoutingRuleSet, c: dict[str, Any]) -> Change:
    steps = tuple(Step(s.after_minutes, tuple(s.destination_ids), tuple(s.group_ids), s.group_email_destination_id)
                  for s in m.steps)
    if not steps:
        raise ValueError("a routing rule has at least one step")
    return RoutingRuleSet(**c, actor=_actor_of(m.actor), rule_id=_id(m.rule_id, "rule_id"),
                          subject=Subject(m.subject), stack_id=m.stack_id, agent_id=m.agent_id, steps=steps)


def _rule_deleted(m: pb.RoutingRuleDeleted, c: dict[str, Any]) -> Change:
    return RoutingRuleDeleted(**c, actor=_actor_of(m.actor), rule_id=_id(m.rule_id, "rule_id"),
                              subject=Subject(m.subject), stack_id=m.stack_id, agent_id=m.agent_id)


def _routed(m: pb.ApprovalRouted, c: dict[str, Any]) -> Change:
    if not m.defer_token:
        raise ValueError("an approval needs its defer_token")
    return ApprovalRouted(**c, stack_id=m.stack_id, defer_token=m.defer_token, agent_id=m.agent_id,
                          tool_id=m.tool_id, session_id=m.session_id, reason=m.reason, priority=m.priority,
                          matched_rule_id=m.matched_rule_id, created_at=read_instant(m.created_at),
                          deadline=read_instant(m.deadline), rule_id=_id(m.rule_id, "rule_id") if m.rule_id else "")


def _queued(m: pb.NotificationQueued, c: dict[str, Any]) -> Change:
    raw = json.loads(m.notice_json)
    if not isinstance(raw, dict):
        raise ValueError("notice_json is not a JSON object")
    notice = Notice.from_dict(raw)
    if (notice.org_id, notice.stack_id, notice.defer_token, notice.event.value, notice.step) != (
            c["org_id"], m.stack_id, m.defer_token, m.event, m.step):
        raise ValueError("the notice does not match the notification it is queued as")
    return NotificationQueued(**c, notification_id=_id(m.notification_id, "notification_id"),
                              destination_id=_id(m.destination_id, "destination_id"), notice=notice)


def _delivered(m: pb.NotificationDelivered, c: dict[str, Any]) -> Change:
    return NotificationDelivered(**c, notification_id=_id(m.notification_id, "notification_id"),
                                 destination_id=_id(m.destination_id, "destination_id"), stack_id=m.stack_id,
                                 attempts=m.attempts, status=_status(m))


def _failed(m: pb.NotificationFailed, c: dict[str, Any]) -> Change:
    return NotificationFailed(**c, notification_id=_id(m.notification_id, "notification_id"),
                              destination_id=_id(m.destination_id, "destination_id"), stack_id=m.stack_id,
                              attempts=m.attempts, status=_status(m), error=m.error)


_DECODERS: Final[dict[str, tuple[type[Any], Callable[[Any, dict[str, Any]], Change]]]] = {
    "DestinationCreated": (pb.DestinationCreated, _destination_created),
    "DestinationSecretRotated": (pb.DestinationSecretRotated, _rotated),
    "DestinationDeleted": (pb.DestinationDeleted, _deleted),
    "DestinationUpdated": (pb.DestinationUpdated, _updated),
    "DeliveriesPruned": (pb.DeliveriesPruned, _pruned),
    "RoutingRuleSet": (pb.RoutingRuleSet, _rule_set),
    "RoutingRuleDeleted": (pb.RoutingRuleDeleted, _rule_deleted),
    "ApprovalRouted": (pb.ApprovalRouted, _routed),
    "NotificationQueued": (pb.NotificationQueued, _queued),
    "NotificationDelivered": (pb.NotificationDelivered, _delivered),
    "NotificationFailed": (pb.NotificationFailed, _failed),
}


def decode(kind: str, value: bytes, org_header: str) -> Change | None:
    """The change in ``value``; None for a kind this code does not know. Raises ValueError
    (or DecodeError) with the reason for a record that cannot be read, or whose body names
    another organisation than its ``org`` header."""
    found = _DECODERS.get(kind)
    if found is None:
        return None
    message_type, build = found
    message = message_type.FromString(value)
    org_id = _id(message.org_id, "org_id")
    if org_id != org_header:
        raise ValueError(f"the event names organisation {org_id} but its org header says {org_header!r}")
    if not message.HasField("occurred_at"):
        raise ValueError("the event has no occurred_at")
    common = {"event_id": _id(message.event_id, "event_id"), "occurred_at": read_instant(message.occurred_at),
              "org_id": org_id}
    return build(message, common)


Seen = records.Seen  # of this service's Change (a parameterised alias cannot build a frozen, slotted instance)


class ChangeProcessor(records.OwnEventProcessor[Change]):
    """This service's events read back (``decode``), each record answered (``records``)."""

    def __init__(self) -> None:
        super().__init__(decode)
