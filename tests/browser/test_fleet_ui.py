"""Home, Fleet and Settings → Stacks in a browser (Debian chromium via Playwright) against the
real gateway on 127.0.0.1 with the fleet projection on real PostgreSQL. Sync items go through
the real log (PostgresLog) and the fleet projection's consumer, as in production."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from faramesh_cloud.events.topics import SYNC_ITEMS
from faramesh_cloud.fleet.service import FleetProjection
from faramesh_cloud.gateway.app import create_app
from faramesh_cloud.gateway.web.fleet_ports import FleetPorts, mount_fleet
from faramesh_cloud.identity.domain import OrgRef
from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.embedded import EmbeddedPostgres
from tests.fixtures.browser import LiveGateway, NewPage, screenshot, serve_live
from tests.fixtures.browser import sign_in as browser_sign_in
from tests.fixtures.gateway import static_status
from tests.fleet_items import budget, credential, health, record, status

OWNER = "fiona@example.test"
CLOUD_URL = "https://cloud.example.test:8443"


class FleetGateway(LiveGateway):
    """The live gateway with Home/Fleet/Settings → Stacks mounted and the fleet projection
    consuming ``sync.items.v1`` from the PostgreSQL log, all in the server's loop."""

    pool_size = 6
    with_log = True
    projection: FleetProjection | None = None

    async def _start_parts(self, db: Database) -> None:
        assert self.log is not None and self.stacks is not None
        await self.log.create_topic(SYNC_ITEMS, 4)
        self.projection = FleetProjection(db, self.log, self.stacks, disconnect_after_s=120)
        await self.projection.start()

    def _app(self, db: Database) -> Any:
        assert self.projection is not None and self.stacks is not None
        app = create_app(static_status, web=self._web_deps())
        mount_fleet(app, FleetPorts(query=self.projection.query, registry=self.stacks, cloud_url=CLOUD_URL))
        return app

    async def _stop_parts(self) -> None:
        if self.projection is not None:
            await self.projection.stop()


@pytest.fixture(scope="module")
def fleet_gateway(embedded_postgres: EmbeddedPostgres, pg_template: str,
                  tmp_path_factory: pytest.TempPathFactory) -> Iterator[FleetGateway]:
    with serve_live(embedded_postgres, pg_template, "f", lambda url: FleetGateway(
            url, Path(tmp_path_factory.mktemp("fleet-gateway")))) as live:
        yield live


@pytest.fixture(scope="module")
def acme(fleet_gateway: FleetGateway) -> tuple[OrgRef, str, str]:
    """Two stacks: payments-prod syncing and healthy (budget near its ceiling, a credential
    expiring), search-staging with a failed health report and silent for two hours."""

    async def seed() -> tuple[OrgRef, str, str]:
        gw = fleet_gateway
        assert gw.identity and gw.stacks and gw.log and gw.projection and gw.db
        org, (pay, search) = await gw.seed_acme(OWNER, "Fiona Owner", ("payments-prod", "production"),
                                                ("search-staging", "staging"))
        now = datetime.now(UTC)
        items = [
            record(org.org_id, pay.stack_id, 1, "stack_status", status(
                now, commit="9f8e7d6c5b4a39281706", summary="+ rule refund_limit\n~ budget daily 10 -> 12",
                agents=(("payments-bot", False, False, 2), ("refund-bot", False, True, 0)))),
            record(org.org_id, pay.stack_id, 2, "daemon_health", health(now, uptime_s=93_784)),
            record(org.org_id, pay.stack_id, 3, "budget_snapshot", budget(now, "payments-bot", 11.4, 12.0)),
            record(org.org_id, pay.stack_id, 4, "budget_snapshot", budget(now, "refund-bot", 9.0, 12.0)),
            record(org.org_id, pay.stack_id, 5, "credential_expiry",
                   credential(now, "payments-bot", now + timedelta(hours=6))),
            record(org.org_id, search.stack_id, 1, "stack_status", status(now, commit="0123abcd", version="1.3.0")),
            record(org.org_id, search.stack_id, 2, "daemon_health", health(now, ok=False)),
        ]
        for item in items:
            await gw.log.append(SYNC_ITEMS, [item])
        async with asyncio.timeout(30):
            while gw.projection.sink.applied < len(items):
                await asyncio.sleep(0.05)
        await gw.stacks.touch(org.org_id, pay.stack_id)
        async with gw.db.connection() as conn:
            await conn.execute("UPDATE stacks SET last_seen_at = now() - interval '2 hours' WHERE stack_id = %s",
                               (search.stack_id,))
        return org, pay.stack_id, search.stack_id

    return fleet_gateway.run(seed)


def sign_in(page: Any, base: str) -> None:
    browser_sign_in(page, base, OWNER, lambda p: p.get_by_role("heading", name="Attention required"))


def test_home_attention_strip_and_budget_burn(fleet_gateway: FleetGateway, acme: tuple[OrgRef, str, str],
                                              new_page: NewPage) -> None:
    _, pay, search = acme
    page = new_page()
    sign_in(page, fleet_gateway.base)
    items = page.locator("#attention-items li")
    expect(page.locator("#attention-items li[data-kind=disconnected]")).to_contain_text("search-staging")
    expect(page.locator("#attention-items li[data-kind=budget]")).to_contain_text("payments-bot")
    expect(page.locator("#attention-items li[data-kind=credential]")).to_contain_text("expires in")
    expect(items).to_have_count(3)
    expect(page.locator(f"#burn tr[data-stack='{pay}']")).to_have_class("near-ceiling")
    expect(page.locator("#health-strip")).to_contain_text("2")
    screenshot(page, "home-fleet")
    # Each strip number opens the filtered fleet view.
    page.locator("#health-strip a[href$='health=unhealthy']").click()
    expect(page).to_have_url(re.compile(r"/o/acme/fleet\?health=unhealthy$"))
    expect(page.locator("#stacks tbody tr")).to_have_count(1)
    expect(page.locator("#stacks tbody tr")).to_contain_text("search-staging")
    # The attention item links to the action: the disconnected stack's page.
    page.go_back()
    page.locator("#attention-items li[data-kind=disconnected] a").click()
    expect(page).to_have_url(re.compile(f"/fleet/stacks/{search}$"))
    expect(page.get_by_role("heading", name=re.compile("search-staging"))).to_be_visible()


