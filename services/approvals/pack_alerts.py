"""Registry pack alerts as deliveries (issue 15, pure): a ``PackAlertRaised`` record of
``registry.events.v1`` (key ``<org>/<stack>``, headers ``org``, ``stack``, ``kind``; its
``alert`` is the sync v1 ``RegistryPackAlert``) becomes the ``Delivery`` its stack's daemon is handed by
``PollDecisions`` until it acknowledges it with ``AckDecisions``, exactly like a decision.
The delivery id is the alert id, so a redelivered or replayed record is the same delivery.
Other registry events concern the approvals service not at all (skipped)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from faramesh_cloud_api.registry.v1 import events_pb2
from faramesh_cloud_api.sync.v1 import deliveries_pb2
from google.protobuf.message import DecodeError

from faramesh_cloud.consumer.runner import Rejected
from faramesh_cloud.events.topics import H_KIND, H_ORG, H_STACK
from faramesh_cloud.log.port import Message

PACK_ALERT_RAISED: Final = events_pb2.PackAlertRaised.DESCRIPTOR.name
DELIVERY_KIND: Final = "registry_pack_alert"


@dataclass(frozen=True, slots=True)
class PackAlertQueued:
    """One alert to hand to its stack's daemon, with its log position."""

    topic: str
    partition: int
    offset: int
    org_id: str
    stack_id: str
    delivery_id: str
    payload: bytes  # the serialised sync v1 Delivery
    raised_at: datetime


def _uuid(value: str) -> str | None:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return None


def pack_alert(message: Message) -> PackAlertQueued | Rejected | None:
    """The delivery a ``registry.events.v1`` record asks for; None for any other kind."""
    if message.headers.get(H_KIND, b"") != PACK_ALERT_RAISED.encode():
        return None
    try:
        org, stack = message.headers[H_ORG].decode(), message.headers[H_STACK].decode()
    except (KeyError, UnicodeDecodeError) as exc:
        return Rejected(f"{PACK_ALERT_RAISED} without a readable tenant header ({exc})")
    if _uuid(org) != org or not stack or "\x00" in stack:
        return Rejected(f"{PACK_ALERT_RAISED} names no valid organisation (a UUID) and stack")
    try:
        raised_event = events_pb2.PackAlertRaised.FromString(message.value)
    except DecodeError as exc:
        return Rejected(f"not a {PACK_ALERT_RAISED}: {exc}")
    if (raised_event.org_id, raised_event.stack_id) != (org, stack):
        return Rejected(f"{PACK_ALERT_RAISED} for {raised_event.org_id}/{raised_event.stack_id} under the headers "
                        f"of {org}/{stack}")
    alert = raised_event.alert
    alert_id = _uuid(alert.alert_id)
    if alert_id is None or not alert.HasField("raised_at") or not alert.current.name:
        return Rejected(f"{PACK_ALERT_RAISED} needs an alert_id (a UUID), raised_at and the current artifact")
    try:
        raised = alert.raised_at.ToDatetime(tzinfo=UTC)
    except ValueError as exc:
        return Rejected(f"{PACK_ALERT_RAISED}: {exc}")
    delivery = deliveries_pb2.Delivery(delivery_id=alert_id, registry_pack_alert=alert)
    delivery.created_at.CopyFrom(alert.raised_at)
    return PackAlertQueued(message.topic, message.partition, message.offset, org, stack, alert_id,
                           delivery.SerializeToString(), raised)
