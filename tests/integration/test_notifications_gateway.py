"""Settings → Integrations, routing rules and the stack Integrations tab through the gateway
(httpx over ASGI, real PostgreSQL): a webhook's signing secret is shown once and no secret is
ever returned again; internal URLs are refused with the reason; destinations are Owner/Admin,
routing rules Owner/Admin/Operator (on their stacks), Viewers get 403; every change is in the
platform audit log; while the service rebuilds from the log a change is 503 with Retry-After.
Each test runs twice: with the service's API in process and over its gRPC API (mutual TLS,
``tests/notifications_adapters.py``)."""

from __future__ import annotations

import httpx
import pytest

from faramesh_cloud.identity.permissions import Role
from faramesh_cloud.platform_audit.store import PlatformAuditLog
from faramesh_cloud.sql.database import Database
from faramesh_cloud.stacks.store import StackStore
from tests.fixtures.gateway import MakeClient, csrf_of, sign_in
from tests.fixtures.identity import People, Person
from tests.integration.test_tenant_isolation import report_status
from tests.notifications_adapters import both_notifications_ports  # noqa: F401  (in process and over gRPC)

pytestmark = [pytest.mark.postgres, pytest.mark.integration]


async def signed_in(client_factory: MakeClient, person: Person) -> httpx.AsyncClient:
    client = client_factory()
    response = await sign_in(client, person.email, person.password)
    assert response.status_code in (302, 303), response.text[:300]
    return client


async def api_csrf(client: httpx.AsyncClient) -> dict[str, str]:
    return {"X-CSRF-Token": (await client.get("/api/v1/me")).json()["csrf_token"]}


async def test_destinations_show_the_signing_secret_once_and_refuse_internal_urls(
        client_factory: MakeClient, people: People, database: Database) -> None:
    owner = await people.org("acme")
    client = await signed_in(client_factory, owner)
    page = await client.get("/o/acme/settings/integrations")
    assert page.status_code == 200 and "Add a destination" in page.text
    created = await client.post("/o/acme/settings/integrations/destinations", data={
        "csrf_token": csrf_of(page.text), "name": "payments-hook", "kind": "webhook", "url": "https://1.1.1.1/hook"})
    assert created.status_code == 200 and 'id="signing-secret">whsec_' in created.text
    again = await client.get("/o/acme/settings/integrations")
    assert "payments-hook" in again.text and "whsec_" not in again.text
    listed = (await client.get("/api/v1/orgs/acme/notifications/destinations")).json()
    assert [d["name"] for d in listed] == ["payments-hook"]
    assert "whsec_" not in str(listed) and "signing_secret" not in listed[0]

    headers = await api_csrf(client)
    refused = await client.post("/api/v1/orgs/acme/notifications/destinations", headers=headers,
                                json={"name": "inside", "kind": "webhook", "url": "https://127.0.0.1:9/x"})
    assert refused.status_code == 400 and "loopback" in refused.json()["detail"]
    metadata = await client.post("/o/acme/settings/integrations/destinations", data={
        "csrf_token": csrf_of(again.text), "name": "meta", "kind": "slack_webhook",
        "url": "https://169.254.169.254/latest"})
    assert metadata.status_code == 400 and "cloud metadata address" in metadata.text
    made = await client.post("/api/v1/orgs/acme/notifications/destinations", headers=headers, json={
        "name": "pd", "kind": "pagerduty", "routing_key": "R0UT1NGKEY0123456789abcdefABCDEF"})
    assert made.status_code == 201 and "R0UT1NGKEY" not in made.text and made.json()["config"] == {"key_hint": "CDEF"}
    duplicate = await client.post("/api/v1/orgs/acme/notifications/destinations", headers=headers, json={
        "name": "pd", "kind": "pagerduty", "routing_key": "R0UT1NGKEY0123456789abcdefABCDEF"})
    assert duplicate.status_code == 409

    hook_id = listed[0]["destination_id"]
    rotated = await client.post(f"/api/v1/orgs/acme/notifications/destinations/{hook_id}/rotate-secret",
                                headers=headers, json={"overlap_s": 3600})
    assert rotated.status_code == 200 and rotated.json()["signing_secret"].startswith("whsec_")
    not_webhook = await client.post(
        f"/api/v1/orgs/acme/notifications/destinations/{made.json()['destination_id']}/rotate-secret",
        headers=headers, json={})
    assert not_webhook.status_code == 400 and "only webhook destinations" in not_webhook.json()["detail"]

    tested = await client.post(f"/api/v1/orgs/acme/notifications/destinations/{made.json()['destination_id']}/test",
                               headers=headers)
    assert tested.status_code == 202
    history = (await client.get("/api/v1/orgs/acme/notifications/deliveries")).json()
    assert [(h["destination"], h["event"], h["state"]) for h in history] == [("pd", "notification.test", "pending")]
    actions = [(e.action, e.actor.label) for e in await PlatformAuditLog(database).entries(owner.org.org_id)]
    assert ("org:integration:create", owner.email) in actions and ("org:integration:test", owner.email) in actions


