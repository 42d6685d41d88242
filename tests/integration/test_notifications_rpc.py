"""The notifications service's internal API (``RoutingService``) as the gateway meets it, over
real gRPC with mutual TLS on 127.0.0.1 and real PostgreSQL:

* only the gateway may call it: plaintext, no certificate, a certificate from another CA and a
  valid certificate of another Cloud service are all refused; the gateway's client refuses a
  server that is not the notifications service; a change that names no actor is refused;
* when the notifications service is down, Settings → Integrations and its REST twin answer 503
  with a message that names the service and not where it runs, and answer again once it is
  back;
* a test send made through the gateway over the gRPC API is delivered by the running service
  to a local webhook receiver, signed with the secret shown once;
* embedded (``up``): the gateway is given the RUNNING service's own API, so a test send wakes
  its sender (which otherwise sleeps an hour here); the gateway builds no notifications service
  of its own.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import secrets
import socket
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import grpc
import grpc.aio
import httpx
import pytest
from faramesh_cloud_api.notifications.v1 import routing_pb2, routing_pb2_grpc
from fastapi import FastAPI

from faramesh_cloud.config import Settings
from faramesh_cloud.gateway.app import create_app
from faramesh_cloud.gateway.web.deps import WebDeps
from faramesh_cloud.gateway.web.notifications_ports import mount_notifications
from faramesh_cloud.log.postgres import PostgresLog
from faramesh_cloud.notifications.client import NotificationsClient
from faramesh_cloud.notifications.service import (
    Notifications,
    NotificationsConfig,
    NotificationsService,
)
from faramesh_cloud.rpc.errors import ServiceUnavailable
from faramesh_cloud.rpc.internal_pki import ServiceCredentials, dns_name
from faramesh_cloud.runtime import notifications_wiring
from faramesh_cloud.runtime.gateway_service import GatewayService
from faramesh_cloud.runtime.platform import Platform
from faramesh_cloud.runtime.services import RuntimeContext
from faramesh_cloud.sql.database import Database
from tests.fixtures.gateway import sign_in, static_status
from tests.fixtures.identity import PASSWORD, People
from tests.fixtures.internal_tls import ServiceTls
from tests.notifications_adapters import notifications_server
from tests.notifications_support import HttpReceiver, http_receiver, notifications_api
from tests.simulator_support import eventually

pytestmark = [pytest.mark.postgres, pytest.mark.grpc, pytest.mark.integration]

ROUTING = "faramesh_cloud_api.notifications.v1.RoutingService"


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    with http_receiver() as fake:
        yield fake


def _channel(address: str, ca: bytes, tls: ServiceCredentials | None = None) -> grpc.aio.Channel:
    credentials = grpc.ssl_channel_credentials(root_certificates=ca, private_key=tls.key if tls else None,
                                               certificate_chain=tls.cert if tls else None)
    return grpc.aio.secure_channel(address, credentials,
                                   options=[("grpc.ssl_target_name_override", dns_name("notifications"))])


async def _call(channel: grpc.aio.Channel, method: str, request: Any) -> Any:
    try:
        return await getattr(routing_pb2_grpc.RoutingServiceStub(channel), method)(request, timeout=10)
    except grpc.aio.AioRpcError as exc:
        return exc
    finally:
        await channel.close()


def _signed_by(request: Any, secret: str) -> bool:
    h = request.headers
    key = base64.b64decode(secret.removeprefix("whsec_"))
    mac = hmac.new(key, f"{h['webhook-id']}.{h['webhook-timestamp']}.".encode() + request.body, hashlib.sha256)
    return "v1," + base64.b64encode(mac.digest()).decode() in h["webhook-signature"].split(" ")


async def test_only_the_gateway_may_call_the_notifications_api(database: Database, people: People,
                                                              internal_tls: ServiceTls,
                                                              other_ca_tls: ServiceTls) -> None:
    org = (await people.org("acme")).org.org_id
    listing = routing_pb2.ListDestinationsRequest(org_id=org)
    async with notifications_server(notifications_api(database), internal_tls) as server:
        address, ca = server.address, internal_tls("notifications").ca

        plaintext = await _call(grpc.aio.insecure_channel(address), "ListDestinations", listing)
        no_certificate = await _call(_channel(address, ca), "ListDestinations", listing)
        other_ca = await _call(_channel(address, ca, other_ca_tls("gateway")), "ListDestinations", listing)
        for refused in (plaintext, no_certificate, other_ca):
            assert isinstance(refused, grpc.aio.AioRpcError) and refused.code() == grpc.StatusCode.UNAVAILABLE

        for service in ("ingest", "approvals", "fleet", "audit-index", "notifications"):
            denied = await _call(_channel(address, ca, internal_tls(service)), "ListDestinations", listing)
            assert isinstance(denied, grpc.aio.AioRpcError), service
            assert denied.code() == grpc.StatusCode.PERMISSION_DENIED
            assert denied.details() == f"the {service} service may not call {ROUTING}; only gateway may"

        # Through the client adapter, with the wrong identity: a clear error, not an answer.
        wrong = NotificationsClient(address, internal_tls("fleet"))
        try:
            with pytest.raises(ServiceUnavailable, match="PERMISSION_DENIED") as refused_info:
                await wrong.destinations(org)
            assert refused_info.value.service == "notifications"
        finally:
            await wrong.close()

        answered = await _call(_channel(address, ca, internal_tls("gateway")), "ListDestinations", listing)
        assert isinstance(answered, routing_pb2.ListDestinationsResponse) and list(answered.destinations) == []


async def test_a_change_must_name_who_makes_it(database: Database, people: People, internal_tls: ServiceTls) -> None:
    org = (await people.org("acme")).org.org_id
    fields = {"url": routing_pb2.FieldValue(text="https://1.1.1.1/hook")}
    async with notifications_server(notifications_api(database), internal_tls) as server:
        ca, gateway = internal_tls("notifications").ca, internal_tls("gateway")
        for actor in (None, routing_pb2.RequestActor(type="anonymous", label="someone"),
                      routing_pb2.RequestActor(type="", id="u1", label="x@acme.test")):
            request = routing_pb2.CreateDestinationRequest(org_id=org, name="hook", kind="webhook", fields=fields,
                                                           actor=actor)
            refused = await _call(_channel(server.address, ca, gateway), "CreateDestination", request)
            assert isinstance(refused, grpc.aio.AioRpcError) and refused.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert "actor.type is user, api_key or system" in (refused.details() or "")
        listed = await _call(_channel(server.address, ca, gateway), "ListDestinations",
                             routing_pb2.ListDestinationsRequest(org_id=org))
        assert list(listed.destinations) == []  # nothing was made without an actor


async def test_the_gateway_does_not_talk_to_a_server_that_is_not_the_notifications_service(
        database: Database, people: People, internal_tls: ServiceTls) -> None:
    org = (await people.org("acme")).org.org_id
    # A service of Cloud's own CA listening where the gateway expects the notifications service.
    impostor = notifications_server(notifications_api(database), lambda _: internal_tls("fleet"))
    async with impostor as server:
        client = NotificationsClient(server.address, internal_tls("gateway"))
        try:
            with pytest.raises(ServiceUnavailable, match="UNAVAILABLE"):
                await client.destinations(org)
        finally:
            await client.close()


@contextlib.asynccontextmanager
async def _gateway(web_deps: WebDeps, client: NotificationsClient) -> AsyncIterator[FastAPI]:
    app = create_app(static_status, web=web_deps)
    mount_notifications(app, client)
    try:
        yield app
    finally:
        await client.close()


def _browser(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=("203.0.113.7", 4711)),
                             base_url="http://testserver")


async def test_notifications_down_is_a_503_with_a_message_and_the_pages_come_back_with_it(
        web_deps: WebDeps, database: Database, people: People, internal_tls: ServiceTls) -> None:
    acme = await people.org("acme")
    api = notifications_api(database)
    async with notifications_server(api, internal_tls) as server:
        address = server.address
        client = NotificationsClient(address, internal_tls("gateway"))
        async with _gateway(web_deps, client) as app, _browser(app) as owner:
            await sign_in(owner, acme.email, PASSWORD)
            assert (await owner.get("/o/acme/settings/integrations")).status_code == 200
            headers = {"X-CSRF-Token": (await owner.get("/api/v1/me")).json()["csrf_token"]}
            await server.stop()

            page = await owner.get("/o/acme/settings/integrations")
            assert page.status_code == 503, page.text[:500]
            assert "The notifications service is not answering" in page.text and "Try again in a moment" in page.text
            assert page.headers["retry-after"] == "5"
            made = await owner.post("/api/v1/orgs/acme/notifications/destinations", headers=headers,
                                    json={"name": "hook", "kind": "webhook", "url": "https://1.1.1.1/hook"})
            for path in ("/api/v1/orgs/acme/notifications/destinations", "/api/v1/orgs/acme/notifications/deliveries",
                         "/api/v1/orgs/acme/notifications/routing-rules"):
                listed = await owner.get(path)
                assert listed.status_code == 503, (path, listed.status_code)
                assert listed.json()["detail"].startswith("The notifications service is not answering"), path
            assert made.status_code == 503 and made.headers["retry-after"] == "5"
            for answer in (page.text, made.text, listed.text):
                assert address not in answer and "UNAVAILABLE" not in answer  # where it runs is for the log

            # The service comes back on its address: the gateway uses it again, no restart.
            async with notifications_server(api, internal_tls, address):
                deadline = time.monotonic() + 30
                while (answer := await owner.post("/api/v1/orgs/acme/notifications/destinations", headers=headers,
                                                  json={"name": "hook", "kind": "webhook",
                                                        "url": "https://1.1.1.1/hook"})).status_code == 503:
                    assert time.monotonic() < deadline, "the gateway did not reconnect to the notifications service"
                    await asyncio.sleep(0.2)
                assert answer.status_code == 201, answer.text
                listed = await owner.get("/api/v1/orgs/acme/notifications/destinations")
                assert [d["name"] for d in listed.json()] == ["hook"]


def _config(receiver: HttpReceiver, **overrides: Any) -> NotificationsConfig:
    values: dict[str, Any] = {"key": secrets.token_bytes(32), "allow_private": True,
                              "link_base": "https://cloud.example.test", "send_interval_s": 0.05,
                              "escalation_interval_s": 3600, **overrides}
    return NotificationsConfig(**values)


async def _test_send(owner: httpx.AsyncClient, receiver: HttpReceiver) -> tuple[str, str, str]:
    """Through the REST API as a person: a webhook to ``receiver`` and a test send to it; the
    destination id, the signing secret shown once and the test's reference."""
    headers = {"X-CSRF-Token": (await owner.get("/api/v1/me")).json()["csrf_token"]}
    made = await owner.post("/api/v1/orgs/acme/notifications/destinations", headers=headers,
                            json={"name": "receiver", "kind": "webhook", "url": receiver.url + "/hook"})
    assert made.status_code == 201, made.text
    destination_id, secret = made.json()["destination_id"], made.json()["signing_secret"]
    tested = await owner.post(f"/api/v1/orgs/acme/notifications/destinations/{destination_id}/test",
                              headers=headers)
    assert tested.status_code == 202, tested.text
    return destination_id, secret, tested.json()["queued"]


