"""Tenant isolation, proven over the whole route table: a member of organisation B gets 404
for every URL that carries an id of organisation A, in the UI and the API, whether the URL
names A's slug or B's own slug with A's object ids.

The test walks ``app.routes``, so a new route is covered the day it is added; a route with a
path parameter this test has no value for fails it until someone decides what the
parameter is (add a value below, or list the route as public with the reason). The app is
the gateway's with every settings port the product mounts: fleet, git, approvals,
notifications, compliance, registry, and (mounted here) billing, retention, external
observability and Slack.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute

from faramesh_cloud.audit_index.retention.api import RetentionApi
from faramesh_cloud.audit_index.retention.sweep import RetentionSweeper
from faramesh_cloud.audit_index.schema import AuditTables
from faramesh_cloud.billing.api import BillingApi
from faramesh_cloud.egress.sealing import SecretBox
from faramesh_cloud.fleet.processor import FleetProcessor
from faramesh_cloud.fleet.sink import FleetSink
from faramesh_cloud.forwarding.api import ForwardingApi
from faramesh_cloud.forwarding.senders import Senders
from faramesh_cloud.gateway.web.billing_ports import mount_billing
from faramesh_cloud.gateway.web.compliance_ports import CompliancePort
from faramesh_cloud.gateway.web.forwarding_ports import mount_forwarding
from faramesh_cloud.gateway.web.git_ports import GitPort
from faramesh_cloud.gateway.web.retention_ports import mount_retention
from faramesh_cloud.gateway.web.routes_slack import mount_slack
from faramesh_cloud.gateway.web.slack_app import SlackApp
from faramesh_cloud.identity.permissions import Role
from faramesh_cloud.identity.service import Identity
from faramesh_cloud.log.postgres import PostgresLog
from faramesh_cloud.olap.port import Olap
from faramesh_cloud.platform_audit.events import Actor, ActorType
from faramesh_cloud.platform_audit.store import PlatformAuditLog
from faramesh_cloud.signing.keys import load_or_create_signing_key
from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.migrate import migrate
from faramesh_cloud.stacks.store import StackStore
from tests.approvals_support import seed_ids
from tests.billing_support import billing
from tests.fakes.git import running
from tests.fixtures.gateway import MakeClient, sign_in
from tests.fixtures.identity import PASSWORD, People
from tests.fleet_items import T0, message, record, status
from tests.integration.audit_support import fast_config, run_index
from tests.notifications_support import seed_routing

pytestmark = [pytest.mark.postgres, pytest.mark.chdb, pytest.mark.integration]

# Routes whose path parameters are not an organisation's ids, with the reason.
PUBLIC_BY_DESIGN = {
    "/invitations/{token}": "the one-time token is itself the credential; it names no organisation's id",
    "/sso/{org}/callback": "the sign-in flow of that organisation: anyone may start it, the provider decides",
    "/share/{token}": "an auditor share link: the token is itself the credential (404 unknown, 410 gone)",
    "/share/{token}/download": "an auditor share link's file: the token is the credential",
    "/share/{token}/keys/{filename}": "the platform's public keys, offered beside a share link",
    **dict.fromkeys(("/o/{org}/registry/{kinds:registry_kinds}", "/o/{org}/registry/{kinds:registry_kinds}/{name:path}",
                     "/api/v1/orgs/{org}/registry/{kinds:registry_kinds}", "/api/v1/orgs/{org}/registry/{kinds:registry_kinds}/{name:path}"),
                    "the registry's catalog is global (the same for every organisation; the org decides who may "
                    "read: test_registry_browse_gateway::test_who_may_browse)"),
}


AGENT = "payments-bot"


PINNED_KEY = "A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg="  # base64 of a 32-byte Ed25519 public key


FMS = 'runtime {\n  cloud_url = "https://cloud.example.test"\n}\n'  # A's applied governance.fms


async def seed_compliance(port: CompliancePort, person: Any) -> dict[str, str]:
    """A's evidence-library artifact, its share link and a report job."""
    actor = Actor(ActorType.USER, person.user.user_id, person.email, "")
    made = await port.add_artifact(person.org.org_id, "dpr-export", "A's export", {}, actor=actor, data=b"{}",
                                   filename="a.json", media_type="application/json")
    link, _ = await port.share(person.org.org_id, made.artifact_id, actor)
    report = await port.request_report(person.org.org_id, "soc2", [], T0, T0 + timedelta(days=1), actor)
    return {"artifact_id": made.artifact_id, "link_id": link.link_id, "report_id": report.report_id}