async def test_operators_route_their_stacks_but_only_owners_and_admins_manage_destinations(
        client_factory: MakeClient, people: People, stacks: StackStore, database: Database) -> None:
    owner = await people.org("acme")
    stack, _ = await stacks.register_stack(owner.org.org_id, "payments-prod", "prod")
    await report_status(database, owner.org.org_id, stack.stack_id)
    operator = await people.member(owner, Role.OPERATOR)
    viewer = await people.member(owner, Role.VIEWER)
    owner_client = await signed_in(client_factory, owner)
    headers = await api_csrf(owner_client)
    hook = (await owner_client.post("/api/v1/orgs/acme/notifications/destinations", headers=headers, json={
        "name": "hook", "kind": "webhook", "url": "https://1.1.1.1/hook"})).json()
    pager = (await owner_client.post("/api/v1/orgs/acme/notifications/destinations", headers=headers, json={
        "name": "pager", "kind": "pagerduty", "routing_key": "R0UT1NGKEY0123456789abcdefABCDEF"})).json()

    op = await signed_in(client_factory, operator)
    op_headers = await api_csrf(op)
    forbidden = await op.post("/api/v1/orgs/acme/notifications/destinations", headers=op_headers,
                              json={"name": "x", "kind": "webhook", "url": "https://1.1.1.1/x"})
    assert forbidden.status_code == 403
    rule = await op.put("/api/v1/orgs/acme/notifications/routing-rules", headers=op_headers, json={
        "stack_id": stack.stack_id, "agent_id": "payments-bot", "steps": [
            {"after_minutes": 0, "destinations": [hook["destination_id"]]},
            {"after_minutes": 15, "destinations": [pager["destination_id"]]}]})
    assert rule.status_code == 200, rule.text
    assert rule.json()["scope"] == "stack and agent" and rule.json()["steps"][1]["after_minutes"] == 15
    backwards = await op.put("/api/v1/orgs/acme/notifications/routing-rules", headers=op_headers, json={
        "stack_id": stack.stack_id, "steps": [{"after_minutes": 0, "destinations": [hook["destination_id"]]},
                                              {"after_minutes": 0, "destinations": [pager["destination_id"]]}]})
    assert backwards.status_code == 400 and "must come later" in backwards.json()["detail"]
    in_use = await owner_client.delete(f"/api/v1/orgs/acme/notifications/destinations/{hook['destination_id']}",
                                       headers=headers)
    assert in_use.status_code == 409 and "used by routing rules" in in_use.json()["detail"]

    # The stack's Integrations tab shows its routing; the operator adds an organisation-wide...
    tab = await op.get(f"/o/acme/fleet/stacks/{stack.stack_id}/integrations")
    assert tab.status_code == 200 and "payments-bot" in tab.text and "after 15 min" in tab.text
    saved = await op.post("/o/acme/settings/integrations/rules", data={
        "csrf_token": csrf_of(tab.text), "stack_id": stack.stack_id, "agent_id": "", "back": "stack",
        "step0_destinations": [pager["destination_id"]]})
    assert saved.status_code == 303 and saved.headers["location"].startswith(
        f"/o/acme/fleet/stacks/{stack.stack_id}/integrations")
    rules = (await op.get(f"/api/v1/orgs/acme/notifications/routing-rules?stack_id={stack.stack_id}")).json()
    assert sorted(r["agent_id"] for r in rules) == ["", "payments-bot"]

    view = await signed_in(client_factory, viewer)
    assert (await view.get("/o/acme/settings/integrations")).status_code == 403
    assert (await view.get("/api/v1/orgs/acme/notifications/routing-rules")).status_code == 403
    entries = await PlatformAuditLog(database).entries(owner.org.org_id)
    assert [e.actor.label for e in entries if e.action == "approvals:routing:update"] == [operator.email] * 2


