"""The fleet service's internal API (``FleetQueryService``) as the gateway meets it, over real
gRPC with mutual TLS on 127.0.0.1 and real PostgreSQL:

* only the gateway may read it: plaintext, no certificate, a certificate from another CA and
  a valid certificate of another Cloud service are all refused; the gateway's client refuses a
  server that is not the fleet service;
* when the fleet service is down, Fleet pages and their REST twins answer 503 with a message
  that names the service and not where it runs (never a 500), and answer again once it is back;
* an emergency command or an approval does not wait for the fleet service: kill goes through
  for an agent another source knows, and an agent only the fleet could vouch for gets 503, not
  a 404 that calls a real agent unknown.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import grpc
import grpc.aio
import httpx
import pytest
from faramesh_cloud_api.fleet.v1 import query_pb2, query_pb2_grpc
from fastapi import FastAPI

from faramesh_cloud.fleet.client import FleetQueryClient
from faramesh_cloud.fleet.query import FleetQuery
from faramesh_cloud.fleet.servicer import internal_server
from faramesh_cloud.gateway.app import create_app
from faramesh_cloud.gateway.web.approvals_ports import mount_approvals
from faramesh_cloud.gateway.web.deps import WebDeps
from faramesh_cloud.gateway.web.fleet_ports import FleetPorts, mount_fleet
from faramesh_cloud.identity.permissions import Role
from faramesh_cloud.rpc.errors import ServiceUnavailable
from faramesh_cloud.rpc.internal_pki import ServiceCredentials, dns_name
from faramesh_cloud.sql.database import Database
from faramesh_cloud.stacks.store import StackStore
from tests.approvals_support import seed_ids
from tests.fixtures.gateway import CLOUD_URL, approvals_api, sign_in, static_status
from tests.fixtures.identity import PASSWORD, People
from tests.fixtures.internal_tls import ServiceTls
from tests.fleet_adapters import fleet_server
from tests.fleet_items import message, record, status

pytestmark = [pytest.mark.postgres, pytest.mark.grpc, pytest.mark.integration]


def _channel(address: str, ca: bytes, tls: ServiceCredentials | None = None) -> grpc.aio.Channel:
    credentials = grpc.ssl_channel_credentials(root_certificates=ca, private_key=tls.key if tls else None,
                                               certificate_chain=tls.cert if tls else None)
    return grpc.aio.secure_channel(address, credentials, options=[("grpc.ssl_target_name_override", dns_name("fleet"))])


async def _list(channel: grpc.aio.Channel, org_id: str) -> grpc.aio.AioRpcError | query_pb2.ListStacksResponse:
    try:
        return await query_pb2_grpc.FleetQueryServiceStub(channel).ListStacks(
            query_pb2.ListStacksRequest(org_id=org_id), timeout=10)
    except grpc.aio.AioRpcError as exc:
        return exc
    finally:
        await channel.close()


async def _seeded(stacks: StackStore, database: Database) -> tuple[str, str]:
    org = (await stacks.create_org("acme", "Acme")).org_id
    pay, _ = await stacks.register_stack(org, "payments-prod", "production")
    from faramesh_cloud.fleet.processor import FleetProcessor
    from faramesh_cloud.fleet.sink import FleetSink

    rows = [FleetProcessor().process(message(record(org, pay.stack_id, 1, "stack_status", status(datetime.now(UTC))),
                                             0))]
    await FleetSink(database).write(rows)  # type: ignore[arg-type]
    return org, pay.stack_id


async def test_only_the_gateway_reads_the_fleet(database: Database, stacks: StackStore, internal_tls: ServiceTls,
                                                 other_ca_tls: ServiceTls) -> None:
    org, _ = await _seeded(stacks, database)
    async with fleet_server(FleetQuery(database, stacks), internal_tls) as server:
        address, ca = server.address, internal_tls("fleet").ca

        plaintext = await _list(grpc.aio.insecure_channel(address), org)
        no_certificate = await _list(_channel(address, ca), org)
        other_ca = await _list(_channel(address, ca, other_ca_tls("gateway")), org)  # names gateway, wrong CA
        for refused in (plaintext, no_certificate, other_ca):
            assert isinstance(refused, grpc.aio.AioRpcError) and refused.code() == grpc.StatusCode.UNAVAILABLE

        for service in ("ingest", "approvals", "notifications", "fleet"):
            denied = await _list(_channel(address, ca, internal_tls(service)), org)
            assert isinstance(denied, grpc.aio.AioRpcError), service
            assert denied.code() == grpc.StatusCode.PERMISSION_DENIED
            assert denied.details() == (f"the {service} service may not call "
                                        "faramesh_cloud_api.fleet.v1.FleetQueryService; only compliance, gateway, registry may")  # ListStacks

        # Through the client adapter, with the wrong identity: a clear error, not an answer.
        wrong = FleetQueryClient(address, internal_tls("ingest"))
        try:
            with pytest.raises(ServiceUnavailable, match="PERMISSION_DENIED") as refused_info:
                await wrong.stacks(org)
            assert refused_info.value.service == "fleet"
        finally:
            await wrong.close()

        answered = await _list(_channel(address, ca, internal_tls("gateway")), org)
        assert isinstance(answered, query_pb2.ListStacksResponse)
        assert [s.name for s in answered.stacks] == ["payments-prod"]


@pytest.mark.parametrize("caller", ["compliance", "registry"])
async def test_compliance_and_registry_read_stacks_and_applied_texts_and_nothing_else(
        database: Database, stacks: StackStore, internal_tls: ServiceTls, caller: str) -> None:
    """The compliance service checks each stack's enforced policy and the registry reads each
    stack's imports (pack version alerts): each may list stacks and read an applied
    governance.fms text, and is refused every other read of the fleet."""
    org, stack_id = await _seeded(stacks, database)
    async with fleet_server(FleetQuery(database, stacks), internal_tls) as server:
        compliance = FleetQueryClient(server.address, internal_tls(caller))
        try:
            assert [s.stack_id for s in await compliance.stacks(org)] == [stack_id]
            assert await compliance.config_text(org, stack_id, "0" * 64) is None
            with pytest.raises(ServiceUnavailable, match="may not call"):
                await compliance.agents(org, stack_id)
            with pytest.raises(ServiceUnavailable, match="may not call"):
                await compliance.budget_burn(org)
        finally:
            await compliance.close()


async def test_the_gateway_does_not_read_from_a_server_that_is_not_the_fleet_service(
        database: Database, stacks: StackStore, internal_tls: ServiceTls) -> None:
    org, _ = await _seeded(stacks, database)
    # A service of Cloud's own CA listening where the gateway expects the fleet service.
    impostor = internal_server(FleetQuery(database, stacks), "127.0.0.1:0", internal_tls("notifications"))
    await impostor.start()
    client = FleetQueryClient(impostor.address, internal_tls("gateway"))
    try:
        with pytest.raises(ServiceUnavailable, match="UNAVAILABLE"):
            await client.stacks(org)
    finally:
        await client.close()
        await impostor.stop()


@contextlib.asynccontextmanager
async def _gateway(web_deps: WebDeps, database: Database, stacks: StackStore,
                   client: FleetQueryClient) -> AsyncIterator[FastAPI]:
    app = create_app(static_status, web=web_deps)
    mount_fleet(app, FleetPorts(query=client, registry=stacks, cloud_url=CLOUD_URL))
    mount_approvals(app, approvals_api(database))
    try:
        yield app
    finally:
        await client.close()


async def test_fleet_down_is_a_503_with_a_message_and_the_pages_come_back_with_it(
        web_deps: WebDeps, database: Database, stacks: StackStore, people: People, internal_tls: ServiceTls) -> None:
    acme = await people.org("acme")
    org = acme.org.org_id
    pay, _ = await stacks.register_stack(org, "payments-prod", "production")
    query = FleetQuery(database, stacks)
    server = internal_server(query, "127.0.0.1:0", internal_tls("fleet"))
    await server.start()
    address = server.address
    async with _gateway(web_deps, database, stacks, FleetQueryClient(address, internal_tls("gateway"))) as app, \
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as owner:
        await sign_in(owner, acme.email, PASSWORD)
        assert (await owner.get("/o/acme/fleet")).status_code == 200
        await server.stop()

        page = await owner.get("/o/acme/fleet")
        assert page.status_code == 503, page.text[:500]
        assert "The fleet service is not answering" in page.text and "Try again in a moment" in page.text
        assert page.headers["retry-after"] == "5"
        for path in ("/api/v1/orgs/acme/fleet/stacks", f"/api/v1/orgs/acme/fleet/stacks/{pay.stack_id}",
                     "/api/v1/orgs/acme/fleet/attention", "/api/v1/orgs/acme/fleet/budget-burn"):
            api = await owner.get(path)
            assert api.status_code == 503, (path, api.status_code)
            assert api.json()["detail"].startswith("The fleet service is not answering"), path
        for answer in (page.text, api.text):
            assert address not in answer and "UNAVAILABLE" not in answer  # where it runs is for the log
        assert (await owner.get(f"/o/acme/fleet/stacks/{pay.stack_id}")).status_code == 503
        assert (await owner.get("/o/acme/")).status_code == 503

        # The fleet service comes back on its address: the gateway reads it again, no restart.
        again = internal_server(query, address, internal_tls("fleet"))
        await again.start()
        try:
            deadline = time.monotonic() + 30
            while (answer := await owner.get("/api/v1/orgs/acme/fleet/stacks")).status_code == 503:
                assert time.monotonic() < deadline, "the gateway did not reconnect to the fleet service"
                await asyncio.sleep(0.2)
            assert answer.status_code == 200 and [s["name"] for s in answer.json()] == ["payments-prod"]
        finally:
            await again.stop()


async def test_kill_and_approvals_do_not_wait_for_the_fleet_service(
        web_deps: WebDeps, database: Database, stacks: StackStore, people: People, internal_tls: ServiceTls) -> None:
    acme = await people.org("acme")
    org = acme.org.org_id
    pay, _ = await stacks.register_stack(org, "payments-prod", "production")
    approval_id = (await seed_ids(database, org, pay.stack_id, "payments-bot"))["approval_id"]
    _, key = await people.identity.api_keys.create(org, "ops", Role.OWNER, await people.principal(acme))
    down = FleetQueryClient("127.0.0.1:1", internal_tls("gateway"), timeout_s=2.0)  # nothing listens there
    async with _gateway(web_deps, database, stacks, down) as app, \
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver",
                              headers={"Authorization": f"Bearer {key}"}) as api, \
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as owner:
        kill = "/api/v1/orgs/acme/stacks/{}/agents/{}/kill"
        # payments-bot asked for an approval: known without the fleet, so the kill is queued.
        known = await api.post(kill.format(pay.stack_id, "payments-bot"), json={"reason": "runaway refunds"})
        assert known.status_code == 201, known.text
        # Nobody but the fleet could vouch for this one: 503 (try again), not "never seen".
        unknown = await api.post(kill.format(pay.stack_id, "ledger-bot"), json={"reason": "runaway"})
        assert unknown.status_code == 503 and "fleet service" in unknown.json()["detail"], unknown.text
        # The approval can still be read and decided; its budget panel is left out.
        await sign_in(owner, acme.email, PASSWORD)
        detail = await owner.get(f"/o/acme/approvals/{approval_id}")
        assert detail.status_code == 200 and "stripe/refund" in detail.text
