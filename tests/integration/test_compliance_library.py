"""The compliance service's command handlers, end to end on PostgreSQL: frameworks declared,
artifacts in the evidence library, auditor share links made, opened (without an account),
revoked and expired; every access in the platform audit log; nothing crosses organisations;
and the events they wrote rebuild the same state in an empty copy of the tables."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from faramesh_cloud.compliance.api import ComplianceApi
from faramesh_cloud.compliance.apply import apply
from faramesh_cloud.compliance.artifacts import FileArtifactStore
from faramesh_cloud.compliance.domain import ComplianceError, LinkGone, NotFound
from faramesh_cloud.compliance.events import ChangeProcessor
from faramesh_cloud.events.topics import COMPLIANCE_EVENTS
from faramesh_cloud.log.pg_copy import decode_headers
from faramesh_cloud.log.port import Message
from faramesh_cloud.platform_audit.events import Actor, ActorType
from faramesh_cloud.platform_audit.store import AuditFilter, PlatformAuditLog
from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.tenant import tenant_transaction
from tests.fixtures.identity import People
from tests.fixtures.internal_tls import ServiceTls
from tests.simulator_support import free_port

pytestmark = [pytest.mark.postgres, pytest.mark.integration]
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
TABLES = ("compliance_frameworks", "compliance_reports", "compliance_artifacts", "compliance_share_links")


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def actor(email: str) -> Actor:
    return Actor(ActorType.USER, "u-" + email, email, "10.0.0.9")


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def compliance(database: Database, tmp_path: Path, clock: Clock) -> ComplianceApi:
    return ComplianceApi(database, PlatformAuditLog(database), FileArtifactStore(tmp_path / "artifacts"), clock=clock)


async def entries(audit: PlatformAuditLog, org_id: str, action: str) -> list[Any]:
    return [e for e in await audit.page(org_id, AuditFilter(), limit=200) if e.action == action]


async def test_declared_frameworks_replace_the_set_and_unknown_ones_are_refused_by_name(
        compliance: ComplianceApi, people: People) -> None:
    owner = await people.org("acme")
    org = owner.org.org_id
    declared = await compliance.declare(org, ["soc2", "hipaa"], actor(owner.email))
    assert [d.framework for d in declared] == ["hipaa", "soc2"]
    declared = await compliance.declare(org, ["gdpr", "hipaa"], actor(owner.email))
    assert [d.framework for d in declared] == ["gdpr", "hipaa"]
    with pytest.raises(ComplianceError, match="'sox'"):
        await compliance.declare(org, ["gdpr", "sox"], actor(owner.email))
    assert [d.framework for d in await compliance.declared(org)] == ["gdpr", "hipaa"]  # nothing half-applied


async def test_a_share_link_opens_its_artifact_without_an_account_until_it_expires_or_is_revoked(
        compliance: ComplianceApi, people: People, database: Database, clock: Clock) -> None:
    owner = await people.org("acme")
    org = owner.org.org_id
    data = b'{"format": "faramesh-cloud/signed-bundle/v1"}'
    artifact = await compliance.add_artifact(org, "dpr-export", "Export of May", {"effect": "DENY"},
                                             actor=actor(owner.email), data=data, filename="export.json",
                                             media_type="application/json")
    assert artifact.sha256 == hashlib.sha256(data).hexdigest() and artifact.size == len(data)
    with pytest.raises(ComplianceError, match="1 to 90 days"):
        await compliance.share(org, artifact.artifact_id, actor(owner.email), days=91)
    link, token = await compliance.share(org, artifact.artifact_id, actor(owner.email), note="Audit firm LLP")
    assert link.expires_at == T0 + timedelta(days=7)
    async with tenant_transaction(database, org) as conn:  # only the token's hash is kept
        cur = await conn.execute("SELECT token_sha256 FROM compliance_share_links")
        assert [bytes(r[0]) for r in await cur.fetchall()] == [hashlib.sha256(token.encode()).digest()]

    opened = await compliance.open_link(token, ip="203.0.113.7", user_agent="AuditorBrowser/1.0")
    assert opened.artifact.artifact_id == artifact.artifact_id and opened.org_id == org
    with compliance.store.open(opened.artifact.sha256) as f:
        assert f.read() == data
    accessed = await entries(PlatformAuditLog(database), org, "compliance:share:accessed")
    assert accessed and accessed[0].details["ip"] == "203.0.113.7"
    assert accessed[0].details["user_agent"] == "AuditorBrowser/1.0"

    clock.now = T0 + timedelta(days=7)
    with pytest.raises(LinkGone, match="expired on 2026-11-09"):
        await compliance.open_link(token, ip="203.0.113.7", user_agent="AuditorBrowser/1.0")
    clock.now = T0 + timedelta(days=1)
    await compliance.revoke(org, link.link_id, actor(owner.email))
    with pytest.raises(LinkGone, match="revoked"):
        await compliance.open_link(token, ip="198.51.100.1", user_agent="curl/8")
    refused = await entries(PlatformAuditLog(database), org, "compliance:share:refused")
    assert [e.details["state"] for e in refused] == ["revoked", "expired"]  # newest first
    with pytest.raises(NotFound):
        await compliance.open_link(token[:-2] + "xx", ip="198.51.100.1", user_agent="curl/8")


async def test_nothing_crosses_organisations(compliance: ComplianceApi, people: People) -> None:
    acme = await people.org("acme")
    other = await people.org("globex")
    artifact = await compliance.add_artifact(acme.org.org_id, "dpr-export", "A", {}, actor=actor(acme.email),
                                             data=b"{}", filename="a.json", media_type="application/json")
    link, _ = await compliance.share(acme.org.org_id, artifact.artifact_id, actor(acme.email))
    with pytest.raises(NotFound):
        await compliance.artifact(other.org.org_id, artifact.artifact_id)
    with pytest.raises(NotFound):
        await compliance.share(other.org.org_id, artifact.artifact_id, actor(other.email))
    with pytest.raises(NotFound):
        await compliance.revoke(other.org.org_id, link.link_id, actor(other.email))
    assert await compliance.library(other.org.org_id) == []


async def test_a_report_request_names_an_unknown_framework_or_stack_and_a_bad_range(
        compliance: ComplianceApi, people: People) -> None:
    owner = await people.org("acme")
    org = owner.org.org_id
    with pytest.raises(ComplianceError, match="'nist'"):
        await compliance.request_report(org, "nist", [], T0, T0 + timedelta(days=1), actor(owner.email))
    with pytest.raises(ComplianceError, match="'8d4e6b7a-0000-4000-8000-000000000000'"):
        await compliance.request_report(org, "soc2", ["8d4e6b7a-0000-4000-8000-000000000000"], T0,
                                        T0 + timedelta(days=1), actor(owner.email))
    with pytest.raises(ComplianceError, match="ends before it starts"):
        await compliance.request_report(org, "soc2", [], T0, T0, actor(owner.email))
    queued = await compliance.request_report(org, "soc2", [], T0, T0 + timedelta(days=30), actor(owner.email))
    assert queued.state == "queued" and [r.report_id for r in await compliance.reports(org)] == [queued.report_id]


async def test_the_events_rebuild_the_same_state_in_empty_tables(
        compliance: ComplianceApi, people: People, database: Database) -> None:
    owner = await people.org("acme")
    org = owner.org.org_id
    await compliance.declare(org, ["soc2", "gdpr"], actor(owner.email))
    artifact = await compliance.add_artifact(org, "dpr-export", "A", {"q": 1}, actor=actor(owner.email),
                                             data=b"{}", filename="a.json", media_type="application/json")
    link, _ = await compliance.share(org, artifact.artifact_id, actor(owner.email), days=3)
    await compliance.revoke(org, link.link_id, actor(owner.email))
    await compliance.request_report(org, "gdpr", [], T0, T0 + timedelta(days=2), actor(owner.email))

    async def state() -> dict[str, list[Any]]:
        async with database.transaction() as conn:
            out = {}
            for table in TABLES:
                cur = await conn.execute(f"SELECT * FROM {table} ORDER BY 1, 2")
                out[table] = await cur.fetchall()
            return out

    before = await state()
    async with database.transaction() as conn:
        cur = await conn.execute("SELECT topic, key, value, headers FROM compliance_outbox ORDER BY id")
        rows = await cur.fetchall()
    assert {r[0] for r in rows} == {COMPLIANCE_EVENTS} and len(rows) == 5
    changes = [ChangeProcessor().process(Message(COMPLIANCE_EVENTS, 0, i, bytes(key), bytes(value),
                                                 decode_headers(bytes(headers)), 0)).change
               for i, (_, key, value, headers) in enumerate(rows)]
    async with database.transaction() as conn:
        for change in changes:  # applied already by the handlers: a no-op
            assert change is not None and not await apply(conn, change)
        for table in ("compliance_share_links", "compliance_artifacts", "compliance_reports",
                      "compliance_frameworks", "compliance_applied_events"):
            await conn.execute(f"DELETE FROM {table}")
        for change in changes:
            assert change is not None and await apply(conn, change)
    assert await state() == before


async def test_a_report_that_cannot_be_made_fails_saying_why_offers_nothing_and_can_be_retried(
        compliance: ComplianceApi, people: People, database: Database, internal_tls: ServiceTls,
        tmp_path: Path) -> None:
    """The audit index is down (nothing listens where the client dials): the job fails with the
    reason, nothing is added to the library, and a retry queues a new attempt naming the first."""
    from faramesh_cloud.audit_index.client import AuditIndexClient
    from faramesh_cloud.compliance.jobs import ReportJobs
    from faramesh_cloud.compliance.pipeline import Keys, ReportPipeline
    from faramesh_cloud.compliance.report.sign import load_or_create_document_key
    from faramesh_cloud.compliance.sources import Sources
    from faramesh_cloud.signing.keys import load_or_create_signing_key

    owner = await people.org("acme")
    org = owner.org.org_id
    down = AuditIndexClient(f"127.0.0.1:{free_port()}", internal_tls("compliance"), timeout_s=1.0)
    keys = Keys(load_or_create_signing_key(tmp_path), load_or_create_document_key(tmp_path))

    async def no_posture(org_id: str, slug: str) -> None:
        raise AssertionError("not reached: the index is read first")

    pipeline = ReportPipeline(database, Sources(audit=down, approvals=None, fleet=_NoStacks()), keys, no_posture)
    jobs = ReportJobs(database, compliance, pipeline)
    try:
        queued = await compliance.request_report(org, "gdpr", [], T0, T0 + timedelta(days=1), actor(owner.email))
        assert await jobs.run_once()
        failed = await compliance.report(org, queued.report_id)
        assert failed.state == "failed" and "audit-index" in failed.error and failed.artifact_id == ""
        assert not await jobs.run_once()  # nothing left queued: it is not retried by itself
        assert await compliance.library(org) == []
        again = await compliance.retry_report(org, queued.report_id, actor(owner.email))
        assert again.state == "queued" and again.retry_of == queued.report_id
        with pytest.raises(ComplianceError, match="only a failed report"):
            await compliance.retry_report(org, again.report_id, actor(owner.email))
    finally:
        await down.close()


class _NoStacks:
    """A fleet with no stacks (the organisation registered none)."""

    async def stacks(self, org_id: str) -> list[Any]:
        return []


async def test_report_jobs_are_counted_and_timed_by_outcome(compliance: ComplianceApi, people: People,
                                                            database: Database) -> None:
    """With OpenTelemetry on, each finished report job adds to faramesh.compliance.report_jobs
    and its duration histogram, by outcome."""
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from faramesh_cloud.compliance.domain import ReportView
    from faramesh_cloud.compliance.jobs import MadeReport, Progress, ReportJobs
    from faramesh_cloud.observability import catalogue
    from faramesh_cloud.observability.setup import activated, build

    class Maker:
        def __init__(self) -> None:
            self.fail = True

        async def make(self, org_id: str, report: ReportView, scratch: Path, progress: Progress) -> MadeReport:
            if self.fail:
                raise ValueError("the audit index is away")
            path = scratch / "report.pdf"
            path.write_bytes(b"%PDF-1.7 not really")
            return MadeReport(path, "GDPR report", "report.pdf", hashlib.sha256(path.read_bytes()).hexdigest(), {})

    owner = await people.org("acme")
    org, maker = owner.org.org_id, Maker()
    jobs = ReportJobs(database, compliance, maker)
    reader = InMemoryMetricReader()
    telemetry = build("compliance", SimpleSpanProcessor(InMemorySpanExporter()), reader)
    with activated(telemetry):
        queued = await compliance.request_report(org, "gdpr", [], T0, T0 + timedelta(days=1), actor(owner.email))
        assert await jobs.run_once()
        maker.fail = False
        await compliance.retry_report(org, queued.report_id, actor(owner.email))
        assert await jobs.run_once()
    data = reader.get_metrics_data()
    assert data is not None
    metrics = {m.name: {p.attributes["outcome"]: p for p in m.data.data_points}  # type: ignore[index]
               for rm in data.resource_metrics for sm in rm.scope_metrics for m in sm.metrics}
    assert {k: p.value for k, p in metrics[catalogue.REPORT_JOBS.name].items()} == {"failed": 1, "done": 1}
    assert {k: p.count for k, p in metrics[catalogue.REPORT_DURATION.name].items()} == {"failed": 1, "done": 1}
    telemetry.shutdown()
