"""Alerts raised before the index wrote alert events (migration 0006 marks them unannounced):
on start, each is announced once on ``audit.alerts.v1``, with ``AlertAcknowledged`` after its
``AlertRaised`` when it was closed, so the log holds every alert and a rebuild loses none.
The notifications service knows them already by identity (its earlier hand-off), so nothing
is notified again; what the upgrade caught between its reads is notified now."""

from __future__ import annotations

from typing import Final

from faramesh_cloud.audit_index import events as codec
from faramesh_cloud.audit_index.alert_events import (
    AlertAcknowledged,
    AlertEvent,
    AlertKey,
    AlertRaised,
)
from faramesh_cloud.audit_index.alert_state import OUTBOX
from faramesh_cloud.events.topics import AUDIT_ALERTS
from faramesh_cloud.sql.database import Database

_BATCH: Final = 500


async def announce_existing(db: Database, batch: int = _BATCH) -> int:
    """Announce every unannounced alert; how many were announced."""
    total = 0
    while True:
        async with db.transaction() as conn:
            rows = await (await conn.execute(
                "SELECT a.alert_id, a.org_id, a.stack_id, a.agent_id, a.record_id, a.record_hash, a.kind, a.severity, "
                "a.message, a.record_created_at, a.created_at, c.closed_by_type, c.closed_by, c.closed_at, c.note "
                "FROM audit_alerts a LEFT JOIN audit_alert_closures c USING "
                "(org_id, stack_id, agent_id, record_id, record_hash, kind) "
                "WHERE NOT a.announced ORDER BY a.alert_id LIMIT %s FOR UPDATE OF a SKIP LOCKED", (batch,),
            )).fetchall()
            if not rows:
                return total
            events: list[AlertEvent] = []
            for (alert_id, org, stack, agent, record_id, record_hash, kind, severity, message, record_created_at,
                 created_at, by_type, by, closed_at, note) in rows:
                key = AlertKey(org, stack, agent, record_id, record_hash, kind)
                events.append(AlertRaised(key=key, occurred_at=created_at, alert_id=int(alert_id), severity=severity,
                                          message=message, record_created_at=record_created_at))
                if closed_at is not None:
                    events.append(AlertAcknowledged(key=key, occurred_at=closed_at, alert_id=int(alert_id),
                                                    actor_type=by_type, actor_id="", actor_label=by, note=note))
            await OUTBOX.add(conn, AUDIT_ALERTS, [codec.record(e) for e in events])
            await conn.execute("UPDATE audit_alerts SET announced = true WHERE alert_id = ANY(%s::bigint[])",
                               ([int(r[0]) for r in rows],))
            total += len(rows)
