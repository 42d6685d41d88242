"""Home's live activity stream, an agent's delegation topology and a stack's config drift in
a browser (Debian chromium via Playwright), against the real gateway with the fleet
projection and the audit index (PostgreSQL log + chDB) consuming in the background."""

from __future__ import annotations

import asyncio
import hashlib
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from faramesh_cloud.audit_index.reader import IndexReader
from faramesh_cloud.events.topics import SYNC_ITEMS
from faramesh_cloud.fleet.service import FleetProjection
from faramesh_cloud.gateway.web.fleet_ports import FleetPorts, mount_fleet
from faramesh_cloud.runtime.fleet_wiring import IndexFleetAudit
from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.embedded import EmbeddedPostgres
from tests.browser.audit_gateway import AuditGateway, serve_audit
from tests.fixtures.browser import NewPage, screenshot
from tests.fixtures.browser import sign_in as browser_sign_in
from tests.fleet_items import record, status
from tests.integration.audit_support import fleet, publish

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.chdb]
OWNER = "olga@example.test"
CLOUD_URL = "https://cloud.example.test:8443"
# payments-eu's applied governance.fms: untrusted text, with markup that must show as text.
GOVERNANCE_FMS = (
    'runtime {\n  cloud_url     = "https://cloud.example.test:8443"\n'
    '  cloud_api_key = env("FARAMESH_CLOUD_API_KEY")\n}\n\n'
    'agent "orchestrator" {\n  default deny\n  rules {\n'
    '    deny shell/exec reason "<script>window.__pwned = 1</script>"\n  }\n}\n'
)


class FleetAuditGateway(AuditGateway):
    """The live gateway with Home/Fleet mounted over the fleet projection and the audit index,
    both consuming the PostgreSQL log in the server's loop, as ``faramesh-cloud up`` runs them."""

    pool_size = 8
    projection: FleetProjection | None = None

    async def _start_parts(self, db: Database) -> None:
        assert self.log is not None and self.stacks is not None
        await self.log.create_topic(SYNC_ITEMS, 4)
        self.projection = FleetProjection(db, self.log, self.stacks, disconnect_after_s=120)
        await self.projection.start()
        await super()._start_parts(db)

    def _app(self, db: Database) -> Any:
        assert self.projection is not None and self.stacks is not None
        app = super()._app(db)
        mount_fleet(app, FleetPorts(query=self.projection.query, registry=self.stacks, cloud_url=CLOUD_URL,
                                    audit=IndexFleetAudit(IndexReader(self.olap, db, self.tables))))
        return app

    async def _stop_parts(self) -> None:
        await super()._stop_parts()
        if self.projection is not None:
            await self.projection.stop()


