"""The session explorer as a timeline, over the real index (PostgreSQL + chDB, records pushed
through the real audit index) and the real approvals tables: one lane per agent (and one for
an invoking agent with no record of its own), delegation edges from ``invoked_by_agent_id``
(from the invoking record when ``invoked_by_dpr_record_id`` names one on the page), a DEFER
joined to Cloud's approval and to the resume record carrying the approval envelope, every
mark linking to its Explain; the flat table one tab away."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from faramesh_cloud.approvals.queries import ApprovalQueries
from faramesh_cloud.approvals.service import Approvals
from faramesh_cloud.gateway.app import create_app
from faramesh_cloud.gateway.web.approvals_ports import mount_approvals
from faramesh_cloud.identity.permissions import Role
from faramesh_cloud.identity.service import Identity
from faramesh_cloud.log.postgres import PostgresLog
from faramesh_cloud.olap.port import Olap
from faramesh_cloud.sql.database import Database
from faramesh_cloud.stacks.store import StackStore
from tests.fixtures.gateway import sign_in, static_status
from tests.fixtures.identity import People, Person
from tests.integration.audit_explorer_support import explorer_deps
from tests.integration.audit_support import fast_config, publish, run_index
from tests.integration.session_support import SESSION, TOKEN, seed_approval, session_records

pytestmark = [pytest.mark.postgres, pytest.mark.chdb, pytest.mark.integration]


async def _index(database: Database, log: PostgresLog, chdb: Olap, olap_database: str, org_id: str,
                 stack_id: str) -> dict[str, dict]:  # type: ignore[type-arg]
    pushed = session_records()
    await publish(log, org_id, stack_id, list(pushed.values()))
    await run_index(database, log, chdb, fast_config(olap_database), len(pushed))
    return pushed


def _attrs(svg: str, tag_class: str) -> list[dict[str, str]]:
    out = []
    for m in re.finditer(rf'<(?:g|a) class="{tag_class}[^"]*"([^>]*)>', svg):
        out.append(dict(re.findall(r'data-([a-z-]+)="([^"]*)"', m.group(1))))
    return out


async def _client(app: FastAPI, people: People) -> tuple[httpx.AsyncClient, str, str]:
    owner = await people.org("acme")
    client = await _signed_in(app, owner)
    return client, owner.org.org_id, owner.org.slug


async def _signed_in(app: FastAPI, person: Person) -> httpx.AsyncClient:
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")
    await sign_in(client, person.email, person.password)
    return client


async def test_a_member_who_may_not_read_approvals_sees_the_envelope_join_and_another_org_nothing(
        identity: Identity, stacks: StackStore, database: Database, postgres_log: PostgresLog, chdb: Olap,
        olap_database: str, tmp_path: Path, people: People) -> None:
    app = create_app(static_status, web=explorer_deps(identity, stacks, database, chdb, olap_database, tmp_path))
    mount_approvals(app, Approvals(database, postgres_log).api)
    owner = await people.org("acme")
    stack, _ = await stacks.register_stack(owner.org.org_id, "payments")
    await _index(database, postgres_log, chdb, olap_database, owner.org.org_id, stack.stack_id)
    approval_id = await seed_approval(database, owner.org.org_id, stack.stack_id)
    auditor = await _signed_in(app, await people.member(owner, Role.AUDITOR))  # audit read, no approvals read
    other = await _signed_in(app, await people.org("beta"))
    try:
        html = (await auditor.get(f"/o/acme/audit/sessions/{SESSION}")).text
        (join,) = _attrs(html, "join")
        assert join["state"] == "approved" and approval_id not in html and "/approvals/" not in html
        assert (await other.get(f"/o/beta/audit/sessions/{SESSION}")).status_code == 404
    finally:
        await auditor.aclose()
        await other.aclose()


async def test_the_timeline_draws_lanes_delegation_and_the_defer_approval_resume_join(
        identity: Identity, stacks: StackStore, database: Database, postgres_log: PostgresLog, chdb: Olap,
        olap_database: str, tmp_path: Path, people: People) -> None:
    app = create_app(static_status, web=explorer_deps(identity, stacks, database, chdb, olap_database, tmp_path))
    mount_approvals(app, Approvals(database, postgres_log).api)
    client, org_id, slug = await _client(app, people)
    try:
        stack, _ = await stacks.register_stack(org_id, "payments")
        pushed = await _index(database, postgres_log, chdb, olap_database, org_id, stack.stack_id)
        approval_id = await seed_approval(database, org_id, stack.stack_id)
        page = await client.get(f"/o/{slug}/audit/sessions/{SESSION}")
        assert page.status_code == 200, page.text[:500]
        html = page.text
        svg = re.search(r'<svg id="session-timeline".*?</svg>', html, re.S)
        assert svg, html[:3000]
        drawn = svg.group(0)

        lanes = _attrs(drawn, "lane")
        assert [(lane["agent"], lane["records"]) for lane in lanes] == [
            ("orchestrator", "1"), ("refunds-bot", "2"), ("mailer", "1"), ("planner", "0")]
        assert '<g class="lane outside" data-stack="' in drawn and 'data-agent="planner"' in drawn

        marks = _attrs(drawn, "mark")
        assert sorted((m["record"], m["effect"]) for m in marks) == sorted(
            (r["record_id"], r["effect"]) for r in pushed.values())
        for r in pushed.values():  # every mark opens its Explain
            assert f'href="/o/{slug}/audit/records/{r["record_id"]}" data-record="{r["record_id"]}"' in drawn
        assert '<text x="' in drawn and ">W</text>" in drawn and ">D</text>" in drawn  # letters, not colour alone

        edges = sorted((e["parent"], e["child"], e["from-record"]) for e in _attrs(drawn, "edge"))
        assert edges == [("orchestrator", "refunds-bot", "no"), ("orchestrator", "refunds-bot", "yes"),
                         ("planner", "mailer", "no")]

        (join,) = _attrs(drawn, "join")
        approval = (await ApprovalQueries(database).history(org_id))[0]
        assert join == {"defer": pushed["defer"]["record_id"], "token": TOKEN, "state": approval.state,
                        "resume": pushed["resume"]["record_id"]}
        assert f'href="/o/{slug}/approvals/{approval_id}" class="approval"' in drawn
        row = re.search(rf'<tr data-token="{TOKEN}">(.*?)</tr>', html, re.S)
        assert row and f"/o/{slug}/approvals/{approval_id}" in row.group(1)
        assert f'/audit/records/{pushed["resume"]["record_id"]}' in row.group(1)
        # The flat table is still there, one click away.
        assert html.count('<tr data-record="') == 4 and '<details id="flat-table"' in html

        table = (await client.get(f"/o/{slug}/audit/sessions/{SESSION}?view=table")).text
        assert "<svg id=\"session-timeline\"" not in table and table.count('<tr data-record="') == 4
        assert 'aria-current="page" id="view-table"' in table
        assert (await client.get(f"/o/{slug}/audit/sessions/{SESSION}?view=pie")).status_code == 400
    finally:
        await client.aclose()


async def test_without_cloud_approvals_the_defer_joins_through_the_daemons_envelope(
        identity: Identity, stacks: StackStore, database: Database, postgres_log: PostgresLog, chdb: Olap,
        olap_database: str, tmp_path: Path, people: People) -> None:
    app = create_app(static_status, web=explorer_deps(identity, stacks, database, chdb, olap_database, tmp_path))
    client, org_id, slug = await _client(app, people)
    try:
        stack, _ = await stacks.register_stack(org_id, "payments")
        pushed = await _index(database, postgres_log, chdb, olap_database, org_id, stack.stack_id)
        html = (await client.get(f"/o/{slug}/audit/sessions/{SESSION}")).text
        (join,) = _attrs(html, "join")
        assert join["state"] == "approved" and join["resume"] == pushed["resume"]["record_id"]
        row = re.search(rf'<tr data-token="{TOKEN}">(.*?)</tr>', html, re.S)
        assert row and "approved on the daemon by ada" in row.group(1)
    finally:
        await client.aclose()
