"""A member whose role on a stack is ``none`` does not learn that stack's name or id from any
page or API answer they can open (the stack filters of Home, Fleet, Audit and Approvals, the
REST lists), through real HTTP against the app with Fleet, Approvals and the DPR explorer."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from faramesh_cloud.fleet.query import FleetQuery
from faramesh_cloud.gateway.app import create_app
from faramesh_cloud.gateway.web.approvals_ports import mount_approvals
from faramesh_cloud.gateway.web.fleet_ports import FleetPorts, mount_fleet
from faramesh_cloud.identity.permissions import Role, StackRole
from faramesh_cloud.identity.service import Identity
from faramesh_cloud.log.postgres import PostgresLog
from faramesh_cloud.olap.port import Olap
from faramesh_cloud.sql.database import Database
from faramesh_cloud.stacks.store import StackStore
from tests.fixtures.gateway import CLOUD_URL, approvals_api, sign_in, static_status
from tests.fixtures.identity import PASSWORD, People
from tests.integration.audit_explorer_support import explorer_deps
from tests.integration.audit_support import fast_config, run_index

pytestmark = [pytest.mark.postgres, pytest.mark.chdb, pytest.mark.integration]

HIDDEN = "treasury-hidden-zq"


@pytest.fixture
def gateway_app(identity: Identity, stacks: StackStore, database: Database, chdb: Olap, olap_database: str,
                tmp_path: Path) -> FastAPI:
    app = create_app(static_status, web=explorer_deps(identity, stacks, database, chdb, olap_database, tmp_path))
    mount_fleet(app, FleetPorts(query=FleetQuery(database, stacks), registry=stacks, cloud_url=CLOUD_URL))
    mount_approvals(app, approvals_api(database))
    return app


PAGES = ["/o/acme/", "/o/acme/fleet", "/o/acme/audit", "/o/acme/audit/live", "/o/acme/audit/sessions",
         "/o/acme/audit/integrity", "/o/acme/approvals", "/o/acme/approvals/history", "/o/acme/emergency/commands"]
API = ["/api/v1/me", "/api/v1/orgs/acme/fleet/stacks", "/api/v1/orgs/acme/fleet/attention",
       "/api/v1/orgs/acme/fleet/budget-burn", "/api/v1/orgs/acme/fleet/activity", "/api/v1/orgs/acme/audit/integrity",
       "/api/v1/orgs/acme/audit/alerts", "/api/v1/orgs/acme/approvals", "/api/v1/orgs/acme/emergency-commands"]


async def test_a_stack_hidden_by_a_none_override_is_in_no_filter_and_no_list(
        served: str, people: People, stacks: StackStore, database: Database, postgres_log: PostgresLog, chdb: Olap,
        olap_database: str) -> None:
    await run_index(database, postgres_log, chdb, fast_config(olap_database), 0)  # the index's tables, empty
    owner = await people.org("acme")
    shown, _ = await stacks.register_stack(owner.org.org_id, "payments-shown", "production")
    hidden, _ = await stacks.register_stack(owner.org.org_id, HIDDEN, "production")
    viewer = await people.member(owner, Role.OPERATOR)
    await people.identity.members.set_stack_role(owner.org.org_id, viewer.user.user_id, hidden.stack_id,
                                                 StackRole.NONE, await people.principal(owner))
    async with httpx.AsyncClient(base_url=served) as browser:
        assert (await sign_in(browser, viewer.email, PASSWORD)).status_code == 303
        answers = {path: await browser.get(path) for path in PAGES + API}
    for path, answer in answers.items():
        assert answer.status_code == 200, (path, answer.status_code, answer.text[:300])
        assert HIDDEN not in answer.text and hidden.stack_id not in answer.text, path
    # The stack the member may see is offered in the filters.
    for path in ("/o/acme/", "/o/acme/audit", "/o/acme/approvals"):
        assert f'<option value="{shown.stack_id}"' in answers[path].text, path
    # The owner (no override) sees both.
    async with httpx.AsyncClient(base_url=served) as browser:
        await sign_in(browser, owner.email, PASSWORD)
        home = await browser.get("/o/acme/")
    assert f'<option value="{hidden.stack_id}"' in home.text
