"""Retention settings on the real index: the frameworks an organisation declared (learnt from
compliance.events.v1) refuse a retention below their minimum with the citation, writing
nothing; a legal hold suspends deletion until released; a dry run shows what a change would
remove without removing it."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from faramesh_cloud.audit_index.postgres import COMPONENT
from faramesh_cloud.audit_index.retention import store
from faramesh_cloud.audit_index.retention.api import RetentionApi, RetentionRefused
from faramesh_cloud.audit_index.retention.sweep import RetentionSweeper
from faramesh_cloud.audit_index.service import AuditIndex
from faramesh_cloud.compliance import events as compliance_events
from faramesh_cloud.compliance.changes import FrameworksDeclared
from faramesh_cloud.events.topics import COMPLIANCE_EVENTS, DEFAULT_PARTITIONS
from faramesh_cloud.log.postgres import PostgresLog
from faramesh_cloud.olap.port import Olap
from faramesh_cloud.platform_audit.events import Actor, AuditAction
from faramesh_cloud.platform_audit.store import AuditFilter, PlatformAuditLog
from faramesh_cloud.signing.keys import load_or_create_signing_key
from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.migrate import migrate
from faramesh_cloud.stacks.store import StackStore
from tests.fixtures.identity import People
from tests.integration.audit_support import all_pages, fast_config, publish
from tests.integration.retention_support import NOW, OWNER, chains, index_until, started

pytestmark = [pytest.mark.chdb, pytest.mark.postgres, pytest.mark.integration]


async def outbox_rows(database: Database) -> int:
    async with database.connection() as conn:
        row = await (await conn.execute("SELECT count(*) FROM audit_index_outbox")).fetchone()
    return int(row[0]) if row else 0


async def test_a_retention_below_a_declared_frameworks_minimum_is_refused_with_its_citation(
        people: People, database: Database, postgres_log: PostgresLog, chdb: Olap, olap_database: str,
        tmp_path: Path) -> None:
    audit = PlatformAuditLog(database)
    await audit.start()
    await migrate(database, [COMPONENT])
    org = (await people.org("acme")).org.org_id
    await postgres_log.create_topic(COMPLIANCE_EVENTS, DEFAULT_PARTITIONS[COMPLIANCE_EVENTS])
    declared = FrameworksDeclared(event_id=str(uuid.uuid4()), occurred_at=datetime(2026, 4, 1, tzinfo=UTC),
                                  org_id=org, actor=OWNER, frameworks=("soc2", "hipaa"))
    await postgres_log.append(COMPLIANCE_EVENTS, [compliance_events.encode(declared)])
    key = load_or_create_signing_key(tmp_path)
    index = await started(database, postgres_log, chdb, olap_database, key)
    try:
        async with asyncio.timeout(30):
            while True:
                async with database.connection() as conn:
                    if await store.frameworks(conn, org):
                        break
                await asyncio.sleep(0.05)
    finally:
        await index.stop()
    api = RetentionApi(database, RetentionSweeper(database, chdb, index.tables, key, clock=lambda: NOW),
                       clock=lambda: NOW)
    queued = await outbox_rows(database)

    with pytest.raises(RetentionRefused) as refused:
        await api.set_retention(org, 365, OWNER)
    assert str(refused.value).startswith("365 days is below the HIPAA Security Rule minimum of 2192 days")
    assert "45 CFR §164.316(b)(2)(i)" in str(refused.value)
    with pytest.raises(RetentionRefused):
        await api.set_retention(org, 400, OWNER, stack_id="some-stack")
    with pytest.raises(RetentionRefused):
        await api.dry_run(org, days=30)
    async with database.connection() as conn:
        assert await store.policies(conn, org) == store.Policies()
    assert await outbox_rows(database) == queued  # nothing half-applied
    assert await audit.entries(org, AuditFilter(action="audit:retention:")) == []

    await api.set_retention(org, 2200, OWNER)
    async with database.connection() as conn:
        assert (await store.policies(conn, org)).org_days == 2200
    entries = await audit.entries(org, AuditFilter(action=AuditAction.RETENTION_SET.value))
    assert [(e.details["days"], e.actor.label) for e in entries] == [(2200, OWNER.label)]
    for bad in (0, -5, 40_000):
        with pytest.raises(ValueError, match="whole number of days"):
            await api.set_retention(org, bad, OWNER)


async def test_a_legal_hold_suspends_deletion_and_a_dry_run_shows_what_a_change_would_remove(
        people: People, stacks: StackStore, database: Database, postgres_log: PostgresLog, chdb: Olap,
        olap_database: str, tmp_path: Path) -> None:
    audit = PlatformAuditLog(database)
    await audit.start()
    await migrate(database, [COMPONENT])
    org = (await people.org("acme")).org.org_id
    stack, _ = await stacks.register_stack(org, "payments")
    key = load_or_create_signing_key(tmp_path)
    pushed = chains(stack.stack_id, per_agent=12)
    await publish(postgres_log, org, stack.stack_id, pushed)
    index = await started(database, postgres_log, chdb, olap_database, key)
    try:
        await index_until(index, len(pushed))
    finally:
        await index.stop()
    sweeper = RetentionSweeper(database, chdb, index.tables, key, clock=lambda: NOW)
    api = RetentionApi(database, sweeper, clock=lambda: NOW)
    everything = len(await all_pages(index.queries, org, limit=200))

    preview = await api.dry_run(org, days=30)  # nothing set yet: what 30 days would do
    assert [d.month for d in preview.dropped] == [202601, 202602]
    assert sum(d.partition.records for d in preview.dropped) == len(
        [r for r in pushed if r["created_at"] < "2026-03"])
    async with database.connection() as conn:
        assert await store.policies(conn, org) == store.Policies()

    await api.set_retention(org, 30, OWNER)
    with pytest.raises(ValueError, match="say why"):
        await api.set_hold(org, stack.stack_id, OWNER, held=True, reason="  ")
    await api.set_hold(org, stack.stack_id, OWNER, held=True, reason="matter 2026-17")
    held = await sweeper.run()
    assert held[0].dropped_months == [] and held[0].swept is None
    assert held[0].plan.kept[0].why == "kept: legal hold on stack " + stack.stack_id + " (matter 2026-17)"
    assert len(await all_pages(index.queries, org, limit=200)) == everything
    status = await api.status(org)
    assert status.policies.holds == {stack.stack_id: "matter 2026-17"} and status.last_run == NOW

    await api.set_hold(org, stack.stack_id, Actor.system("counsel"), held=False)
    # PCI DSS declared after the 30 days were set: the job keeps 12 months anyway.
    async with database.transaction() as conn:
        await store.set_frameworks(conn, org, ["pci-dss"], datetime(2026, 4, 2, tzinfo=UTC))
    floored = await sweeper.run()
    assert floored[0].dropped_months == [] and "keeps 365 days" in floored[0].plan.kept[0].why
    async with database.transaction() as conn:
        await store.set_frameworks(conn, org, [], datetime(2026, 4, 3, tzinfo=UTC))
    released = await sweeper.run()
    assert released[0].dropped_months == [202601, 202602]
    assert len(await all_pages(index.queries, org, limit=200)) < everything
    actions = [e.action for e in await audit.entries(org, AuditFilter(action="audit:"))]
    assert actions == [AuditAction.RETENTION_SET, AuditAction.LEGAL_HOLD_SET, AuditAction.LEGAL_HOLD_RELEASED,
                       AuditAction.RETENTION_SWEPT]


async def test_the_index_runs_the_job_on_its_schedule(
        people: People, stacks: StackStore, database: Database, postgres_log: PostgresLog, chdb: Olap,
        olap_database: str, tmp_path: Path) -> None:
    await PlatformAuditLog(database).start()
    await migrate(database, [COMPONENT])
    org = (await people.org("acme")).org.org_id
    stack, _ = await stacks.register_stack(org, "payments")
    pushed = chains(stack.stack_id, per_agent=6)  # January to mid-February 2026: long past
    await publish(postgres_log, org, stack.stack_id, pushed)
    config = replace(fast_config(olap_database), retention_sweep_interval_s=0.2)
    index = AuditIndex(database, postgres_log, chdb, config, checkpoint_key=load_or_create_signing_key(tmp_path))
    await index.start()
    try:
        await index_until(index, len(pushed))
        await index.retention.set_retention(org, 30, OWNER)
        async with asyncio.timeout(60):
            while await all_pages(index.queries, org, limit=200):
                await asyncio.sleep(0.1)
    finally:
        await index.stop()
    async with database.connection() as conn:
        assert await store.job_ran_at(conn) is not None
        assert [s.months for s in await store.sweeps(conn, org)] == [[202601, 202602]]
    agents = (await index.queries.chain_integrity(org))[0].agents
    assert all(a.checkpoint is not None and a.checkpoint.chain_index == a.chain_length - 1 for a in agents)
