"""Acknowledging an alert is a command of the audit index (real PostgreSQL, the PostgreSQL log,
chDB): the state, the AlertAcknowledged event in the index's outbox and the platform audit
entry commit together; of two people at once exactly one wins and the other is told who;
refused input changes nothing."""

from __future__ import annotations

import asyncio

import pytest

from faramesh_cloud.audit_index import events as codec
from faramesh_cloud.audit_index.alert_events import AlertAcknowledged, AlreadyAcknowledged
from faramesh_cloud.audit_index.api import AuditIndexApi
from faramesh_cloud.log.pg_copy import decode_headers
from faramesh_cloud.log.postgres import PostgresLog
from faramesh_cloud.olap.chdb import ChdbOlap
from faramesh_cloud.platform_audit.events import Actor, ActorType
from faramesh_cloud.platform_audit.store import PlatformAuditLog
from faramesh_cloud.sql.database import Database
from faramesh_cloud.stacks.store import StackStore
from tests.fixtures.identity import People
from tests.integration.audit_explorer_support import index_tampered

pytestmark = [pytest.mark.postgres, pytest.mark.chdb, pytest.mark.integration]


async def outbox_events(database: Database) -> list[object]:
    async with database.connection() as conn:
        rows = await (await conn.execute("SELECT value, headers FROM audit_index_outbox ORDER BY id")).fetchall()
    return [codec.decode(dict(decode_headers(h))["kind"].decode(), bytes(v)) for v, h in rows]


async def test_two_people_at_once_one_wins_and_the_other_is_told_who(
        database: Database, postgres_log: PostgresLog, chdb: ChdbOlap, olap_database: str, people: People,
        stacks: StackStore) -> None:
    acme = await people.org("acme")
    beta = await people.org("beta")
    org_id = acme.org.org_id
    stack, _ = await stacks.register_stack(org_id, "payments-prod")
    tampered = await index_tampered(database, postgres_log, chdb, olap_database, org_id, stack.stack_id)
    audit = PlatformAuditLog(database)
    api = AuditIndexApi(database, audit)
    async with database.connection() as conn:
        [(alert_id,)] = await (await conn.execute("SELECT alert_id FROM audit_alerts")).fetchall()
    assert await outbox_events(database) == []  # the index relayed its AlertRaised

    with pytest.raises(ValueError, match="note"):
        await api.acknowledge_alert(org_id, alert_id, "   ", Actor(ActorType.USER, "u-0", "nobody@example.test"))
    with pytest.raises(LookupError):
        await api.acknowledge_alert(beta.org.org_id, alert_id, "mine?", Actor(ActorType.USER, "u-9", "m@x.test"))
    assert await outbox_events(database) == []

    olga = Actor(ActorType.USER, "u-1", "olga@example.test")
    pete = Actor(ActorType.USER, "u-2", "pete@example.test")
    results = await asyncio.gather(api.acknowledge_alert(org_id, alert_id, "olga looked", olga),
                                   api.acknowledge_alert(org_id, alert_id, "pete looked", pete),
                                   return_exceptions=True)
    [won] = [r for r in results if not isinstance(r, BaseException)]
    [lost] = [r for r in results if isinstance(r, BaseException)]
    assert isinstance(lost, AlreadyAcknowledged) and f"acknowledged by {won.acknowledged_by}" in str(lost)
    [event] = await outbox_events(database)
    assert isinstance(event, AlertAcknowledged)
    assert (event.alert_id, event.key.record_id, event.actor_label, event.note) == (
        alert_id, tampered["record_id"], won.acknowledged_by, won.acknowledged_note)
    assert event.occurred_at == won.acknowledged_at
    entries = [e for e in await audit.entries(org_id) if e.action == "audit:alert:acknowledge"]
    assert [(e.actor.label, e.details["note"]) for e in entries] == [(won.acknowledged_by, won.acknowledged_note)]
