"""Settings → Integrations → External observability through the gateway (httpx over ASGI,
real PostgreSQL): Owner/Admin only (Operators and Viewers 403), secrets never returned,
private URLs refused with the reason, a duplicate name 409, every change in the platform
audit log, another organisation's destination 404, the delivery log shown after a test send
to a local OTLP receiver; the REST twin is in the OpenAPI document."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

import httpx
import pytest
from fastapi import FastAPI

from faramesh_cloud.egress.sealing import SecretBox
from faramesh_cloud.forwarding.api import ForwardingApi
from faramesh_cloud.forwarding.senders import Senders
from faramesh_cloud.gateway.web.forwarding_ports import mount_forwarding
from faramesh_cloud.identity.permissions import Role
from faramesh_cloud.platform_audit.store import PlatformAuditLog
from faramesh_cloud.sql.database import Database
from tests.fixtures.gateway import MakeClient, csrf_of, sign_in
from tests.fixtures.identity import People, Person
from tests.forwarding_receivers import receiver

pytestmark = [pytest.mark.postgres, pytest.mark.integration]
DD_KEY = "0123456789abcdef0123456789abcdef"


@pytest.fixture
async def forwarding_api(database: Database) -> ForwardingApi:
    from faramesh_cloud.forwarding.service import COMPONENT
    from faramesh_cloud.sql.migrate import migrate

    await migrate(database, [COMPONENT])
    audit = PlatformAuditLog(database)
    await audit.start()
    # allow_private: the test send goes to a receiver on 127.0.0.1 (a self-hosted install's setting)
    return ForwardingApi(database, SecretBox(secrets.token_bytes(32)), audit, Senders(allow_private=True),
                         allow_private=True, clock=lambda: datetime.now(UTC))


@pytest.fixture
def gateway_app(gateway_app: FastAPI, forwarding_api: ForwardingApi) -> FastAPI:
    mount_forwarding(gateway_app, forwarding_api)
    return gateway_app


async def signed_in(client_factory: MakeClient, person: Person) -> httpx.AsyncClient:
    client = client_factory()
    response = await sign_in(client, person.email, person.password)
    assert response.status_code in (302, 303), response.text[:300]
    return client


async def api_csrf(client: httpx.AsyncClient) -> dict[str, str]:
    return {"X-CSRF-Token": (await client.get("/api/v1/me")).json()["csrf_token"]}


async def test_an_admin_adds_tests_and_deletes_a_destination_and_each_change_is_audited(
        client_factory: MakeClient, people: People, database: Database) -> None:
    owner = await people.org("acme")
    client = await signed_in(client_factory, owner)
    integrations = await client.get("/o/acme/settings/integrations")
    assert 'id="external-observability"' in integrations.text
    page = await client.get("/o/acme/settings/integrations/observability")
    assert page.status_code == 200 and "Nothing is forwarded yet." in page.text
    with receiver("otlp", "Bearer s3cret") as collector:
        made = await client.post("/o/acme/settings/integrations/observability/destinations", data={
            "csrf_token": csrf_of(page.text), "name": "collector", "kind": "otlp", "url": collector.url,
            "headers": "authorization=Bearer s3cret", "forward_dprs": "on"})
        assert made.status_code == 303
        shown = await client.get(made.headers["location"])
        assert "Forwarding to collector from now on." in shown.text and "s3cret" not in shown.text
        [listed] = (await client.get("/api/v1/orgs/acme/forwarding/destinations")).json()
        assert (listed["name"], listed["kind"], listed["forward_dprs"], listed["forward_metrics"]) == (
            "collector", "otlp", True, False)
        assert listed["config"] == {"url": collector.url, "header_names": ["authorization"]}
        tested = await client.post(f"/o/acme/settings/integrations/observability/destinations/"
                                   f"{listed['destination_id']}/test", data={"csrf_token": csrf_of(shown.text)})
        assert tested.status_code == 303 and "delivered" in tested.headers["location"]
        assert len(collector.received) == 1
        _, record = collector.received[0]
        assert {kv.key: kv.value.string_value for kv in record.attributes}["faramesh.reason_code"] == "FORWARDING_TEST"

    headers = await api_csrf(client)
    refused = await client.post("/api/v1/orgs/acme/forwarding/destinations", headers=headers, json={
        "name": "x", "kind": "splunk_hec", "url": "https://169.254.169.254/", "token": "t"})
    # the API has the same SSRF rule; this app's ForwardingApi allows private (loopback) but never metadata
    assert refused.status_code == 400 and "cloud metadata address" in refused.json()["detail"]
    dd = await client.post("/api/v1/orgs/acme/forwarding/destinations", headers=headers, json={
        "name": "dd", "kind": "datadog", "site": "datadoghq.eu", "api_key": DD_KEY})
    assert dd.status_code == 201 and DD_KEY not in dd.text and dd.json()["config"]["key_hint"] == DD_KEY[-4:]
    again = await client.post("/api/v1/orgs/acme/forwarding/destinations", headers=headers, json={
        "name": "dd", "kind": "datadog", "api_key": DD_KEY})
    assert again.status_code == 409
    bad_kind = await client.post("/api/v1/orgs/acme/forwarding/destinations", headers=headers, json={
        "name": "g", "kind": "graphite"})
    assert bad_kind.status_code == 422
    log = (await client.get("/api/v1/orgs/acme/forwarding/deliveries")).json()
    assert log == []  # a test send is not an outbox delivery
    gone = await client.delete(f"/api/v1/orgs/acme/forwarding/destinations/{dd.json()['destination_id']}",
                               headers=headers)
    assert gone.status_code == 200

    entries = await PlatformAuditLog(database).entries(owner.org.org_id)
    actions = [e.action for e in entries if e.action.startswith("org:forwarding:")]
    assert sorted(actions) == sorted(["org:forwarding:create", "org:forwarding:test", "org:forwarding:create",
                                      "org:forwarding:delete"])
    assert DD_KEY not in str([e.details for e in entries]) and "s3cret" not in str([e.details for e in entries])


@pytest.mark.parametrize("role", [Role.OPERATOR, Role.VIEWER])
async def test_only_owners_and_admins_reach_external_observability(
        role: Role, client_factory: MakeClient, people: People) -> None:
    owner = await people.org("acme")
    member = await people.member(owner, role)
    client = await signed_in(client_factory, member)
    assert (await client.get("/o/acme/settings/integrations/observability")).status_code == 403
    assert (await client.get("/api/v1/orgs/acme/forwarding/destinations")).status_code == 403
    headers = await api_csrf(client)
    made = await client.post("/api/v1/orgs/acme/forwarding/destinations", headers=headers, json={
        "name": "dd", "kind": "datadog", "api_key": DD_KEY})
    assert made.status_code == 403


async def test_another_organisations_destination_is_not_found(client_factory: MakeClient, people: People) -> None:
    acme, globex = await people.org("acme"), await people.org("globex")
    a = await signed_in(client_factory, acme)
    made = await a.post("/api/v1/orgs/acme/forwarding/destinations", headers=await api_csrf(a), json={
        "name": "dd", "kind": "datadog", "api_key": DD_KEY})
    destination_id = made.json()["destination_id"]
    g = await signed_in(client_factory, globex)
    assert (await g.get(f"/api/v1/orgs/globex/forwarding/destinations/{destination_id}")).status_code == 404
    assert (await g.delete(f"/api/v1/orgs/globex/forwarding/destinations/{destination_id}",
                           headers=await api_csrf(g))).status_code == 404
    assert (await g.get("/api/v1/orgs/globex/forwarding/destinations")).json() == []
    assert (await g.get("/api/v1/orgs/acme/forwarding/destinations")).status_code in (403, 404)


async def test_the_rest_twin_is_in_the_openapi_document(client_factory: MakeClient) -> None:
    spec = (await client_factory().get("/api/v1/openapi.json")).json()
    paths = spec["paths"]
    assert "/api/v1/orgs/{org}/forwarding/destinations" in paths
    assert "/api/v1/orgs/{org}/forwarding/deliveries" in paths
