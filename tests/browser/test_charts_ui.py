"""The charts in a browser (Debian chromium via Playwright) against the real gateway with the
fleet projection and the audit index consuming the PostgreSQL log: decisions over time on Home
and Audit, budget burn with its thresholds, the Fleet list's sparklines, and the blind-minutes
strip on the stack's Overview and its chain-integrity page, each visible and screenshotted
(to the temp folder; never into the tree)."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from faramesh_cloud.audit_index.reader import IndexReader
from faramesh_cloud.events.topics import H_KIND, SYNC_ITEMS, Origin
from faramesh_cloud.log.port import LogRecord
from faramesh_cloud.sql.embedded import EmbeddedPostgres
from tests.browser.audit_gateway import serve_audit
from tests.browser.test_fleet_live_ui import FleetAuditGateway
from tests.fixtures.browser import NewPage, screenshot
from tests.fixtures.browser import sign_in as browser_sign_in
from tests.fleet_items import budget, status
from tests.integration.audit_support import fleet, publish, records

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.chdb]
OWNER = "carla@example.test"
MIN = 60 * 10**9


@pytest.fixture(scope="module")
def gateway(embedded_postgres: EmbeddedPostgres, pg_template: str, chdb_data_dir: Path,
            tmp_path_factory: pytest.TempPathFactory) -> Any:
    with serve_audit(FleetAuditGateway, embedded_postgres, pg_template, "c", chdb_data_dir,
                     tmp_path_factory) as live:
        yield live


def item(org: str, stack: str, seq: int, kind: str, payload: Any, received_ns: int) -> LogRecord:
    """A sync item as ingest appends it, received at ``received_ns``."""
    from faramesh_cloud.events.topics import stack_key

    headers = Origin(org, stack, "sync", seq, "buf-1", received_ns).headers()
    headers[H_KIND] = kind.encode()
    return LogRecord(stack_key(org, stack), payload.SerializeToString(), headers)


@pytest.fixture(scope="module")
def acme(gateway: FleetAuditGateway) -> dict[str, Any]:
    """payments-prod: heard from three hours ago for three minutes, silent, then caught up 30
    minutes ago with 5 records created while Cloud was blind; 8 records on time."""
    now = time.time_ns() // MIN * MIN
    first = now - 180 * MIN
    writers = fleet("pay", 2, ["s"], seed=12)
    on_time, late = records(writers, 8, first), records(writers, 5, now - 120 * MIN)

    async def seed() -> dict[str, Any]:
        gw = gateway
        assert gw.identity and gw.stacks and gw.log and gw.projection and gw.db
        org, (pay,) = await gw.seed_acme(OWNER, "Carla Auditor", ("payments-prod", "production"))
        async with gw.db.connection() as conn:
            await conn.execute("UPDATE stacks SET created_at = to_timestamp(%s) WHERE stack_id = %s",
                               (first // 10**9, pay.stack_id))
        o, s = org.org_id, pay.stack_id
        when = datetime.now(UTC)
        items = [item(o, s, n + 1, "stack_status", status(when), first + n * MIN) for n in range(3)]
        items += [item(o, s, 4, "budget_snapshot", budget(when, "payments-bot", 10.2, 12.0), now - 30 * MIN),
                  item(o, s, 5, "budget_snapshot", budget(when, "refund-bot", 3.0, 12.0), now - 30 * MIN),
                  item(o, s, 6, "stack_status", status(when), now - 30 * MIN)]
        items += [item(o, s, 7 + n, "stack_status", status(when), now - (29 - n) * MIN) for n in range(30)]
        for it in items:
            await gw.log.append(SYNC_ITEMS, [it])
        await publish(gw.log, o, s, on_time, received_ns=first)
        await publish(gw.log, o, s, late, first_seq=8, received_ns=now - 30 * MIN)
        reader = IndexReader(gw.olap, gw.db, gw.tables)
        async with asyncio.timeout(60):
            while (gw.projection.sink.applied < len(items)
                   or sum((await reader.counts_by_effect(o, {}, None, None)).values()) < 13):
                await asyncio.sleep(0.05)
        await gw.stacks.touch(o, s)
        return {"org": org, "pay": s}

    return gateway.run(seed)


def sign_in(page: Any, base: str) -> None:
    browser_sign_in(page, base, OWNER, lambda p: p.get_by_role("heading", name="Attention required"))


def test_home_shows_decisions_over_time_and_budget_burn(gateway: FleetAuditGateway, acme: dict[str, Any],
                                                        new_page: NewPage) -> None:
    page = new_page()
    sign_in(page, gateway.base)
    expect(page.locator("#decisions-chart")).to_be_visible()
    expect(page.locator("#dc-total")).to_have_attribute("data-value", "13")
    expect(page.locator("#burn-chart")).to_be_visible()
    expect(page.locator("#burn-chart .threshold")).to_have_count(2)
    screenshot(page, "charts-home")
    page.locator("#decisions").get_by_role("link", name="7d").click()
    expect(page.locator("#decisions strong[aria-current]")).to_have_text("7d")
    expect(page.locator("#decisions-chart .bucket")).to_have_count(28)


def test_audit_search_charts_its_counts(gateway: FleetAuditGateway, acme: dict[str, Any], new_page: NewPage) -> None:
    page = new_page()
    sign_in(page, gateway.base)
    page.goto(f"{gateway.base}/o/acme/audit")
    expect(page.locator("#decisions-chart")).to_be_visible()
    expect(page.locator("#dc-total")).to_have_attribute("data-value", "13")
    page.locator("#decisions summary").click()
    expect(page.locator("#dc-table")).to_be_visible()
    screenshot(page, "charts-audit")


def test_fleet_list_sparklines(gateway: FleetAuditGateway, acme: dict[str, Any], new_page: NewPage) -> None:
    page = new_page()
    sign_in(page, gateway.base)
    page.goto(f"{gateway.base}/o/acme/fleet")
    row = page.locator(f"#stacks tr[data-stack='{acme['pay']}']")
    expect(row.locator("svg.sparkline").first).to_be_visible()
    expect(row.locator(".spark-decisions")).to_contain_text("13 decisions")
    screenshot(page, "charts-fleet-list")


def test_blind_minutes_on_the_overview_and_the_integrity_page(gateway: FleetAuditGateway, acme: dict[str, Any],
                                                              new_page: NewPage) -> None:
    page = new_page()
    sign_in(page, gateway.base)
    for url, name in ((f"/o/acme/fleet/stacks/{acme['pay']}", "charts-stack-overview"),
                      (f"/o/acme/audit/integrity/{acme['pay']}", "charts-integrity")):
        page.goto(gateway.base + url)
        strip = page.locator("#blind-strip")
        expect(strip).to_be_visible()
        expect(page.locator("#bm-blind-total")).to_have_attribute("data-value", "147")  # minute 3 to 150
        expect(page.locator("#bm-late-total")).to_have_attribute("data-value", "5")
        expect(page.locator("#bm-table .bm-late")).to_contain_text("5 records created in this window")
        expect(strip.locator("text.late")).to_have_text(["▲5"])
        if "fleet" in url:
            expect(page.locator("#agent-burn-chart")).to_be_visible()
        screenshot(page, name)
    page.locator("#blind-minutes").get_by_role("link", name="7d").click()
    expect(page.locator("#blind-strip .cell")).to_have_count(84)