async def test_a_chain_integrity_rule_is_its_own_rule_beside_the_approvals_one(
        client_factory: MakeClient, people: People, stacks: StackStore, database: Database) -> None:
    owner = await people.org("acme")
    stack, _ = await stacks.register_stack(owner.org.org_id, "payments-prod", "prod")
    await report_status(database, owner.org.org_id, stack.stack_id)
    client = await signed_in(client_factory, owner)
    headers = await api_csrf(client)
    hook = (await client.post("/api/v1/orgs/acme/notifications/destinations", headers=headers, json={
        "name": "siem", "kind": "webhook", "url": "https://1.1.1.1/siem"})).json()
    steps = [{"after_minutes": 0, "destinations": [hook["destination_id"]]}]
    url = "/api/v1/orgs/acme/notifications/routing-rules"
    approvals = (await client.put(url, headers=headers, json={"steps": steps})).json()
    alerts = await client.put(url, headers=headers, json={"subject": "chain_integrity", "steps": steps})
    assert alerts.status_code == 200, alerts.text
    assert approvals["subject"] == "approvals" and alerts.json()["subject"] == "chain_integrity"
    assert alerts.json()["rule_id"] != approvals["rule_id"]  # same scope, another subject: another rule
    escalating = await client.put(url, headers=headers, json={"subject": "chain_integrity", "steps": [
        *steps, {"after_minutes": 5, "destinations": [hook["destination_id"]]}]})
    assert escalating.status_code == 400 and "one step" in escalating.json()["detail"]
    unknown = await client.put(url, headers=headers, json={"subject": "billing", "steps": steps})
    assert unknown.status_code == 422
    assert sorted(r["subject"] for r in (await client.get(url)).json()) == ["approvals", "chain_integrity"]

    # The page's form chooses the subject too; the rules table says what each rule routes.
    page = await client.get("/o/acme/settings/integrations")
    saved = await client.post("/o/acme/settings/integrations/rules", data={
        "csrf_token": csrf_of(page.text), "subject": "chain_integrity", "stack_id": stack.stack_id,
        "step0_destinations": [hook["destination_id"]]})
    assert saved.status_code == 303
    rules = {(r["subject"], r["stack_id"]) for r in (await client.get(url)).json()}
    assert ("chain_integrity", stack.stack_id) in rules
    assert "Chain-integrity alerts" in (await client.get("/o/acme/settings/integrations")).text


async def test_a_change_while_notifications_rebuilds_is_a_503_with_retry_after(
        client_factory: MakeClient, people: People, database: Database) -> None:
    owner = await people.org("acme")
    client = await signed_in(client_factory, owner)
    headers = await api_csrf(client)
    page = await client.get("/o/acme/settings/integrations")
    async with database.transaction() as conn:
        await conn.execute("INSERT INTO notification_catch_up (catching_up) VALUES (true)")
    api = await client.post("/api/v1/orgs/acme/notifications/destinations", headers=headers,
                            json={"name": "hook", "kind": "webhook", "url": "https://1.1.1.1/hook"})
    assert api.status_code == 503, api.text
    assert api.headers["retry-after"] == "30"
    assert api.json()["detail"].startswith("notifications is rebuilding its routing and delivery history")
    form = await client.post("/o/acme/settings/integrations/destinations", data={
        "csrf_token": csrf_of(page.text), "name": "hook", "kind": "webhook", "url": "https://1.1.1.1/hook"})
    assert form.status_code == 503 and form.headers["retry-after"] == "30"
    assert "The notifications service is busy" in form.text and "rebuilding" in form.text
    assert (await client.get("/o/acme/settings/integrations")).status_code == 200  # reading still works
    async with database.transaction() as conn:
        await conn.execute("DELETE FROM notification_catch_up")
    again = await client.post("/api/v1/orgs/acme/notifications/destinations", headers=headers,
                              json={"name": "hook", "kind": "webhook", "url": "https://1.1.1.1/hook"})
    assert again.status_code == 201, again.text


