"""The index's own consumer of ``audit.alerts.v1`` (group ``<group>-alerts``): its alert events
applied with ``alert_state.apply``, the position in ``audit_index_positions`` (projection
``audit-index/alerts``) in the same transaction.

In normal operation every event was applied by the transaction that wrote it, so this
changes nothing. After a rebuild from an empty database (the topics replayed from offset 0)
it brings back what the records cannot: people's acknowledgements with their notes, the
closures a verifier fix made, and alerts an earlier verifier raised. Whatever order the
alert's records and these events arrive in, the state converges (``alert_state``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from faramesh_cloud.audit_index import alert_state, events
from faramesh_cloud.audit_index import postgres as pg
from faramesh_cloud.audit_index.alert_events import AlertEvent
from faramesh_cloud.consumer.runner import Rejected
from faramesh_cloud.events.records import event_headers
from faramesh_cloud.log.port import Message
from faramesh_cloud.sql.database import Database

PROJECTION: Final = "audit-index/alerts"


@dataclass(frozen=True, slots=True)
class PositionedAlertEvent:
    topic: str
    partition: int
    offset: int
    event: AlertEvent | None  # None: a kind this code does not know (skipped, position moves)


class AlertEventProcessor:
    """Pure: one ``audit.alerts.v1`` message to its event, or ``Rejected`` with the reason."""

    def process(self, message: Message) -> PositionedAlertEvent | Rejected:
        try:
            headers = event_headers(message.key, message.headers)
            event = events.decode(headers.kind, message.value)
        except ValueError as exc:
            return Rejected(f"not an audit alert event: {exc}")
        if event is not None and (event.key.org_id, event.key.stack_id) != (headers.org_id, headers.stack_id):
            return Rejected(f"{headers.kind} names {event.key.org_id}/{event.key.stack_id} but its headers say "
                            f"{headers.org_id}/{headers.stack_id}")
        return PositionedAlertEvent(message.topic, message.partition, message.offset, event)


class AlertEventSink:
    """``consumer.runner.Sink``: applies the batch's events in log order, idempotently."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self.applied = 0

    async def write(self, rows: Sequence[PositionedAlertEvent]) -> None:
        by_topic: dict[str, list[PositionedAlertEvent]] = {}
        for row in rows:
            by_topic.setdefault(row.topic, []).append(row)
        async with self._db.transaction() as conn:
            for topic, found in sorted(by_topic.items()):
                positions = await pg.lock_positions(conn, topic, {r.partition for r in found}, PROJECTION)
                for row in sorted(found, key=lambda r: (r.partition, r.offset)):
                    if row.offset < positions[row.partition]:
                        continue
                    if row.event is not None:
                        await alert_state.apply(conn, row.event)
                        self.applied += 1
                    positions[row.partition] = row.offset + 1
                await pg.save_positions(conn, topic, positions, PROJECTION)
