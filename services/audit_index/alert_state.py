"""The alert state and its one ``apply``: what each alert event does to the index's tables.

The same functions run for the event's producer (the sink raising alerts, a person's
acknowledgement, a verifier fix's retraction: all in the transaction that adds the event to
``audit_index_outbox``) and for the index's consumer of ``audit.alerts.v1`` (a no-op in
normal operation; after a rebuild from an empty database it brings back what people did).
Every step is idempotent and keyed by the alert's identity, never its ``alert_id``, so
applying an event twice changes nothing and the order of arrival does not matter:

* ``audit_alerts``: one row per identity (``ON CONFLICT DO NOTHING``);
* ``audit_alert_closures``: the first acknowledgement or retraction of each identity, kept
  even when the alert is not there (yet): on an empty-database replay an acknowledgement can
  arrive before ``dpr.records.v1`` raises the alert again, and the alert is then raised
  closed, with who, when and the note.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from psycopg import AsyncConnection

from faramesh_cloud.audit_index import events as codec
from faramesh_cloud.audit_index.alert_events import (
    SYSTEM_TYPE,
    AlertAcknowledged,
    AlertEvent,
    AlertKey,
    AlertRaised,
    AlertRetracted,
)
from faramesh_cloud.audit_index.domain import ChainFinding
from faramesh_cloud.audit_index.views import Alert
from faramesh_cloud.events.topics import AUDIT_ALERTS
from faramesh_cloud.outbox.store import Outbox

Conn = AsyncConnection[Any]
OUTBOX: Final = Outbox("audit_index_outbox")
_PROBES: Final = 8
_IDENTITY: Final = "org_id, stack_id, agent_id, record_id, record_hash, kind"
_KEYS: Final = ("SELECT * FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[])")


def _text(value: str) -> str:
    """PostgreSQL text cannot hold NUL; finding messages quote record fields that might."""
    return value.replace("\x00", "\\u0000")


def _columns(keys: Sequence[AlertKey]) -> list[list[str]]:
    return [[k.org_id for k in keys], [k.stack_id for k in keys], [k.agent_id for k in keys],
            [k.record_id for k in keys], [k.record_hash for k in keys], [k.kind for k in keys]]


async def raise_alerts(conn: Conn, critical: Sequence[ChainFinding]) -> list[AlertRaised]:
    """An alert for each critical finding whose identity has none yet, closed at once where a
    closure for it is known, and its ``AlertRaised`` in the outbox (the sink's transaction)."""
    pending: dict[AlertKey, ChainFinding] = {}
    for f in critical:
        pending.setdefault(AlertKey(f.org_id, f.stack_id, f.agent_id, f.record_id, f.record_hash, f.kind), f)
    raised: list[AlertRaised] = []
    for attempt in range(_PROBES):
        if not pending:
            break
        keys, found = list(pending), list(pending.values())
        rows = await (await conn.execute(
            f"INSERT INTO audit_alerts (alert_id, {_IDENTITY}, message, record_created_at, created_at) "
            "SELECT i, o, s, g, r, h, k, m, c, to_timestamp(n::double precision / 1e9) "
            "FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[], "
            "%s::text[], %s::text[], %s::bigint[]) AS v(i, o, s, g, r, h, k, m, c, n) "
            f"ON CONFLICT DO NOTHING RETURNING alert_id, {_IDENTITY}, severity, message, record_created_at, created_at",
            ([k.alert_id(attempt) for k in keys], *_columns(keys), [_text(f.message) for f in found],
             [f.record_created_at for f in found], [f.detected_ns for f in found]),
        )).fetchall()
        for alert_id, o, s, g, r, h, k, severity, message, record_created_at, created in rows:
            key = AlertKey(o, s, g, r, h, k)
            pending.pop(key, None)
            raised.append(AlertRaised(key=key, occurred_at=created, alert_id=int(alert_id), severity=severity,
                                      message=message, record_created_at=record_created_at))
        for key in await alert_ids(conn, list(pending)):
            del pending[key]  # raised before: nothing to do
        # what is left collided on the id with another identity: probe on
    if pending:
        raise RuntimeError(f"no free alert id for {len(pending)} alert(s) after {_PROBES} probes")
    if raised:
        await _close_from_closures(conn, [e.alert_id for e in raised])
        await OUTBOX.add(conn, AUDIT_ALERTS, [codec.record(e) for e in raised])
    return raised


async def apply(conn: Conn, event: AlertEvent) -> None:
    """What ``event`` does to the state, idempotently (the consumer's and the commands' step)."""
    if isinstance(event, AlertRaised):
        key = event.key
        for attempt in range(_PROBES):
            row = await (await conn.execute(
                f"INSERT INTO audit_alerts (alert_id, {_IDENTITY}, severity, message, record_created_at, created_at) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING RETURNING alert_id",
                (key.alert_id(attempt), *key.as_tuple(), event.severity or "critical", _text(event.message),
                 event.record_created_at, event.occurred_at),
            )).fetchone()
            if row is not None:
                await _close_from_closures(conn, [int(row[0])])
                return
            if await alert_ids(conn, [key]):
                return  # raised before
        raise RuntimeError(f"no free alert id for {key} after {_PROBES} probes")
    if isinstance(event, AlertRetracted):
        await conn.execute(
            "UPDATE audit_chain_findings SET retracted_at = %s, retracted_note = %s "
            f"WHERE ({_IDENTITY}) = (%s, %s, %s, %s, %s, %s) AND retracted_at IS NULL",
            (event.occurred_at, event.note, *event.key.as_tuple()))
        by_type, by = SYSTEM_TYPE, event.actor_label
    else:
        by_type, by = event.actor_type, event.actor_label
    await conn.execute(
        f"INSERT INTO audit_alert_closures ({_IDENTITY}, closed_by_type, closed_by, closed_at, note, event_id) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
        (*event.key.as_tuple(), by_type, by, event.occurred_at, event.note, event.event_id))
    await conn.execute(
        "UPDATE audit_alerts a SET acknowledged = true, acknowledged_at = c.closed_at, acknowledged_by = c.closed_by, "
        "acknowledged_note = c.note FROM audit_alert_closures c "
        "WHERE (a.org_id, a.stack_id, a.agent_id, a.record_id, a.record_hash, a.kind) = (%s, %s, %s, %s, %s, %s) "
        "AND (c.org_id, c.stack_id, c.agent_id, c.record_id, c.record_hash, c.kind) = "
        "(a.org_id, a.stack_id, a.agent_id, a.record_id, a.record_hash, a.kind) AND NOT a.acknowledged",
        event.key.as_tuple())


async def _close_from_closures(conn: Conn, alert_ids: Sequence[int]) -> None:
    await conn.execute(
        "UPDATE audit_alerts a SET acknowledged = true, acknowledged_at = c.closed_at, acknowledged_by = c.closed_by, "
        "acknowledged_note = c.note FROM audit_alert_closures c "
        "WHERE a.alert_id = ANY(%s::bigint[]) AND NOT a.acknowledged AND "
        "(c.org_id, c.stack_id, c.agent_id, c.record_id, c.record_hash, c.kind) = "
        "(a.org_id, a.stack_id, a.agent_id, a.record_id, a.record_hash, a.kind)",
        (list(alert_ids),))


async def record(conn: Conn, events: Sequence[AlertEvent]) -> None:
    """Apply ``events`` made by a command and add them to the outbox, in its transaction."""
    for event in events:
        await apply(conn, event)
    await OUTBOX.add(conn, AUDIT_ALERTS, [codec.record(e) for e in events])


def key_of(alert: Alert) -> AlertKey:
    return AlertKey(alert.org_id, alert.stack_id, alert.agent_id, alert.record_id, alert.record_hash, alert.kind)


async def alert_ids(conn: Conn, keys: Sequence[AlertKey]) -> dict[AlertKey, int]:
    """The ``alert_id`` of each of ``keys`` that has an alert."""
    if not keys:
        return {}
    rows = await (await conn.execute(
        f"SELECT alert_id, {_IDENTITY} FROM audit_alerts WHERE ({_IDENTITY}) IN ({_KEYS})", _columns(keys),
    )).fetchall()
    return {AlertKey(o, s, g, r, h, k): int(alert_id) for alert_id, o, s, g, r, h, k in rows}


__all__ = ["AlertAcknowledged", "AlertRaised", "AlertRetracted", "alert_ids", "apply", "key_of", "raise_alerts",
           "record"]
