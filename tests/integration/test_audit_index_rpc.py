"""The audit index's internal API (``AuditQueryService``) as the gateway meets it, over real
gRPC with mutual TLS on 127.0.0.1, real PostgreSQL and chDB:

* only the gateway may call it, a unary read and the commit watch alike: plaintext, no
  certificate, a certificate from another CA and a valid certificate of another Cloud service
  are all refused; the gateway's client refuses a server that is not the audit index;
* when the index is down, the DPR explorer's pages and REST twins answer 503 with a message
  that names the service and not where it runs; an approval's page still answers (without
  the session's recent actions) and so does Home (saying the index is unavailable); the commit watch reopens and the pages answer again once
  the index is back, with no restart of the gateway."""

from __future__ import annotations

import asyncio
import time

import grpc
import grpc.aio
import httpx
import pytest
from faramesh_cloud_api.audit_index.v1 import query_pb2, query_pb2_grpc

from faramesh_cloud.audit_index.client import AuditIndexClient, CommitWatchClient
from faramesh_cloud.audit_index.commits import CommitWatch
from faramesh_cloud.audit_index.reader import IndexReader
from faramesh_cloud.audit_index.schema import AuditTables
from faramesh_cloud.audit_index.servicer import internal_server
from faramesh_cloud.fleet.query import FleetQuery
from faramesh_cloud.gateway.app import create_app
from faramesh_cloud.gateway.web.audit_common import AUDIT_SECTION
from faramesh_cloud.gateway.web.deps import WebDeps
from faramesh_cloud.gateway.web.fleet_ports import FleetPorts, mount_fleet
from faramesh_cloud.gateway.web.live_feed import LiveHub
from faramesh_cloud.log.postgres import PostgresLog
from faramesh_cloud.olap.port import Olap
from faramesh_cloud.rpc.errors import ServiceUnavailable
from faramesh_cloud.rpc.internal_pki import ServiceCredentials, dns_name
from faramesh_cloud.runtime.approvals_wiring import mount as mount_approvals
from faramesh_cloud.runtime.fleet_wiring import IndexFleetAudit
from faramesh_cloud.sql.database import Database
from faramesh_cloud.stacks.store import StackStore
from tests.approvals_support import seed_ids
from tests.fixtures.gateway import CLOUD_URL, approvals_api, sign_in, static_status
from tests.fixtures.identity import PASSWORD, People
from tests.fixtures.internal_tls import ServiceTls
from tests.integration.audit_support import fast_config, fleet, publish, records, run_index

pytestmark = [pytest.mark.postgres, pytest.mark.chdb, pytest.mark.grpc, pytest.mark.integration]
WAIT_S = 30.0  # a guard against hanging, never a timing assertion


def _channel(address: str, ca: bytes, tls: ServiceCredentials | None = None) -> grpc.aio.Channel:
    credentials = grpc.ssl_channel_credentials(root_certificates=ca, private_key=tls.key if tls else None,
                                               certificate_chain=tls.cert if tls else None)
    return grpc.aio.secure_channel(address, credentials,
                                   options=[("grpc.ssl_target_name_override", dns_name("audit-index"))])


async def _search(channel: grpc.aio.Channel, org_id: str) -> grpc.aio.AioRpcError | query_pb2.SearchResponse:
    try:
        return await query_pb2_grpc.AuditQueryServiceStub(channel).Search(
            query_pb2.SearchRequest(org_id=org_id, limit=10), timeout=10)
    except grpc.aio.AioRpcError as exc:
        return exc
    finally:
        await channel.close()


async def _watch(channel: grpc.aio.Channel) -> grpc.aio.AioRpcError | query_pb2.CommitsMoved:
    try:
        async for moved in query_pb2_grpc.AuditQueryServiceStub(channel).WatchCommits(
                query_pb2.WatchCommitsRequest(), timeout=10):
            return moved
        raise AssertionError("the watch ended without a message")
    except grpc.aio.AioRpcError as exc:
        return exc
    finally:
        await channel.close()


async def test_only_the_gateway_calls_the_audit_index(
        database: Database, postgres_log: PostgresLog, chdb: Olap, olap_database: str, stacks: StackStore,
        internal_tls: ServiceTls, other_ca_tls: ServiceTls) -> None:
    org = (await stacks.create_org("acme", "Acme")).org_id
    stack, _ = await stacks.register_stack(org, "payments-prod")
    pushed = records(fleet(stack.stack_id, 2, ["s"], 3), 4)
    await publish(postgres_log, org, stack.stack_id, pushed)
    await run_index(database, postgres_log, chdb, fast_config(olap_database), len(pushed))
    watch = CommitWatch(database)
    await watch.start()
    server = internal_server(IndexReader(chdb, database, AuditTables(olap_database)), watch, "127.0.0.1:0",
                             internal_tls("audit-index"))
    await server.start()
    try:
        address, ca = server.address, internal_tls("audit-index").ca
        # Search is one of the evidence reads compliance is admitted to; WatchCommits is the gateway's
        for call, callers in ((lambda c: _search(c, org), "compliance, gateway"), (_watch, "gateway")):
            plaintext = await call(grpc.aio.insecure_channel(address))
            no_certificate = await call(_channel(address, ca))
            other_ca = await call(_channel(address, ca, other_ca_tls("gateway")))  # names gateway, wrong CA
            for refused in (plaintext, no_certificate, other_ca):
                assert isinstance(refused, grpc.aio.AioRpcError) and refused.code() == grpc.StatusCode.UNAVAILABLE
            for service in ("ingest", "approvals", "notifications", "fleet", "audit-index"):
                denied = await call(_channel(address, ca, internal_tls(service)))
                assert isinstance(denied, grpc.aio.AioRpcError), service
                assert denied.code() == grpc.StatusCode.PERMISSION_DENIED
                assert denied.details() == (f"the {service} service may not call "
                                            f"faramesh_cloud_api.audit_index.v1.AuditQueryService; only {callers} may")

        wrong = AuditIndexClient(address, internal_tls("ingest"))
        try:
            with pytest.raises(ServiceUnavailable, match="PERMISSION_DENIED") as refused_info:
                await wrong.search(org, {}, None, None, None, 10)
            assert refused_info.value.service == "audit-index"
        finally:
            await wrong.close()

        answered = await _search(_channel(address, ca, internal_tls("gateway")), org)
        assert isinstance(answered, query_pb2.SearchResponse)
        assert sorted(r.record_id for r in answered.page.records) == sorted(r["record_id"] for r in pushed)
        first = await _watch(_channel(address, ca, internal_tls("gateway")))
        assert isinstance(first, query_pb2.CommitsMoved) and first.everything
    finally:
        await server.stop()
        await watch.stop()


