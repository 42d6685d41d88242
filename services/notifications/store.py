"""Reading destinations, routing rules and the delivery history from PostgreSQL, inside one
organisation's tenant transaction (or the caller's). Changes are events applied by
``apply.py``; the command handlers that make them are in ``api.py``."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, Final

from psycopg import AsyncConnection

from faramesh_cloud.notifications.apply import enqueue as enqueue  # where alerts.py finds it
from faramesh_cloud.notifications.destinations import SecretBox
from faramesh_cloud.notifications.domain import (
    DeliveryView,
    Destination,
    Event,
    Kind,
    RoutingConflict,
    Rule,
    Subject,
    steps_from_json,
)
from faramesh_cloud.platform_audit.store import PlatformAuditLog
from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.tenant import tenant_transaction

Conn = AsyncConnection[Any]

DESTINATION_CREATED: Final = "org:integration:create"
DESTINATION_DELETED: Final = "org:integration:delete"
DESTINATION_UPDATED: Final = "org:integration:update"
DESTINATION_TESTED: Final = "org:integration:test"
SECRET_ROTATED: Final = "org:integration:rotate_secret"
RULE_SET: Final = "approvals:routing:update"
RULE_DELETED: Final = "approvals:routing:delete"

_DEST_COLUMNS: Final = "destination_id, org_id, name, kind, config, created_at, created_by"
RULE_COLUMNS: Final = "rule_id, org_id, stack_id, agent_id, steps, updated_at, subject"


class InUse(RoutingConflict):
    """A name in use, or a destination still named by routing rules."""


def destination_row(row: tuple[Any, ...]) -> Destination:
    return Destination(str(row[0]), str(row[1]), row[2], Kind(row[3]), dict(row[4]), row[5], row[6])


def rule_row(row: tuple[Any, ...]) -> Rule:
    return Rule(str(row[0]), str(row[1]), row[2], row[3], steps_from_json(row[4]), row[5], Subject(row[6]))


async def find_destination(conn: Conn, org_id: str, destination_id: str) -> Destination:
    try:
        key = uuid.UUID(destination_id)
    except ValueError:
        raise LookupError(f"no destination {destination_id!r} in this organisation") from None
    cur = await conn.execute(f"SELECT {_DEST_COLUMNS} FROM notification_destinations "
                             "WHERE org_id = %s AND destination_id = %s", (org_id, key))
    row = await cur.fetchone()
    if row is None:
        raise LookupError(f"no destination {destination_id!r} in this organisation")
    return destination_row(row)


async def org_destinations(conn: Conn, org_id: str) -> list[Destination]:
    cur = await conn.execute(f"SELECT {_DEST_COLUMNS} FROM notification_destinations WHERE org_id = %s "
                             "ORDER BY lower(name)", (org_id,))
    return [destination_row(r) for r in await cur.fetchall()]


async def sealed_secret(conn: Conn, org_id: str, destination_id: str) -> bytes:
    cur = await conn.execute("SELECT secret FROM notification_destinations WHERE org_id = %s AND destination_id = %s",
                             (org_id, destination_id))
    row = await cur.fetchone()
    if row is None:
        raise LookupError(f"no destination {destination_id!r} in this organisation")
    return bytes(row[0])


async def org_rules(conn: Conn, org_id: str) -> list[Rule]:
    cur = await conn.execute(f"SELECT {RULE_COLUMNS} FROM notification_rules WHERE org_id = %s "
                             "ORDER BY subject, stack_id, agent_id", (org_id,))
    return [rule_row(r) for r in await cur.fetchall()]


async def find_rule(conn: Conn, org_id: str, rule_id: str) -> Rule:
    try:
        key = uuid.UUID(rule_id)
    except ValueError:
        raise LookupError(f"no routing rule {rule_id!r} in this organisation") from None
    cur = await conn.execute(f"SELECT {RULE_COLUMNS} FROM notification_rules WHERE org_id = %s AND rule_id = %s",
                             (org_id, key))
    row = await cur.fetchone()
    if row is None:
        raise LookupError(f"no routing rule {rule_id!r} in this organisation")
    return rule_row(row)


async def scope_rule(conn: Conn, org_id: str, subject: Subject, stack_id: str, agent_id: str) -> Rule | None:
    cur = await conn.execute(f"SELECT {RULE_COLUMNS} FROM notification_rules WHERE org_id = %s AND subject = %s "
                             "AND stack_id = %s AND agent_id = %s", (org_id, subject.value, stack_id, agent_id))
    row = await cur.fetchone()
    return rule_row(row) if row is not None else None


async def told_destinations(conn: Conn, org_id: str, stack_id: str, defer_token: str, events: Sequence[Event],
                            kinds: Sequence[Kind] = (Kind.PAGERDUTY, Kind.WEBHOOK)) -> list[str]:
    """The destinations of ``kinds`` that were sent one of ``events`` about this approval or
    alert (who hears that it ended: PagerDuty resolves, webhooks are told)."""
    cur = await conn.execute(
        "SELECT DISTINCT o.destination_id::text FROM notification_deliveries o JOIN notification_destinations d "
        "USING (destination_id) WHERE o.org_id = %s AND o.stack_id = %s AND o.defer_token = %s "
        "AND o.event = ANY(%s) AND d.kind = ANY(%s) ORDER BY 1",
        (org_id, stack_id, defer_token, [e.value for e in events], [k.value for k in kinds]))
    return [r[0] for r in await cur.fetchall()]


class RoutingStore:
    """What people read of the routing configuration and the delivery history (changes go
    through the command handlers in ``api.py``)."""

    def __init__(self, db: Database, box: SecretBox, audit: PlatformAuditLog) -> None:
        self.db = db
        self.box = box
        self.audit = audit

    async def destinations(self, org_id: str) -> list[Destination]:
        async with tenant_transaction(self.db, org_id) as conn:
            return await org_destinations(conn, org_id)

    async def destination(self, org_id: str, destination_id: str) -> Destination:
        async with tenant_transaction(self.db, org_id) as conn:
            return await find_destination(conn, org_id, destination_id)

    async def rules(self, org_id: str) -> list[Rule]:
        async with tenant_transaction(self.db, org_id) as conn:
            return await org_rules(conn, org_id)

    async def rule(self, org_id: str, rule_id: str) -> Rule:
        async with tenant_transaction(self.db, org_id) as conn:
            return await find_rule(conn, org_id, rule_id)

    async def deliveries(self, org_id: str, *, stack_id: str | None = None, limit: int = 50) -> list[DeliveryView]:
        async with tenant_transaction(self.db, org_id) as conn:
            cur = await conn.execute(
                "SELECT o.notification_id, o.destination_id, d.name, o.event, o.stack_id, o.defer_token, o.step, "
                "o.state, o.attempts, o.last_status, o.last_error, o.created_at, o.delivered_at "
                "FROM notification_deliveries o JOIN notification_destinations d USING (destination_id) "
                "WHERE o.org_id = %s AND (%s::text IS NULL OR o.stack_id = %s) "
                "ORDER BY o.created_at DESC, o.notification_id LIMIT %s", (org_id, stack_id, stack_id, limit))
            return [DeliveryView(str(r[0]), str(r[1]), *r[2:]) for r in await cur.fetchall()]


def scope_text(rule: Rule) -> str:
    parts = [f"stack {rule.stack_id}" if rule.stack_id else "", f"agent {rule.agent_id}" if rule.agent_id else ""]
    return " / ".join(p for p in parts if p) or "organisation-wide"
