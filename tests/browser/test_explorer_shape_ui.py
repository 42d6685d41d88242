"""The explorer's shape in a browser (issue 18): Home's attention panel grouped (a row per kind,
a link per stack to the filtered approvals queue, each item one click further), the session
explorer as a timeline (lanes, delegation edges, the DEFER → approval → resume join, a mark
opening its Explain, the flat table one tab away) and Explain in grouped sections with the
redactions marked. The gateway runs on uvicorn with the real audit index consuming in the
background, the fleet projection and the approvals tables; screenshots go to a temp dir."""

from __future__ import annotations

import asyncio
import json
import random
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from faramesh_cloud.approvals.service import Approvals
from faramesh_cloud.audit_index.reader import IndexReader
from faramesh_cloud.events.topics import SYNC_ITEMS
from faramesh_cloud.fleet.service import FleetProjection
from faramesh_cloud.gateway.web.approvals_ports import mount_approvals
from faramesh_cloud.gateway.web.fleet_ports import FleetPorts, mount_fleet
from faramesh_cloud.simulator.records import AgentWriter
from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.embedded import EmbeddedPostgres
from tests.approvals_support import seed_pending_aged
from tests.browser.audit_gateway import AuditGateway, serve_audit
from tests.fixtures.browser import NewPage, screenshot
from tests.fixtures.browser import sign_in as browser_sign_in
from tests.integration.audit_support import BASE_NS, HMAC_KEY, SEED, publish
from tests.integration.session_support import SESSION, TOKEN, seed_approval, session_records

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.chdb]
OWNER = "ada@example.test"


class ExplorerGateway(AuditGateway):
    """The audit gateway plus Home (the fleet projection) and the Approvals section."""

    projection: FleetProjection | None = None

    async def _start_parts(self, db: Database) -> None:
        await super()._start_parts(db)
        assert self.log is not None and self.stacks is not None
        await self.log.create_topic(SYNC_ITEMS, 4)
        self.projection = FleetProjection(db, self.log, self.stacks, disconnect_after_s=120)
        await self.projection.start()

    def _app(self, db: Database) -> Any:
        assert self.projection is not None and self.stacks is not None and self.log is not None
        app = super()._app(db)
        mount_fleet(app, FleetPorts(query=self.projection.query, registry=self.stacks,
                                    cloud_url="https://cloud.example.test"))
        mount_approvals(app, Approvals(db, self.log).api)
        return app

    async def _stop_parts(self) -> None:
        if self.projection is not None:
            await self.projection.stop()
        await super()._stop_parts()