async def test_a_test_send_through_the_grpc_api_reaches_the_webhook_receiver(
        web_deps: WebDeps, database: Database, postgres_log: PostgresLog, people: People, internal_tls: ServiceTls,
        receiver: HttpReceiver) -> None:
    acme = await people.org("acme")
    service = Notifications(database, postgres_log, _config(receiver), internal_address="127.0.0.1:0",
                            internal_tls=internal_tls("notifications"))
    await service.start()
    try:
        assert service.server is not None
        client = NotificationsClient(service.server.address, internal_tls("gateway"))
        async with _gateway(web_deps, client) as app, _browser(app) as owner:
            await sign_in(owner, acme.email, PASSWORD)
            _, secret, reference = await _test_send(owner, receiver)
            await eventually(lambda: len(receiver.on("/hook")) == 1, "the test notification", within_s=30)
            sent = receiver.on("/hook")[0]
            assert sent.json()["type"] == "notification.test" and _signed_by(sent, secret)

            async def delivered() -> bool:
                rows = (await owner.get("/api/v1/orgs/acme/notifications/deliveries")).json()
                return [(r["defer_token"], r["state"]) for r in rows] == [(reference, "delivered")]
            await eventually(delivered, "the delivery history says delivered", within_s=30)
    finally:
        await service.stop()
    assert service.server is None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_embedded_the_gateway_uses_the_running_services_own_api_so_a_test_send_wakes_its_sender(
        database: Database, postgres_log: PostgresLog, people: People, receiver: HttpReceiver,
        tmp_path: Path) -> None:
    acme = await people.org("acme")
    settings = Settings(data_dir=tmp_path, http_port=_free_port(), allow_private_destinations=True)
    platform = Platform(settings, database, postgres_log, None)  # type: ignore[arg-type]
    ctx = RuntimeContext(platform, "now", [])
    # The sender sleeps an hour between rounds: only a wake from the gateway's test send sends now.
    running = NotificationsService(ctx, _config(receiver, send_interval_s=3600.0))
    await running.start()
    ctx.services.append(running)
    try:
        assert notifications_wiring.gateway_port(settings, ctx.services) is running.api
        gateway = GatewayService(ctx)
        await gateway.start()
        try:
            async with httpx.AsyncClient(base_url=settings.http_url) as owner:
                await sign_in(owner, acme.email, PASSWORD)
                _, secret, _ = await _test_send(owner, receiver)
                await eventually(lambda: len(receiver.on("/hook")) == 1, "the woken sender's delivery", within_s=30)
                assert _signed_by(receiver.on("/hook")[0], secret)
        finally:
            await gateway.stop()
    finally:
        await running.stop()
    assert not (tmp_path / "keys" / "notifications.key").exists()  # the gateway never made a sealing key