async def test_the_gateway_does_not_read_from_a_server_that_is_not_the_audit_index(
        database: Database, chdb: Olap, olap_database: str, internal_tls: ServiceTls) -> None:
    # A service of Cloud's own CA listening where the gateway expects the audit index.
    impostor = internal_server(IndexReader(chdb, database, AuditTables(olap_database)), None, "127.0.0.1:0",
                               internal_tls("fleet"))
    await impostor.start()
    client = AuditIndexClient(impostor.address, internal_tls("gateway"))
    try:
        with pytest.raises(ServiceUnavailable, match="UNAVAILABLE"):
            await client.alerts("00000000-0000-0000-0000-000000000001")
    finally:
        await client.close()
        await impostor.stop()


async def test_audit_index_down_is_a_503_with_a_message_and_the_pages_come_back_with_it(
        web_deps: WebDeps, database: Database, postgres_log: PostgresLog, chdb: Olap, olap_database: str,
        stacks: StackStore, people: People, internal_tls: ServiceTls) -> None:
    acme = await people.org("acme")
    org = acme.org.org_id
    stack, _ = await stacks.register_stack(org, "payments-prod")
    pushed = records(fleet(stack.stack_id, 2, ["s"], 5), 4)
    await publish(postgres_log, org, stack.stack_id, pushed)
    await run_index(database, postgres_log, chdb, fast_config(olap_database), len(pushed))
    approval_id = (await seed_ids(database, org, stack.stack_id, "payments-bot"))["approval_id"]

    reader, watch = IndexReader(chdb, database, AuditTables(olap_database)), CommitWatch(database)
    await watch.start()
    server = internal_server(reader, watch, "127.0.0.1:0", internal_tls("audit-index"))
    await server.start()
    address = server.address
    client = AuditIndexClient(address, internal_tls("gateway"))
    commits = CommitWatchClient(address, internal_tls("gateway"), max_backoff_s=0.5)
    commits.start()
    deps = WebDeps(identity=web_deps.identity, stacks=web_deps.stacks, signing_key=web_deps.signing_key,
                   config=web_deps.config, audit=client, live=LiveHub(client, commits), sections=(AUDIT_SECTION,))
    app = create_app(static_status, web=deps)
    mount_approvals(app, approvals_api(database))
    mount_fleet(app, FleetPorts(query=FleetQuery(database, stacks), registry=stacks, cloud_url=CLOUD_URL,
                                audit=IndexFleetAudit(client)))
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as owner:
            await sign_in(owner, acme.email, PASSWORD)
            assert (await owner.get("/o/acme/audit")).status_code == 200
            assert len((await owner.get("/api/v1/orgs/acme/audit/records")).json()["records"]) == len(pushed)
            async with asyncio.timeout(WAIT_S):
                await commits.connected.wait()
            await server.stop()

            page = await owner.get("/o/acme/audit")
            assert page.status_code == 503, page.text[:500]
            assert "The audit-index service is not answering" in page.text
            for path in ("/api/v1/orgs/acme/audit/records", "/api/v1/orgs/acme/audit/counts",
                         "/api/v1/orgs/acme/audit/integrity", "/api/v1/orgs/acme/audit/alerts",
                         f"/api/v1/orgs/acme/audit/records/{pushed[0]['record_id']}"):
                api = await owner.get(path)
                assert api.status_code == 503, (path, api.status_code, api.text[:300])
                assert api.json()["detail"].startswith("The audit-index service is not answering"), path
                assert address not in api.text and "UNAVAILABLE" not in api.text  # where it runs is for the log
            # An approval is read and decided without the index: its session panel is left out.
            detail = await owner.get(f"/o/acme/approvals/{approval_id}")
            assert detail.status_code == 200, detail.text[:500]
            assert "The DPR index is not answering right now" in detail.text
            # Home still shows the fleet, and says what it cannot show.
            home = await owner.get("/o/acme/")
            assert home.status_code == 200, home.text[:500]
            assert "Audit index unavailable" in home.text and "payments-prod" in home.text
            async with asyncio.timeout(WAIT_S):
                while commits.connected.is_set():
                    await asyncio.sleep(0.05)

            again = internal_server(reader, watch, address, internal_tls("audit-index"))
            await again.start()
            try:
                deadline = time.monotonic() + WAIT_S
                while (answer := await owner.get("/api/v1/orgs/acme/audit/records")).status_code == 503:
                    assert time.monotonic() < deadline, "the gateway did not reconnect to the audit index"
                    await asyncio.sleep(0.2)
                assert len(answer.json()["records"]) == len(pushed)
                async with asyncio.timeout(WAIT_S):
                    await commits.connected.wait()  # the commit watch reopened on its own
            finally:
                await again.stop()
    finally:
        await commits.stop()
        await client.close()
        await server.stop()
        await watch.stop()
