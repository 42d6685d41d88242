"""What the registry's alerts read from the log (consumer group ``registry-alerts``):

* **Triggers** (``SignalProcessor``, no state, like compliance's signals): a catalog change on
  ``registry.events.v1`` (``VersionPublished``, ``VersionYanked``) wakes
  the evaluator for every organisation with imports; a stack's status on ``sync.items.v1``
  (``stack_status``: it carries the applied governance.fms) marks its organisation for a
  re-read of its imports. A lost wake-up only waits for the periodic sweep.
* **Deliveries** (``DeliveryProcessor`` / ``DeliverySink``): the approvals service's
  ``DeliveryHandedOut`` / ``DeliveryAcknowledged`` of a delivery without an approval (a pack
  alert's: its id is the alert's) mark the alert handed out / acknowledged with the daemon's
  outcome and message; idempotent, the position stored with the rows
  (``registry_alert_positions``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from faramesh_cloud_api.approvals.v1 import events_pb2
from faramesh_cloud_api.sync.v1 import deliveries_pb2
from google.protobuf.message import DecodeError
from psycopg import AsyncConnection

from faramesh_cloud.consumer.runner import Rejected
from faramesh_cloud.events.topics import H_KIND, H_ORG, REGISTRY_EVENTS, SYNC_ITEMS
from faramesh_cloud.log.port import Message
from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.positions import apply_unseen

POSITIONS: Final = "registry_alert_positions"
CATALOG: Final = ""  # the signal of a catalog change (every organisation with imports)
# The registry events that change what is due: a version published (seeded, approved,
# mirrored) or yanked. Pack alerts' own events and key changes move nothing.
CATALOG_CHANGES: Final = frozenset({"VersionPublished", "VersionYanked"})
_OUTCOMES: Final = {v.number: v.name.removeprefix("DELIVERY_OUTCOME_").lower()
                    for v in deliveries_pb2.DeliveryOutcome.DESCRIPTOR.values}


def _kind(message: Message) -> str:
    return message.headers.get(H_KIND, b"").decode("utf-8", "replace")


class SignalProcessor:
    """A record → the organisation whose imports to re-read, :data:`CATALOG` for a catalog
    change, None for nothing that moves alerts."""

    def process(self, message: Message) -> str | None:
        if message.topic == REGISTRY_EVENTS:
            return CATALOG if _kind(message) in CATALOG_CHANGES else None
        if message.topic == SYNC_ITEMS and _kind(message) == "stack_status":
            return message.headers.get(H_ORG, b"").decode("utf-8", "replace") or None
        return None


@dataclass(frozen=True, slots=True)
class AlertDelivery:
    topic: str
    partition: int
    offset: int
    org_id: str
    alert_id: str
    at: datetime
    handed_out: int  # 0 for an acknowledgement
    outcome: str  # '' for a hand-out
    message: str


class DeliveryProcessor:
    """``approvals.events.v1`` → what happened to a pack alert's delivery (None: anything else)."""

    def process(self, message: Message) -> AlertDelivery | Rejected | None:
        kind = _kind(message)
        cls = {"DeliveryHandedOut": events_pb2.DeliveryHandedOut,
               "DeliveryAcknowledged": events_pb2.DeliveryAcknowledged}.get(kind)
        if cls is None:
            return None
        try:
            body: Any = cls.FromString(message.value)
        except DecodeError as exc:
            return Rejected(f"not a {kind}: {exc}")
        if body.approval_id:
            return None  # a decision's delivery
        org = message.headers.get(H_ORG, b"").decode("utf-8", "replace")
        if org != body.org_id or not body.HasField("occurred_at"):
            return None  # the approvals service's own consumer dead-letters it
        at = body.occurred_at.ToDatetime(tzinfo=UTC)
        if kind == "DeliveryHandedOut":
            return AlertDelivery(message.topic, message.partition, message.offset, org, body.delivery_id, at,
                                 body.handed_out, "", "")
        return AlertDelivery(message.topic, message.partition, message.offset, org, body.delivery_id, at, 0,
                             _OUTCOMES.get(body.outcome, "unspecified"), body.message)


async def _apply(conn: AsyncConnection[Any], row: AlertDelivery) -> None:
    if row.outcome:
        await conn.execute(
            "UPDATE registry_alerts SET acked_at = %s, outcome = %s, message = %s, "
            "delivered_at = COALESCE(delivered_at, %s) WHERE org_id = %s AND alert_id::text = %s "
            "AND acked_at IS NULL", (row.at, row.outcome, row.message[:2000], row.at, row.org_id, row.alert_id))
    else:
        await conn.execute(
            "UPDATE registry_alerts SET handed_out = GREATEST(handed_out, %s), delivered_at = COALESCE(delivered_at, "
            "%s) WHERE org_id = %s AND alert_id::text = %s", (row.handed_out, row.at, row.org_id, row.alert_id))


class DeliverySink:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def write(self, rows: Sequence[AlertDelivery]) -> None:
        if rows:
            async with self._db.transaction() as conn:
                await apply_unseen(conn, POSITIONS, rows, _apply)
