"""One contract for the gateway's ``CompliancePort``, held by both adapters: the compliance
service's ``ComplianceApi`` in process, and ``ComplianceClient`` talking to the service's real
servicer over real mutual TLS on 127.0.0.1 (``tests/compliance_adapters.py``). On the same data
(real PostgreSQL, the real command handlers, the real artifact store) every port method gives
the same values as ``ComplianceApi`` answers itself; the same refusals with the same words
(an unknown framework or stack named, a retry of a report that did not fail, a link revoked or
expired with when, an unknown id); an artifact of 3 MiB goes in and comes back byte for byte in
chunks of at most 1 MiB; another organisation's reports, artifacts, links and stacks are not
found; while the service rebuilds from the log a change is "busy, try again in 30 s"; and only
the gateway's certificate is admitted."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from faramesh_cloud.compliance.api import ComplianceApi, Opened
from faramesh_cloud.compliance.artifacts import CHUNK, FileArtifactStore
from faramesh_cloud.compliance.client import ComplianceClient
from faramesh_cloud.compliance.coverage_reads import CoverageReads
from faramesh_cloud.compliance.domain import ComplianceError, LinkGone, NotFound
from faramesh_cloud.consumer.catch_up import CatchUp
from faramesh_cloud.fleet.query import FleetQuery
from faramesh_cloud.platform_audit.events import Actor, ActorType
from faramesh_cloud.platform_audit.store import AuditFilter, PlatformAuditLog
from faramesh_cloud.rpc.errors import ServiceBusy, ServiceUnavailable
from faramesh_cloud.sql.database import Database
from faramesh_cloud.stacks.store import StackStore
from tests.compliance_adapters import ADAPTERS, compliance_adapter, compliance_server
from tests.fixtures.internal_tls import ServiceTls

pytestmark = [pytest.mark.postgres, pytest.mark.grpc, pytest.mark.integration]
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
OWNER = Actor(ActorType.USER, str(uuid.uuid4()), "owner@acme.test", "203.0.113.7")
BETA = Actor(ActorType.USER, str(uuid.uuid4()), "owner@beta.test", "198.51.100.9")
BIG = os.urandom(3 * CHUNK + 12345)  # 3 MiB and a bit: four chunks


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@dataclasses.dataclass
class Setup:
    api: ComplianceApi
    clock: Clock
    catch_up: CatchUp


@dataclasses.dataclass(frozen=True)
class Seeded:
    acme: str
    beta: str
    pay: str
    beta_stack: str


@pytest.fixture
def setup(database: Database, stacks: StackStore, tmp_path: Path) -> Setup:
    clock = Clock()
    catch_up = CatchUp("compliance", "people's changes")
    api = ComplianceApi(database, PlatformAuditLog(database), FileArtifactStore(tmp_path / "artifacts"), clock=clock,
                        catch_up=catch_up, coverage=CoverageReads(None, FleetQuery(database, stacks, 120.0)))
    return Setup(api, clock, catch_up)


@pytest.fixture
async def seeded(stacks: StackStore) -> Seeded:
    acme = (await stacks.create_org("acme", "Acme")).org_id
    beta = (await stacks.create_org("beta", "Beta")).org_id
    pay, _ = await stacks.register_stack(acme, "payments-prod", "production")
    other, _ = await stacks.register_stack(beta, "beta-prod", "production")
    return Seeded(acme, beta, pay.stack_id, other.stack_id)


@pytest.fixture(params=ADAPTERS)
async def port(request: pytest.FixtureRequest, setup: Setup, internal_tls: ServiceTls) -> AsyncIterator[Any]:
    async with compliance_adapter(request.param, setup.api, internal_tls) as adapter:
        yield adapter


async def refusal(call: Any) -> Exception:
    try:
        await call
    except Exception as exc:
        return exc
    raise AssertionError("the call was not refused")


async def read_all(chunks: AsyncIterator[bytes]) -> tuple[bytes, list[int]]:
    sizes: list[int] = []
    out = bytearray()
    async for chunk in chunks:
        sizes.append(len(chunk))
        out += chunk
    return bytes(out), sizes


async def test_frameworks_are_declared_and_an_unknown_one_is_refused_by_name(port: Any, setup: Setup,
                                                                             seeded: Seeded) -> None:
    declared = await port.declare(seeded.acme, ["soc2", "hipaa"], OWNER)
    assert declared == await setup.api.declared(seeded.acme) == await port.declared(seeded.acme)
    assert [(d.framework, d.declared_by) for d in declared] == [("hipaa", "owner@acme.test"),
                                                               ("soc2", "owner@acme.test")]
    exc = await refusal(port.declare(seeded.acme, ["gdpr", "sox"], OWNER))
    assert type(exc) is ComplianceError and "unknown framework 'sox'" in str(exc), exc
    assert [d.framework for d in await port.declared(seeded.acme)] == ["hipaa", "soc2"]  # nothing half-applied
    assert await port.declared(seeded.beta) == []
    assert await port.posture(seeded.acme) == await setup.api.posture(seeded.acme) == []
    assert await port.posture_days(seeded.acme, "soc2", 7) == []
    exc = await refusal(port.posture_days(seeded.acme, "sox", 7))
    assert type(exc) is ComplianceError and "'sox'" in str(exc)


async def test_reports_are_requested_listed_read_and_only_a_failed_one_is_retried(port: Any, setup: Setup,
                                                                                   seeded: Seeded) -> None:
    start, end = T0 - timedelta(days=7), T0
    asked = await port.request_report(seeded.acme, "soc2", [seeded.pay], start, end, OWNER)
    assert asked == await setup.api.report(seeded.acme, asked.report_id)
    assert (asked.state, asked.stack_ids, asked.range_start, asked.range_end, asked.requested_by) == (
        "queued", (seeded.pay,), start, end, "owner@acme.test")
    assert asked.finished_at is None and asked.retry_of == ""
    assert await port.reports(seeded.acme) == await setup.api.reports(seeded.acme) == [asked]
    assert await port.report(seeded.acme, asked.report_id) == asked
    exc = await refusal(port.retry_report(seeded.acme, asked.report_id, OWNER))
    assert type(exc) is ComplianceError and str(exc) == f"report {asked.report_id} is queued; only a failed report " \
                                                        "is retried"
    exc = await refusal(port.request_report(seeded.acme, "soc2", [seeded.beta_stack], start, end, OWNER))
    assert type(exc) is ComplianceError and repr(seeded.beta_stack) in str(exc)  # another org's stack: unknown
    exc = await refusal(port.request_report(seeded.acme, "sox", [], start, end, OWNER))
    assert type(exc) is ComplianceError and "'sox'" in str(exc)
    exc = await refusal(port.request_report(seeded.acme, "soc2", [], end, start, OWNER))
    assert type(exc) is ComplianceError and "ends before it starts" in str(exc)
    exc = await refusal(port.request_report(seeded.acme, "soc2", [], start.replace(tzinfo=None), end, OWNER))
    assert type(exc) is ComplianceError and "time zone" in str(exc)
    missing = str(uuid.uuid4())
    exc = await refusal(port.report(seeded.acme, missing))
    assert type(exc) is NotFound and str(exc) == f"no report {missing} in this organisation"
    exc = await refusal(port.report(seeded.beta, asked.report_id))  # another organisation's
    assert type(exc) is NotFound
    assert await port.reports(seeded.beta) == []


async def test_an_artifact_of_3_mib_goes_in_and_comes_back_byte_for_byte_in_chunks(
        port: Any, setup: Setup, seeded: Seeded, tmp_path: Path, database: Database) -> None:
    added = await port.add_artifact(seeded.acme, "dpr-export", "Export of May", {"effect": "DENY", "n": 3},
                                    actor=OWNER, data=BIG, filename="export.json", media_type="application/json")
    assert added == await setup.api.artifact(seeded.acme, added.artifact_id)
    assert (added.sha256, added.size, added.parameters, added.created_by) == (
        hashlib.sha256(BIG).hexdigest(), len(BIG), {"effect": "DENY", "n": 3}, "owner@acme.test")
    source = tmp_path / "report.pdf"
    source.write_bytes(b"%PDF-1.7 small")
    from_file = await port.add_artifact(seeded.acme, "report", "SOC 2 report", {}, actor=OWNER, path=source,
                                        filename="report.pdf", media_type="application/pdf",
                                        verification_hash="ab" * 32)
    assert from_file.size == 14 and from_file.verification_hash == "ab" * 32
    assert await port.library(seeded.acme) == await setup.api.library(seeded.acme)
    assert {a.artifact_id for a in await port.library(seeded.acme)} == {added.artifact_id, from_file.artifact_id}
    assert await port.artifact(seeded.acme, added.artifact_id) == added

    found, chunks = await port.stream(seeded.acme, added.artifact_id, OWNER)
    data, sizes = await read_all(chunks)
    assert found == added and data == BIG and len(sizes) == 4 and max(sizes) <= CHUNK
    found, f = await port.download(seeded.acme, added.artifact_id, OWNER)
    with f:
        assert found == added and f.read() == BIG
    found, chunks = await port.stream(seeded.acme, from_file.artifact_id)  # a share link's read: no actor
    assert (await read_all(chunks))[0] == b"%PDF-1.7 small"
    audit = [e for e in await PlatformAuditLog(database).page(seeded.acme, AuditFilter(), limit=50)
             if e.action == "compliance:artifact:downloaded"]
    assert [(e.actor.label, e.actor.ip) for e in audit] == [("owner@acme.test", "203.0.113.7")] * 2

    exc = await refusal(port.add_artifact(seeded.acme, "selfie", "x", {}, actor=OWNER, data=b"x", filename="x",
                                          media_type="text/plain"))
    assert type(exc) is ComplianceError and "unknown artifact kind 'selfie'" in str(exc)
    for call in (port.artifact(seeded.beta, added.artifact_id), port.stream(seeded.beta, added.artifact_id, BETA),
                 port.download(seeded.beta, added.artifact_id, BETA)):
        exc = await refusal(call)
        assert type(exc) is NotFound and str(exc) == f"no artifact {added.artifact_id} in this organisation"
    assert await port.library(seeded.beta) == []


async def test_share_links_open_until_revoked_or_expired_and_say_so_with_the_same_words(
        port: Any, setup: Setup, seeded: Seeded) -> None:
    art = await setup.api.add_artifact(seeded.acme, "report", "SOC 2", {}, actor=OWNER, data=b"pdf",
                                       filename="r.pdf", media_type="application/pdf")
    exc = await refusal(port.share(seeded.acme, art.artifact_id, OWNER, days=91))
    assert type(exc) is ComplianceError and str(exc) == "a share link lasts 1 to 90 days, not 91"
    link, token = await port.share(seeded.acme, art.artifact_id, OWNER, note="Audit firm LLP")
    assert token.startswith("fmc_sh_") and link.expires_at == T0 + timedelta(days=7) and link.note == "Audit firm LLP"
    assert (await setup.api.artifact(seeded.acme, art.artifact_id)).links == (link,)
    opened = await port.open_link(token, ip="192.0.2.1", user_agent="AuditorBrowser/1.0")
    assert opened == Opened(seeded.acme, "Acme", link, await setup.api.artifact(seeded.acme, art.artifact_id))

    exc = await refusal(port.revoke(seeded.beta, link.link_id, BETA))  # another organisation's link
    assert type(exc) is NotFound
    revoked = await port.revoke(seeded.acme, link.link_id, OWNER)
    assert revoked.revoked_at == T0 and revoked.revoked_by == "owner@acme.test"
    gone = await refusal(port.open_link(token, ip="192.0.2.1", user_agent="AuditorBrowser/1.0"))
    assert type(gone) is LinkGone and str(gone) == "this link was revoked on 2026-11-02 09:00 UTC"
    assert (gone.org_id, gone.link_id) == (seeded.acme, link.link_id)

    second, token2 = await port.share(seeded.acme, art.artifact_id, OWNER, days=1)
    setup.clock.now = T0 + timedelta(days=1)
    gone = await refusal(port.open_link(token2, ip="192.0.2.1", user_agent="AuditorBrowser/1.0"))
    assert type(gone) is LinkGone and str(gone) == "this link expired on 2026-11-03 09:00 UTC"
    assert gone.link_id == second.link_id
    for unknown in ("fmc_sh_" + "A" * 43, "not-a-token"):
        exc = await refusal(port.open_link(unknown, ip="192.0.2.1", user_agent="x"))
        assert type(exc) is NotFound and str(exc) == "no such share link"
    exc = await refusal(port.share(seeded.beta, art.artifact_id, BETA))
    assert type(exc) is NotFound


async def test_coverage_of_an_unknown_stack_is_not_found(port: Any, seeded: Seeded) -> None:
    for stack in (seeded.beta_stack, str(uuid.uuid4()), "nope"):  # another organisation's, none, not an id
        exc = await refusal(port.coverage(seeded.acme, stack, T0 - timedelta(days=1), T0))
        assert type(exc) is NotFound and "in this organisation" in str(exc), exc
        exc = await refusal(port.coverage_gap(seeded.acme, stack, "agent", "tool", T0 - timedelta(days=1), T0))
        assert type(exc) is NotFound, exc


async def test_changes_while_the_service_rebuilds_are_busy_with_a_time_to_retry(port: Any, setup: Setup,
                                                                                seeded: Seeded) -> None:
    setup.catch_up.begin()
    for call in (port.declare(seeded.acme, ["soc2"], OWNER),
                 port.request_report(seeded.acme, "soc2", [], T0 - timedelta(days=1), T0, OWNER),
                 port.add_artifact(seeded.acme, "report", "x", {}, actor=OWNER, data=b"x", filename="x",
                                   media_type="text/plain")):
        exc = await refusal(call)
        assert isinstance(exc, ServiceBusy) and not isinstance(exc, ValueError), exc
        assert exc.retry_after_s == 30 and "try again in 30 seconds" in str(exc)
    assert await port.declared(seeded.acme) == []  # reads still answer


async def test_an_artifact_over_the_limit_is_refused_and_nothing_enters_the_library(
        setup: Setup, seeded: Seeded, internal_tls: ServiceTls) -> None:
    async with compliance_server(setup.api, internal_tls, max_artifact_bytes=2 * CHUNK) as server:
        client = ComplianceClient(server.address, internal_tls("gateway"))
        try:
            exc = await refusal(client.add_artifact(seeded.acme, "dpr-export", "too big", {}, actor=OWNER, data=BIG,
                                                    filename="x.json", media_type="application/json"))
            assert type(exc) is ComplianceError and str(exc) == "an artifact is at most 2 GiB"
            assert await client.library(seeded.acme) == []
        finally:
            await client.close()
    incoming = setup.api.store.root / "incoming"  # type: ignore[attr-defined]
    assert not incoming.exists() or list(incoming.iterdir()) == []  # no scratch file left behind


@pytest.mark.parametrize("caller", ["fleet", "compliance", "other-ca"])
async def test_only_the_gateway_is_admitted(setup: Setup, seeded: Seeded, internal_tls: ServiceTls,
                                            other_ca_tls: ServiceTls, caller: str) -> None:
    tls = other_ca_tls("gateway") if caller == "other-ca" else internal_tls(caller)
    async with compliance_server(setup.api, internal_tls) as server:
        client = ComplianceClient(server.address, tls, timeout_s=3.0)
        try:
            exc = await refusal(client.declare(seeded.acme, ["soc2"], OWNER))
            assert isinstance(exc, ServiceUnavailable), exc
            exc = await refusal(client.open_link("fmc_sh_" + "A" * 43, ip="192.0.2.1", user_agent="x"))
            assert isinstance(exc, ServiceUnavailable), exc
        finally:
            await client.close()
    assert await setup.api.declared(seeded.acme) == []
