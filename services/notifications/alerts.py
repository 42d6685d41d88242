"""Chain-integrity alerts into notifications: the hand-off from the audit index.

The audit index writes a critical alert into ``audit_alerts`` in the same transaction as the
batch that found it, so that table is the outbox: nothing here runs in the index's path. This
feed reads it by ``alert_id`` with its position (``notification_alert_cursor``) and, in ONE
transaction, locks the position, routes each new alert (the most specific
``chain_integrity`` rule of its organisation), queues the notices into
``notification_outbox``, records the alert in ``notification_alerts`` and moves the position.
A crash before the commit leaves everything to the next run; after it nothing is queued again
(the position moved; ``notification_alerts``, unique by alert id and by the alert's identity
(org, stack, agent, record id and hash, kind), and the outbox's uniqueness are the second guard:
a rebuilt index gives an alert a new id, and it is not notified again).

Ids are taken in ``nextval`` order but committed in any order, and some are never committed
(a rolled back batch; ``ON CONFLICT DO NOTHING`` on a replay takes ids too). So the position
stops at a missing id and records the gap with ``pg_snapshot_xmax`` and the highest id then
visible. Every id below that one was taken by a transaction that had its xid already (the
index's batch locks its positions first), so once ``pg_snapshot_xmin`` has passed that xmax
every such transaction has ended and a still-missing id never will be committed: the
position passes it. An alert is never skipped while the transaction writing it may commit.

Acknowledged alerts that were notified are passed on: ``chain_integrity.acknowledged`` to the
PagerDuty (``resolve``, same ``dedup_key``) and webhook destinations that got the alert.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any, Final
from urllib.parse import quote

from psycopg import AsyncConnection

from faramesh_cloud.audit_index.integrity import (
    acknowledged_among,
    alert_key,
    alerts_from,
    newest_alert_id,
)
from faramesh_cloud.audit_index.views import Alert
from faramesh_cloud.notifications.domain import Event, Notice, Subject, alert_token, route
from faramesh_cloud.notifications.projection import Lookups
from faramesh_cloud.notifications.store import enqueue
from faramesh_cloud.sql.database import Database

Conn = AsyncConnection[Any]
Clock = Callable[[], datetime]
SOURCE: Final = "audit_alerts"


def alert_notice(alert: Alert, event: Event, *, slug: str, stack_name: str, link_base: str) -> Notice:
    base = f"{link_base.rstrip('/')}/o/{slug}" if link_base and slug else ""
    return Notice(
        event=event, org_id=alert.org_id, org_slug=slug, stack_id=alert.stack_id, stack_name=stack_name,
        defer_token=alert_token(alert.alert_id), agent_id=alert.agent_id, tool_id="", reason="", priority="critical",
        matched_rule_id="", session_id="", created_at=alert.created_at.isoformat(), deadline="",
        link=f"{base}/audit/records/{quote(alert.record_id, safe='')}" if base else "",
        resolved_by=alert.acknowledged_by, finding=alert.kind, record_id=alert.record_id, message=alert.message,
        integrity_link=f"{base}/audit/integrity/{quote(alert.stack_id, safe='')}" if base else "",
        acknowledged_note=alert.acknowledged_note)


def _org(alert: Alert) -> str | None:
    try:
        return str(uuid.UUID(alert.org_id))
    except ValueError:
        return None


class AlertFeed:
    def __init__(self, db: Database, clock: Clock, link_base: str, batch: int = 500) -> None:
        self._db = db
        self._clock = clock
        self._link_base = link_base
        self._batch = batch

    async def run_once(self) -> int:
        """Route new alerts and pass on acknowledgements; returns how many notices were queued."""
        return await self._route_new() + await self._pass_on_acknowledged()

    async def _route_new(self) -> int:
        now = self._clock()
        lookups = Lookups()
        queued = 0
        async with self._db.transaction() as conn:
            await conn.execute("INSERT INTO notification_alert_cursor (source, next_alert_id) VALUES (%s, 1) "
                               "ON CONFLICT (source) DO NOTHING", (SOURCE,))
            cur = await conn.execute(
                "SELECT next_alert_id, gap_xmax, gap_below, gap_xmax IS NOT NULL AND "
                "pg_snapshot_xmin(pg_current_snapshot())::text::bigint >= gap_xmax "
                "FROM notification_alert_cursor WHERE source = %s FOR UPDATE", (SOURCE,))
            found = await cur.fetchone()
            assert found is not None
            expected, gap_xmax, gap_below, settled = int(found[0]), found[1], found[2], bool(found[3])
            xmax, newest = await newest_alert_id(conn)
            stopped = False
            for alert in await alerts_from(conn, expected, self._batch):
                if alert.alert_id != expected and not (settled and expected < gap_below):
                    stopped = True  # a missing id whose transaction may still commit: wait for it
                    break
                queued += await self._route(conn, alert, now, lookups)
                expected = alert.alert_id + 1
            if settled and expected >= gap_below:
                gap_xmax = gap_below = None  # that gap is behind us
            if stopped and gap_xmax is None:
                gap_xmax, gap_below = xmax, newest
            await conn.execute("UPDATE notification_alert_cursor SET next_alert_id = %s, gap_xmax = %s, "
                               "gap_below = %s WHERE source = %s", (expected, gap_xmax, gap_below, SOURCE))
        return queued

    async def _route(self, conn: Conn, alert: Alert, now: datetime, lookups: Lookups) -> int:
        org_id = _org(alert)
        if org_id is None or not await lookups.org_exists(conn, org_id):
            return 0  # no such organisation (any more): nothing to route
        rule = route(await lookups.rules(conn, org_id), alert.stack_id, alert.agent_id, Subject.CHAIN_INTEGRITY)
        cur = await conn.execute(
            "INSERT INTO notification_alerts (alert_id, org_id, stack_id, agent_id, kind, record_id, record_hash, "
            "rule_id, state, routed_at, acknowledged_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
            "ON CONFLICT DO NOTHING",
            (alert.alert_id, org_id, alert.stack_id, alert.agent_id, alert.kind, alert.record_id, alert.record_hash,
             rule.rule_id if rule is not None else None, "acknowledged" if alert.acknowledged else "open", now,
             alert.acknowledged_at))
        if cur.rowcount != 1 or rule is None or alert.acknowledged:
            return 0  # routed before, no rule, or someone acknowledged it before this service saw it
        slug, stack_name = await lookups.names(conn, org_id, alert.stack_id)
        existing = await lookups.destinations(conn, org_id)
        notice = alert_notice(alert, Event.CHAIN_ALERT, slug=slug, stack_name=stack_name, link_base=self._link_base)
        queued = 0
        for destination_id in rule.steps[0].destinations:
            if destination_id in existing:
                queued += await enqueue(conn, destination_id, notice, now)
        return queued

    async def _pass_on_acknowledged(self) -> int:
        now = self._clock()
        queued = 0
        async with self._db.transaction() as conn:
            cur = await conn.execute(
                "SELECT alert_id, org_id::text, stack_id, agent_id, record_id, record_hash, kind FROM notification_alerts "
                "WHERE state = 'open' ORDER BY alert_id FOR UPDATE SKIP LOCKED")
            routed = {tuple(r[1:]): int(r[0]) for r in await cur.fetchall()}
            lookups = Lookups()
            for found in await acknowledged_among(conn, list(routed)):  # type: ignore[arg-type]
                # The id it was routed under (the dedup key), should the index have been rebuilt since.
                alert = dataclasses.replace(found, alert_id=routed[alert_key(found)])
                org_id = str(uuid.UUID(alert.org_id))
                await conn.execute("UPDATE notification_alerts SET state = 'acknowledged', acknowledged_at = %s "
                                   "WHERE alert_id = %s", (alert.acknowledged_at, alert.alert_id))
                cur = await conn.execute(
                    "SELECT DISTINCT o.destination_id::text FROM notification_outbox o JOIN notification_destinations d "
                    "USING (destination_id) WHERE o.org_id = %s AND o.stack_id = %s AND o.defer_token = %s "
                    "AND o.event = %s AND d.kind IN ('pagerduty', 'webhook') ORDER BY 1",
                    (org_id, alert.stack_id, alert_token(alert.alert_id), Event.CHAIN_ALERT.value))
                told = [r[0] for r in await cur.fetchall()]
                if not told:
                    continue
                slug, stack_name = await lookups.names(conn, org_id, alert.stack_id)
                notice = alert_notice(alert, Event.CHAIN_ACKNOWLEDGED, slug=slug, stack_name=stack_name,
                                      link_base=self._link_base)
                for destination_id in told:
                    queued += await enqueue(conn, destination_id, notice, now)
        return queued
