"""The edge of the chain-integrity alert hand-off: the audit index's events as this service
reads them (``audit.alerts.v1``, ``faramesh_cloud_api.audit_index.v1``: the published
contract, not the index's code) and this service's own record of what it did with them
(``notifications.alerts.v1``, ``faramesh_cloud_api.notifications.v1``)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Final

import orjson
from faramesh_cloud_api.audit_index.v1 import events_pb2 as audit_pb
from faramesh_cloud_api.notifications.v1 import alert_events_pb2 as pb
from google.protobuf.message import DecodeError

from faramesh_cloud.events.records import event_record
from faramesh_cloud.log.port import LogRecord
from faramesh_cloud.rpc.wire import instant, read_instant

# Namespace of this service's alert event ids (uuid5 of the alert's identity).
NAMESPACE: Final = uuid.uuid5(uuid.NAMESPACE_URL, "faramesh-cloud/notifications/alerts")
AlertKey = tuple[str, str, str, str, str, str]  # org, stack, agent, record id, record hash, kind


def _event_id(what: str, key: AlertKey) -> str:
    return str(uuid.uuid5(NAMESPACE, orjson.dumps([what, *key]).decode()))


# What the audit index says (audit.alerts.v1) ---------------------------------------------

@dataclass(frozen=True, slots=True)
class Raised:
    key: AlertKey
    alert_id: int
    message: str
    raised_at: datetime


@dataclass(frozen=True, slots=True)
class Closed:
    """Acknowledged by a person, or retracted by the index (acknowledged by the system)."""

    key: AlertKey
    alert_id: int
    acknowledged_at: datetime
    acknowledged_by: str
    note: str


def _key(org_id: str, identity: audit_pb.AlertIdentity) -> AlertKey:
    return (org_id, identity.stack_id, identity.agent_id, identity.record_id, identity.record_hash, identity.kind)


def decode_alert_event(kind: str, value: bytes) -> Raised | Closed | None:
    """An ``audit.alerts.v1`` event (None: a kind this service has no use for); ``ValueError``
    for bytes that are not the named message."""
    try:
        if kind == "AlertRaised":
            raised = audit_pb.AlertRaised.FromString(value)
            return Raised(_key(raised.org_id, raised.alert), raised.alert_id, raised.message,
                          read_instant(raised.occurred_at))
        if kind == "AlertAcknowledged":
            ack = audit_pb.AlertAcknowledged.FromString(value)
            return Closed(_key(ack.org_id, ack.alert), ack.alert_id, read_instant(ack.occurred_at), ack.actor.label, ack.note)
        if kind == "AlertRetracted":
            done = audit_pb.AlertRetracted.FromString(value)
            return Closed(_key(done.org_id, done.alert), done.alert_id, read_instant(done.occurred_at), done.actor.label,
                          done.note)
    except DecodeError as exc:
        raise ValueError(f"not a {kind}: {exc}") from None
    return None


# What this service did (notifications.alerts.v1) ------------------------------------------

@dataclass(frozen=True, slots=True)
class Routed:
    key: AlertKey
    alert_id: int  # the id its notices carry
    rule_id: str
    destination_ids: tuple[str, ...]
    acknowledged: bool
    message: str
    raised_at: datetime
    occurred_at: datetime

    @property
    def event_id(self) -> str:
        return _event_id("routed", self.key)

    def record(self) -> LogRecord:
        org, stack, agent, record_id, record_hash, kind = self.key
        value = pb.ChainAlertRouted(
            event_id=self.event_id, occurred_at=instant(self.occurred_at), org_id=org, stack_id=stack, agent_id=agent,
            record_id=record_id, record_hash=record_hash, kind=kind, alert_id=self.alert_id, rule_id=self.rule_id,
            destination_ids=list(self.destination_ids), acknowledged=self.acknowledged, message=self.message,
            raised_at=instant(self.raised_at)).SerializeToString()
        return event_record(org, stack, "ChainAlertRouted", self.event_id, value)


@dataclass(frozen=True, slots=True)
class PassedOn:
    key: AlertKey
    acknowledged_at: datetime
    destination_ids: tuple[str, ...]
    occurred_at: datetime

    @property
    def event_id(self) -> str:
        return _event_id("closed", self.key)

    def record(self) -> LogRecord:
        org, stack, agent, record_id, record_hash, kind = self.key
        value = pb.ChainAlertClosed(
            event_id=self.event_id, occurred_at=instant(self.occurred_at), org_id=org, stack_id=stack, agent_id=agent,
            record_id=record_id, record_hash=record_hash, kind=kind, acknowledged_at=instant(self.acknowledged_at),
            destination_ids=list(self.destination_ids)).SerializeToString()
        return event_record(org, stack, "ChainAlertClosed", self.event_id, value)


def decode_own_event(kind: str, value: bytes) -> Routed | PassedOn | None:
    try:
        if kind == "ChainAlertRouted":
            r = pb.ChainAlertRouted.FromString(value)
            return Routed((r.org_id, r.stack_id, r.agent_id, r.record_id, r.record_hash, r.kind), r.alert_id,
                          r.rule_id, tuple(r.destination_ids), r.acknowledged, r.message, read_instant(r.raised_at),
                          read_instant(r.occurred_at))
        if kind == "ChainAlertClosed":
            c = pb.ChainAlertClosed.FromString(value)
            return PassedOn((c.org_id, c.stack_id, c.agent_id, c.record_id, c.record_hash, c.kind),
                            read_instant(c.acknowledged_at), tuple(c.destination_ids), read_instant(c.occurred_at))
    except DecodeError as exc:
        raise ValueError(f"not a {kind}: {exc}") from None
    return None
