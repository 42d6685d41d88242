"""Settings → Retention and its REST twin on the real gateway and index: an Owner sets the
retention, places and releases a legal hold, previews a change and runs the job; a setting
below a declared framework's minimum is a 422 (REST) / 400 (page) with the citation and
changes nothing; other roles are refused; after the job, Audit → Chain integrity (page and
REST) says each chain verifies from its checkpoint."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner, Result
from fastapi import FastAPI

from faramesh_cloud.audit_index.postgres import COMPONENT
from faramesh_cloud.audit_index.retention import store
from faramesh_cloud.audit_index.retention.api import RetentionApi
from faramesh_cloud.audit_index.retention.sweep import RetentionSweeper
from faramesh_cloud.audit_index.schema import AuditTables, ensure_schema
from faramesh_cloud.cli.main import cli
from faramesh_cloud.fleet.query import FleetQuery
from faramesh_cloud.gateway.app import create_app
from faramesh_cloud.gateway.web.fleet_ports import FleetPorts, mount_fleet
from faramesh_cloud.gateway.web.retention_ports import mount_retention
from faramesh_cloud.identity.permissions import Role
from faramesh_cloud.identity.service import Identity
from faramesh_cloud.log.postgres import PostgresLog
from faramesh_cloud.olap.port import Olap
from faramesh_cloud.platform_audit.store import PlatformAuditLog
from faramesh_cloud.signing.keys import load_or_create_signing_key
from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.migrate import migrate
from faramesh_cloud.stacks.store import StackStore
from tests.fixtures.gateway import CLOUD_URL, csrf_of, serve_app, sign_in, static_status
from tests.fixtures.identity import PASSWORD, People
from tests.integration.audit_explorer_support import explorer_deps
from tests.integration.audit_support import publish
from tests.integration.retention_support import NOW, chains, index_until, started

pytestmark = [pytest.mark.chdb, pytest.mark.postgres, pytest.mark.integration]


@pytest.fixture
async def app(identity: Identity, stacks: StackStore, database: Database, chdb: Olap, olap_database: str,
              tmp_path: Path) -> FastAPI:
    await PlatformAuditLog(database).start()
    await migrate(database, [COMPONENT])
    ensure_schema(chdb, AuditTables(olap_database))  # the index makes its tables on start
    app = create_app(static_status, web=explorer_deps(identity, stacks, database, chdb, olap_database, tmp_path))
    sweeper = RetentionSweeper(database, chdb, AuditTables(olap_database), load_or_create_signing_key(tmp_path),
                               clock=lambda: NOW)
    mount_retention(app, RetentionApi(database, sweeper, clock=lambda: NOW))
    mount_fleet(app, FleetPorts(query=FleetQuery(database, stacks), registry=stacks, cloud_url=CLOUD_URL))
    return app


def client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")


async def api_csrf(web: httpx.AsyncClient) -> dict[str, str]:
    return {"X-CSRF-Token": (await web.get("/api/v1/me")).json()["csrf_token"]}


async def test_an_owner_sets_retention_holds_a_stack_previews_and_runs_the_job_and_integrity_says_so(
        app: FastAPI, people: People, stacks: StackStore, database: Database, postgres_log: PostgresLog,
        chdb: Olap, olap_database: str, tmp_path: Path) -> None:
    acme = await people.org("acme")
    org = acme.org.org_id
    stack, _ = await stacks.register_stack(org, "payments")
    pushed = chains(stack.stack_id, per_agent=12)
    await publish(postgres_log, org, stack.stack_id, pushed)
    index = await started(database, postgres_log, chdb, olap_database, load_or_create_signing_key(tmp_path))
    try:
        await index_until(index, len(pushed))
    finally:
        await index.stop()
    async with client(app) as web:
        await sign_in(web, acme.email, PASSWORD)
        page = await web.get("/o/acme/settings/retention")
        assert page.status_code == 200 and "No retention is set" in page.text
        saved = await web.post("/o/acme/settings/retention", data={"csrf_token": csrf_of(page.text), "days": "30"})
        assert saved.status_code == 303
        page = await web.get(saved.headers["location"])
        assert "DPRs stay <strong>30 days</strong>" in page.text and "Due now: 2026-01" in page.text

        held = await web.post(f"/o/acme/settings/retention/holds/{stack.stack_id}",
                              data={"csrf_token": csrf_of(page.text), "action": "hold", "reason": "matter 17"})
        assert held.status_code == 303
        headers = await api_csrf(web)
        status = (await web.get("/api/v1/orgs/acme/retention")).json()
        assert status["days"] == 30 and status["legal_holds"] == {stack.stack_id: "matter 17"}
        assert status["plan"]["removes"] == [] and "legal hold" in status["plan"]["keeps"][0]["why"]
        page = await web.get(held.headers["location"])  # the page names the stack, not its id
        assert f"legal hold on stack {stack.name} (matter 17)" in page.text
        assert f"stack {stack.stack_id}" not in page.text
        assert (await web.put("/api/v1/orgs/acme/retention/holds/not-a-stack", json={"reason": "x"},
                              headers=headers)).status_code == 404
        preview = (await web.get("/api/v1/orgs/acme/retention/dry-run", params={"days": 10})).json()
        assert preview["removes"] == []  # still on hold
        released = await web.delete(f"/api/v1/orgs/acme/retention/holds/{stack.stack_id}", headers=headers)
        assert released.status_code == 200 and released.json()["legal_holds"] == {}
        preview = (await web.get("/api/v1/orgs/acme/retention/dry-run", params={"days": 30})).json()
        assert [m["month"] for m in preview["removes"]] == ["2026-01", "2026-02"]
        page = await web.get("/o/acme/settings/retention", params={"preview_days": "30"})
        assert "the next run would remove" in page.text and "2026-02:" in page.text

        before = (await web.get("/api/v1/orgs/acme/audit/integrity")).json()
        assert [s["archive_status"] for s in before] == ["not archived: every record is in the live index"]
        ran = await web.post("/api/v1/orgs/acme/retention/sweep", headers=headers)
        assert ran.status_code == 200 and ran.json()["removed_months"] == ["2026-01", "2026-02"]
        swept = (await web.get("/api/v1/orgs/acme/audit-log", params={"action": "audit:retention:sweep"})).json()
        assert [e["actor"]["label"] for e in swept] == [acme.email]  # who pressed Run now
        assert ran.json()["chains_checkpointed"] == 3
        integrity = (await web.get("/api/v1/orgs/acme/audit/integrity")).json()
        texts = {a["verified_from"] for s in integrity for a in s["agents"]}
        assert len(texts) > 0 and all(t.startswith("verified from checkpoint ") and
                                      t.endswith("(earlier records removed by retention on 2026-04-20)") for t in texts)
        # The archive status says what the page says: records were removed, not "all in the index".
        assert [s["archive_status"] for s in integrity] == [
            "earlier records removed by retention (Settings → Retention); what is left of each agent chain "
            "verifies from its checkpoint"]
        one = (await web.get(f"/api/v1/orgs/acme/audit/integrity/{stack.stack_id}")).json()
        assert one[0]["archive_status"] == integrity[0]["archive_status"]
        # Verify of the first record left on a chain: it links to the chain's checkpoint.
        agent = integrity[0]["agents"][0]
        first = min((r for r in pushed if r["agent_id"] == agent["agent_id"] and r["created_at"] >= "2026-03"),
                    key=lambda r: r["created_at"])
        assert first["prev_record_hash"] == agent["checkpoint"]["record_hash"]
        verified = (await web.post(f"/api/v1/orgs/acme/audit/records/{first['record_id']}/verify",
                                   headers=headers)).json()
        link = next(k for k in verified["copies"][0]["checks"] if k["name"] == "link")
        assert verified["ok"] and link["ok"] is True
        assert f"retention checkpoint {agent['checkpoint']['chain_index']}" in link["message"]
        html = (await web.get("/o/acme/audit/integrity")).text
        assert "verified from checkpoint" in html and "earlier records removed by retention on 2026-04-20" in html
        assert integrity[0]["archive_status"] in html
        page = await web.get("/o/acme/settings/retention")
        assert "retention-sweeps" in page.text


async def test_a_retention_below_a_declared_minimum_is_refused_with_the_citation_and_other_roles_are_refused(
        app: FastAPI, people: People, database: Database) -> None:
    acme = await people.org("acme")
    viewer = await people.member(acme, Role.OPERATOR)
    async with database.transaction() as conn:
        await store.set_frameworks(conn, acme.org.org_id, ["pci-dss"], datetime(2026, 4, 1, tzinfo=UTC))
    async with client(app) as web:
        await sign_in(web, acme.email, PASSWORD)
        headers = await api_csrf(web)
        refused = await web.put("/api/v1/orgs/acme/retention", json={"days": 90}, headers=headers)
        assert refused.status_code == 422
        assert "PCI DSS v4.0.1 Requirement 10.5.1" in refused.json()["detail"]
        page = await web.get("/o/acme/settings/retention")
        assert "The longest minimum is <strong>365 days</strong>" in page.text
        form = await web.post("/o/acme/settings/retention", data={"csrf_token": csrf_of(page.text), "days": "90"})
        assert form.status_code == 400 and "Requirement 10.5.1" in form.text
        assert (await web.get("/api/v1/orgs/acme/retention")).json()["days"] is None
        assert (await web.put("/api/v1/orgs/acme/retention", json={"days": 0}, headers=headers)).status_code == 422
        assert (await web.put("/api/v1/orgs/acme/retention", json={"days": 400}, headers=headers)).status_code == 200
    async with client(app) as web:
        await sign_in(web, viewer.email, PASSWORD)
        assert (await web.get("/api/v1/orgs/acme/retention")).status_code == 403
        assert (await web.get("/o/acme/settings/retention")).status_code == 403


async def run(*args: str, key: str) -> Result:
    """The CLI in a worker thread (the served gateway answers it from this loop)."""
    return await asyncio.to_thread(CliRunner().invoke, cli, list(args), env={"FARAMESH_CLOUD_API_KEY": key})


async def test_the_cli_sets_holds_previews_and_is_refused_with_the_servers_reason(
        app: FastAPI, people: People, stacks: StackStore, database: Database) -> None:
    acme = await people.org("acme")
    org = acme.org.org_id
    await stacks.register_stack(org, "payments")
    principal = await people.principal(acme)
    _, admin = await people.identity.api_keys.create(org, "ci", Role.ADMIN, principal)
    _, operator = await people.identity.api_keys.create(org, "ops", Role.OPERATOR, principal)
    async with database.transaction() as conn:
        await store.set_frameworks(conn, org, ["hipaa"], datetime(2026, 4, 1, tzinfo=UTC))
    async with serve_app(app) as url:
        refused = await run("retention", "set", "365", "--url", url, key=admin)
        assert refused.exit_code == 2 and "45 CFR §164.316(b)(2)(i)" in refused.output
        done = await run("retention", "set", "2200", "--url", url, key=admin)
        assert done.exit_code == 0, done.output
        assert "retention: 2200 days" in done.output and "minimum: 2192 days (HIPAA Security Rule" in done.output
        stack_set = await run("retention", "set", "3000", "--stack", "payments", "--url", url, key=admin)
        assert stack_set.exit_code == 0 and "stack " in stack_set.output and ": 3000 days" in stack_set.output
        held = await run("retention", "hold", "payments", "--reason", "matter 9", "--url", url, key=admin)
        assert held.exit_code == 0 and "legal hold on payments: matter 9" in held.output
        shown = await run("retention", "show", "--url", url, key=admin)
        assert "legal hold on stack" in shown.output and "matter 9" in shown.output
        unknown = await run("retention", "hold", "nope", "--reason", "x", "--url", url, key=admin)
        assert unknown.exit_code == 2 and "no stack 'nope'" in unknown.output
        preview = await run("retention", "dry-run", "--days", "2200", "--url", url, key=admin)
        assert preview.exit_code == 0 and "removes nothing now" in preview.output
        released = await run("retention", "release", "payments", "--url", url, key=admin)
        assert released.exit_code == 0
        forbidden = await run("retention", "show", "--url", url, key=operator)
        assert forbidden.exit_code == 1 and "403" in forbidden.output
    async with database.connection() as conn:
        policies = await store.policies(conn, org)
    assert policies.org_days == 2200 and policies.holds == {} and list(policies.stack_days.values()) == [3000]
