"""Billing's own events read back (``billing-events`` on ``billing.events.v1``): each applied
with the same idempotent ``apply`` the command used, so in normal operation the read is a
no-op and after an empty-database rebuild it gives back the plans and the issued invoices
(the same lines, so the same document bytes). A record that cannot be read is dead-lettered
with its reason before the position passes it."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from psycopg import AsyncConnection

from faramesh_cloud.billing.domain import Invoice
from faramesh_cloud.billing.events import Change, PlanSet
from faramesh_cloud.consumer.runner import dead_letter
from faramesh_cloud.events.records import Seen
from faramesh_cloud.log.port import Log
from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.positions import apply_unseen

Conn = AsyncConnection[Any]
POSITIONS = "billing_positions"


async def apply(conn: Conn, change: Change) -> bool:
    """Record ``change`` (idempotent: an event id is applied once; a plan set earlier than the
    one stored does not replace it). True when something changed."""
    if isinstance(change, PlanSet):
        cur = await conn.execute(
            "INSERT INTO billing_plans (org_id, plan_id, set_at, set_by, event_id) VALUES (%s, %s, %s, %s, %s) "
            "ON CONFLICT (org_id) DO UPDATE SET plan_id = EXCLUDED.plan_id, set_at = EXCLUDED.set_at, "
            "set_by = EXCLUDED.set_by, event_id = EXCLUDED.event_id "
            "WHERE billing_plans.event_id <> EXCLUDED.event_id AND billing_plans.set_at <= EXCLUDED.set_at",
            (change.org_id, change.plan_id, change.occurred_at, change.actor_label, change.event_id))
        return cur.rowcount > 0
    return await _invoice(conn, change)


async def _invoice(conn: Conn, i: Invoice) -> bool:
    cur = await conn.execute(
        "INSERT INTO billing_invoices (org_id, month, invoice_number, plan_id, plan_name, currency, lines, "
        "total_cents, issued_at, issued_by, event_id) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
        "ON CONFLICT DO NOTHING",
        (i.org_id, i.month, i.invoice_number, i.plan_id, i.plan_name, i.currency,
         json.dumps([asdict(x) for x in i.lines]), i.total_cents, i.issued_at, i.issued_by, i.event_id))
    return cur.rowcount > 0


class EventSink:
    def __init__(self, db: Database, log: Log, dead_letters: str) -> None:
        self._db = db
        self._log = log
        self._dead_letters = dead_letters

    async def write(self, rows: Sequence[Seen[Change]]) -> None:
        parked = [dead_letter(r.message, r.problem) for r in rows if r.problem and r.message is not None]
        if parked:
            await self._log.append(self._dead_letters, parked)

        async def one(conn: Conn, seen: Seen[Change]) -> None:
            if seen.change is not None:
                await apply(conn, seen.change)

        async with self._db.transaction() as conn:
            await apply_unseen(conn, POSITIONS, rows, one)
