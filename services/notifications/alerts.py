"""Chain-integrity alerts into notifications: a consumer of the audit index's ``audit.alerts.v1``.

The audit index publishes what happens to its alerts as events (``AlertRaised``,
``AlertAcknowledged``, ``AlertRetracted``), written in the transaction that changed them and
relayed from its outbox. This service reads that topic as any consumer does (group
``<group>-alerts``), never the index's tables, and in ONE transaction per batch, with its
position (``notification_alert_positions``):

* a raised alert is routed by the organisation's most specific ``chain_integrity`` rule,
  its notices are queued (``chain_integrity.alert``, PagerDuty severity critical) and the
  alert is recorded in ``notification_alerts``, unique by the alert's identity (org, stack,
  agent, record id and hash, kind): redelivery, a restart or a rebuilt index raising it again
  (a duplicate event) notifies nothing;
* an acknowledged (or retracted) alert it notified is passed on: ``chain_integrity.acknowledged``
  to the PagerDuty (``resolve``, same ``dedup_key``) and webhook destinations that got it; one
  it has not seen raised yet is kept by identity (``notification_alert_closures``) and the
  alert is recorded acknowledged when it arrives (an empty-database replay may deliver them in
  that order), nothing queued.

What it did is an event too (``ChainAlertRouted``, ``ChainAlertClosed`` on
``notifications.alerts.v1``, through ``notifications_outbox``), applied to
``notification_alerts`` by the same ``apply_own``. After a rebuild from an empty database the
service first reads its own topic up to where it ended, so every alert it notified before is
known by identity before ``audit.alerts.v1`` is read again from offset 0: no destination is
told twice.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final
from urllib.parse import quote

from psycopg import AsyncConnection

from faramesh_cloud.consumer.runner import Rejected
from faramesh_cloud.events.records import event_headers
from faramesh_cloud.events.topics import NOTIFICATION_ALERTS
from faramesh_cloud.log.port import Message
from faramesh_cloud.notifications.alert_events import (
    AlertKey,
    Closed,
    PassedOn,
    Raised,
    Routed,
    decode_alert_event,
    decode_own_event,
)
from faramesh_cloud.notifications.domain import Event, Notice, Subject, alert_token, route
from faramesh_cloud.notifications.projection import Lookups, step_notices
from faramesh_cloud.notifications.store import enqueue
from faramesh_cloud.outbox.store import Outbox
from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.positions import apply_unseen

Conn = AsyncConnection[Any]
Clock = Callable[[], datetime]
POSITIONS: Final = "notification_alert_positions"
OUTBOX: Final = Outbox("notifications_outbox")
_MATCH: Final = "(org_id, stack_id, agent_id, record_id, record_hash, kind) = (%s::uuid, %s, %s, %s, %s, %s)"


@dataclass(frozen=True, slots=True)
class AlertView:
    """What a notice about an alert says."""

    alert_id: int
    org_id: str
    stack_id: str
    agent_id: str
    record_id: str
    kind: str
    message: str
    created_at: datetime
    acknowledged_by: str = ""
    acknowledged_note: str = ""


def alert_notice(alert: AlertView, event: Event, *, slug: str, stack_name: str, link_base: str) -> Notice:
    base = f"{link_base.rstrip('/')}/o/{slug}" if link_base and slug else ""
    return Notice(
        event=event, org_id=alert.org_id, org_slug=slug, stack_id=alert.stack_id, stack_name=stack_name,
        defer_token=alert_token(alert.alert_id), agent_id=alert.agent_id, tool_id="", reason="", priority="critical",
        matched_rule_id="", session_id="", created_at=alert.created_at.isoformat(), deadline="",
        link=f"{base}/audit/records/{quote(alert.record_id, safe='')}" if base else "",
        resolved_by=alert.acknowledged_by, finding=alert.kind, record_id=alert.record_id, message=alert.message,
        integrity_link=f"{base}/audit/integrity/{quote(alert.stack_id, safe='')}" if base else "",
        acknowledged_note=alert.acknowledged_note)


def _org(org_id: str) -> str | None:
    try:
        return str(uuid.UUID(org_id))
    except ValueError:
        return None  # not an organisation of this installation (tests, benches): nothing to route


@dataclass(frozen=True, slots=True)
class Positioned:
    topic: str
    partition: int
    offset: int
    event: Raised | Closed | Routed | PassedOn | None  # None: a kind this service has no use for


class AlertEventProcessor:
    """Pure: an ``audit.alerts.v1`` message to its event, or ``Rejected`` with the reason."""

    def process(self, message: Message) -> Positioned | Rejected:
        try:
            headers = event_headers(message.key, message.headers)
            event = decode_alert_event(headers.kind, message.value)
        except ValueError as exc:
            return Rejected(f"not an audit alert event: {exc}")
        if event is not None and event.key[:2] != (headers.org_id, headers.stack_id):
            return Rejected(f"{headers.kind} names {event.key[0]}/{event.key[1]} but its headers say "
                            f"{headers.org_id}/{headers.stack_id}")
        return Positioned(message.topic, message.partition, message.offset, event)


class OwnEventProcessor:
    """Pure: a ``notifications.alerts.v1`` message to its event, or ``Rejected``."""

    def process(self, message: Message) -> Positioned | Rejected:
        try:
            headers = event_headers(message.key, message.headers)
            event = decode_own_event(headers.kind, message.value)
        except ValueError as exc:
            return Rejected(f"not a notifications alert event: {exc}")
        if event is not None and _org(event.key[0]) is None:
            return Rejected(f"{headers.kind} names organisation {event.key[0]!r}, which is not a UUID")
        if event is not None and event.key[:2] != (headers.org_id, headers.stack_id):
            return Rejected(f"{headers.kind} names {event.key[0]}/{event.key[1]} but its headers say "
                            f"{headers.org_id}/{headers.stack_id}")
        return Positioned(message.topic, message.partition, message.offset, event)


async def apply_own(conn: Conn, event: Routed | PassedOn) -> None:
    """What this service's own alert event does to ``notification_alerts`` (idempotent)."""
    if isinstance(event, Routed):
        org_id = _org(event.key[0])
        await conn.execute(
            "INSERT INTO notification_alerts (alert_id, org_id, stack_id, agent_id, record_id, record_hash, kind, "
            "rule_id, state, routed_at, acknowledged_at, message, raised_at, destination_ids) "
            "SELECT %s, o.org_id, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s::uuid[] FROM orgs o "
            "WHERE o.org_id = %s ON CONFLICT DO NOTHING",
            (event.alert_id, *event.key[1:], event.rule_id or None,
             "acknowledged" if event.acknowledged else "open", event.occurred_at,
             event.occurred_at if event.acknowledged else None, event.message, event.raised_at,
             list(event.destination_ids), org_id))
        return
    await conn.execute(
        f"UPDATE notification_alerts SET state = 'acknowledged', acknowledged_at = %s WHERE {_MATCH} "
        "AND state = 'open'", (event.acknowledged_at, *event.key))