async def test_rule_steps_target_groups_in_the_form_the_api_and_the_rule_list(
        client_factory: MakeClient, people: People, stacks: StackStore, database: Database) -> None:
    owner = await people.org("acme")
    stack, _ = await stacks.register_stack(owner.org.org_id, "payments-prod", "prod")
    operator = await people.member(owner, Role.OPERATOR)
    oncall = await people.identity.groups.create(owner.org.org_id, "oncall", "", await people.principal(owner))
    owner_client = await signed_in(client_factory, owner)
    headers = await api_csrf(owner_client)
    mail = (await owner_client.post("/api/v1/orgs/acme/notifications/destinations", headers=headers, json={
        "name": "mail", "kind": "email", "smtp_host": "1.1.1.1", "smtp_port": 587, "sender": "cloud@example.test",
        "to": ["team@example.test"]})).json()
    assert "destination_id" in mail, mail

    # The operator (who routes, but does not read members) picks the group by name in the form.
    op = await signed_in(client_factory, operator)
    page = await op.get("/o/acme/settings/integrations")
    assert page.status_code == 200 and 'name="step0_groups"' in page.text and "oncall" in page.text
    saved = await op.post("/o/acme/settings/integrations/rules", data={
        "csrf_token": csrf_of(page.text), "stack_id": stack.stack_id, "agent_id": "",
        "step0_groups": [oncall.group_id], "step0_group_email": mail["destination_id"]})
    assert saved.status_code == 303, saved.text[:500]
    listed = (await op.get("/o/acme/settings/integrations")).text
    assert "group oncall" in listed and "(emailed via mail)" in listed
    tab = (await op.get(f"/o/acme/fleet/stacks/{stack.stack_id}/integrations")).text
    assert "group oncall" in tab
    [rule] = (await op.get("/api/v1/orgs/acme/notifications/routing-rules")).json()
    assert rule["steps"] == [{"after_minutes": 0, "destinations": [], "groups": [oncall.group_id],
                              "group_email": mail["destination_id"]}]
    op_headers = await api_csrf(op)
    unknown = await op.put("/api/v1/orgs/acme/notifications/routing-rules", headers=op_headers, json={
        "steps": [{"after_minutes": 0, "groups": ["00000000-0000-0000-0000-000000000009"],
                   "group_email": mail["destination_id"]}]})
    assert unknown.status_code == 400 and "no group" in unknown.json()["detail"]
    no_mail = await op.put("/api/v1/orgs/acme/notifications/routing-rules", headers=op_headers, json={
        "steps": [{"after_minutes": 0, "groups": [oncall.group_id]}]})
    assert no_mail.status_code == 400 and "email destinations" in no_mail.json()["detail"]


