"""Approvals and emergency controls through the gateway (httpx over ASGI, real PostgreSQL):
the queue and detail pages render hostile args safely, decisions need a reason, a second
decision is a 409 with the reason, Viewers and Auditors get 403 and the attempt is in the
platform audit log, another organisation's ids are 404. Each test runs twice: the gateway
given the running approvals service's API in process (``up``) and its gRPC client over
mutual TLS (``serve gateway``; ``tests/approvals_adapters.py``)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from faramesh_cloud_api.sync.v1 import emergency_pb2, sync_pb2
from fastapi import FastAPI

from faramesh_cloud.approvals.service import Approvals
from faramesh_cloud.gateway.app import create_app
from faramesh_cloud.gateway.web.approvals_ports import mount_approvals
from faramesh_cloud.gateway.web.deps import WebDeps
from faramesh_cloud.identity.permissions import Role
from faramesh_cloud.log.postgres import PostgresLog
from faramesh_cloud.platform_audit.store import PlatformAuditLog
from faramesh_cloud.sql.database import Database
from faramesh_cloud.stacks.store import StackStore
from tests.approvals_adapters import ADAPTERS, approvals_adapter, both_approvals_ports  # noqa: F401
from tests.approvals_support import pending_event, push_events, seed_ids
from tests.fixtures.gateway import csrf_of, sign_in, static_status
from tests.fixtures.identity import People, Person
from tests.fixtures.internal_tls import ServiceTls
from tests.simulator_support import eventually

pytestmark = [pytest.mark.postgres, pytest.mark.grpc, pytest.mark.integration]

HOSTILE = b'{"note":"<script>alert(1)</script>","amount":120}'


@pytest.fixture
async def approvals(database: Database, postgres_log: PostgresLog) -> AsyncIterator[Approvals]:
    service = Approvals(database, postgres_log)
    await service.start()
    await service.caught_up()
    yield service
    await service.stop()


@pytest.fixture(params=ADAPTERS)
async def app(request: pytest.FixtureRequest, web_deps: WebDeps, approvals: Approvals,
              internal_tls: ServiceTls) -> AsyncIterator[FastAPI]:
    async with approvals_adapter(request.param, approvals.api, approvals.control, internal_tls) as port:
        app = create_app(static_status, web=web_deps)
        mount_approvals(app, port)
        yield app


@pytest.fixture
async def client_for(app: FastAPI) -> AsyncIterator:  # type: ignore[type-arg]
    clients: list[httpx.AsyncClient] = []

    async def make(person: Person) -> httpx.AsyncClient:
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=("203.0.113.9", 4711)),
                                   base_url="http://testserver")
        clients.append(client)
        response = await sign_in(client, person.email, person.password)
        assert response.status_code in (302, 303), response.text[:300]
        return client

    yield make
    for client in clients:
        await client.aclose()


@pytest.fixture
async def world(people: People, stacks: StackStore, approvals: Approvals,
                postgres_log: PostgresLog) -> dict[str, object]:
    owner = await people.org("acme")
    stack, _ = await stacks.register_stack(owner.org.org_id, "payments-prod", "prod")
    await push_events(postgres_log, owner.org.org_id, stack.stack_id, [
        pending_event("0000aaa1", args=HOSTILE), pending_event("0000aaa2", "support-triage", tool="zendesk/close")])

    async def projected() -> bool:
        return len(await approvals.queries.pending(owner.org.org_id)) == 2
    await eventually(projected, "two pending approvals", within_s=30)
    items = await approvals.queries.pending(owner.org.org_id)
    return {"owner": owner, "stack": stack, "items": {a.defer_token: a for a in items}}


async def _form_post(client: httpx.AsyncClient, page: str, action: str, data: dict[str, str]) -> httpx.Response:
    form = await client.get(page)
    assert form.status_code == 200, form.text[:300]
    return await client.post(action, data={**data, "csrf_token": csrf_of(form.text)})


async def test_queue_and_detail_render_and_a_decision_leaves_the_queue(world: dict, client_for, people: People) -> None:  # type: ignore[no-untyped-def,type-arg]
    owner: Person = world["owner"]  # type: ignore[assignment]
    operator = await people.member(owner, Role.OPERATOR)
    client = await client_for(operator)
    first = world["items"]["0000aaa1"]  # type: ignore[index]
    queue = await client.get("/o/acme/approvals")
    assert queue.status_code == 200 and "0000aaa1" in queue.text and "age-green" in queue.text
    filtered = await client.get("/o/acme/approvals?tool=zendesk/close")
    assert "0000aaa2" in filtered.text and "0000aaa1" not in filtered.text
    detail = await client.get(f"/o/acme/approvals/{first.approval_id}")
    assert detail.status_code == 200
    assert "<script>alert(1)</script>" not in detail.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in detail.text
    assert "/o/acme/audit/sessions/sess-1" in detail.text

    page = f"/o/acme/approvals/{first.approval_id}"
    no_reason = await _form_post(client, page, f"{page}/decide", {"verdict": "approve", "reason": "  "})
    assert no_reason.status_code == 400 and "reason is required" in no_reason.text
    done = await _form_post(client, page, f"{page}/decide", {"verdict": "approve", "reason": "verified"})
    assert done.status_code == 303
    queue = await client.get("/o/acme/approvals")
    assert "0000aaa1" not in queue.text and "0000aaa2" in queue.text
    again = await _form_post(client, page, f"{page}/decide", {"verdict": "deny", "reason": "changed my mind"})
    assert again.status_code == 409 and "already approved by" in again.text
    history = await client.get("/o/acme/approvals/history")
    assert "verified" in history.text and operator.email in history.text


async def test_the_api_decides_and_reports_conflicts(world: dict, client_for) -> None:  # type: ignore[no-untyped-def,type-arg]
    owner: Person = world["owner"]  # type: ignore[assignment]
    client = await client_for(owner)
    csrf = csrf_of((await client.get("/o/acme/approvals")).text)
    headers = {"x-csrf-token": csrf}
    listed = (await client.get("/api/v1/orgs/acme/approvals")).json()
    assert [a["defer_token"] for a in listed] == ["0000aaa1", "0000aaa2"]
    ids = [a["approval_id"] for a in listed]
    missing = await client.post(f"/api/v1/orgs/acme/approvals/{ids[0]}/decision", json={"verdict": "approve"},
                                headers=headers)
    assert missing.status_code == 422
    mixed = await client.post("/api/v1/orgs/acme/approvals/bulk-decision", headers=headers,
                              json={"approval_ids": ids, "verdict": "deny", "reason": "incident freeze"})
    assert mixed.status_code == 400 and mixed.json()["code"] == "mixed_pattern"
    assert "2 agents (payments-bot, support-triage)" in mixed.json()["detail"]
    assert len((await client.get("/api/v1/orgs/acme/approvals")).json()) == 2  # nothing was decided
    for approval_id in ids:  # one pattern each
        bulk = await client.post("/api/v1/orgs/acme/approvals/bulk-decision", headers=headers,
                                 json={"approval_ids": [approval_id], "verdict": "deny", "reason": "incident freeze"})
        assert bulk.status_code == 200 and len(bulk.json()["decided"]) == 1
    late = await client.post(f"/api/v1/orgs/acme/approvals/{ids[0]}/decision", headers=headers,
                             json={"verdict": "approve", "reason": "too late"})
    assert late.status_code == 409 and late.json()["code"] == "already_resolved"
    history = (await client.get("/api/v1/orgs/acme/approvals/history")).json()
    assert {h["state"] for h in history} == {"denied"} and {h["resolution_reason"] for h in history} == {"incident freeze"}


@pytest.mark.parametrize("role", [Role.VIEWER, Role.AUDITOR])
async def test_viewer_and_auditor_cannot_kill_and_the_attempt_is_logged(
        world: dict, client_for, people: People, audit_log: PlatformAuditLog, role: Role) -> None:  # type: ignore[no-untyped-def,type-arg]
    owner: Person = world["owner"]  # type: ignore[assignment]
    stack_id = world["stack"].stack_id  # type: ignore[attr-defined]
    person = await people.member(owner, role)
    client = await client_for(person)
    csrf = csrf_of((await client.get("/o/acme/")).text)
    refused = await client.post(f"/api/v1/orgs/acme/stacks/{stack_id}/agents/payments-bot/kill",
                                json={"reason": "I want to"}, headers={"x-csrf-token": csrf})
    assert refused.status_code == 403 and "fleet:agent:kill" in refused.json()["detail"]
    entries = [e for e in await audit_log.entries(owner.org.org_id) if e.action == "fleet:agent:kill"]
    assert len(entries) == 1 and entries[0].actor.label == person.email and "refused" in entries[0].details
    decide = await client.post(f"/api/v1/orgs/acme/approvals/{world['items']['0000aaa1'].approval_id}/decision",  # type: ignore[index]
                               json={"verdict": "approve", "reason": "x"}, headers={"x-csrf-token": csrf})
    assert decide.status_code == 403


async def test_operator_kills_with_reason_and_confirmation(world: dict, client_for, people: People,  # type: ignore[no-untyped-def,type-arg]
                                                           approvals: Approvals) -> None:
    owner: Person = world["owner"]  # type: ignore[assignment]
    stack_id = world["stack"].stack_id  # type: ignore[attr-defined]
    operator = await people.member(owner, Role.OPERATOR)
    client = await client_for(operator)
    action = f"/o/acme/emergency/{stack_id}/payments-bot"
    confirm = await _form_post(client, "/o/acme/approvals", action, {"kind": "kill", "reason": "runaway"})
    assert confirm.status_code == 200 and "Kill agent payments-bot" in confirm.text
    assert await approvals.commands.list(owner.org.org_id) == []  # nothing issued before confirming
    done = await client.post(action, data={"kind": "kill", "reason": "runaway", "confirm": "yes",
                                           "csrf_token": csrf_of(confirm.text)})
    assert done.status_code == 303
    [command] = await approvals.commands.list(owner.org.org_id)
    assert (command.agent_id, command.command_type, command.state, command.reason) == (
        "payments-bot", "kill", "issued", "runaway")
    shown = await client.get(done.headers["location"])
    assert shown.status_code == 200 and "issued" in shown.text

    # The agent's command list shows when it was issued, delivered and acknowledged.
    listed = await client.get(f"/o/acme/emergency/commands?stack={stack_id}&agent=payments-bot")
    assert listed.status_code == 200 and f'data-command-id="{command.command_id}" data-state="issued"' in listed.text
    await approvals.control.poll_commands(owner.org.org_id, stack_id)  # the daemon's poll
    ack = sync_pb2.AckEmergencyCommandRequest(command_id=command.command_id, dpr_record_id="rec-kill-1",
                                              outcome=emergency_pb2.EMERGENCY_COMMAND_OUTCOME_APPLIED)
    assert await approvals.control.ack_command(owner.org.org_id, stack_id, ack)
    done_row = await approvals.commands.get(owner.org.org_id, command.command_id)
    assert done_row.delivered_at is not None and done_row.acked_at is not None
    listed = await client.get(f"/o/acme/emergency/commands?stack={stack_id}&agent=payments-bot")
    row = listed.text.split(f'data-command-id="{command.command_id}"', 1)[1].split("</tr>", 1)[0]
    assert 'data-state="acknowledged"' in row and "applied" in row and "rec-kill-1" in row
    assert row.count("<time") >= 3, row  # issued, delivered and acknowledged times


async def test_another_org_gets_404_for_real_ids(world: dict, client_for, people: People,  # type: ignore[no-untyped-def,type-arg]
                                                 approvals: Approvals) -> None:
    owner: Person = world["owner"]  # type: ignore[assignment]
    stack_id = world["stack"].stack_id  # type: ignore[attr-defined]
    command = await approvals.commands.issue(owner.org.org_id, stack_id, "payments-bot",
                                             (await people.principal(owner)).actor, "test", "isolate", permitted=True)
    other = await people.org("globex")
    client = await client_for(other)
    approval_id = world["items"]["0000aaa1"].approval_id  # type: ignore[index]
    for path in (f"/o/globex/approvals/{approval_id}", f"/api/v1/orgs/globex/approvals/{approval_id}",
                 f"/o/globex/emergency/commands/{command.command_id}",
                 f"/api/v1/orgs/globex/emergency-commands/{command.command_id}",
                 f"/o/acme/approvals/{approval_id}", "/api/v1/orgs/acme/approvals"):
        assert (await client.get(path)).status_code == 404, path
    assert (await client.get("/api/v1/orgs/globex/approvals")).json() == []


async def test_the_fleet_agent_page_includes_kill_and_isolate(
        people: People, stacks: StackStore, client_factory) -> None:  # type: ignore[no-untyped-def]
    owner = await people.org("acme")
    stack, _ = await stacks.register_stack(owner.org.org_id, "payments-prod", "prod")
    operator = await people.member(owner, Role.OPERATOR)
    client = client_factory()
    await sign_in(client, operator.email, operator.password)
    response = await client.get(f"/o/acme/fleet/stacks/{stack.stack_id}/agents/payments-bot")
    assert response.status_code == 200, response.text[:300]
    assert 'id="kill-agent"' in response.text and 'id="isolate-agent"' in response.text
    assert f'action="/o/acme/emergency/{stack.stack_id}/payments-bot"' in response.text


async def test_home_lists_a_pending_approval_in_attention_required(
        people: People, stacks: StackStore, client_factory, database: Database) -> None:  # type: ignore[no-untyped-def]
    owner = await people.org("acme")
    stack, _ = await stacks.register_stack(owner.org.org_id, "payments-prod", "prod")
    ids = await seed_ids(database, owner.org.org_id, stack.stack_id, "payments-bot")
    client = client_factory()
    await sign_in(client, owner.email, owner.password)
    home = await client.get("/o/acme/")
    assert home.status_code == 200
    assert "Pending approval" in home.text and f"/o/acme/approvals/{ids['approval_id']}" in home.text


async def test_bulk_actions_cover_one_pattern_and_report_each_item(
        world: dict, client_for, people: People, approvals: Approvals, postgres_log: PostgresLog) -> None:  # type: ignore[no-untyped-def,type-arg]
    owner: Person = world["owner"]  # type: ignore[assignment]
    stack_id = world["stack"].stack_id  # type: ignore[attr-defined]
    await push_events(postgres_log, owner.org.org_id, stack_id, [pending_event("0000aaa3"), pending_event("0000aaa4")])

    async def four() -> bool:
        return len(await approvals.queries.pending(owner.org.org_id)) == 4
    await eventually(four, "four pending approvals", within_s=30)
    operator = await people.member(owner, Role.OPERATOR)
    client = await client_for(operator)
    items = {a.defer_token: a for a in await approvals.queries.pending(owner.org.org_id)}

    # Mixed agents / tools in the browser form: 400 with the reason, nothing decided.
    mixed = await _form_post(client, "/o/acme/approvals", "/o/acme/approvals/bulk", {
        "approval_ids": items["0000aaa1"].approval_id, "verdict": "deny", "reason": "freeze"})
    assert mixed.status_code == 200  # one approval is one pattern
    form = await client.get("/o/acme/approvals")
    refused = await client.post("/o/acme/approvals/bulk", data={
        "approval_ids": [items["0000aaa2"].approval_id, items["0000aaa3"].approval_id], "verdict": "deny",
        "reason": "freeze", "csrf_token": csrf_of(form.text)})
    assert refused.status_code == 400 and "one agent / tool / rule pattern" in refused.text
    assert {a.defer_token for a in await approvals.queries.pending(owner.org.org_id)} == {
        "0000aaa2", "0000aaa3", "0000aaa4"}

    # Filtered to one pattern, "select all shown" decides every one of them.
    pattern = await client.get("/o/acme/approvals?agent=payments-bot&tool=stripe/refund&rule=refunds-over-100")
    assert pattern.status_code == 200 and 'id="select-all-pattern"' in pattern.text
    assert "0000aaa2" not in pattern.text
    done = await client.post("/o/acme/approvals/bulk", data={
        "all_shown": "1", "shown_ids": [items["0000aaa3"].approval_id, items["0000aaa4"].approval_id],
        "verdict": "deny", "reason": "incident freeze", "csrf_token": csrf_of(pattern.text)})
    assert done.status_code == 200 and "2 decided" in done.text
    assert [a.defer_token for a in await approvals.queries.pending(owner.org.org_id)] == ["0000aaa2"]

    # Over the API each item gets its own result: decided, already resolved, unknown.
    csrf = csrf_of(pattern.text)
    await push_events(postgres_log, owner.org.org_id, stack_id, [pending_event("0000aaa5")])

    async def five() -> bool:
        return any(a.defer_token == "0000aaa5" for a in await approvals.queries.pending(owner.org.org_id))
    await eventually(five, "the fifth approval", within_s=30)
    fifth = next(a for a in await approvals.queries.pending(owner.org.org_id) if a.defer_token == "0000aaa5")
    unknown = "00000000-0000-4000-8000-000000000000"
    each = await client.post("/api/v1/orgs/acme/approvals/bulk-decision", headers={"x-csrf-token": csrf}, json={
        "approval_ids": [fifth.approval_id, items["0000aaa3"].approval_id, unknown],
        "verdict": "approve", "reason": "second look"})
    assert each.status_code == 200, each.text
    body = each.json()
    assert [d["approval_id"] for d in body["decided"]] == [fifth.approval_id]
    assert body["refused_codes"] == {items["0000aaa3"].approval_id: "already_resolved", unknown: "not_found"}
    assert "already denied by" in body["refused"][items["0000aaa3"].approval_id]


async def test_a_bulk_decision_of_more_than_200_is_refused_before_anything_is_decided(
        world: dict, client_for, people: People, approvals: Approvals) -> None:  # type: ignore[no-untyped-def,type-arg]
    """The queue shows up to 500 and "select all shown" sends them all; the approvals service
    takes at most 200 in one bulk decision (each its own transaction, inside the caller's
    deadline), so more is a 400 naming the limit and nothing is decided."""
    owner: Person = world["owner"]  # type: ignore[assignment]
    operator = await people.member(owner, Role.OPERATOR)
    client = await client_for(operator)
    first = world["items"]["0000aaa1"].approval_id  # type: ignore[index]
    padding = [f"00000000-0000-4000-8000-{n:012d}" for n in range(200)]
    form = await client.get("/o/acme/approvals")
    refused = await client.post("/o/acme/approvals/bulk", data={
        "all_shown": "1", "shown_ids": [first, *padding], "verdict": "approve", "reason": "all of them",
        "csrf_token": csrf_of(form.text)})
    assert refused.status_code == 400, refused.text[:300]
    assert "at most 200 approvals and 201 are selected" in refused.text
    assert {a.defer_token for a in await approvals.queries.pending(owner.org.org_id)} == {"0000aaa1", "0000aaa2"}


async def test_history_draws_the_pending_time_distribution_of_its_rows(world: dict, client_for) -> None:  # type: ignore[no-untyped-def,type-arg]
    import re
    from datetime import datetime

    from faramesh_cloud.gateway.web.approval_charts import BINS, bin_of

    client = await client_for(world["owner"])
    csrf = csrf_of((await client.get("/o/acme/approvals")).text)
    for a in (await client.get("/api/v1/orgs/acme/approvals")).json():
        done = await client.post(f"/api/v1/orgs/acme/approvals/{a['approval_id']}/decision",
                                 headers={"x-csrf-token": csrf}, json={"verdict": "deny", "reason": "checked"})
        assert done.status_code == 200
    rows = (await client.get("/api/v1/orgs/acme/approvals/history")).json()
    page = (await client.get("/o/acme/approvals/history")).text
    bars = dict(re.findall(r'<rect class="bar" data-label="([^"]+)"[^>]*data-value="(\d+)"', page))
    pending = [(datetime.fromisoformat(r["resolved_at"]) - datetime.fromisoformat(r["created_at"])).total_seconds()
               for r in rows]
    expected = {label: sum(1 for p in pending if bin_of(p) == label) for label, _ in BINS}
    assert {k.replace("&lt;", "<").replace("&gt;", ">"): int(v) for k, v in bars.items()} == expected
    assert sum(expected.values()) == len(rows) == page.count("<tr data-approval-id=") == 2
    assert 'id="pending-histogram"' in page and "approvals listed" in page
    none = (await client.get("/o/acme/approvals/history?tool=nothing/here")).text
    assert 'id="pending-histogram"' not in none
