"""The edge between the audit index's alert events (``alert_events``, pure) and their wire form
(``faramesh_cloud_api.audit_index.v1``, protobuf) on ``audit.alerts.v1``."""

from __future__ import annotations

from typing import Final

from faramesh_cloud_api.audit_index.v1 import events_pb2 as pb
from google.protobuf.message import DecodeError

from faramesh_cloud.audit_index.alert_events import (
    SYSTEM_TYPE,
    AlertAcknowledged,
    AlertEvent,
    AlertKey,
    AlertRaised,
    AlertRetracted,
)
from faramesh_cloud.events.records import event_record
from faramesh_cloud.log.port import LogRecord
from faramesh_cloud.rpc.wire import instant, read_instant

KINDS: Final = ("AlertRaised", "AlertAcknowledged", "AlertRetracted")


def _identity(key: AlertKey) -> pb.AlertIdentity:
    return pb.AlertIdentity(stack_id=key.stack_id, agent_id=key.agent_id, record_id=key.record_id,
                            record_hash=key.record_hash, kind=key.kind)


def _key(org_id: str, identity: pb.AlertIdentity) -> AlertKey:
    return AlertKey(org_id, identity.stack_id, identity.agent_id, identity.record_id, identity.record_hash,
                    identity.kind)


def encode(event: AlertEvent) -> bytes:
    key = event.key
    if isinstance(event, AlertRaised):
        return pb.AlertRaised(event_id=event.event_id, occurred_at=instant(event.occurred_at), org_id=key.org_id,
                              alert=_identity(key), alert_id=event.alert_id, severity=event.severity,
                              message=event.message, record_created_at=event.record_created_at).SerializeToString()
    if isinstance(event, AlertAcknowledged):
        return pb.AlertAcknowledged(
            event_id=event.event_id, occurred_at=instant(event.occurred_at), org_id=key.org_id, alert=_identity(key),
            alert_id=event.alert_id, actor=pb.AlertActor(type=event.actor_type, id=event.actor_id,
                                                         label=event.actor_label),
            note=event.note).SerializeToString()
    return pb.AlertRetracted(
        event_id=event.event_id, occurred_at=instant(event.occurred_at), org_id=key.org_id, alert=_identity(key),
        alert_id=event.alert_id, actor=pb.AlertActor(type=SYSTEM_TYPE, label=event.actor_label), note=event.note,
        from_revision=event.from_revision, to_revision=event.to_revision, cause=event.cause).SerializeToString()


def record(event: AlertEvent) -> LogRecord:
    """The log record of ``event`` for ``audit.alerts.v1``."""
    return event_record(event.key.org_id, event.key.stack_id, type(event).__name__, event.event_id, encode(event))


def decode(kind: str, value: bytes) -> AlertEvent | None:
    """The event, or None for a kind this code does not know (a newer index's: skipped).
    Raises ``ValueError`` for bytes that are not the named message."""
    try:
        if kind == "AlertRaised":
            raised = pb.AlertRaised.FromString(value)
            return AlertRaised(key=_key(raised.org_id, raised.alert), occurred_at=read_instant(raised.occurred_at),
                               alert_id=raised.alert_id, severity=raised.severity, message=raised.message,
                               record_created_at=raised.record_created_at)
        if kind == "AlertAcknowledged":
            ack = pb.AlertAcknowledged.FromString(value)
            return AlertAcknowledged(key=_key(ack.org_id, ack.alert), occurred_at=read_instant(ack.occurred_at),
                                     alert_id=ack.alert_id, actor_type=ack.actor.type, actor_id=ack.actor.id,
                                     actor_label=ack.actor.label, note=ack.note)
        if kind == "AlertRetracted":
            closed = pb.AlertRetracted.FromString(value)
            return AlertRetracted(key=_key(closed.org_id, closed.alert), occurred_at=read_instant(closed.occurred_at),
                                  alert_id=closed.alert_id, actor_label=closed.actor.label, note=closed.note,
                                  from_revision=closed.from_revision, to_revision=closed.to_revision,
                                  cause=closed.cause or f"verifier-revision-{closed.to_revision}")
    except DecodeError as exc:
        raise ValueError(f"not a {kind}: {exc}") from None
    return None