async def seed_group(identity: Identity, people: People, owner: Any, member_id: str) -> str:
    """A's group with A's member in it."""
    group = await identity.groups.create(owner.org.org_id, "oncall", "", await people.principal(owner))
    await identity.groups.add_member(owner.org.org_id, group.group_id, member_id, await people.principal(owner))
    return group.group_id


async def seed_git(port: GitPort, owner: Any, stack_id: str) -> str:
    """A's git connection, with A's stack mapped to a repository and checked for drift (against a
    local fake of GitHub's API, stopped afterwards: nothing later calls the provider)."""
    actor = Actor(ActorType.USER, owner.user.user_id, owner.email, "")
    token = "ghp_" + "x" * 36
    with running("github") as github:
        github.commit("acme/gov", "main", {"governance.fms": FMS})
        github.grant(token)
        connection = await port.connect(owner.org.org_id, "github", "github", github.base_url, token, actor)
        await port.map_stack(owner.org.org_id, stack_id, connection.connection_id, "acme/gov", "governance.fms",
                             "main", actor)
        await port.check(owner.org.org_id, stack_id, actor)
    return connection.connection_id


async def report_status(database: Database, org_id: str, stack_id: str) -> None:
    """A's stack reports its status (agents, apply with its governance.fms text, providers)
    through the fleet projection."""
    report = status(T0)
    report.applied_config.governance_fms = FMS
    update = FleetProcessor().process(message(record(org_id, stack_id, 1, "stack_status", report), 0))
    await FleetSink(database).write([update])  # type: ignore[list-item]


@dataclass(frozen=True)
class SettingsPorts:
    """The settings sections ``tests/fixtures/gateway.gateway_app`` does not mount, each the
    service's own API over this test's database (retention's over chDB too)."""

    billing: BillingApi
    forwarding: ForwardingApi
    retention: RetentionApi


@pytest.fixture
async def settings_ports(database: Database, postgres_log: PostgresLog, chdb: Olap, olap_database: str,
                         tmp_path: Path) -> SettingsPorts:
    from faramesh_cloud.forwarding.service import COMPONENT as FORWARDING

    await run_index(database, postgres_log, chdb, fast_config(olap_database), 0)  # the audit index's tables
    bill = billing(database, postgres_log, lambda: datetime.now(UTC))
    await bill.prepare()  # billing's tables
    await migrate(database, [FORWARDING])
    audit = PlatformAuditLog(database)
    await audit.start()
    forwarding = ForwardingApi(database, SecretBox(secrets.token_bytes(32)), audit, Senders(allow_private=False),
                               allow_private=False, clock=lambda: datetime.now(UTC))
    sweeper = RetentionSweeper(database, chdb, AuditTables(olap_database), load_or_create_signing_key(tmp_path))
    return SettingsPorts(bill.api, forwarding, RetentionApi(database, sweeper))


@pytest.fixture
def gateway_app(gateway_app: FastAPI, settings_ports: SettingsPorts) -> FastAPI:
    mount_billing(gateway_app, settings_ports.billing)
    mount_forwarding(gateway_app, settings_ports.forwarding)
    mount_retention(gateway_app, settings_ports.retention)
    mount_slack(gateway_app, SlackApp())
    return gateway_app


