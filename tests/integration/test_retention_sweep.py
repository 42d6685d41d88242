"""Retention that keeps proofs, end to end on the real index (PostgreSQL + chDB + the log):
shorten retention, run the job, and search no longer returns the old records, every agent
chain verifies from its signed checkpoint, the integrity view says so, a signed export of
what is left passes ``faramesh-cloud verify-bundle``, and a rebuild from the log does not
index the removed records again."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from fastapi import FastAPI

from faramesh_cloud.audit_index.postgres import COMPONENT
from faramesh_cloud.audit_index.retention import checkpoint
from faramesh_cloud.audit_index.retention.api import RetentionApi
from faramesh_cloud.audit_index.retention.plan import to_ns
from faramesh_cloud.audit_index.retention.sweep import RetentionSweeper
from faramesh_cloud.audit_index.schema import AuditTables
from faramesh_cloud.audit_index.service import AuditIndex, Role
from faramesh_cloud.cli.main import cli
from faramesh_cloud.gateway.app import create_app
from faramesh_cloud.gateway.web.retention_ports import mount_retention
from faramesh_cloud.identity.service import Identity
from faramesh_cloud.log.postgres import PostgresLog
from faramesh_cloud.olap.port import Olap
from faramesh_cloud.outbox.relay import OutboxRelay
from faramesh_cloud.platform_audit.events import AuditAction
from faramesh_cloud.platform_audit.store import AuditFilter, PlatformAuditLog
from faramesh_cloud.signing.keys import load_or_create_signing_key, public_pem
from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.migrate import migrate
from faramesh_cloud.stacks.store import StackStore
from tests.fixtures.gateway import csrf_of, sign_in, static_status
from tests.fixtures.identity import PASSWORD, People
from tests.integration.audit_explorer_support import explorer_deps
from tests.integration.audit_support import all_pages, fast_config, publish
from tests.integration.retention_support import (
    HORIZON,
    NOW,
    OWNER,
    START,
    chains,
    index_until,
    publish_summaries,
    started,
)

pytestmark = [pytest.mark.chdb, pytest.mark.postgres, pytest.mark.integration]

@pytest.fixture
def app(identity: Identity, stacks: StackStore, database: Database, chdb: Olap, olap_database: str,
        tmp_path: Path) -> FastAPI:
    return create_app(static_status, web=explorer_deps(identity, stacks, database, chdb, olap_database, tmp_path))


async def test_a_sweep_removes_old_months_and_what_is_left_verifies_from_signed_checkpoints(
        app: FastAPI, people: People, stacks: StackStore, database: Database, postgres_log: PostgresLog,
        chdb: Olap, olap_database: str, tmp_path: Path) -> None:
    audit_log = PlatformAuditLog(database)
    await audit_log.start()
    await migrate(database, [COMPONENT])
    acme = await people.org("acme")
    org = acme.org.org_id
    stack, _ = await stacks.register_stack(org, "payments")
    key = load_or_create_signing_key(tmp_path)  # the gateway's export key (explorer_deps) is this one
    pushed = chains(stack.stack_id)
    await publish(postgres_log, org, stack.stack_id, pushed)
    summaries = await publish_summaries(postgres_log, org, stack.stack_id,
                                        [START, START + timedelta(days=30), NOW - timedelta(days=5)])
    index = await started(database, postgres_log, chdb, olap_database, key)
    try:
        await index_until(index, len(pushed), len(summaries))
        sweeper = RetentionSweeper(database, chdb, index.tables, key, clock=lambda: NOW)
        api = RetentionApi(database, sweeper, clock=lambda: NOW)
        await api.set_retention(org, 30, OWNER)

        preview = await api.dry_run(org)
        assert [d.month for d in preview.dropped] == [202601, 202602]
        assert await all_pages(index.queries, org, limit=200)  # the dry run removed nothing
        reports = await sweeper.run()
    finally:
        await index.stop()

    assert [r.dropped_months for r in reports] == [[202601, 202602]]
    horizon = to_ns(HORIZON)
    old = [r for r in pushed if to_ns(datetime.fromisoformat(r["created_at"])) < horizon]
    kept = [r for r in pushed if r not in old]
    assert old and kept
    rows = await all_pages(index.queries, org, limit=200)
    assert sorted(r.record_id for r in rows) == sorted([r["record_id"] for r in kept] + summaries[2:])
    assert reports[0].swept is not None and reports[0].swept.summaries == 2

    # Every chain: a checkpoint at its last removed record, signed; the view says so.
    stacks_view = await index.queries.chain_integrity(org)
    assert len(stacks_view) == 1 and stacks_view[0].critical_findings == 0
    public = key.public_key()
    for agent in stacks_view[0].agents:
        mine = [r for r in pushed if r["agent_id"] == agent.agent_id]
        removed = [r for r in mine if r in old]
        cp = agent.checkpoint
        assert cp is not None
        assert (cp.chain_index, cp.record_hash, cp.record_id) == (
            len(removed) - 1, removed[-1]["record_hash"], removed[-1]["record_id"])
        assert checkpoint.verify(cp, public)
        assert agent.chain_length == len(mine)  # positions are never renumbered
        assert agent.verified_from == (f"verified from checkpoint {len(removed) - 1} (earlier records removed by "
                                       "retention on 2026-04-20)")
    tampered = type(cp)(**{**{f: getattr(cp, f) for f in cp.__struct_fields__}, "chain_index": cp.chain_index + 1})
    assert not checkpoint.verify(tampered, public)

    # The platform audit log names the sweep; the export of what is left verifies offline.
    entries = await audit_log.entries(org, AuditFilter(action=AuditAction.RETENTION_SWEPT.value))
    assert [e.details["months"] for e in entries] == [[202601, 202602]]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as web:
        await sign_in(web, acme.email, PASSWORD)
        exported = await web.get("/api/v1/orgs/acme/audit/export")
    assert exported.status_code == 200, exported.text
    bundle = exported.json()
    assert sorted(e["record_id"] for e in bundle["entries"]) == sorted(r["record_id"] for r in kept)
    firsts: dict[str, dict[str, Any]] = {}
    for entry in bundle["entries"]:
        firsts.setdefault(entry["agent_id"], entry)
    for agent in stacks_view[0].agents:
        first, cp = firsts[agent.agent_id], agent.checkpoint
        assert cp is not None
        assert (first["chain_index"], first["prev_record_hash"]) == (cp.chain_index + 1, cp.record_hash)
    path = tmp_path / "export.json"
    path.write_bytes(exported.content)
    pem = tmp_path / "platform.pem"
    pem.write_text(public_pem(public))
    result = CliRunner().invoke(cli, ["verify-bundle", str(path), "--public-key", str(pem)])
    assert result.exit_code == 0, result.output


async def test_a_rebuild_from_the_log_does_not_index_what_retention_removed(
        people: People, stacks: StackStore, database: Database, postgres_log: PostgresLog, chdb: Olap,
        olap_database: str, tmp_path: Path) -> None:
    await PlatformAuditLog(database).start()
    await migrate(database, [COMPONENT])
    acme = await people.org("acme")
    org = acme.org.org_id
    stack, _ = await stacks.register_stack(org, "payments")
    key = load_or_create_signing_key(tmp_path)
    pushed = chains(stack.stack_id, per_agent=10)
    await publish(postgres_log, org, stack.stack_id, pushed)
    index = await started(database, postgres_log, chdb, olap_database, key)
    try:
        await index_until(index, len(pushed))
        sweeper = RetentionSweeper(database, chdb, index.tables, key, clock=lambda: NOW)
        await RetentionApi(database, sweeper, clock=lambda: NOW).set_retention(org, 30, OWNER)
        await sweeper.run()
    finally:
        await index.stop()
    await OutboxRelay(database, postgres_log, "audit_index_outbox").relay_once()
    before_rows = sorted(r.record_id for r in await all_pages(index.queries, org, limit=200))
    before = await index.queries.chain_integrity(org)

    # Rebuild: empty the index's tables (PostgreSQL and ClickHouse), replay under a new group.
    async with database.transaction() as conn:
        tables = await (await conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename LIKE 'audit\\_%%' "
            "AND tablename NOT IN ('audit_index_outbox', 'audit_pin_generation', 'audit_verifier_revision')"
        )).fetchall()
        await conn.execute("TRUNCATE " + ", ".join(t for (t,) in tables))
    for table in (AuditTables(olap_database).dpr, AuditTables(olap_database).summaries):
        chdb.command(f"TRUNCATE TABLE {table}")
    rebuilt = await started(database, postgres_log, chdb, olap_database, key, group="rebuild")
    try:
        await index_until(rebuilt, len(pushed))
    finally:
        await rebuilt.stop()
    assert sum(r.stats.messages for r in rebuilt.runners) == len(pushed)
    assert sum(r.stats.messages for r in rebuilt.verifiers) == len(pushed)
    assert rebuilt.sink.stats.expired == len(pushed) - len(before_rows)
    assert sorted(r.record_id for r in await all_pages(rebuilt.queries, org, limit=200)) == before_rows
    after = await rebuilt.queries.chain_integrity(org)
    assert after[0].critical_findings == 0
    assert [(a.agent_id, a.chain_length, a.tip_hash, a.checkpoint) for a in after[0].agents] == [
        (a.agent_id, a.chain_length, a.tip_hash, a.checkpoint) for a in before[0].agents]


async def test_a_sweep_is_postponed_while_the_verifier_has_not_checked_what_it_would_remove(
        app: FastAPI, people: People, stacks: StackStore, database: Database, postgres_log: PostgresLog,
        chdb: Olap, olap_database: str, tmp_path: Path) -> None:
    """Issue 18: the search index makes records searchable before the chain verifier checks
    them, and a sweep signs each cut chain's checkpoint from what the verifier wrote. With the
    search index alone running, a due sweep removes nothing and says why; once the verifier
    (its own process in production: here its own ``AuditIndex`` with the verifier role) has
    caught up, the same sweep removes the months and every chain gets its checkpoint."""
    await PlatformAuditLog(database).start()
    await migrate(database, [COMPONENT])
    acme = await people.org("acme")
    org = acme.org.org_id
    stack, _ = await stacks.register_stack(org, "payments")
    key = load_or_create_signing_key(tmp_path)
    pushed = chains(stack.stack_id, per_agent=10)
    await publish(postgres_log, org, stack.stack_id, pushed)
    config = replace(fast_config(olap_database), retention_sweep_interval_s=0)
    search = AuditIndex(database, postgres_log, chdb, replace(config, roles=frozenset({Role.SEARCH})),
                        checkpoint_key=key)
    await search.start()
    try:
        await index_until(search, len(pushed))
        assert search.verifiers == [] and search.pins is None  # the search role runs no verifier
        sweeper = RetentionSweeper(database, chdb, search.tables, key, clock=lambda: NOW)
        retention = RetentionApi(database, sweeper, clock=lambda: NOW)
        await retention.set_retention(org, 30, OWNER)
        mount_retention(app, retention)
        web = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")
        await sign_in(web, acme.email, PASSWORD)
        csrf = {"X-CSRF-Token": (await web.get("/api/v1/me")).json()["csrf_token"]}
        ran = await web.post("/api/v1/orgs/acme/retention/sweep", headers=csrf)  # the owner's "Run now"
        assert ran.status_code == 200, ran.text
        assert ran.json()["removed_months"] == [] and ran.json()["records"] == 0
        assert "chain verifier has not checked" in ran.json()["postponed"]
        page = await web.get("/o/acme/settings/retention")
        pressed = await web.post("/o/acme/settings/retention/sweep", data={"csrf_token": csrf_of(page.text)})
        assert pressed.status_code == 303
        told = await web.get(pressed.headers["location"])  # what the person reads after "Run now"
        assert "removed nothing; postponed: the chain verifier has not checked" in told.text
        assert len(await all_pages(search.queries, org, limit=200)) == len(pushed)  # nothing removed

        verifier = AuditIndex(database, postgres_log, chdb, replace(config, roles=frozenset({Role.VERIFIER})),
                              checkpoint_key=key)
        await verifier.start()
        try:
            assert verifier.runners == [] and verifier.server is None  # the verifier role serves no search
            async with asyncio.timeout(60):
                while sum(r.stats.messages for r in verifier.verifiers) < len(pushed):
                    assert verifier.failure() is None
                    await asyncio.sleep(0.02)
            ran = await web.post("/api/v1/orgs/acme/retention/sweep", headers=csrf)
        finally:
            await verifier.stop()
            await web.aclose()
    finally:
        await search.stop()
    assert ran.status_code == 200, ran.text
    assert ran.json()["postponed"] is None and ran.json()["removed_months"] == ["2026-01", "2026-02"]
    horizon = to_ns(HORIZON)
    old = [r for r in pushed if to_ns(datetime.fromisoformat(r["created_at"])) < horizon]
    assert sorted(r.record_id for r in await all_pages(search.queries, org, limit=200)) == sorted(
        r["record_id"] for r in pushed if r not in old)
    view = await search.queries.chain_integrity(org)
    for agent in view[0].agents:
        removed = [r for r in old if r["agent_id"] == agent.agent_id]
        assert agent.checkpoint is not None
        assert (agent.checkpoint.chain_index, agent.checkpoint.record_id) == (len(removed) - 1,
                                                                              removed[-1]["record_id"])