async def test_destinations_are_edited_in_the_page_and_the_api_without_touching_their_secret(
        client_factory: MakeClient, people: People, database: Database) -> None:
    owner = await people.org("acme")
    admin = await people.member(owner, Role.ADMIN)
    operator = await people.member(owner, Role.OPERATOR)
    client = await signed_in(client_factory, admin)
    headers = await api_csrf(client)
    mail = (await client.post("/api/v1/orgs/acme/notifications/destinations", headers=headers, json={
        "name": "mail", "kind": "email", "smtp_host": "1.1.1.1", "smtp_port": 587, "sender": "cloud@example.test",
        "to": ["team@example.test"], "password": "smtp-s3cret"})).json()
    hook = (await client.post("/api/v1/orgs/acme/notifications/destinations", headers=headers, json={
        "name": "hook", "kind": "webhook", "url": "https://1.1.1.1/hook"})).json()
    async with database.transaction() as conn:
        sealed_before = await (await conn.execute(
            "SELECT destination_id::text, secret FROM notification_destinations ORDER BY name")).fetchall()

    # REST: rename and change recipients; the password (a secret) is not editable here.
    patched = await client.patch(f"/api/v1/orgs/acme/notifications/destinations/{mail['destination_id']}",
                                 headers=headers, json={"name": "oncall-mail", "to": ["a@example.test", "b@example.test"],
                                                        "smtp_port": 465})
    assert patched.status_code == 200, patched.text
    assert patched.json()["name"] == "oncall-mail"
    assert patched.json()["config"]["to"] == ["a@example.test", "b@example.test"]
    assert patched.json()["config"]["smtp_port"] == 465 and patched.json()["config"]["smtp_host"] == "1.1.1.1"
    secret = await client.patch(f"/api/v1/orgs/acme/notifications/destinations/{hook['destination_id']}",
                                headers=headers, json={"url": "https://127.0.0.1/internal"})
    assert secret.status_code == 400 and "127.0.0.1" in secret.json()["detail"]
    taken = await client.patch(f"/api/v1/orgs/acme/notifications/destinations/{hook['destination_id']}",
                               headers=headers, json={"name": "oncall-mail"})
    assert taken.status_code == 409 and "exists already" in taken.json()["detail"]
    bad_to = await client.patch(f"/api/v1/orgs/acme/notifications/destinations/{mail['destination_id']}",
                                headers=headers, json={"to": ["not-an-address"]})
    assert bad_to.status_code == 400 and "not an email address" in bad_to.json()["detail"]
    unknown = await client.patch("/api/v1/orgs/acme/notifications/destinations/00000000-0000-4000-8000-000000000001",
                                 headers=headers, json={"name": "x"})
    assert unknown.status_code == 404
    op = await signed_in(client_factory, operator)
    assert (await op.patch(f"/api/v1/orgs/acme/notifications/destinations/{hook['destination_id']}",
                           headers=await api_csrf(op), json={"name": "mine"})).status_code == 403

    # The page: Edit → the form for its kind, prefilled → saved.
    listing = await client.get("/o/acme/settings/integrations")
    assert f"/settings/integrations/destinations/{hook['destination_id']}/edit" in listing.text
    form = await client.get(f"/o/acme/settings/integrations/destinations/{hook['destination_id']}/edit")
    assert form.status_code == 200 and 'value="https://1.1.1.1/hook"' in form.text and "Rotate secret" in form.text
    saved = await client.post(f"/o/acme/settings/integrations/destinations/{hook['destination_id']}/edit", data={
        "csrf_token": csrf_of(form.text), "name": "payments-hook", "url": "https://1.1.1.1/v2/hook"})
    assert saved.status_code == 303, saved.text[:500]
    refused = await client.post(f"/o/acme/settings/integrations/destinations/{hook['destination_id']}/edit", data={
        "csrf_token": csrf_of(form.text), "name": "payments-hook", "url": "https://169.254.169.254/x"})
    assert refused.status_code == 400 and "169.254.169.254" in refused.text
    [after] = [d for d in (await client.get("/api/v1/orgs/acme/notifications/destinations")).json()
               if d["destination_id"] == hook["destination_id"]]
    assert (after["name"], after["config"]["url"]) == ("payments-hook", "https://1.1.1.1/v2/hook")

    # The sealed secrets are untouched, and every edit is in the platform audit log.
    async with database.transaction() as conn:
        sealed_after = await (await conn.execute(
            "SELECT destination_id::text, secret FROM notification_destinations ORDER BY destination_id")).fetchall()
    assert sorted(sealed_after) == sorted(sealed_before)
    edits = [e for e in await PlatformAuditLog(database).entries(owner.org.org_id)
             if e.action == "org:integration:update"]
    assert [(e.actor.label, e.details["name"]["to"]) for e in edits] == [
        (admin.email, "oncall-mail"), (admin.email, "payments-hook")]
    assert edits[0].details["changed"]["to"] == {"from": ["team@example.test"],
                                                 "to": ["a@example.test", "b@example.test"]}


async def test_an_emergency_commands_rule_is_set_in_the_form_and_listed(
        client_factory: MakeClient, people: People, database: Database) -> None:
    owner = await people.org("acme")
    client = await signed_in(client_factory, owner)
    headers = await api_csrf(client)
    hook = (await client.post("/api/v1/orgs/acme/notifications/destinations", headers=headers, json={
        "name": "hook", "kind": "webhook", "url": "https://1.1.1.1/hook"})).json()
    page = await client.get("/o/acme/settings/integrations")
    assert '<option value="emergency_commands">' in page.text
    saved = await client.post("/o/acme/settings/integrations/rules", data={
        "csrf_token": csrf_of(page.text), "subject": "emergency_commands", "stack_id": "", "agent_id": "",
        "step0_destinations": [hook["destination_id"]]})
    assert saved.status_code == 303, saved.text[:500]
    listed = await client.get("/o/acme/settings/integrations")
    assert "Emergency commands" in listed.text
    [rule] = (await client.get("/api/v1/orgs/acme/notifications/routing-rules")).json()
    assert rule["subject"] == "emergency_commands"
    two = await client.put("/api/v1/orgs/acme/notifications/routing-rules", headers=headers, json={
        "subject": "emergency_commands", "steps": [{"after_minutes": 0, "destinations": [hook["destination_id"]]},
                                                   {"after_minutes": 5, "destinations": [hook["destination_id"]]}]})
    assert two.status_code == 400 and "one step" in two.json()["detail"]