async def seed_settings(ports: SettingsPorts, owner: Any) -> dict[str, str]:
    """A's issued invoice for last month and A's observability destination."""
    actor = Actor(ActorType.USER, owner.user.user_id, owner.email, "")
    last_month = (datetime.now(UTC).replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    await ports.billing.issue_invoice(owner.org.org_id, last_month, actor)
    made = await ports.forwarding.create_destination(
        owner.org.org_id, "collector", "datadog", {"site": "datadoghq.eu", "api_key": "0123456789abcdef" * 2}, actor)
    return {"month": last_month, "fmt": "pdf", "forwarding_destination_id": made.destination_id}


def url_of(path: str, values: dict[str, str]) -> str:
    """``path`` with A's values; ``{destination_id}`` names a notification destination except
    under external observability (forwarding), whose destinations are another id space."""
    if "/observability/" in path or "/forwarding/" in path:
        values = {**values, "destination_id": values["forwarding_destination_id"]}
    return path.format(**values)


def api_routes(routes: Sequence[BaseRoute]) -> Iterator[APIRoute]:
    """Every APIRoute, also inside included routers (FastAPI >= 0.165 keeps an included
    router as one entry whose ``original_router`` holds its routes)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from api_routes(inner.routes)


# GETs whose answer for the org's own owner needs a running audit index (coverage analysis,
# which this app's compliance port has not): their 200s, and another organisation's stack
# answering 404, are in test_compliance_coverage_gateway.py; the walk above still sees them 404.
READ_THE_AUDIT_INDEX = frozenset({"/o/{org}/compliance/coverage", "/o/{org}/compliance/coverage/gap",
                                  "/api/v1/orgs/{org}/compliance/coverage",
                                  "/api/v1/orgs/{org}/compliance/coverage/gap"})


def id_bearing_routes(app: FastAPI) -> list[tuple[str, str, frozenset[str]]]:
    found = []
    for route in api_routes(app.routes):
        if route.path in PUBLIC_BY_DESIGN:
            continue
        params = frozenset(re.findall(r"\{(\w+)(?::\w+)?\}", route.path))
        if not params:
            continue
        for method in sorted(route.methods - {"HEAD"}):
            found.append((method, route.path, params))
    return found


async def call(client: httpx.AsyncClient, method: str, path: str, csrf: str, stack_id: str) -> httpx.Response:
    if path.startswith("/api/"):
        body = None if method in ("GET", "DELETE") else {
            "role": "viewer", "name": "x", "slug": "x", "email": "x@example.test", "enabled": False,
            "public_key": PINNED_KEY, "user_id": "x", "sso_groups": [], "connection_id": "x", "repository": "x/y",
            "days": 30, "reason": "x"}
        return await client.request(method, path, json=body, headers={"X-CSRF-Token": csrf})
    data = None if method == "GET" else {
        "csrf_token": csrf, "role": "viewer", "name": "x", "slug": "x", "email": "x@example.test",
        "stack_id": stack_id, "public_key": PINNED_KEY, "user_id": "x", "days": "30", "reason": "x"}
    return await client.request(method, path, data=data)


async def seed_acme(a: Any, identity: Identity, people: People, stacks: StackStore, database: Database,
                    compliance_port: CompliancePort, git_port: GitPort, settings_ports: SettingsPorts
                    ) -> tuple[Any, Any, dict[str, str]]:
    """Organisation A's member, stack and one object of every kind a route can name: (member,
    stack, the value of each path parameter)."""
    a_member = await people.member(a, Role.OPERATOR)
    a_stack, _ = await stacks.register_stack(a.org.org_id, "payments")
    a_key, _ = await identity.api_keys.create(a.org.org_id, "ci", Role.VIEWER, await people.principal(a))
    a_invitation, _ = await identity.invitations.create(a.org.org_id, "x@example.test", Role.VIEWER,
                                                        await people.principal(a))
    values = {"org": a.org.slug, "user_id": a_member.user.user_id, "key_id": a_key.key_id,
              "invitation_id": a_invitation.invitation_id, "stack_id": a_stack.stack_id, "agent_id": AGENT,
              "sha256": hashlib.sha256(FMS.encode()).hexdigest()}
    await report_status(database, a.org.org_id, a_stack.stack_id)
    values.update(await seed_ids(database, a.org.org_id, a_stack.stack_id, AGENT))
    values.update(await seed_routing(database, a.org.org_id, a_stack.stack_id))
    values["signing_key_id"] = (await stacks.signing_keys.pin(
        a.org.org_id, a_stack.stack_id, PINNED_KEY, added_by="user:test")).key_id
    values.update(await seed_compliance(compliance_port, a))
    values["group_id"] = await seed_group(identity, people, a, a_member.user.user_id)
    values["connection_id"] = await seed_git(git_port, a, a_stack.stack_id)
    values.update(await seed_settings(settings_ports, a))
    return a_member, a_stack, values


async def test_every_id_bearing_url_of_another_org_is_not_found(
        gateway_app: FastAPI, client_factory: MakeClient, identity: Identity, people: People,
        stacks: StackStore, database: Database, compliance_port: CompliancePort, git_port: GitPort,
        settings_ports: SettingsPorts) -> None:
    a = await people.org("acme")
    b = await people.org("beta")
    a_member, a_stack, values = await seed_acme(a, identity, people, stacks, database, compliance_port, git_port,
                                                settings_ports)

    b_browser = client_factory()
    await sign_in(b_browser, b.email, PASSWORD)
    b_csrf = (await b_browser.get("/api/v1/me")).json()["csrf_token"]
    _, b_key = await identity.api_keys.create(b.org.org_id, "b-owner", Role.OWNER, await people.principal(b))
    b_robot = client_factory(headers={"Authorization": f"Bearer {b_key}"})

    routes = id_bearing_routes(gateway_app)
    assert len(routes) >= 20, "the route table should hold the settings UI and API"
    unknown = {p for _, path, params in routes for p in params - values.keys()}
    assert not unknown, (f"path parameters {sorted(unknown)} have no organisation-A value in this test: add one "
                         "to `values`, or add the route to PUBLIC_BY_DESIGN with the reason")
    leaks = []
    for method, path, params in routes:
        slugs = [a.org.slug] if params == {"org"} else [a.org.slug, b.org.slug]
        for slug in slugs:
            url = url_of(path, {**values, "org": slug})
            callers = [b_browser, b_robot] if url.startswith("/api/") else [b_browser]
            for client in callers:
                response = await call(client, method, url, b_csrf, a_stack.stack_id)
                if response.status_code != 404:
                    leaks.append((method, url, "api key" if client is b_robot else "session", response.status_code))
    assert not leaks, leaks
    # Still A's: nothing above changed A's member, key or invitation.
    assert (await identity.members.get(a.org.org_id, a_member.user.user_id)).role is Role.OPERATOR
    assert [k.revoked_at for k in await identity.api_keys.all(a.org.org_id)] == [None]
    assert [k.active for k in await stacks.signing_keys.list(a.org.org_id, a_stack.stack_id)] == [True]
    group = await identity.groups.get(a.org.org_id, values["group_id"])
    assert (group.name, group.emails(), group.sso_claims) == ("oncall", [a_member.email], ())


async def test_the_same_urls_work_for_the_orgs_own_owner(
        gateway_app: FastAPI, client_factory: MakeClient, identity: Identity, people: People,
        stacks: StackStore, database: Database, compliance_port: CompliancePort, git_port: GitPort,
        settings_ports: SettingsPorts) -> None:
    """The control: the walk above would notice a leak, because these GETs do answer A's owner."""
    a = await people.org("acme")
    *_, values = await seed_acme(a, identity, people, stacks, database, compliance_port, git_port, settings_ports)
    owner = client_factory()
    await sign_in(owner, a.email, PASSWORD)
    answered = []
    for method, path, _ in id_bearing_routes(gateway_app):
        if method != "GET" or path in READ_THE_AUDIT_INDEX:
            continue
        response = await owner.get(url_of(path, values))
        answered.append((path, response.status_code))
    assert answered and all(code == 200 for _, code in answered), [a for a in answered if a[1] != 200]
