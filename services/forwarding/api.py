"""What people do with observability forwarding (the gateway's ``ForwardingPort``):
destinations (list, get, create, delete, test send) and the delivery log. Refusals raise
``InvalidForwarding`` (``code`` ``invalid`` 400, ``conflict`` 409); unknown ids raise
``LookupError``. Each change runs in ONE tenant transaction with its platform audit entry
(``org:forwarding:create|delete|test``), so the entry exists exactly when the change does.
The configuration is platform-like state kept in PostgreSQL (not on the log): a rebuild from
the log keeps destinations with the database backup, as it keeps stacks and keys."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Final

import psycopg

from faramesh_cloud.egress.sealing import SecretBox
from faramesh_cloud.egress.ssrf import Resolver, system_resolver
from faramesh_cloud.forwarding.delivery import DESTINATION_COLUMNS, destination_row
from faramesh_cloud.forwarding.destinations import prepare
from faramesh_cloud.forwarding.domain import (
    LABELS,
    DeliveryView,
    Destination,
    ForwardingConflict,
    InvalidForwarding,
    Item,
    Kind,
)
from faramesh_cloud.forwarding.senders import Senders
from faramesh_cloud.platform_audit.events import Actor, Target
from faramesh_cloud.platform_audit.store import PlatformAuditLog
from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.tenant import tenant_transaction

Clock = Callable[[], datetime]
CREATED: Final = "org:forwarding:create"
DELETED: Final = "org:forwarding:delete"
TESTED: Final = "org:forwarding:test"
MAX_DESTINATIONS: Final = 20
MAX_DELIVERIES: Final = 1000


def _org(org_id: str) -> str:
    try:
        return str(uuid.UUID(str(org_id)))
    except ValueError:
        raise InvalidForwarding(f"org_id {org_id!r} is not an organisation id (a UUID)") from None


def _id(destination_id: str) -> str:
    try:
        return str(uuid.UUID(str(destination_id)))
    except ValueError:
        raise LookupError(f"no forwarding destination {destination_id!r}") from None


def test_record(now: datetime) -> str:
    """The synthetic DPR a test send carries (marked so, never a real decision)."""
    stamp = now.strftime("%Y-%m-%dT%H:%M:%S.%f") + "000Z"
    return json.dumps({"schema_version": "dpr/1.0", "record_id": f"test-{uuid.uuid4()}", "agent_id": "faramesh-test",
                       "session_id": "", "tool_id": "faramesh/test_send", "effect": "permit",
                       "matched_rule_id": "", "reason_code": "FORWARDING_TEST", "reason": "test send from Faramesh Cloud",
                       "created_at": stamp})


class ForwardingApi:
    kinds: Sequence[Kind] = tuple(Kind)
    labels = LABELS

    def __init__(self, db: Database, box: SecretBox, audit: PlatformAuditLog, senders: Senders, *,
                 allow_private: bool, clock: Clock, resolver: Resolver = system_resolver) -> None:
        self._db = db
        self._box = box
        self._audit = audit
        self._senders = senders
        self._allow_private = allow_private
        self._clock = clock
        self._resolver = resolver

    async def destinations(self, org_id: str) -> list[Destination]:
        org = _org(org_id)
        async with tenant_transaction(self._db, org) as conn:
            cur = await conn.execute(f"SELECT {DESTINATION_COLUMNS} FROM forwarding_destinations WHERE org_id = %s "
                                     "ORDER BY name", (org,))
            return [destination_row(r) for r in await cur.fetchall()]

    async def destination(self, org_id: str, destination_id: str) -> Destination:
        org, did = _org(org_id), _id(destination_id)
        async with tenant_transaction(self._db, org) as conn:
            cur = await conn.execute(f"SELECT {DESTINATION_COLUMNS} FROM forwarding_destinations WHERE org_id = %s "
                                     "AND destination_id = %s", (org, did))
            row = await cur.fetchone()
        if row is None:
            raise LookupError(f"no forwarding destination {destination_id!r} in this organisation")
        return destination_row(row)

    async def create_destination(self, org_id: str, name: str, kind: str, fields: dict[str, Any], actor: Actor, *,
                                 forward_dprs: bool = True, forward_metrics: bool = True) -> Destination:
        org = _org(org_id)
        name = (name or "").strip()
        if not 1 <= len(name) <= 100:
            raise InvalidForwarding("a destination needs a name of 1 to 100 characters")
        if not (forward_dprs or forward_metrics):
            raise InvalidForwarding("forward DPRs, decision metrics or both")
        prepared = prepare(kind, fields, allow_private=self._allow_private, resolver=self._resolver)
        did = str(uuid.uuid4())
        sealed = self._box.seal(org, did, prepared.secret)
        now = self._clock()
        try:
            async with tenant_transaction(self._db, org) as conn:
                await conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"forwarding/{org}",))
                cur = await conn.execute("SELECT count(*) FROM forwarding_destinations WHERE org_id = %s", (org,))
                row = await cur.fetchone()
                if row is not None and int(row[0]) >= MAX_DESTINATIONS:
                    raise InvalidForwarding(f"an organisation has at most {MAX_DESTINATIONS} forwarding destinations")
                await conn.execute(
                    "INSERT INTO forwarding_destinations (destination_id, org_id, name, kind, config, secret, "
                    "forward_dprs, forward_metrics, created_at, created_by) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, "
                    "%s, %s)", (did, org, name, kind, json.dumps(prepared.config), sealed, forward_dprs,
                                forward_metrics, now, actor.label))
                await self._audit.append_in(conn, org, CREATED, actor, target=Target("forwarding_destination", did),
                                            details={"name": name, "kind": kind, "forward_dprs": forward_dprs,
                                                     "forward_metrics": forward_metrics, **prepared.config})
        except psycopg.errors.UniqueViolation:
            raise ForwardingConflict(f"a forwarding destination named {name!r} exists already") from None
        return Destination(did, org, name, Kind(kind), prepared.config, forward_dprs, forward_metrics, now,
                           actor.label)

    async def delete_destination(self, org_id: str, destination_id: str, actor: Actor) -> Destination:
        org, did = _org(org_id), _id(destination_id)
        async with tenant_transaction(self._db, org) as conn:
            cur = await conn.execute(f"DELETE FROM forwarding_destinations WHERE org_id = %s AND destination_id = %s "
                                     f"RETURNING {DESTINATION_COLUMNS}", (org, did))
            row = await cur.fetchone()
            if row is None:
                raise LookupError(f"no forwarding destination {destination_id!r} in this organisation")
            gone = destination_row(row)
            await self._audit.append_in(conn, org, DELETED, actor, target=Target("forwarding_destination", did),
                                        details={"name": gone.name, "kind": gone.kind.value})
        return gone

    async def test_destination(self, org_id: str, destination_id: str, actor: Actor) -> str:
        """Send one synthetic DPR now (not through the outbox); the outcome in words."""
        org, did = _org(org_id), _id(destination_id)
        async with tenant_transaction(self._db, org) as conn:
            cur = await conn.execute(f"SELECT {DESTINATION_COLUMNS}, secret FROM forwarding_destinations "
                                     "WHERE org_id = %s AND destination_id = %s", (org, did))
            row = await cur.fetchone()
        if row is None:
            raise LookupError(f"no forwarding destination {destination_id!r} in this organisation")
        destination = destination_row(row)
        secret = self._box.open(org, did, bytes(row[9]))
        now = self._clock()
        item = Item("dpr", org, "test", test_record(now), extra={"created_ns": int(now.timestamp() * 1e9)})
        [outcome] = await self._senders.send(destination, secret, [item])
        result = (f"delivered (HTTP {outcome.status})" if outcome.delivered
                  else f"not delivered: {outcome.error or outcome.status}")
        await self._audit.append(org, TESTED, actor, target=Target("forwarding_destination", did),
                                 details={"name": destination.name, "result": result})
        return result

    async def deliveries(self, org_id: str, *, limit: int = 50) -> list[DeliveryView]:
        org = _org(org_id)
        async with tenant_transaction(self._db, org) as conn:
            cur = await conn.execute(
                "SELECT l.destination_id::text, d.name, l.at, l.items, l.outcome, l.attempts, l.http_status, l.error "
                "FROM forwarding_delivery_log l JOIN forwarding_destinations d USING (destination_id) "
                "WHERE l.org_id = %s ORDER BY l.at DESC, l.id DESC LIMIT %s", (org, max(1, min(limit, MAX_DELIVERIES))))
            return [DeliveryView(*r) for r in await cur.fetchall()]

    async def backlog(self, org_id: str) -> dict[str, int]:
        """Items waiting per destination id (pending in the outbox)."""
        org = _org(org_id)
        async with tenant_transaction(self._db, org) as conn:
            cur = await conn.execute("SELECT destination_id::text, count(*) FROM forwarding_outbox WHERE org_id = %s "
                                     "AND state = 'pending' GROUP BY destination_id", (org,))
            return {str(r[0]): int(r[1]) for r in await cur.fetchall()}