@pytest.fixture(scope="module")
def gateway(embedded_postgres: EmbeddedPostgres, pg_template: str, chdb_data_dir: Path,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[ExplorerGateway]:
    with serve_audit(ExplorerGateway, embedded_postgres, pg_template, "x", chdb_data_dir, tmp_path_factory) as live:
        yield live


@pytest.fixture(scope="module")
def seeded(gateway: ExplorerGateway) -> dict[str, Any]:
    """Two stacks; payments-prod: the delegating session with its DEFER approved, a record with
    redacted args, five more pending approvals; search-prod: two pending approvals."""
    pushed = session_records()
    writer = AgentWriter("refunds-bot-2", random.Random(4), ed25519_seed=SEED, hmac_key=HMAC_KEY, signed_share=1.0,
                         sessions=["case-9"])
    redacted = writer.next(BASE_NS + 9 * 10**9, effect="PERMIT", tool_id="stripe/refund",
                           selector_snapshot={"amount": 120, "customer": {"api_key": "[redacted]",
                                                                         "email": "hmac:q83vEjRWeJA="}},
                           approval_envelope=json.dumps({"token": "ffff0000", "approved": True}))

    async def seed() -> dict[str, Any]:
        assert gateway.log is not None and gateway.db is not None
        org, (pay, search) = await gateway.seed_acme(OWNER, "Ada Owner", ("payments-prod", "production"),
                                                     ("search-prod", "production"))
        await publish(gateway.log, org.org_id, pay.stack_id, [*pushed.values(), redacted])
        approval_id = await seed_approval(gateway.db, org.org_id, pay.stack_id)
        await seed_pending_aged(gateway.db, org.org_id, pay.stack_id, [1, 3, 10, 40, 180], "aa00", first=10)
        await seed_pending_aged(gateway.db, org.org_id, search.stack_id, [31, 50], "bb00", first=100)
        reader = IndexReader(gateway.olap, gateway.db, gateway.tables)
        async with asyncio.timeout(60):  # indexed in the background
            while len((await reader.session_timeline(org.org_id, SESSION, None, 50)).records) < 4:
                await asyncio.sleep(0.1)
        return {"pay": pay.stack_id, "search": search.stack_id, "records": pushed, "redacted": redacted,
                "approval_id": approval_id}

    return gateway.run(seed)


def sign_in(page: Any, base: str) -> None:
    browser_sign_in(page, base, OWNER, lambda p: p.get_by_role("heading", name="Attention required"))


def test_home_groups_the_attention_panel_and_links_each_stack_to_its_filtered_queue(
        gateway: ExplorerGateway, seeded: dict[str, Any], new_page: NewPage) -> None:
    page = new_page()
    sign_in(page, gateway.base)
    row = page.locator('#attention-groups tr[data-group="approval"]')
    expect(row.locator(".group-count")).to_have_text("7")
    expect(row.locator(".group-split")).to_have_text("4 red · 3 yellow")
    expect(row.locator(".group-oldest")).to_have_text("3 h")
    items = page.locator('#attention-items li[data-kind="approval"]')
    expect(items.first).to_be_hidden()  # one click further
    screenshot(page, "home-attention-grouped")
    page.locator("#attention-details summary").click()
    expect(items).to_have_count(7)
    expect(items.first).to_be_visible()
    row.locator(f'a.stack-group[data-stack="{seeded["search"]}"]').click()
    expect(page).to_have_url(re.compile(rf"/o/acme/approvals\?stack={seeded['search']}$"))
    rows = page.locator("#approval-queue tbody tr[data-token]")
    expect(rows).to_have_count(2)
    assert sorted(rows.nth(i).get_attribute("data-token") or "" for i in range(2)) == ["bb000000", "bb000001"]


def test_session_timeline_lanes_edges_join_and_a_mark_opens_explain(
        gateway: ExplorerGateway, seeded: dict[str, Any], new_page: NewPage) -> None:
    page = new_page()
    sign_in(page, gateway.base)
    page.goto(f"{gateway.base}/o/acme/audit/sessions")
    page.get_by_label("Session id").fill(SESSION)
    page.get_by_role("button", name="Show timeline").click()
    svg = page.locator("#session-timeline")
    expect(svg).to_be_visible()
    expect(svg.locator("g.lane")).to_have_count(4)
    expect(svg.locator("g.edge")).to_have_count(3)
    join = svg.locator("g.join")
    expect(join).to_have_attribute("data-token", TOKEN)
    expect(join).to_have_attribute("data-resume", seeded["records"]["resume"]["record_id"])
    expect(page.locator(f'#defer-joins tr[data-token="{TOKEN}"] td.approval a')).to_have_attribute(
        "href", f"/o/acme/approvals/{seeded['approval_id']}")
    expect(page.locator("#timeline-legend")).to_contain_text("DEFER")
    screenshot(page, "audit-session-timeline")
    defer = seeded["records"]["defer"]["record_id"]
    svg.locator(f'a.mark[data-record="{defer}"]').click()
    expect(page).to_have_url(re.compile(f"/audit/records/{defer}$"))
    expect(page.get_by_role("heading", name=re.compile("Decision record"))).to_be_visible()
    page.go_back()
    page.locator("#view-table").click()
    expect(page).to_have_url(re.compile(r"view=table$"))
    expect(page.locator("#timeline tbody tr")).to_have_count(4)
    expect(page.locator("#session-timeline")).to_have_count(0)


def test_explain_sections_mark_the_redacted_args(gateway: ExplorerGateway, seeded: dict[str, Any],
                                                 new_page: NewPage) -> None:
    page = new_page()
    sign_in(page, gateway.base)
    page.goto(f"{gateway.base}/o/acme/audit/records/{seeded['redacted']['record_id']}")
    for key in ("identity", "decision", "rules", "args", "credentials", "latency", "chain"):
        expect(page.locator(f"#group-{key}")).to_be_visible()
    args = page.locator("#group-args")
    expect(args.locator("mark.redacted")).to_have_count(2)
    expect(args.locator("h3")).to_contain_text("2 values redacted by the daemon")
    expect(page.locator("#group-credentials")).to_contain_text("No credential was brokered")
    expect(page.locator("#latency-breakdown")).to_contain_text("Received by Cloud")
    screenshot(page, "audit-explain-sections")