class AlertHandOff:
    """``consumer.runner.Sink`` of ``audit.alerts.v1``: routes, passes on, records; durable and
    idempotent (position and identity)."""

    def __init__(self, db: Database, clock: Clock, link_base: str, wake: Callable[[], None] = lambda: None) -> None:
        self._db = db
        self._clock = clock
        self._link_base = link_base
        self._wake = wake
        self.queued = 0

    async def write(self, rows: Sequence[Positioned]) -> None:
        now = self._clock()
        lookups = Lookups()
        queued = 0

        async def one(conn: Conn, row: Positioned) -> None:
            nonlocal queued
            if isinstance(row.event, Raised):
                queued += await self._raised(conn, row.event, now, lookups)
            elif isinstance(row.event, Closed):
                queued += await self._closed(conn, row.event, now, lookups)

        async with self._db.transaction() as conn:
            await apply_unseen(conn, POSITIONS, rows, one)
        self.queued += queued
        if queued:
            self._wake()

    async def _raised(self, conn: Conn, event: Raised, now: datetime, lookups: Lookups) -> int:
        org_id = _org(event.key[0])
        if org_id is None or not await lookups.org_exists(conn, org_id):
            return 0  # no such organisation (any more): nothing to route
        known = await (await conn.execute(f"SELECT 1 FROM notification_alerts WHERE {_MATCH}", event.key)).fetchone()
        if known is not None:
            return 0  # routed before (a redelivery, or a rebuilt index raising it again)
        closed = await (await conn.execute(
            "SELECT 1 FROM notification_alert_closures WHERE (org_id, stack_id, agent_id, record_id, record_hash, "
            "kind) = (%s, %s, %s, %s, %s, %s)", event.key)).fetchone()
        rule = route(await lookups.rules(conn, org_id), event.key[1], event.key[2], Subject.CHAIN_INTEGRITY)
        told: list[str] = []
        queued = 0
        if rule is not None and closed is None:
            slug, stack_name = await lookups.names(conn, org_id, event.key[1])
            view = AlertView(event.alert_id, org_id, event.key[1], event.key[2], event.key[3], event.key[5],
                             event.message, event.raised_at)
            notice = alert_notice(view, Event.CHAIN_ALERT, slug=slug, stack_name=stack_name, link_base=self._link_base)
            for destination_id, told_notice in await step_notices(conn, lookups, org_id, rule.steps[0], notice):
                queued += await enqueue(conn, destination_id, told_notice, now)
                told.append(destination_id)
        routed = Routed(event.key, event.alert_id, rule.rule_id if rule is not None else "", tuple(told),
                        closed is not None, event.message, event.raised_at, now)
        await apply_own(conn, routed)
        await OUTBOX.add(conn, NOTIFICATION_ALERTS, [routed.record()])
        return queued

    async def _closed(self, conn: Conn, event: Closed, now: datetime, lookups: Lookups) -> int:
        org_id = _org(event.key[0])
        if org_id is None:
            return 0
        row = await (await conn.execute(
            f"SELECT alert_id, state, coalesce(destination_ids, '{{}}')::text[], message, "
            f"coalesce(raised_at, routed_at) FROM notification_alerts WHERE {_MATCH} FOR UPDATE", event.key,
        )).fetchone()
        if row is None:  # not seen raised (yet): keep it for when it is
            await conn.execute(
                "INSERT INTO notification_alert_closures (org_id, stack_id, agent_id, record_id, record_hash, kind, "
                "acknowledged_at) VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                (*event.key, event.acknowledged_at))
            return 0
        alert_id, state, destination_ids, message, raised_at = row
        if state != "open":
            return 0  # passed on before
        cur = await conn.execute(
            "SELECT destination_id::text FROM notification_destinations WHERE org_id = %s AND "
            "destination_id = ANY(%s::uuid[]) AND kind IN ('pagerduty', 'webhook') ORDER BY 1",
            (org_id, list(destination_ids)))
        told = [r[0] for r in await cur.fetchall()]
        queued = 0
        if told:
            slug, stack_name = await lookups.names(conn, org_id, event.key[1])
            view = AlertView(int(alert_id), org_id, event.key[1], event.key[2], event.key[3], event.key[5], message,
                             raised_at, event.acknowledged_by, event.note)
            notice = alert_notice(view, Event.CHAIN_ACKNOWLEDGED, slug=slug, stack_name=stack_name,
                                  link_base=self._link_base)
            for destination_id in told:
                queued += await enqueue(conn, destination_id, notice, now)
        passed = PassedOn(event.key, event.acknowledged_at, tuple(told), now)
        await apply_own(conn, passed)
        await OUTBOX.add(conn, NOTIFICATION_ALERTS, [passed.record()])
        return queued


class AlertStateSink:
    """``consumer.runner.Sink`` of ``notifications.alerts.v1``: this service's own alert events
    back into ``notification_alerts`` (a no-op but after a rebuild)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def write(self, rows: Sequence[Positioned]) -> None:
        async def one(conn: Conn, row: Positioned) -> None:
            if isinstance(row.event, Routed | PassedOn):
                await apply_own(conn, row.event)

        async with self._db.transaction() as conn:
            await apply_unseen(conn, POSITIONS, rows, one)


__all__ = ["AlertEventProcessor", "AlertHandOff", "AlertKey", "AlertStateSink", "AlertView", "OwnEventProcessor",
           "alert_notice", "apply_own"]
