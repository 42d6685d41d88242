"""Alerts and pins as events, end to end, and a rebuild from the log (real PostgreSQL, the
PostgreSQL log, chDB, local servers speaking Slack, PagerDuty and webhooks).

The run: a stack's key is pinned (the stacks outbox) after records were received and before
others were, and the index learns of the pin only after it indexed both (it re-judges the
later ones: untrusted, alerts); tampered records raise alerts; people acknowledge two (the
index's command); a verifier fix retracts what an older verifier raised (AlertRetracted);
the pin is revoked and later records are valid again. The notifications service consumes
audit.alerts.v1 and tells each destination once.

Then every topic is replayed from offset 0 into empty databases (a fresh PostgreSQL database,
a fresh ClickHouse database, new consumer groups), with the same destinations configured:
the user sees the same alerts (ids, acknowledgements, notes), chain integrity, verification
statuses and notification records, and no destination is told anything twice."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import secrets
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from nacl.signing import SigningKey
from psycopg import sql

from faramesh_cloud.audit_index.reader import IndexReader
from faramesh_cloud.audit_index.schema import AuditTables
from faramesh_cloud.audit_index.service import AuditIndex
from faramesh_cloud.consumer.runner import ConsumerRunner
from faramesh_cloud.log.postgres import PostgresLog
from faramesh_cloud.notifications.outbox import OutboxConfig
from faramesh_cloud.notifications.senders import Endpoints
from faramesh_cloud.notifications.service import Notifications, NotificationsConfig
from faramesh_cloud.olap.chdb import ChdbOlap
from faramesh_cloud.platform_audit.events import Actor, ActorType
from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.embedded import EmbeddedPostgres
from faramesh_cloud.stacks.signing_keys import SigningKeyStore
from faramesh_cloud.stacks.store import StackStore
from tests.fixtures.identity import People
from tests.fixtures.postgres import fresh_database
from tests.integration.audit_support import (
    all_pages,
    as_the_old_verifier_left_it,
    fast_config,
    fleet,
    publish,
    records,
    relay_pins,
)
from tests.notifications_support import HttpReceiver, http_receiver
from tests.simulator_support import eventually

pytestmark = [pytest.mark.postgres, pytest.mark.chdb, pytest.mark.integration]

DATA = Path(__file__).resolve().parents[1] / "data"
OTHER_KEY = base64.b64encode(bytes(SigningKey(bytes(32)).verify_key)).decode()  # nobody signs with it
ROUTING_KEY = "R0UT1NGKEY0123456789abcdefABCDEF"
ACTOR = Actor.system("test")
OUTBOXES = ("audit_index_outbox", "notifications_outbox", "stacks_outbox")
# Tables that are not rebuilt from the log (organisations and the stack registry): copied to the rebuild.
COPIED = ("orgs", "stacks")  # not on the log (identity and the stack registry); routing is, as events


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    with http_receiver() as fake:
        fake.answers["/pd/v2/enqueue"] = (202, b'{"status":"success","message":"Event processed"}')
        yield fake


@pytest.fixture
def rebuilt_olap_database(chdb: ChdbOlap) -> Iterator[str]:
    name = f"rebuild_{secrets.token_hex(6)}"
    chdb.command(f"CREATE DATABASE {name}")
    yield name
    chdb.command(f"DROP DATABASE IF EXISTS {name} SYNC")


@pytest.fixture
async def empty_database(embedded_postgres: EmbeddedPostgres, pg_template: str) -> AsyncIterator[Database]:
    with fresh_database(embedded_postgres, pg_template, prefix="rebuild") as url:
        async with Database(url, max_size=4) as db:
            yield db


def notifications_config(receiver: HttpReceiver, key: bytes, group: str = "notifications") -> NotificationsConfig:
    return NotificationsConfig(
        key=key, group=group, allow_private=True, link_base="https://cloud.example.test",
        endpoints=Endpoints(pagerduty=receiver.url + "/pd"), send_interval_s=0.05, escalation_interval_s=3600,
        outbox=OutboxConfig(retry_initial_s=0, retry_max_s=0, max_attempts=3))


def runners(index: AuditIndex, notifications: Notifications | None) -> list[ConsumerRunner[Any]]:
    found: list[ConsumerRunner[Any] | None] = [*index.runners, *index.verifiers, index.pins, index.alert_events]
    if notifications is not None:
        found += [notifications.alert_runner, notifications.alert_state]
    return [r for r in found if r is not None]


async def settled(db: Database, log: PostgresLog, running: Sequence[ConsumerRunner[Any]]) -> bool:
    async with db.connection() as conn:
        for table in OUTBOXES:
            row = await (await conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table)))).fetchone()
            if row is not None and row[0]:
                return False
        row = await (await conn.execute("SELECT count(*) FROM notification_outbox WHERE state = 'pending'")).fetchone()
        if row is not None and row[0]:
            return False
    for runner in running:
        if not await runner.caught_up(await log.end_offsets(runner.topic)):
            return False
    return True


async def settle(db: Database, log: PostgresLog, index: AuditIndex, notifications: Notifications | None) -> None:
    """Until every outbox is relayed, every consumer has read its topic to the end and every
    notice was sent: twice in a row, some time apart (a relay may append after a check)."""
    calm = 0
    deadline = time.monotonic() + 90
    while calm < 2:
        assert index.failure() is None and (notifications is None or notifications.failure() is None)
        assert time.monotonic() < deadline, "the services did not settle within 90 s"
        calm = calm + 1 if await settled(db, log, runners(index, notifications)) else 0
        await asyncio.sleep(0.3)


async def what_users_see(db: Database, olap: ChdbOlap, olap_database: str, org_id: str) -> dict[str, Any]:
    reader = IndexReader(olap, db, AuditTables(olap_database))
    alerts = await reader.alerts(org_id, include_acknowledged=True)
    rows = await all_pages(reader._queries, org_id, limit=500)
    async with db.connection() as conn:
        routed = await (await conn.execute(
            "SELECT alert_id, stack_id, agent_id, record_id, kind, state, rule_id::text, routed_at, acknowledged_at, "
            "message, raised_at, destination_ids::text[] FROM notification_alerts ORDER BY alert_id")).fetchall()
    return {
        "alerts": sorted((a.alert_id, a.stack_id, a.agent_id, a.record_id, a.record_hash, a.kind, a.message,
                          a.record_created_at, a.created_at, a.acknowledged, a.acknowledged_at, a.acknowledged_by,
                          a.acknowledged_note) for a in alerts),
        "open_alerts": sorted(a.alert_id for a in await reader.alerts(org_id)),
        "integrity": [dataclasses.asdict(s) for s in await reader.chain_integrity(org_id)],
        "verification": sorted((r.stack_id, r.agent_id, r.record_id, r.record_hash, r.hash_valid, r.signature_status)
                               for r in rows),
        "notified": [tuple(r) for r in routed],
    }


async def copy_tables(source: Database, target: Database, tables: Sequence[str]) -> None:
    async with source.connection() as src, target.connection() as dst:
        for table in tables:
            name = sql.Identifier(table)
            async with src.cursor().copy(sql.SQL("COPY {} TO STDOUT (FORMAT BINARY)").format(name)) as out, \
                    dst.cursor().copy(sql.SQL("COPY {} FROM STDIN (FORMAT BINARY)").format(name)) as into:
                async for chunk in out:
                    await into.write(chunk)


async def test_replaying_every_topic_into_empty_databases_rebuilds_what_users_see_and_notifies_nothing_twice(
        database: Database, postgres_log: PostgresLog, chdb: ChdbOlap, olap_database: str, people: People,
        stacks: StackStore, receiver: HttpReceiver, empty_database: Database, rebuilt_olap_database: str) -> None:
    owner = await people.org("acme")
    org_id = owner.org.org_id
    pinned_stack, _ = await stacks.register_stack(org_id, "pinned-prod", "prod")
    tampered_stack, _ = await stacks.register_stack(org_id, "tampered-prod", "prod")
    legacy_stack, _ = await stacks.register_stack(org_id, "legacy-prod", "prod")
    key = secrets.token_bytes(32)
    notifications = Notifications(database, postgres_log, notifications_config(receiver, key))
    await notifications.start()
    api = notifications.api
    slack, _ = await api.create_destination(org_id, "sec-slack", "slack_webhook", {"url": receiver.url + "/slack"},
                                            ACTOR)
    pager, _ = await api.create_destination(org_id, "sec-pager", "pagerduty", {"routing_key": ROUTING_KEY}, ACTOR)
    hook, _ = await api.create_destination(org_id, "siem", "webhook", {"url": receiver.url + "/siem"}, ACTOR)
    await api.put_rule(org_id, "", "", [{"after_minutes": 0, "destinations": [
        slack.destination_id, pager.destination_id, hook.destination_id]}], ACTOR, subject="chain_integrity")
    config = fast_config(olap_database)
    index = AuditIndex(database, postgres_log, chdb, config)
    await index.start()
    try:
        # Someone else's key is pinned at T. The index indexes records received before T and
        # after it before it learns of the pin; then it does, and judges the later ones again.
        pin = await SigningKeyStore(database).pin(org_id, pinned_stack.stack_id, OTHER_KEY, added_by="olga@example.test")
        t_ns = int(pin.added_at.timestamp() * 1e9)
        await publish(postgres_log, org_id, pinned_stack.stack_id, records(fleet("before", 2, ["s"], seed=1), 12),
                      received_ns=t_ns - 60 * 10**9)
        after = records(fleet("after", 2, ["s"], seed=2), 12)
        await publish(postgres_log, org_id, pinned_stack.stack_id, after, first_seq=12, received_ns=t_ns + 10**9)
        await eventually(lambda: index.handled() >= 24, "24 records indexed")
        signed_after = sum(1 for r in after if r.get("signature"))
        assert signed_after > 0
        assert [a for a in await index.queries.alerts(org_id)] == []  # the pin is not known yet
        assert await relay_pins(database, postgres_log) == 1
        await eventually(lambda: index.pin_sink.rejudged == signed_after, "the later records judged again")

        # Tampered records (a hash mismatch and a bad signature on the edited record).
        tampered = (DATA / "interop" / "vectors" / "dpr_chain_tampered_field.jsonl").read_bytes().splitlines()
        await publish(postgres_log, org_id, tampered_stack.stack_id, tampered, first_seq=100,
                      received_ns=t_ns + 2 * 10**9)
        # Legacy records an older verifier misjudged (raised alerts for), retracted by the fix.
        legacy = (DATA / "legacy_hashed_fields" / "legacy_deferrer_chain.jsonl").read_bytes().splitlines()
        await publish(postgres_log, org_id, legacy_stack.stack_id, legacy, first_seq=200, received_ns=t_ns - 10**9)
        await settle(database, postgres_log, index, notifications)
        await as_the_old_verifier_left_it(database, chdb, index.tables.dpr, org_id, legacy_stack.stack_id, legacy)
        await settle(database, postgres_log, index, notifications)
        raised = await index.queries.alerts(org_id, limit=1000)
        assert len(raised) == signed_after + 2 + 6
        assert len(receiver.requests) == 3 * len(raised)  # every alert, each destination once

        # People acknowledge two, with notes (the index's command; the gateway's path).
        reader = IndexReader(chdb, database, index.tables)
        operator = Actor(ActorType.USER, owner.user.user_id, owner.email)
        untrusted = next(a for a in raised if a.kind == "untrusted_signer")
        mismatch = next(a for a in raised if a.kind == "record_hash_mismatch" and a.stack_id == tampered_stack.stack_id)
        await reader.acknowledge_alert(org_id, untrusted.alert_id, "we rotated that daemon's key", operator)
        await reader.acknowledge_alert(org_id, mismatch.alert_id, "the edit was our drill", operator)

        # The verifier fix retracts what the old verifier raised, on restart.
        await index.stop()
        index = AuditIndex(database, postgres_log, chdb, config)
        await index.start()

        # The pin is revoked; records received after it are valid again (no pin left).
        await SigningKeyStore(database).revoke(org_id, pinned_stack.stack_id, OTHER_KEY, revoked_by="olga@example.test")
        assert await relay_pins(database, postgres_log) == 1
        await eventually(lambda: index.trust.get(org_id, pinned_stack.stack_id) is None, "the revocation applied")
        await publish(postgres_log, org_id, pinned_stack.stack_id, records(fleet("late", 2, ["s"], seed=3), 12),
                      first_seq=24, received_ns=time.time_ns() + 10**9)
        await settle(database, postgres_log, index, notifications)
        before = await what_users_see(database, chdb, olap_database, org_id)
    finally:
        await index.stop()
        await notifications.stop()

    # What the run left: acknowledgements and retractions with who, when and the notes.
    closed = {a[0]: a for a in before["alerts"] if a[9]}
    assert closed[untrusted.alert_id][11:] == (owner.email, "we rotated that daemon's key")
    assert closed[mismatch.alert_id][11:] == (owner.email, "the edit was our drill")
    retracted = [a for a in before["alerts"] if a[1] == legacy_stack.stack_id]
    assert len(retracted) == 6 and all(a[9] and a[11] == "faramesh-cloud verifier" for a in retracted)
    assert len(before["open_alerts"]) == len(before["alerts"]) - 8
    statuses = {(r[0], r[1].split("-agent-")[0]): set() for r in before["verification"]}
    for r in before["verification"]:
        statuses[(r[0], r[1].split("-agent-")[0])].add(r[5])
    assert statuses[(pinned_stack.stack_id, "before")] <= {"valid", "unsigned"}  # received before T
    assert "untrusted" in statuses[(pinned_stack.stack_id, "after")]
    assert statuses[(pinned_stack.stack_id, "late")] <= {"valid", "unsigned"}  # after the revocation
    sent = len(receiver.requests)
    resolves = [r for r in receiver.on("/pd/v2/enqueue") if r.json()["event_action"] == "resolve"]
    assert len(resolves) == 2 + 6  # two acknowledged by people, six retracted
    assert len(before["notified"]) == len(before["alerts"])

    # The rebuild: every topic from offset 0, empty databases, new consumer groups.
    await copy_tables(database, empty_database, COPIED)
    rebuilt_index = AuditIndex(empty_database, postgres_log, chdb,
                               fast_config(rebuilt_olap_database, group="rebuild"))
    rebuilt_notifications = Notifications(empty_database, postgres_log,
                                          notifications_config(receiver, key, group="notifications-rebuild"))
    await rebuilt_index.start()
    await rebuilt_notifications.start()
    try:
        await settle(empty_database, postgres_log, rebuilt_index, rebuilt_notifications)
        after_rebuild = await what_users_see(empty_database, chdb, rebuilt_olap_database, org_id)
    finally:
        await rebuilt_notifications.stop()
        await rebuilt_index.stop()
    assert after_rebuild == before
    await asyncio.sleep(0.3)
    assert len(receiver.requests) == sent  # nobody was told anything twice
