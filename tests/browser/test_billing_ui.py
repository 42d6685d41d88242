"""Settings → Billing in a browser (Debian chromium via Playwright) against the real gateway on
127.0.0.1, with the billing service running in the server's loop: DPRs that reach the log are
metered and drawn in the decisions chart; the owner sets the plan, is refused an invoice for
the month still running, issues last month's and downloads its PDF."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import expect

from faramesh_cloud.billing.service import Billing, BillingConfig
from faramesh_cloud.events.topics import DPR_RECORDS, Origin, stack_key
from faramesh_cloud.gateway.app import create_app
from faramesh_cloud.gateway.web.billing_ports import mount_billing
from faramesh_cloud.identity.domain import OrgRef
from faramesh_cloud.log.port import LogRecord
from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.embedded import EmbeddedPostgres
from faramesh_cloud.stacks.domain import Stack
from tests.fixtures.browser import LiveGateway, NewPage, screenshot, serve_live
from tests.fixtures.browser import sign_in as browser_sign_in
from tests.fixtures.gateway import static_status

OWNER = "bea@example.test"


class BillingGateway(LiveGateway):
    pool_size = 6
    with_log = True
    billing: Billing | None = None

    async def _start_parts(self, db: Database) -> None:
        assert self.log is not None
        self.billing = Billing(db, self.log, BillingConfig())
        await self.billing.start()

    def _app(self, db: Database) -> Any:
        assert self.billing is not None
        app = create_app(static_status, web=self._web_deps())
        mount_billing(app, self.billing.api)
        return app

    async def _stop_parts(self) -> None:
        if self.billing is not None:
            await self.billing.stop()


@pytest.fixture(scope="module")
def gateway(embedded_postgres: EmbeddedPostgres, pg_template: str,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[BillingGateway]:
    with serve_live(embedded_postgres, pg_template, "b", lambda url: BillingGateway(
            url, tmp_path_factory.mktemp("billing-gateway"))) as live:
        yield live


def test_usage_charts_plan_and_a_finished_months_invoice(gateway: BillingGateway, new_page: NewPage) -> None:
    async def seed() -> tuple[OrgRef, list[Stack]]:
        return await gateway.seed_acme(OWNER, "Bea Owner", ("payments-prod", "production"))

    org, [stack] = gateway.run(seed)
    now = datetime.now(UTC)
    this_month = now.strftime("%Y-%m")
    last_month = (now.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")

    async def append() -> None:
        assert gateway.log is not None
        for when, count in ((now.replace(day=1) - timedelta(days=3), 12), (now, 5)):
            headers = Origin(org.org_id, stack.stack_id, "sync", 1, "b", int(when.timestamp() * 1e9)).headers()
            await gateway.log.append(DPR_RECORDS, [LogRecord(stack_key(org.org_id, stack.stack_id), b"{}", headers)
                                                   for _ in range(count)])

    gateway.run(append)
    page = new_page()
    browser_sign_in(page, gateway.base, OWNER, lambda p: p.get_by_role("navigation", name="Sections"))
    page.goto(f"{gateway.base}/o/{org.slug}/settings/billing")
    bar = page.locator(f'#chart-decisions rect[data-month="{last_month}"]')
    for _ in range(100):  # the consumer meters what reached the log
        if bar.get_attribute("data-value") == "12":
            break
        page.wait_for_timeout(100)
        page.reload()
    expect(bar).to_have_attribute("data-value", "12")
    expect(page.locator(f'#chart-decisions rect[data-month="{this_month}"]')).to_have_attribute("data-value", "5")
    expect(page.locator("figure.meter")).to_have_count(5)

    page.get_by_label("Plan", exact=True).select_option("team")
    page.get_by_role("button", name="Set plan").click()
    expect(page.get_by_role("status")).to_contain_text("The plan is Team from now on.")

    page.get_by_label("Month (YYYY-MM, a finished month)").fill(this_month)
    page.get_by_role("button", name="Issue invoice").click()
    expect(page.get_by_role("alert")).to_contain_text(f"{this_month} has not ended yet")
    expect(page.get_by_text("No invoice issued yet.")).to_be_visible()

    page.get_by_label("Month (YYYY-MM, a finished month)").fill(last_month)
    page.get_by_role("button", name="Issue invoice").click()
    expect(page.get_by_role("status")).to_contain_text(f"for {last_month} issued")
    row = page.locator(f'#invoices tr[data-month="{last_month}"]')
    expect(row).to_contain_text("499.00 USD")
    with page.expect_download() as download:
        row.get_by_role("link", name="PDF").click()
    path = download.value.path()
    assert path is not None and path.read_bytes().startswith(b"%PDF-")
    screenshot(page, "settings-billing")