def test_fleet_list_filters_and_sorts(fleet_gateway: FleetGateway, acme: tuple[OrgRef, str, str],
                                      new_page: NewPage) -> None:
    page = new_page()
    sign_in(page, fleet_gateway.base)
    page.get_by_role("navigation", name="Sections").get_by_role("link", name="Fleet").click()
    rows = page.locator("#stacks tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("payments-prod")  # by name
    pay_row = page.locator("#stacks tbody tr", has_text="payments-prod")
    for text in ("production", "langgraph", "9f8e7d6c5b4a", "1.4.2", "connected", "seccomp / Landlock", "healthy"):
        expect(pay_row).to_contain_text(text)
    expect(pay_row.get_by_role("link", name="9f8e7d6c5b4a")).to_have_attribute(
        "href", "https://github.com/acme/gov/commit/9f8e7d6c5b4a39281706")
    page.locator("#stacks thead").get_by_role("link", name="Daemon").click()
    expect(rows.first).to_contain_text("search-staging")  # 1.3.0 before 1.4.2
    page.get_by_label("Sync").select_option("disconnected")
    page.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("disconnected")
    page.get_by_label("Sync").select_option("")
    page.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(2)
    screenshot(page, "fleet-list")


def test_stack_detail_tabs(fleet_gateway: FleetGateway, acme: tuple[OrgRef, str, str], new_page: NewPage) -> None:
    _, pay, _ = acme
    page = new_page()
    sign_in(page, fleet_gateway.base)
    page.goto(f"{fleet_gateway.base}/o/acme/fleet/stacks/{pay}")
    expect(page.get_by_text("1d 2h 3m")).to_be_visible()  # uptime 93 784 s
    expect(page.locator("main")).to_contain_text("seccomp / Landlock")
    screenshot(page, "fleet-stack-overview")
    tabs = page.get_by_role("navigation", name="Stack")
    expect(tabs.get_by_role("link")).to_have_text(["Overview", "Agents", "Config", "Apply history", "Providers"])
    tabs.get_by_role("link", name="Agents").click()
    expect(page.locator("#agents tbody tr")).to_have_count(2)
    expect(page.locator("#agents tr", has_text="refund-bot")).to_contain_text("isolated")
    page.get_by_role("link", name="payments-bot").click()
    expect(page.get_by_role("heading", name="Agent payments-bot")).to_be_visible()
    expect(page.locator("main")).to_contain_text("$11.40")
    expect(page.locator("#emergency-controls")).to_have_count(1)
    screenshot(page, "fleet-agent")
    page.go_back()
    page.get_by_role("navigation", name="Stack").get_by_role("link", name="Apply history").click()
    expect(page.locator("code.rollback")).to_have_text(
        "git checkout 9f8e7d6c5b4a39281706 -- governance.fms && faramesh apply")
    page.get_by_role("navigation", name="Stack").get_by_role("link", name="Config").click()
    expect(page.locator("main pre")).to_contain_text("+ rule refund_limit")
    page.get_by_role("navigation", name="Stack").get_by_role("link", name="Providers").click()
    expect(page.locator("#providers")).to_contain_text("faramesh/vault")


def test_register_a_stack_and_rotate_its_key(fleet_gateway: FleetGateway, acme: tuple[OrgRef, str, str],
                                             new_page: NewPage) -> None:
    page = new_page()
    sign_in(page, fleet_gateway.base)
    page.get_by_role("navigation", name="Sections").get_by_role("link", name="Settings").click()
    page.get_by_role("navigation", name="Settings").get_by_role("link", name="Stacks").click()
    page.get_by_label("Stack name").fill("checkout-prod")
    page.get_by_label("Environment label").fill("production")
    page.get_by_role("button", name="Register stack").click()
    expect(page.locator("#stack-key")).to_have_text(re.compile(r"^fmc_sk_\w+_\S+$"))
    expect(page.locator("#runtime-snippet")).to_have_text(
        f'runtime {{\n  cloud_url     = "{CLOUD_URL}"\n  cloud_api_key = env("FARAMESH_CLOUD_API_KEY")\n}}')
    screenshot(page, "settings-stacks-registered")
    key = page.locator("#stack-key").inner_text()
    row = page.locator("tr", has_text="checkout-prod")
    row.get_by_role("button", name="Rotate key").click()
    expect(page.locator("#new-stack-key")).to_contain_text("keeps working for 24")
    assert page.locator("#stack-key").inner_text() != key
    page.locator("tr", has_text="checkout-prod").get_by_role("button", name="Deregister").click()
    expect(page.get_by_role("status")).to_contain_text("Its DPRs are kept")
    expect(page.locator("tr", has_text="checkout-prod")).to_contain_text("deregistered")
    page.goto(f"{fleet_gateway.base}/o/acme/settings/audit-log")
    for action in ("fleet:stack:register", "fleet:stack_key:rotate", "fleet:stack:deregister"):
        expect(page.locator("main")).to_contain_text(action)
