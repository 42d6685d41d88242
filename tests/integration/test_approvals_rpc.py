"""The approvals service's internal APIs as their callers meet them, over real gRPC with mutual
TLS on 127.0.0.1 and real PostgreSQL:

* only the gateway may call ``ApprovalsService`` and only ingest ``DaemonControlService``:
  plaintext, no certificate, a certificate from another CA and a valid certificate of another
  Cloud service are all refused; through the gateway's client a refused certificate is the
  service being unavailable, never mistaken for a rule's refusal; the client refuses a server
  that is not the approvals service;
* when the approvals service is down, the Approvals pages, the emergency controls and their
  REST twins answer 503 with a message that names the service and not where it runs (never a
  500), Home still renders and says pending approvals cannot be listed, and everything
  answers again once the service is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

import grpc
import grpc.aio
import httpx
import pytest
from faramesh_cloud_api.approvals.v1 import (
    control_pb2,
    control_pb2_grpc,
    people_pb2,
    people_pb2_grpc,
)
from fastapi import FastAPI

from faramesh_cloud.approvals.client import ApprovalsApiClient
from faramesh_cloud.approvals.servicer import internal_server
from faramesh_cloud.fleet.query import FleetQuery
from faramesh_cloud.gateway.app import create_app
from faramesh_cloud.gateway.web.approvals_ports import mount_approvals
from faramesh_cloud.gateway.web.deps import WebDeps
from faramesh_cloud.gateway.web.fleet_ports import FleetPorts, mount_fleet
from faramesh_cloud.identity.permissions import Role
from faramesh_cloud.platform_audit.events import Actor
from faramesh_cloud.rpc.errors import ServiceUnavailable
from faramesh_cloud.rpc.internal_pki import ServiceCredentials, dns_name
from faramesh_cloud.sql.database import Database
from faramesh_cloud.stacks.store import StackStore
from tests.approvals_adapters import approvals_server, unused_control
from tests.approvals_support import seed_ids
from tests.fixtures.gateway import CLOUD_URL, approvals_api, csrf_of, sign_in, static_status
from tests.fixtures.identity import PASSWORD, People
from tests.fixtures.internal_tls import ServiceTls

pytestmark = [pytest.mark.postgres, pytest.mark.grpc, pytest.mark.integration]


def _channel(address: str, ca: bytes, tls: ServiceCredentials | None = None) -> grpc.aio.Channel:
    credentials = grpc.ssl_channel_credentials(root_certificates=ca, private_key=tls.key if tls else None,
                                               certificate_chain=tls.cert if tls else None)
    return grpc.aio.secure_channel(address, credentials,
                                   options=[("grpc.ssl_target_name_override", dns_name("approvals"))])


async def _pending(channel: grpc.aio.Channel, org_id: str) -> grpc.aio.AioRpcError | people_pb2.ListPendingResponse:
    try:
        return await people_pb2_grpc.ApprovalsServiceStub(channel).ListPending(
            people_pb2.ListPendingRequest(org_id=org_id), timeout=10)
    except grpc.aio.AioRpcError as exc:
        return exc
    finally:
        await channel.close()


async def _poll(channel: grpc.aio.Channel, org_id: str,
                stack_id: str) -> grpc.aio.AioRpcError | control_pb2.PollCommandsResponse:
    try:
        return await control_pb2_grpc.DaemonControlServiceStub(channel).PollCommands(
            control_pb2.PollCommandsRequest(stack=control_pb2.StackRef(org_id=org_id, stack_id=stack_id)), timeout=10)
    except grpc.aio.AioRpcError as exc:
        return exc
    finally:
        await channel.close()


async def _seeded(stacks: StackStore, database: Database) -> tuple[str, str, dict[str, str]]:
    org = (await stacks.create_org("acme", "Acme")).org_id
    pay, _ = await stacks.register_stack(org, "payments-prod", "production")
    return org, pay.stack_id, await seed_ids(database, org, pay.stack_id, "payments-bot")


async def test_only_the_gateway_acts_for_people_and_only_ingest_for_daemons(
        database: Database, stacks: StackStore, internal_tls: ServiceTls, other_ca_tls: ServiceTls) -> None:
    org, stack_id, ids = await _seeded(stacks, database)
    async with approvals_server(approvals_api(database), unused_control(database), internal_tls) as server:
        address, ca = server.address, internal_tls("approvals").ca

        plaintext = await _pending(grpc.aio.insecure_channel(address), org)
        no_certificate = await _pending(_channel(address, ca), org)
        other_ca = await _pending(_channel(address, ca, other_ca_tls("gateway")), org)  # names gateway, wrong CA
        for refused in (plaintext, no_certificate, other_ca):
            assert isinstance(refused, grpc.aio.AioRpcError) and refused.code() == grpc.StatusCode.UNAVAILABLE

        for service in ("ingest", "approvals", "notifications", "fleet"):
            denied = await _pending(_channel(address, ca, internal_tls(service)), org)
            assert isinstance(denied, grpc.aio.AioRpcError), service
            assert denied.code() == grpc.StatusCode.PERMISSION_DENIED
            assert denied.details() == (f"the {service} service may not call "
                                        "faramesh_cloud_api.approvals.v1.ApprovalsService; only gateway may")
        # The gateway speaks for people, never for a daemon: DaemonControlService is ingest's.
        for service in ("gateway", "fleet"):
            denied = await _poll(_channel(address, ca, internal_tls(service)), org, stack_id)
            assert isinstance(denied, grpc.aio.AioRpcError) and denied.code() == grpc.StatusCode.PERMISSION_DENIED
            assert "may not call faramesh_cloud_api.approvals.v1.DaemonControlService; only ingest may" in (
                denied.details() or "")
        polled = await _poll(_channel(address, ca, internal_tls("ingest")), org, stack_id)
        assert isinstance(polled, control_pb2.PollCommandsResponse)
        assert [c.command_id for c in polled.commands] == [ids["command_id"]]

        # Through the client adapter with the wrong identity: the service is unavailable to this
        # caller (503), not a refusal of a rule (PERMISSION_DENIED here carries no refusal code).
        wrong = ApprovalsApiClient(address, internal_tls("ingest"))
        try:
            with pytest.raises(ServiceUnavailable, match="PERMISSION_DENIED") as refused_info:
                await wrong.pending(org)
            assert refused_info.value.service == "approvals"
            with pytest.raises(ServiceUnavailable, match="PERMISSION_DENIED"):
                await wrong.issue_command(org, stack_id, "payments-bot", Actor.system("test"), "x", "kill",
                                          permitted=True, stack_exists=True)
        finally:
            await wrong.close()

        answered = await _pending(_channel(address, ca, internal_tls("gateway")), org)
        assert isinstance(answered, people_pb2.ListPendingResponse)
        assert [a.approval_id for a in answered.approvals] == [ids["approval_id"]]


async def test_the_gateway_does_not_talk_to_a_server_that_is_not_the_approvals_service(
        database: Database, stacks: StackStore, internal_tls: ServiceTls) -> None:
    org, _, _ = await _seeded(stacks, database)
    # A service of Cloud's own CA listening where the gateway expects the approvals service.
    impostor = internal_server(unused_control(database), "127.0.0.1:0", internal_tls("notifications"),
                               approvals_api(database))
    await impostor.start()
    client = ApprovalsApiClient(impostor.address, internal_tls("gateway"))
    try:
        with pytest.raises(ServiceUnavailable, match="UNAVAILABLE"):
            await client.pending(org)
    finally:
        await client.close()
        await impostor.stop()


@contextlib.asynccontextmanager
async def _gateway(web_deps: WebDeps, database: Database, stacks: StackStore,
                   client: ApprovalsApiClient) -> AsyncIterator[FastAPI]:
    app = create_app(static_status, web=web_deps)
    mount_fleet(app, FleetPorts(query=FleetQuery(database, stacks), registry=stacks, cloud_url=CLOUD_URL))
    mount_approvals(app, client)
    try:
        yield app
    finally:
        await client.close()


async def test_approvals_down_is_a_503_with_a_message_and_the_pages_come_back_with_it(
        web_deps: WebDeps, database: Database, stacks: StackStore, people: People, internal_tls: ServiceTls) -> None:
    acme = await people.org("acme")
    org = acme.org.org_id
    pay, _ = await stacks.register_stack(org, "payments-prod", "production")
    ids = await seed_ids(database, org, pay.stack_id, "payments-bot")
    approval_id, command_id = ids["approval_id"], ids["command_id"]
    _, key = await people.identity.api_keys.create(org, "ops", Role.OWNER, await people.principal(acme))
    api, control = approvals_api(database), unused_control(database)
    server = internal_server(control, "127.0.0.1:0", internal_tls("approvals"), api)
    await server.start()
    address = server.address
    async with _gateway(web_deps, database, stacks, ApprovalsApiClient(address, internal_tls("gateway"))) as app, \
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as owner, \
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver",
                              headers={"Authorization": f"Bearer {key}"}) as rest:
        await sign_in(owner, acme.email, PASSWORD)
        queue = await owner.get("/o/acme/approvals")
        assert queue.status_code == 200 and approval_id in queue.text
        csrf = csrf_of(queue.text)
        home = await owner.get("/o/acme/")
        assert home.status_code == 200 and f"/o/acme/approvals/{approval_id}" in home.text
        await server.stop()

        pages = [("GET", "/o/acme/approvals", None), ("GET", "/o/acme/approvals/history", None),
                 ("GET", f"/o/acme/approvals/{approval_id}", None),
                 ("POST", f"/o/acme/approvals/{approval_id}/decide",
                  {"verdict": "approve", "reason": "ok", "csrf_token": csrf}),
                 ("POST", "/o/acme/approvals/bulk",
                  {"approval_ids": approval_id, "verdict": "deny", "reason": "freeze", "csrf_token": csrf}),
                 ("GET", "/o/acme/emergency/commands", None), ("GET", f"/o/acme/emergency/commands/{command_id}", None),
                 ("POST", f"/o/acme/emergency/{pay.stack_id}/payments-bot",
                  {"kind": "kill", "reason": "runaway", "confirm": "yes", "csrf_token": csrf})]
        for method, path, form in pages:
            page = await owner.request(method, path, data=form)
            assert page.status_code == 503, (path, page.status_code, page.text[:500])
            assert "The approvals service is not answering" in page.text and "Try again in a moment" in page.text
            assert page.headers["retry-after"] == "5"
            assert address not in page.text and "UNAVAILABLE" not in page.text  # where it runs is for the log
        calls = [("GET", "/api/v1/orgs/acme/approvals", None), ("GET", "/api/v1/orgs/acme/approvals/history", None),
                 ("GET", f"/api/v1/orgs/acme/approvals/{approval_id}", None),
                 ("POST", f"/api/v1/orgs/acme/approvals/{approval_id}/decision",
                  {"verdict": "approve", "reason": "ok"}),
                 ("POST", "/api/v1/orgs/acme/approvals/bulk-decision",
                  {"approval_ids": [approval_id], "verdict": "deny", "reason": "freeze"}),
                 ("GET", "/api/v1/orgs/acme/emergency-commands", None),
                 ("GET", f"/api/v1/orgs/acme/emergency-commands/{command_id}", None),
                 ("POST", f"/api/v1/orgs/acme/stacks/{pay.stack_id}/agents/payments-bot/kill", {"reason": "runaway"})]
        for method, path, body in calls:
            answer = await rest.request(method, path, json=body)
            assert answer.status_code == 503, (path, answer.status_code, answer.text[:500])
            assert answer.json()["detail"].startswith("The approvals service is not answering"), path
            assert answer.headers["retry-after"] == "5" and address not in answer.text

        # Home still shows the fleet, and says why no approval is listed.
        home = await owner.get("/o/acme/")
        assert home.status_code == 200, home.text[:500]
        assert "Approvals unavailable" in home.text and "approvals service is not answering" in home.text
        attention = await rest.get("/api/v1/orgs/acme/fleet/attention")
        assert attention.status_code == 200
        assert [i["kind"] for i in attention.json()["items"]] == ["approvals_unavailable"]
        async with database.connection() as conn:  # nothing was decided or issued meanwhile
            row = await (await conn.execute("SELECT count(*) FILTER (WHERE state <> 'pending'), "
                                            "(SELECT count(*) FROM emergency_commands) FROM approvals")).fetchone()
        assert row == (0, 1)

        # The approvals service comes back on its address: the gateway uses it again, no restart.
        async with approvals_server(api, control, internal_tls, address):
            deadline = time.monotonic() + 30
            while (answer := await rest.get("/api/v1/orgs/acme/approvals")).status_code == 503:
                assert time.monotonic() < deadline, "the gateway did not reconnect to the approvals service"
                await asyncio.sleep(0.2)
            assert answer.status_code == 200 and [a["approval_id"] for a in answer.json()] == [approval_id]
            decided = await rest.post(f"/api/v1/orgs/acme/approvals/{approval_id}/decision",
                                      json={"verdict": "approve", "reason": "back again"})
            assert decided.status_code == 200, decided.text
            again = await rest.post(f"/api/v1/orgs/acme/approvals/{approval_id}/decision",
                                    json={"verdict": "deny", "reason": "second"})
            assert again.status_code == 409 and again.json()["code"] == "already_resolved"
            assert "already approved by ops" in again.json()["detail"]


async def test_a_bulk_decision_past_the_callers_deadline_finishes_and_the_person_is_told_to_check(
        database: Database, stacks: StackStore, internal_tls: ServiceTls, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each approval of a bulk decision is its own transaction. When the gateway's deadline
    passes mid-way (one approval's row held by someone else a moment), the service still
    finishes the whole bulk decision (not half of it), and the person is not told "this cannot
    be shown, try again" but that it may have been applied and where to check (a 504 at the
    gateway, rpc/errors.OutcomeUnknown)."""
    from datetime import UTC, datetime, timedelta

    from faramesh_cloud.approvals import client as approvals_client
    from faramesh_cloud.approvals.processor import ApprovalProcessor
    from faramesh_cloud.approvals.projection import ApprovalSink
    from faramesh_cloud.rpc.errors import OutcomeUnknown
    from tests.approvals_support import pending_event
    from tests.contracts.test_approvals_api_contract import _message
    from tests.simulator_support import eventually

    monkeypatch.setattr(approvals_client, "BULK_TIMEOUT_S", 1.0)  # 30 s in production; the same, sooner
    acme = (await stacks.create_org("acme", "Acme")).org_id
    pay, _ = await stacks.register_stack(acme, "payments-prod", "production")
    now = datetime.now(UTC)
    facts = [ApprovalProcessor().process(_message(acme, pay.stack_id, i, pending_event(
        t, created=now, deadline=now + timedelta(hours=1)))) for i, t in enumerate(("a1", "a2"))]
    await ApprovalSink(database).write(facts)  # type: ignore[arg-type]
    api = approvals_api(database)
    ids = {a.defer_token: a.approval_id for a in await api.pending(acme)}
    actor = Actor("user", "u-1", "alice@example.test", "")  # type: ignore[arg-type]
    async with approvals_server(api, unused_control(database), internal_tls) as server:
        client = ApprovalsApiClient(server.address, internal_tls("gateway"), timeout_s=1.0)
        try:
            async with database.transaction() as held:  # the daemon's report of a2 holds its row a moment
                await held.execute("SELECT 1 FROM approvals WHERE approval_id = %s FOR UPDATE", (ids["a2"],))
                with pytest.raises(OutcomeUnknown) as unknown:
                    await client.bulk_decide(acme, [ids["a1"], ids["a2"]], actor, "approve", "verified by phone")
            assert "may have been applied" in unknown.value.public and "History" in unknown.value.public

            async def both_decided() -> bool:
                return {a.defer_token: a.state for a in await api.history(acme)} == {"a1": "approved",
                                                                                    "a2": "approved"}
            await eventually(both_decided, "the whole bulk decision applied", within_s=30)
        finally:
            await client.close()
