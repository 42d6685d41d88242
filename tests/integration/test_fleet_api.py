"""Home, Fleet and Settings → Stacks over HTTP (the real app over ASGI) with real PostgreSQL
fed through the real fleet processor and sink: what each page and REST twin shows, the sync
state from last contact, the attention panel, role limits, and every stack action in the
platform audit log. Each test that reads the fleet runs twice: with the fleet query API in
process, and over the fleet service's gRPC API with mutual TLS (``tests/fleet_adapters.py``)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from faramesh_cloud.approvals.api import ApprovalsApi
from faramesh_cloud.approvals.decisions import Decisions
from faramesh_cloud.approvals.emergency import EmergencyCommands
from faramesh_cloud.approvals.queries import ApprovalQueries
from faramesh_cloud.fleet.processor import FleetProcessor
from faramesh_cloud.fleet.sink import FleetSink
from faramesh_cloud.gateway.app import create_app
from faramesh_cloud.gateway.web.approvals_ports import mount_approvals
from faramesh_cloud.gateway.web.deps import WebDeps
from faramesh_cloud.gateway.web.fleet_ports import FleetPorts, FleetReads, mount_fleet
from faramesh_cloud.identity.permissions import Role
from faramesh_cloud.identity.service import Identity
from faramesh_cloud.log.port import LogRecord
from faramesh_cloud.platform_audit.events import AuditAction
from faramesh_cloud.platform_audit.store import PlatformAuditLog
from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.migrate import migrate
from faramesh_cloud.stacks.store import StackStore
from tests.approvals_support import seed_ids
from tests.fixtures.gateway import CLOUD_URL, MakeClient, page_csrf, sign_in, static_status
from tests.fixtures.identity import PASSWORD, People, Person
from tests.fleet_adapters import both_fleet_reads  # noqa: F401  (fleet_reads: in process and over gRPC)
from tests.fleet_items import budget, credential, health, message, record, status

pytestmark = [pytest.mark.postgres, pytest.mark.grpc, pytest.mark.integration]


async def feed(database: Database, records: list[LogRecord]) -> None:
    processor = FleetProcessor()
    rows = [processor.process(message(r, i)) for i, r in enumerate(records)]
    await FleetSink(database).write(rows)  # type: ignore[arg-type]


async def seen(database: Database, stack_id: str, ago: timedelta) -> None:
    async with database.connection() as conn:
        await conn.execute("UPDATE stacks SET last_seen_at = now() - %s WHERE stack_id = %s", (ago, stack_id))


async def signed_in(client_factory: MakeClient, person: Person) -> httpx.AsyncClient:
    client = client_factory()
    response = await sign_in(client, person.email, PASSWORD)
    assert response.status_code in (302, 303), response.text[:300]
    return client


async def seed_fleet(people: People, stacks: StackStore, database: Database) -> tuple[Person, str, str]:
    acme = await people.org("acme")
    org = acme.org.org_id
    pay, _ = await stacks.register_stack(org, "payments-prod", "production")
    search, _ = await stacks.register_stack(org, "search-staging", "staging")
    now = datetime.now(UTC)
    await feed(database, [
        record(org, pay.stack_id, 1, "stack_status", status(now, commit="abcdef1234567890", summary="<b>3 rules</b>")),
        record(org, pay.stack_id, 2, "daemon_health", health(now)),
        record(org, pay.stack_id, 3, "budget_snapshot", budget(now, "payments-bot", 9.6, 10.0)),
        record(org, pay.stack_id, 4, "credential_expiry", credential(now, "payments-bot", now + timedelta(hours=5))),
        record(org, search.stack_id, 1, "daemon_health", health(now, ok=False)),
    ])
    await seen(database, pay.stack_id, timedelta(seconds=5))
    await seen(database, search.stack_id, timedelta(hours=2))
    return acme, pay.stack_id, search.stack_id


async def test_stack_list_columns_and_sync_state(client_factory: MakeClient, people: People, stacks: StackStore,
                                                 database: Database) -> None:
    acme, pay, _ = await seed_fleet(people, stacks, database)
    owner = await signed_in(client_factory, acme)
    rows = (await owner.get("/api/v1/orgs/acme/fleet/stacks")).json()
    by_name = {r["name"]: r for r in rows}
    p = by_name["payments-prod"]
    assert (p["environment"], p["framework"], p["commit"], p["daemon_version"]) == (
        "production", "langgraph", "abcdef1234567890", "1.4.2")
    assert p["commit_url"] == "https://github.com/acme/gov/commit/abcdef1234567890"
    assert (p["sync_status"], p["agent_count"], p["enforcement_layers"], p["health"]) == (
        "connected", 1, ["seccomp", "Landlock"], "healthy")
    assert p["last_apply_at"] is not None
    s = by_name["search-staging"]
    assert (s["sync_status"], s["health"]) == ("disconnected", "unhealthy")
    filtered = (await owner.get("/api/v1/orgs/acme/fleet/stacks?sync=disconnected")).json()
    assert [r["name"] for r in filtered] == ["search-staging"]
    page = await owner.get("/o/acme/fleet?sort=health")
    assert page.status_code == 200
    table = page.text[page.text.index('id="stacks"'):]
    assert table.index("search-staging") < table.index("payments-prod")  # unhealthy first
    detail = await owner.get(f"/o/acme/fleet/stacks/{pay}")
    assert "&lt;b&gt;3 rules&lt;/b&gt;" in detail.text and "<b>3 rules</b>" not in detail.text


async def test_home_attention_panel_and_strip(client_factory: MakeClient, people: People, stacks: StackStore,
                                              database: Database) -> None:
    acme, pay, search = await seed_fleet(people, stacks, database)
    owner = await signed_in(client_factory, acme)
    body = (await owner.get("/api/v1/orgs/acme/fleet/attention")).json()
    kinds = sorted(i["kind"] for i in body["items"])
    assert kinds == ["budget", "credential", "disconnected"]
    assert body["healthy"] is False
    assert body["strip"]["healthy"] == 1 and body["strip"]["unhealthy"] == 1 and body["strip"]["disconnected"] == 1
    hrefs = {i["kind"]: i["href"] for i in body["items"]}
    assert hrefs["disconnected"] == f"/o/acme/fleet/stacks/{search}"
    assert hrefs["budget"] == f"/o/acme/fleet/stacks/{pay}/agents/payments-bot"
    home = await owner.get("/o/acme/")
    assert "Attention required" in home.text and "Budget near breach" in home.text
    assert 'href="/o/acme/fleet?health=unhealthy"' in home.text
    burn = (await owner.get("/api/v1/orgs/acme/fleet/budget-burn")).json()
    assert [(b["name"], b["near_ceiling"]) for b in burn] == [("payments-prod", True)]


async def test_empty_attention_panel_means_healthy(client_factory: MakeClient, people: People) -> None:
    acme = await people.org("acme")
    owner = await signed_in(client_factory, acme)
    assert (await owner.get("/api/v1/orgs/acme/fleet/attention")).json()["healthy"] is True
    assert "the fleet is healthy" in (await owner.get("/o/acme/")).text


async def test_stack_tabs_agents_applies_providers(client_factory: MakeClient, people: People, stacks: StackStore,
                                                   database: Database) -> None:
    acme, pay, _ = await seed_fleet(people, stacks, database)
    owner = await signed_in(client_factory, acme)
    applies = (await owner.get(f"/api/v1/orgs/acme/fleet/stacks/{pay}/applies")).json()
    assert applies[0]["rollback_command"] == "git checkout abcdef1234567890 -- governance.fms && faramesh apply"
    assert "git checkout abcdef1234567890 -- governance.fms &amp;&amp; faramesh apply" in (
        await owner.get(f"/o/acme/fleet/stacks/{pay}/applies")).text
    providers = (await owner.get(f"/api/v1/orgs/acme/fleet/stacks/{pay}/providers")).json()
    assert [(p["name"], p["health"]) for p in providers] == [("faramesh/vault", "healthy")]
    agent = (await owner.get(f"/api/v1/orgs/acme/fleet/stacks/{pay}/agents/payments-bot")).json()
    assert agent["state"]["budgets"][0]["spent_usd"] == 9.6
    assert agent["state"]["credentials"][0]["source"] == "vault"
    for tab in ("", "/agents", "/config", "/applies", "/providers", "/agents/payments-bot"):
        assert (await owner.get(f"/o/acme/fleet/stacks/{pay}{tab}")).status_code == 200, tab
    # Integrations shows the stack's notification routing (the notifications API is mounted).
    assert f'/fleet/stacks/{pay}/integrations">Integrations</a>' in (await owner.get(f"/o/acme/fleet/stacks/{pay}")).text
    assert (await owner.get(f"/o/acme/fleet/stacks/{pay}/integrations")).status_code == 200


async def test_viewer_sees_fleet_health_but_not_stack_details(client_factory: MakeClient, people: People,
                                                              stacks: StackStore, database: Database) -> None:
    acme, pay, _ = await seed_fleet(people, stacks, database)
    viewer = await signed_in(client_factory, await people.member(acme, Role.VIEWER))
    assert len((await viewer.get("/api/v1/orgs/acme/fleet/stacks")).json()) == 2
    assert (await viewer.get(f"/api/v1/orgs/acme/fleet/stacks/{pay}")).status_code == 403
    assert (await viewer.get("/o/acme/settings/stacks")).status_code == 403


async def test_register_rotate_relabel_deregister_are_audited(client_factory: MakeClient, people: People,
                                                              identity: Identity, stacks: StackStore) -> None:
    acme = await people.org("acme")
    owner = await signed_in(client_factory, acme)
    csrf = await page_csrf(owner, "/o/acme/settings/stacks")
    created = await owner.post("/o/acme/settings/stacks", data={"csrf_token": csrf, "name": "payments-prod",
                                                               "environment": "production"})
    assert created.status_code == 200
    assert "fmc_sk_" in created.text and f'cloud_url     = &#34;{CLOUD_URL}&#34;' in created.text
    assert 'cloud_api_key = env(&#34;FARAMESH_CLOUD_API_KEY&#34;)' in created.text
    (stack,) = await stacks.list_stacks(acme.org.org_id)
    key = re.search(r'<pre id="stack-key">(fmc_sk_[^<]+)</pre>', created.text)
    assert key is not None
    assert key.group(1) not in (await owner.get("/o/acme/settings/stacks")).text  # the key is shown once
    assert await stacks.authenticate(key.group(1)) is not None

    headers = {"X-CSRF-Token": (await owner.get("/api/v1/me")).json()["csrf_token"]}
    relabel = await owner.put(f"/api/v1/orgs/acme/stacks/{stack.stack_id}/environment",
                              json={"environment": "prod-eu"}, headers=headers)
    assert relabel.json()["environment"] == "prod-eu"
    rotated = await owner.post(f"/api/v1/orgs/acme/stacks/{stack.stack_id}/rotate-key", json={"overlap_s": 3600},
                               headers=headers)
    assert rotated.json()["api_key"].startswith("fmc_sk_")
    keys = await stacks.list_keys(acme.org.org_id, stack.stack_id)
    assert len(keys) == 2 and sum(1 for k in keys if k.expires_at is not None) == 1  # the old one overlaps
    bad = await owner.post(f"/api/v1/orgs/acme/stacks/{stack.stack_id}/rotate-key", json={"overlap_s": -1},
                           headers=headers)
    assert bad.status_code == 422
    gone = await owner.delete(f"/api/v1/orgs/acme/stacks/{stack.stack_id}", headers=headers)
    assert gone.json()["deregistered_at"] is not None
    assert (await owner.get(f"/api/v1/orgs/acme/fleet/stacks/{stack.stack_id}")).status_code == 404

    actions = [e.action for e in await identity.audit.entries(acme.org.org_id)]
    for action in (AuditAction.STACK_REGISTERED, AuditAction.ORG_SETTINGS_CHANGED, AuditAction.STACK_KEY_ROTATED,
                   AuditAction.STACK_DEREGISTERED):
        assert action in actions, action


async def test_register_rejects_bad_input_with_a_message(client_factory: MakeClient, people: People) -> None:
    acme = await people.org("acme")
    owner = await signed_in(client_factory, acme)
    csrf = await page_csrf(owner, "/o/acme/settings/stacks")
    blank = await owner.post("/o/acme/settings/stacks", data={"csrf_token": csrf, "name": "  "})
    assert blank.status_code == 400 and "give the stack a name" in blank.text



RULE = "1 to 64 letters, digits, &#39;-&#39;, &#39;_&#39; and &#39;.&#39;, starting with a letter or a digit"


async def test_stack_names_follow_one_rule_in_the_form_and_the_api(client_factory: MakeClient, people: People,
                                                                   stacks: StackStore) -> None:
    acme = await people.org("acme")
    owner = await signed_in(client_factory, acme)
    form = await owner.get("/o/acme/settings/stacks")
    assert 'pattern="[A-Za-z0-9][A-Za-z0-9._\\-]{0,63}"' in form.text and 'maxlength="64"' in form.text
    assert RULE in form.text  # the rule is written next to the field
    csrf = await page_csrf(owner, "/o/acme/settings/stacks")
    headers = {"X-CSRF-Token": (await owner.get("/api/v1/me")).json()["csrf_token"]}
    for name in ("../etc", ".", "..", "a/b", "a\\b", "pay ments", "x" * 65, ".hidden"):
        page = await owner.post("/o/acme/settings/stacks", data={"csrf_token": csrf, "name": name})
        assert page.status_code == 400 and "is not a valid stack name" in page.text and RULE in page.text, name
        api = await owner.post("/api/v1/orgs/acme/stacks", json={"name": name}, headers=headers)
        assert api.status_code == 400 and "is not a valid stack name" in api.json()["detail"], name
    assert await stacks.list_stacks(acme.org.org_id) == []
    ok = await owner.post("/api/v1/orgs/acme/stacks", json={"name": "eu.payments_2"}, headers=headers)
    assert ok.status_code == 201 and ok.json()["name"] == "eu.payments_2"
    await owner.post("/o/acme/settings/stacks", data={"csrf_token": csrf, "name": "dup"})
    again = await owner.post("/o/acme/settings/stacks", data={"csrf_token": csrf, "name": "dup"})
    assert again.status_code == 400 and "already has a registered stack" in again.text


async def test_agent_page_carries_the_emergency_controls_when_approvals_run(
        web_deps: WebDeps, database: Database, people: People, stacks: StackStore, fleet_reads: FleetReads) -> None:
    await migrate(database, [("approvals", "faramesh_cloud.approvals")])  # no-op when the template has it
    acme, pay, _ = await seed_fleet(people, stacks, database)
    viewer = await people.member(acme, Role.AUDITOR)
    app = create_app(static_status, web=web_deps)
    mount_fleet(app, FleetPorts(query=fleet_reads, registry=stacks, cloud_url=CLOUD_URL))
    audit = PlatformAuditLog(database)
    mount_approvals(app, ApprovalsApi(ApprovalQueries(database), Decisions(database, audit),
                                      EmergencyCommands(database, audit)))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as owner, \
            httpx.AsyncClient(transport=transport, base_url="http://testserver") as auditor:
        await sign_in(owner, acme.email, PASSWORD)
        page = (await owner.get(f"/o/acme/fleet/stacks/{pay}/agents/payments-bot")).text
        assert f'action="/o/acme/emergency/{pay}/payments-bot"' in page and 'id="kill-agent"' in page
        await sign_in(auditor, viewer.email, PASSWORD)
        page = (await auditor.get(f"/o/acme/fleet/stacks/{pay}/agents/payments-bot")).text
        assert 'id="kill-agent"' not in page


async def test_home_lists_pending_approvals_when_the_approvals_section_runs(
        web_deps: WebDeps, database: Database, people: People, stacks: StackStore, fleet_reads: FleetReads) -> None:
    await migrate(database, [("approvals", "faramesh_cloud.approvals")])
    acme, pay, _ = await seed_fleet(people, stacks, database)
    approval_id = (await seed_ids(database, acme.org.org_id, pay, "payments-bot"))["approval_id"]
    viewer = await people.member(acme, Role.VIEWER)  # fleet health only: no approvals
    app = create_app(static_status, web=web_deps)
    mount_fleet(app, FleetPorts(query=fleet_reads, registry=stacks, cloud_url=CLOUD_URL))
    audit = PlatformAuditLog(database)
    mount_approvals(app, ApprovalsApi(ApprovalQueries(database), Decisions(database, audit),
                                      EmergencyCommands(database, audit)))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as owner, \
            httpx.AsyncClient(transport=transport, base_url="http://testserver") as other:
        await sign_in(owner, acme.email, PASSWORD)
        items = (await owner.get("/api/v1/orgs/acme/fleet/attention")).json()["items"]
        (approval,) = [i for i in items if i["kind"] == "approval"]
        assert approval["href"] == f"/o/acme/approvals/{approval_id}"
        assert "payments-bot → stripe/refund on payments-prod" in approval["text"]
        await sign_in(other, viewer.email, PASSWORD)
        items = (await other.get("/api/v1/orgs/acme/fleet/attention")).json()["items"]
        assert not [i for i in items if i["kind"] == "approval"]
