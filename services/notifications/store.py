"""Destinations and routing rules in PostgreSQL, always inside one organisation's tenant
transaction; every change is written to the platform audit log in the same transaction."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from psycopg import AsyncConnection
from psycopg.errors import UniqueViolation
from psycopg.types.json import Jsonb

from faramesh_cloud.notifications.destinations import Prepared, SecretBox
from faramesh_cloud.notifications.domain import (
    Destination,
    InvalidRouting,
    Kind,
    Notice,
    Rule,
    Step,
    Subject,
    steps_from_json,
    steps_json,
)
from faramesh_cloud.platform_audit.events import Actor, Target
from faramesh_cloud.platform_audit.store import PlatformAuditLog
from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.tenant import tenant_transaction

Conn = AsyncConnection[Any]

DESTINATION_CREATED: Final = "org:integration:create"
DESTINATION_DELETED: Final = "org:integration:delete"
DESTINATION_TESTED: Final = "org:integration:test"
SECRET_ROTATED: Final = "org:integration:rotate_secret"
RULE_SET: Final = "approvals:routing:update"
RULE_DELETED: Final = "approvals:routing:delete"

_DEST_COLUMNS: Final = "destination_id, org_id, name, kind, config, created_at, created_by"
RULE_COLUMNS: Final = "rule_id, org_id, stack_id, agent_id, steps, updated_at, subject"


class InUse(InvalidRouting):
    code = "conflict"


@dataclass(frozen=True, slots=True)
class DeliveryView:
    notification_id: str
    destination_id: str
    destination_name: str
    event: str
    stack_id: str
    defer_token: str
    step: int
    state: str
    attempts: int
    last_status: int | None
    last_error: str
    created_at: datetime
    delivered_at: datetime | None


def destination_row(row: tuple[Any, ...]) -> Destination:
    return Destination(str(row[0]), str(row[1]), row[2], Kind(row[3]), dict(row[4]), row[5], row[6])


def rule_row(row: tuple[Any, ...]) -> Rule:
    return Rule(str(row[0]), str(row[1]), row[2], row[3], steps_from_json(row[4]), row[5], Subject(row[6]))


async def enqueue(conn: Conn, destination_id: str, notice: Notice, now: datetime) -> bool:
    """Add one notification to the outbox; False when it was queued before (a replay)."""
    cur = await conn.execute(
        "INSERT INTO notification_outbox (notification_id, org_id, destination_id, stack_id, defer_token, event, "
        "step, notice, next_attempt_at, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
        "ON CONFLICT (org_id, destination_id, stack_id, defer_token, event, step) DO NOTHING",
        (uuid.uuid4(), notice.org_id, destination_id, notice.stack_id, notice.defer_token, notice.event.value,
         notice.step, Jsonb(notice.as_dict()), now, now))
    return cur.rowcount == 1


class RoutingStore:
    def __init__(self, db: Database, box: SecretBox, audit: PlatformAuditLog) -> None:
        self._db = db
        self._box = box
        self._audit = audit

    # Destinations -------------------------------------------------------------------------
    async def destinations(self, org_id: str) -> list[Destination]:
        async with tenant_transaction(self._db, org_id) as conn:
            cur = await conn.execute(f"SELECT {_DEST_COLUMNS} FROM notification_destinations WHERE org_id = %s "
                                     "ORDER BY lower(name)", (org_id,))
            return [destination_row(r) for r in await cur.fetchall()]

    async def destination(self, org_id: str, destination_id: str) -> Destination:
        async with tenant_transaction(self._db, org_id) as conn:
            return await self._destination(conn, org_id, destination_id)

    async def _destination(self, conn: Conn, org_id: str, destination_id: str) -> Destination:
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

    async def create_destination(self, org_id: str, name: str, kind: Kind, prepared: Prepared,
                                 actor: Actor) -> Destination:
        destination_id = str(uuid.uuid4())
        sealed = self._box.seal(org_id, destination_id, prepared.secret)
        try:
            async with tenant_transaction(self._db, org_id) as conn:
                cur = await conn.execute(
                    "INSERT INTO notification_destinations (destination_id, org_id, name, kind, config, secret, "
                    f"created_by) VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING {_DEST_COLUMNS}",
                    (destination_id, org_id, name, kind.value, Jsonb(prepared.config), sealed, actor.label))
                row = await cur.fetchone()
                assert row is not None
                await self._audit.append_in(conn, org_id, DESTINATION_CREATED, actor,
                                            target=Target("destination", destination_id),
                                            details={"name": name, "kind": kind.value})
        except UniqueViolation:
            raise InUse(f"a destination named {name!r} exists already; pick another name") from None
        return destination_row(row)

    async def delete_destination(self, org_id: str, destination_id: str, actor: Actor) -> Destination:
        async with tenant_transaction(self._db, org_id) as conn:
            found = await self._destination(conn, org_id, destination_id)
            users = [r for r in await self._rules(conn, org_id) if destination_id in r.destination_ids()]
            if users:
                scopes = ", ".join(_scope_text(r) for r in users)
                raise InUse(f"{found.name} is used by routing rules ({scopes}); change those rules first")
            await conn.execute("DELETE FROM notification_destinations WHERE org_id = %s AND destination_id = %s",
                               (org_id, destination_id))
            await self._audit.append_in(conn, org_id, DESTINATION_DELETED, actor,
                                        target=Target("destination", destination_id),
                                        details={"name": found.name, "kind": found.kind.value})
        return found

    async def rotate_secret(self, org_id: str, destination_id: str, new_secret: str, overlap_s: int,
                            now: datetime, actor: Actor) -> Destination:
        """A webhook's new signing secret; the previous one keeps signing too for ``overlap_s``."""
        async with tenant_transaction(self._db, org_id) as conn:
            found = await self._destination(conn, org_id, destination_id)
            if found.kind is not Kind.WEBHOOK:
                raise InvalidRouting("only webhook destinations have a signing secret")
            cur = await conn.execute("SELECT secret FROM notification_destinations WHERE org_id = %s "
                                     "AND destination_id = %s FOR UPDATE", (org_id, destination_id))
            row = await cur.fetchone()
            assert row is not None
            old = self._box.open(org_id, destination_id, bytes(row[0]))
            secret = {"signing_secret": new_secret, "previous_secret": old["signing_secret"],
                      "previous_until": str(int(now.timestamp()) + overlap_s)}
            await conn.execute("UPDATE notification_destinations SET secret = %s WHERE org_id = %s "
                               "AND destination_id = %s",
                               (self._box.seal(org_id, destination_id, secret), org_id, destination_id))
            await self._audit.append_in(conn, org_id, SECRET_ROTATED, actor,
                                        target=Target("destination", destination_id),
                                        details={"name": found.name, "overlap_s": overlap_s})
        return found

    async def queue_test(self, org_id: str, destination_id: str, notice: Notice, actor: Actor,
                         now: datetime) -> str:
        async with tenant_transaction(self._db, org_id) as conn:
            found = await self._destination(conn, org_id, destination_id)
            await enqueue(conn, destination_id, notice, now)
            await self._audit.append_in(conn, org_id, DESTINATION_TESTED, actor,
                                        target=Target("destination", destination_id), details={"name": found.name})
        return notice.defer_token

    # Rules --------------------------------------------------------------------------------
    async def rules(self, org_id: str) -> list[Rule]:
        async with tenant_transaction(self._db, org_id) as conn:
            return await self._rules(conn, org_id)

    async def _rules(self, conn: Conn, org_id: str) -> list[Rule]:
        cur = await conn.execute(f"SELECT {RULE_COLUMNS} FROM notification_rules WHERE org_id = %s "
                                 "ORDER BY subject, stack_id, agent_id", (org_id,))
        return [rule_row(r) for r in await cur.fetchall()]

    async def rule(self, org_id: str, rule_id: str) -> Rule:
        try:
            key = uuid.UUID(rule_id)
        except ValueError:
            raise LookupError(f"no routing rule {rule_id!r} in this organisation") from None
        async with tenant_transaction(self._db, org_id) as conn:
            cur = await conn.execute(f"SELECT {RULE_COLUMNS} FROM notification_rules "
                                     "WHERE org_id = %s AND rule_id = %s", (org_id, key))
            row = await cur.fetchone()
        if row is None:
            raise LookupError(f"no routing rule {rule_id!r} in this organisation")
        return rule_row(row)

    async def put_rule(self, org_id: str, stack_id: str, agent_id: str, steps: tuple[Step, ...],
                       actor: Actor, subject: Subject = Subject.APPROVALS) -> Rule:
        """Create or replace the rule of this scope (one rule per organisation, subject, stack, agent)."""
        async with tenant_transaction(self._db, org_id) as conn:
            cur = await conn.execute(
                "INSERT INTO notification_rules (rule_id, org_id, stack_id, agent_id, steps, subject) "
                "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (org_id, subject, stack_id, agent_id) "
                f"DO UPDATE SET steps = EXCLUDED.steps, updated_at = now() RETURNING {RULE_COLUMNS}",
                (uuid.uuid4(), org_id, stack_id, agent_id, Jsonb(steps_json(steps)), subject.value))
            row = await cur.fetchone()
            assert row is not None
            rule = rule_row(row)
            await self._audit.append_in(conn, org_id, RULE_SET, actor, target=Target("routing_rule", rule.rule_id),
                                        details={"subject": subject.value, "stack_id": stack_id,
                                                 "agent_id": agent_id, "steps": steps_json(steps)})
        return rule

    async def delete_rule(self, org_id: str, rule_id: str, actor: Actor) -> Rule:
        rule = await self.rule(org_id, rule_id)
        async with tenant_transaction(self._db, org_id) as conn:
            await conn.execute("DELETE FROM notification_rules WHERE org_id = %s AND rule_id = %s",
                               (org_id, rule_id))
            await self._audit.append_in(conn, org_id, RULE_DELETED, actor, target=Target("routing_rule", rule_id),
                                        details={"subject": rule.subject.value, "stack_id": rule.stack_id,
                                                 "agent_id": rule.agent_id})
        return rule

    # Delivery history ---------------------------------------------------------------------
    async def deliveries(self, org_id: str, *, stack_id: str | None = None, limit: int = 50) -> list[DeliveryView]:
        async with tenant_transaction(self._db, org_id) as conn:
            cur = await conn.execute(
                "SELECT o.notification_id, o.destination_id, d.name, o.event, o.stack_id, o.defer_token, o.step, "
                "o.state, o.attempts, o.last_status, o.last_error, o.created_at, o.delivered_at "
                "FROM notification_outbox o JOIN notification_destinations d USING (destination_id) "
                "WHERE o.org_id = %s AND (%s::text IS NULL OR o.stack_id = %s) "
                "ORDER BY o.created_at DESC LIMIT %s", (org_id, stack_id, stack_id, limit))
            return [DeliveryView(str(r[0]), str(r[1]), *r[2:]) for r in await cur.fetchall()]


def _scope_text(rule: Rule) -> str:
    parts = [f"stack {rule.stack_id}" if rule.stack_id else "", f"agent {rule.agent_id}" if rule.agent_id else ""]
    return " / ".join(p for p in parts if p) or "organisation-wide"
