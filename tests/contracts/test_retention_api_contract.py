"""One contract for the gateway's ``RetentionPort``, held by both adapters: the audit index's
``RetentionApi`` in process, and ``RetentionClient`` talking to the index's real internal
server (``RetentionService`` beside ``AuditQueryService``) over real mutual TLS on 127.0.0.1.
On the same data (real PostgreSQL, chDB, the index having read real chained DPRs) every
method gives the same values (status, dry runs, the job's report with its signed
checkpoints); the same refusals with the same words (below a declared framework's minimum:
``RetentionRefused`` with the citation; days out of range, a hold without a reason:
``ValueError``), and a refusal writes nothing; the actor reaches the platform audit log;
another organisation sees none of it; and a caller other than the gateway is refused."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from faramesh_cloud.audit_index.postgres import COMPONENT
from faramesh_cloud.audit_index.retention import store
from faramesh_cloud.audit_index.retention.api import RetentionApi, RetentionRefused
from faramesh_cloud.audit_index.retention.sweep import RetentionSweeper
from faramesh_cloud.audit_index.retention_client import RetentionClient
from faramesh_cloud.audit_index.service import AuditIndex
from faramesh_cloud.audit_index.servicer import internal_server
from faramesh_cloud.log.postgres import PostgresLog
from faramesh_cloud.olap.port import Olap
from faramesh_cloud.platform_audit.events import Actor, ActorType, AuditAction
from faramesh_cloud.platform_audit.store import AuditFilter, PlatformAuditLog
from faramesh_cloud.rpc.errors import ServiceUnavailable
from faramesh_cloud.signing.keys import load_or_create_signing_key
from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.migrate import migrate
from faramesh_cloud.stacks.store import StackStore
from tests.fixtures.identity import People
from tests.fixtures.internal_tls import ServiceTls
from tests.integration.audit_support import publish
from tests.integration.retention_support import NOW, chains, index_until, started

pytestmark = [pytest.mark.chdb, pytest.mark.postgres, pytest.mark.grpc, pytest.mark.integration]
OWNER = Actor(ActorType.USER, str(uuid.uuid4()), "owner@acme.test", "203.0.113.7")


@contextlib.asynccontextmanager
async def adapter(kind: str, index: AuditIndex, api: RetentionApi, tls: ServiceTls,
                  caller: str = "gateway") -> AsyncIterator[Any]:
    if kind == "in-process":
        yield api
        return
    server = internal_server(index.reader, None, "127.0.0.1:0", tls("audit-index"), api)
    await server.start()
    client = RetentionClient(server.address, tls(caller))
    try:
        yield client
    finally:
        await client.close()
        await server.stop()


async def indexed(database: Database, log: PostgresLog, olap: Olap, olap_database: str, tmp_path: Path,
                  org: str, stack: str) -> tuple[AuditIndex, RetentionApi, list[dict[str, Any]]]:
    """The index having read three chains of ``stack`` (January to March 2026), stopped; the
    retention API over it with "now" 20 April 2026."""
    await PlatformAuditLog(database).start()
    await migrate(database, [COMPONENT])
    key = load_or_create_signing_key(tmp_path)
    pushed = chains(stack, per_agent=12)
    await publish(log, org, stack, pushed)
    index = await started(database, log, olap, olap_database, key)
    try:
        await index_until(index, len(pushed))
    finally:
        await index.stop()
    api = RetentionApi(database, RetentionSweeper(database, olap, index.tables, key, clock=lambda: NOW),
                       clock=lambda: NOW)
    return index, api, pushed


async def outbox_rows(database: Database) -> int:
    async with database.connection() as conn:
        row = await (await conn.execute("SELECT count(*) FROM audit_index_outbox")).fetchone()
    return int(row[0]) if row else 0


@pytest.mark.parametrize("kind", ["in-process", "grpc"])
async def test_both_adapters_answer_alike(
        kind: str, people: People, stacks: StackStore, database: Database, postgres_log: PostgresLog, chdb: Olap,
        olap_database: str, tmp_path: Path, internal_tls: ServiceTls) -> None:
    org = (await people.org("acme")).org.org_id
    other = (await people.org("beta")).org.org_id
    stack, _ = await stacks.register_stack(org, "payments")
    sid = stack.stack_id
    index, api, pushed = await indexed(database, postgres_log, chdb, olap_database, tmp_path, org, sid)
    async with adapter(kind, index, api, internal_tls) as port:
        fresh = await port.status(org)
        assert fresh == await api.status(org)
        assert fresh.policies == store.Policies() and fresh.minimum is None and fresh.last_run is None
        assert [d.month for d in fresh.plan.kept] == [202601, 202602, 202603]

        # Below a declared framework's minimum: refused with the citation, nothing written.
        async with database.transaction() as conn:
            await store.set_frameworks(conn, org, ["pci-dss"], datetime(2026, 4, 1, tzinfo=UTC))
        queued = await outbox_rows(database)
        with pytest.raises(RetentionRefused) as refused:
            await port.set_retention(org, 90, OWNER)
        assert str(refused.value) == str(await _refusal(api.set_retention(org, 90, OWNER)))
        assert str(refused.value).startswith("90 days is below the PCI DSS v4.0.1 minimum of 365 days")
        assert "Requirement 10.5.1" in str(refused.value)
        with pytest.raises(RetentionRefused, match=r"Requirement 10\.5\.1"):
            await port.set_retention(org, 90, OWNER, stack_id=sid)
        with pytest.raises(RetentionRefused, match=r"Requirement 10\.5\.1"):
            await port.dry_run(org, days=30)
        floored = await port.status(org)
        assert floored == await api.status(org)
        assert floored.frameworks == ["pci-dss"] and floored.minimum is not None
        assert (floored.minimum.framework, floored.minimum.days) == ("pci-dss", 365)
        assert floored.policies == store.Policies() and await outbox_rows(database) == queued
        async with database.transaction() as conn:
            await store.set_frameworks(conn, org, [], datetime(2026, 4, 2, tzinfo=UTC))

        # Malformed changes: the service's words, whole.
        for bad in (0, -5, 40_000, 2**40):
            with pytest.raises(ValueError, match="whole number of days from 1 to 36500") as out_of_range:
                await port.set_retention(org, bad, OWNER)
            assert not isinstance(out_of_range.value, RetentionRefused)
        with pytest.raises(ValueError, match="whole number of days"):
            await port.dry_run(org, days=0)
        with pytest.raises(ValueError, match="say why the stack is on legal hold"):
            await port.set_hold(org, sid, OWNER, held=True, reason="  ")
        with pytest.raises(ValueError, match="a legal hold is per stack"):
            await port.set_hold(org, "", OWNER, held=True, reason="x")
        with pytest.raises(ValueError, match="name the stack"):
            await port.clear_stack_retention(org, "", OWNER)

        # A dry run (nothing set yet) shows what 30 days would remove, removing nothing.
        preview = await port.dry_run(org, days=30)
        assert preview == await api.dry_run(org, days=30)
        assert [d.month for d in preview.dropped] == [202601, 202602] and preview.horizon_ns > 0
        assert sum(d.partition.records for d in preview.dropped) == len(
            [r for r in pushed if r["created_at"] < "2026-03"])
        assert await port.dry_run(org) == await api.dry_run(org)  # the current settings: nothing goes
        assert (await port.dry_run(org, days=30, stack_id=sid)) == await api.dry_run(org, days=30, stack_id=sid)

        await port.set_retention(org, 30, OWNER)
        await port.set_retention(org, 45, OWNER, stack_id=sid)
        await port.clear_stack_retention(org, sid, OWNER)
        await port.set_hold(org, sid, OWNER, held=True, reason="matter 2026-17")
        held = await port.status(org)
        assert held == await api.status(org)
        assert held.policies == store.Policies(30, {}, {sid: "matter 2026-17"})
        report = await port.sweep_now(org, OWNER)
        assert report.dropped_months == [] and report.swept is None
        assert report.plan.kept[0].why == f"kept: legal hold on stack {sid} (matter 2026-17)"

        await port.set_hold(org, sid, OWNER, held=False)
        # The chain verifier behind the search index (issue 18): the run is postponed, and says why.
        async with database.transaction() as conn:
            verified = await (await conn.execute(
                "SELECT topic, partition, next_offset FROM audit_index_positions "
                "WHERE projection = 'audit-verifier'")).fetchall()
            await conn.execute("UPDATE audit_index_positions SET next_offset = 0 WHERE projection = 'audit-verifier'")
        report = await port.sweep_now(org, OWNER)
        assert report.dropped_months == [] and report.swept is None
        assert report.postponed is not None and report.postponed.startswith("the chain verifier has not checked")
        async with database.transaction() as conn:  # it catches up
            for topic, partition, next_offset in verified:
                await conn.execute("UPDATE audit_index_positions SET next_offset = %s WHERE projection = "
                                   "'audit-verifier' AND topic = %s AND partition = %s",
                                   (next_offset, topic, partition))
        report = await port.sweep_now(org, OWNER)
        assert report.postponed is None
        assert report.org_id == org and report.dropped_months == [202601, 202602]
        swept = report.swept
        assert swept is not None and swept.org_id == org and swept.months == [202601, 202602]
        assert swept.records == sum(d.partition.records for d in preview.dropped)
        assert len(swept.checkpoints) == 3 and all(c.signature and c.key_id for c in swept.checkpoints)
        assert {c.agent_id for c in swept.checkpoints} == {f"{sid}-agent-{i}" for i in range(3)}
        after = await port.status(org)
        assert after == await api.status(org)
        assert [(s.sweep_id, s.months, s.records, s.chains) for s in after.sweeps] == [
            (swept.sweep_id, [202601, 202602], swept.records, 3)]
        assert after.last_run == after.sweeps[0].ran_at  # the person's run is the last one, before any scheduled run

        # Another organisation sees none of it.
        theirs = await port.status(other)
        assert theirs == await api.status(other)
        assert theirs.policies == store.Policies() and theirs.sweeps == [] and theirs.plan.decisions == []

    entries = await PlatformAuditLog(database).entries(org, AuditFilter(action="audit:"))
    assert [(e.action, e.actor.label, e.actor.ip) for e in entries] == [
        (AuditAction.RETENTION_SET, "owner@acme.test", "203.0.113.7")] * 3 + [
        (AuditAction.LEGAL_HOLD_SET, "owner@acme.test", "203.0.113.7"),
        (AuditAction.LEGAL_HOLD_RELEASED, "owner@acme.test", "203.0.113.7"),
        (AuditAction.RETENTION_SWEPT, "owner@acme.test", "203.0.113.7")]  # "Run now" names who ran it
    assert await PlatformAuditLog(database).entries(other, AuditFilter(action="audit:")) == []


async def _refusal(call: Any) -> Exception:
    try:
        await call
    except Exception as exc:
        return exc
    raise AssertionError("the in-process API accepted it")


async def test_a_malformed_organisation_id_is_refused_and_only_the_gateway_may_call(
        database: Database, postgres_log: PostgresLog, chdb: Olap, olap_database: str, tmp_path: Path,
        internal_tls: ServiceTls) -> None:
    await PlatformAuditLog(database).start()
    await migrate(database, [COMPONENT])
    key = load_or_create_signing_key(tmp_path)
    index = await started(database, postgres_log, chdb, olap_database, key)
    await index.stop()
    api = RetentionApi(database, RetentionSweeper(database, chdb, index.tables, key, clock=lambda: NOW),
                       clock=lambda: NOW)
    async with adapter("grpc", index, api, internal_tls) as port:
        with pytest.raises(ValueError, match="is not an organisation id"):
            await port.status("not-a-uuid")
        with pytest.raises(ValueError, match="is not an organisation id"):
            await port.set_retention("acme", 30, OWNER)
    for caller in ("compliance", "ingest"):
        async with adapter("grpc", index, api, internal_tls, caller=caller) as port:
            with pytest.raises(ServiceUnavailable):
                await port.status(str(uuid.uuid4()))