@pytest.fixture(scope="module")
def gateway(embedded_postgres: EmbeddedPostgres, pg_template: str, chdb_data_dir: Path,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[FleetAuditGateway]:
    with serve_audit(FleetAuditGateway, embedded_postgres, pg_template, "l", chdb_data_dir,
                     tmp_path_factory) as live:
        yield live


@pytest.fixture(scope="module")
def acme(gateway: FleetAuditGateway) -> dict[str, Any]:
    """payments-eu: an orchestrator delegating to a worker, which delegates to a helper; its
    daemon applied policy 0123456789abcdef but decides under 3f2a9c1b7d4e5f60; payments-us
    applied a newer commit of the same branch."""
    boss, worker, helper = fleet("pay", 3, ["checkout-7"], seed=21)
    now_ns = time.time_ns() - 60 * 10**9
    recs = [boss.next(now_ns)]
    for i in range(3):
        recs.append(worker.next(now_ns + (i + 1) * 10**6, invoked_by_agent_id=boss.agent_id,
                                invoked_by_dpr_record_id=recs[0]["record_id"]))
    recs.append(helper.next(now_ns + 10**8, invoked_by_agent_id=worker.agent_id,
                            invoked_by_dpr_record_id=recs[-1]["record_id"]))
    recs += [boss.next(now_ns + 2 * 10**8 + i) for i in range(3)]

    async def seed() -> dict[str, Any]:
        gw = gateway
        assert gw.identity and gw.stacks and gw.log and gw.projection
        org, (eu, us) = await gw.seed_acme(OWNER, "Olga Operator", ("payments-eu", "production"),
                                           ("payments-us", "production"))
        now = datetime.now(UTC)
        agents = tuple((a.agent_id, False, False, 1) for a in (boss, worker, helper))
        items = []
        for stack, commit, applied in ((eu, "9f8e7d6c5b4a39281706", now - timedelta(hours=3)),
                                       (us, "1a2b3c4d5e6f70819203", now - timedelta(hours=1))):
            report = status(now, commit=commit, applied_at=applied, agents=agents if stack is eu else ())
            report.applied_config.git_branch = "main"
            if stack is eu:
                report.applied_config.governance_fms = GOVERNANCE_FMS
                report.applied_config.governance_sha256 = hashlib.sha256(GOVERNANCE_FMS.encode()).hexdigest()
            items.append(record(org.org_id, stack.stack_id, 1, "stack_status", report))
        for item in items:
            await gw.log.append(SYNC_ITEMS, [item])
        await publish(gw.log, org.org_id, eu.stack_id, recs)
        async with asyncio.timeout(30):
            while gw.projection.sink.applied < len(items):
                await asyncio.sleep(0.05)
        for stack in (eu, us):
            await gw.stacks.touch(org.org_id, stack.stack_id)
        return {"org": org, "eu": eu.stack_id, "us": us.stack_id, "boss": boss, "worker": worker,
                "helper": helper, "records": recs}

    return gateway.run(seed)


def sign_in(page: Any, base: str) -> None:
    browser_sign_in(page, base, OWNER, lambda p: p.get_by_role("heading", name="Attention required"))


def test_home_activity_stream_is_pushed_without_reload(gateway: FleetAuditGateway, acme: dict[str, Any],
                                                       new_page: NewPage) -> None:
    page = new_page()
    sign_in(page, gateway.base)
    rows = page.locator("#activity tbody tr[data-record]")
    for _ in range(300):  # indexed in the background: reload until all are in
        if rows.count() >= len(acme["records"]):
            break
        page.wait_for_timeout(100)
        page.reload()
    expect(rows).to_have_count(len(acme["records"]))
    expect(page.locator("#activity-status")).to_have_text("Live")
    page.evaluate("window.__same_page = true")  # gone if the page reloaded
    fresh = acme["helper"].next(time.time_ns(), tool_id="db/query")

    async def push() -> None:
        assert gateway.log is not None
        await publish(gateway.log, acme["org"].org_id, acme["eu"], [fresh], first_seq=1_000)

    gateway.run(push)
    expect(page.locator(f'#activity tbody tr[data-record="{fresh["record_id"]}"]')).to_be_visible()
    expect(rows.first).to_contain_text("db/query")
    expect(rows.first).to_contain_text("payments-eu")  # the stack by name, also for pushed rows
    expect(rows).to_have_count(len(acme["records"]) + 1)
    assert page.evaluate("window.__same_page") is True
    # The drift of payments-eu is in the attention panel, linking to its Config tab.
    drift = page.locator("#attention-items li[data-kind=drift]")
    expect(drift).to_contain_text("payments-eu applied policy 0123456789abcdef")
    screenshot(page, "home-live-activity")
    drift.get_by_role("link").click()
    expect(page).to_have_url(re.compile(f"/fleet/stacks/{acme['eu']}/config$"))


def test_agent_delegation_topology_links_both_ways(gateway: FleetAuditGateway, acme: dict[str, Any],
                                                   new_page: NewPage) -> None:
    page = new_page()
    sign_in(page, gateway.base)
    worker, boss, helper = acme["worker"].agent_id, acme["boss"].agent_id, acme["helper"].agent_id
    page.goto(f"{gateway.base}/o/acme/fleet/stacks/{acme['eu']}/agents/{worker}")
    by = page.locator("#delegated-by")
    expect(by.locator(f"li[data-agent='{boss}']")).to_contain_text("3 records")
    expect(page.locator("#delegates-to").locator(f"li[data-agent='{helper}']")).to_be_visible()
    screenshot(page, "fleet-agent-delegation")
    by.get_by_role("link", name=boss, exact=True).click()
    expect(page.get_by_role("heading", name=f"Agent {boss}")).to_be_visible()
    tree = page.locator("#delegates-to")
    expect(tree.locator(f"li[data-agent='{worker}'] li[data-agent='{helper}']")).to_be_visible()  # nested
    expect(page.locator("#delegated-by")).to_contain_text("No agent delegated to it.")


def test_config_tab_flags_drift(gateway: FleetAuditGateway, acme: dict[str, Any], new_page: NewPage) -> None:
    page = new_page()
    sign_in(page, gateway.base)
    page.goto(f"{gateway.base}/o/acme/fleet/stacks/{acme['eu']}/config")
    expect(page.locator("#drift li[data-kind=running_differs]")).to_contain_text("policy 3f2a9c1b7d4e5f60")
    expect(page.locator("#drift li[data-kind=behind_branch]")).to_contain_text("payments-us applied 1a2b3c4d5e6f")
    expect(page.locator(f"#peers tr[data-stack='{acme['us']}']")).to_contain_text("1a2b3c4d5e6f")
    screenshot(page, "fleet-stack-config-drift")
    text = page.locator("#governance-fms")
    expect(text).to_contain_text('reason "<script>window.__pwned = 1</script>"')  # shown as text, not run
    expect(text.locator(".l")).to_have_count(GOVERNANCE_FMS.count("\n"))
    expect(text.locator(".l").nth(7).locator(".n")).to_have_text("8")
    assert page.evaluate("window.__pwned") is None
    expect(page.locator("#sha-mismatch")).to_have_count(0)
    text.scroll_into_view_if_needed()
    screenshot(page, "fleet-stack-config-text")
    page.locator("#drift li[data-kind=behind_branch]").get_by_role("link", name="its config").click()
    expect(page.locator("#no-drift")).to_be_visible()
