"""Commands that cannot be taken back, through real HTTP: a kill or isolate only for an agent
the stack's daemon has reported (fleet projection, DPRs in the audit index, approval requests;
404 naming the agent otherwise), and an API key that revokes itself only when it says so."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest
from fastapi import FastAPI

from faramesh_cloud.approvals.queries import ApprovalQueries
from faramesh_cloud.audit_index.reader import IndexReader
from faramesh_cloud.audit_index.schema import AuditTables
from faramesh_cloud.fleet.processor import FleetProcessor
from faramesh_cloud.fleet.query import FleetQuery
from faramesh_cloud.fleet.sink import FleetSink
from faramesh_cloud.gateway.app import create_app
from faramesh_cloud.gateway.web.approvals_ports import mount_approvals
from faramesh_cloud.gateway.web.deps import WebDeps
from faramesh_cloud.gateway.web.fleet_ports import FleetPorts, mount_fleet
from faramesh_cloud.identity.permissions import Role
from faramesh_cloud.log.postgres import PostgresLog
from faramesh_cloud.olap.port import Olap
from faramesh_cloud.runtime.fleet_wiring import IndexFleetAudit
from faramesh_cloud.sql.database import Database
from faramesh_cloud.stacks.store import StackStore
from tests.approvals_adapters import ADAPTERS
from tests.fixtures.gateway import (
    CLOUD_URL,
    approvals_api,
    csrf_of,
    page_csrf,
    serve_app,
    sign_in,
    static_status,
)
from tests.fixtures.identity import PASSWORD, People, Person
from tests.fleet_items import message, record, status
from tests.integration.audit_explorer_support import index_fleet

pytestmark = [pytest.mark.postgres, pytest.mark.integration]


async def _seed(people: People, stacks: StackStore, database: Database) -> tuple[Person, str, str, str]:
    """acme with payments-prod (whose status names payments-bot) and search-staging; an Owner API key."""
    owner = await people.org("acme")
    org = owner.org.org_id
    pay, _ = await stacks.register_stack(org, "payments-prod", "production")
    search, _ = await stacks.register_stack(org, "search-staging", "staging")
    rows = [FleetProcessor().process(message(record(org, pay.stack_id, 1, "stack_status",
                                                    status(datetime.now(UTC))), 0))]
    await FleetSink(database).write(rows)  # type: ignore[arg-type]
    _, key = await people.identity.api_keys.create(org, "ops", Role.OWNER, await people.principal(owner))
    return owner, pay.stack_id, search.stack_id, key


async def _commands(database: Database, org_id: str) -> list[str]:
    async with database.connection() as conn:
        rows = await (await conn.execute("SELECT agent_id FROM emergency_commands WHERE org_id = %s ORDER BY agent_id",
                                         (org_id,))).fetchall()
    return [r[0] for r in rows]


@pytest.mark.grpc
@pytest.mark.parametrize("approvals_port", ADAPTERS, indirect=True)  # the approvals API in process and over gRPC
async def test_kill_and_isolate_need_an_agent_the_stack_has_reported(
        served: str, people: People, stacks: StackStore, database: Database) -> None:
    owner, pay, search, key = await _seed(people, stacks, database)
    api = "/api/v1/orgs/acme/stacks/{}/agents/{}/{}"
    async with httpx.AsyncClient(base_url=served, headers={"Authorization": f"Bearer {key}"}) as client:
        ghost = await client.post(api.format(pay, "ghost-bot", "kill"), json={"reason": "runaway"})
        ghost_isolate = await client.post(api.format(pay, "ghost-bot", "isolate"), json={"reason": "runaway"})
        elsewhere = await client.post(api.format(search, "payments-bot", "kill"), json={"reason": "runaway"})
        assert await _commands(database, owner.org.org_id) == []
        real = await client.post(api.format(pay, "payments-bot", "kill"), json={"reason": "runaway"})
    for refused in (ghost, ghost_isolate, elsewhere):
        assert refused.status_code == 404, refused.text
    assert "'ghost-bot'" in ghost.json()["detail"] and "seen on this stack" in ghost.json()["detail"]
    assert "'payments-bot'" in elsewhere.json()["detail"]
    assert real.status_code == 201 and real.json()["agent_id"] == "payments-bot"
    assert await _commands(database, owner.org.org_id) == ["payments-bot"]

    # The page's form: an unknown agent is refused before the confirmation step.
    operator = await people.member(owner, Role.OPERATOR)
    async with httpx.AsyncClient(base_url=served) as browser:
        await sign_in(browser, operator.email, PASSWORD)
        csrf = await page_csrf(browser, "/o/acme/approvals")
        page = await browser.post(f"/o/acme/emergency/{pay}/ghost-bot",
                                  data={"kind": "kill", "reason": "runaway", "csrf_token": csrf})
        known = await browser.post(f"/o/acme/emergency/{pay}/payments-bot",
                                   data={"kind": "isolate", "reason": "runaway", "csrf_token": csrf})
    assert page.status_code == 404 and "ghost-bot" in page.text
    assert known.status_code == 200 and 'id="confirm-emergency"' in known.text


@pytest.mark.chdb
async def test_an_agent_known_only_from_its_dprs_can_be_isolated(
        web_deps: WebDeps, people: People, stacks: StackStore, database: Database, postgres_log: PostgresLog,
        chdb: Olap, olap_database: str) -> None:
    owner = await people.org("acme")
    stack, _ = await stacks.register_stack(owner.org.org_id, "payments-prod")
    await index_fleet(database, postgres_log, chdb, olap_database, owner.org.org_id, stack.stack_id, count=6)
    _, key = await people.identity.api_keys.create(owner.org.org_id, "ops", Role.OWNER,
                                                   await people.principal(owner))
    app: FastAPI = create_app(static_status, web=web_deps)
    mount_fleet(app, FleetPorts(query=FleetQuery(database, stacks), registry=stacks, cloud_url=CLOUD_URL,
                                audit=IndexFleetAudit(IndexReader(chdb, database, AuditTables(olap_database)))))
    mount_approvals(app, approvals_api(database))
    agent = f"{stack.stack_id}-agent-1"  # in the indexed DPRs only
    async with serve_app(app) as base, httpx.AsyncClient(
            base_url=base, headers={"Authorization": f"Bearer {key}"}) as client:
        known = await client.post(f"/api/v1/orgs/acme/stacks/{stack.stack_id}/agents/{agent}/isolate",
                                  json={"reason": "drifting"})
        unknown = await client.post(f"/api/v1/orgs/acme/stacks/{stack.stack_id}/agents/{agent}x/isolate",
                                    json={"reason": "drifting"})
    assert known.status_code == 201 and unknown.status_code == 404
    assert not await ApprovalQueries(database).pending(owner.org.org_id)  # known without any approval


async def test_an_api_key_revokes_itself_only_when_it_says_so(
        served: str, people: People) -> None:
    owner = await people.org("acme")
    principal = await people.principal(owner)
    me, key = await people.identity.api_keys.create(owner.org.org_id, "ops", Role.ADMIN, principal)
    other, _ = await people.identity.api_keys.create(owner.org.org_id, "ci", Role.VIEWER, principal)
    async with httpx.AsyncClient(base_url=served, headers={"Authorization": f"Bearer {key}"}) as client:
        unconfirmed = await client.delete(f"/api/v1/orgs/acme/api-keys/{me.key_id}")
        still = await client.get("/api/v1/orgs/acme/api-keys")
        another = await client.delete(f"/api/v1/orgs/acme/api-keys/{other.key_id}")  # no confirmation needed
        confirmed = await client.delete(f"/api/v1/orgs/acme/api-keys/{me.key_id}", params={"confirm_self": "true"})
        after = await client.get("/api/v1/orgs/acme/api-keys")
    assert unconfirmed.status_code == 409 and "confirm_self=true" in unconfirmed.json()["detail"]
    assert still.status_code == 200
    assert another.status_code == 200 and another.json()["revoked_at"] is not None
    assert confirmed.status_code == 200 and confirmed.json()["revoked_at"] is not None
    assert after.status_code == 401


async def test_revoking_a_key_on_the_page_asks_first(served: str, people: People) -> None:
    owner = await people.org("acme")
    key, _ = await people.identity.api_keys.create(owner.org.org_id, "ci-reports", Role.VIEWER,
                                                   await people.principal(owner))
    async with httpx.AsyncClient(base_url=served) as browser:
        await sign_in(browser, owner.email, PASSWORD)
        csrf = await page_csrf(browser, "/o/acme/settings/api-keys")
        asked = await browser.post(f"/o/acme/settings/api-keys/{key.key_id}/revoke", data={"csrf_token": csrf})
        untouched = [k.revoked_at for k in await people.identity.api_keys.all(owner.org.org_id)]
        done = await browser.post(f"/o/acme/settings/api-keys/{key.key_id}/revoke",
                                  data={"csrf_token": csrf_of(asked.text), "confirm": "yes"})
    assert asked.status_code == 200 and 'id="confirm-revoke-key"' in asked.text and "Revoke key ci-reports" in asked.text
    assert untouched == [None]
    assert done.status_code == 303
    assert [k.revoked_at is not None for k in await people.identity.api_keys.all(owner.org.org_id)] == [True]
