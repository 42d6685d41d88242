"""A live stream page that falls behind: more records arrive at once than the stream may
queue for it (a small queue here, the product's is thousands), so the server drops it with a
``behind`` event; the page stops, says so and offers a reload, which shows what it missed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from faramesh_cloud.gateway.web.live_feed import LiveConfig
from faramesh_cloud.sql.embedded import EmbeddedPostgres
from tests.browser.audit_gateway import AuditGateway, serve_audit
from tests.fixtures.browser import NewPage, screenshot
from tests.fixtures.browser import sign_in as browser_sign_in
from tests.integration.audit_support import fleet, publish, records

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.chdb]
OWNER = "ada@example.test"


class SmallQueueGateway(AuditGateway):
    live_config = LiveConfig(queue=3)


@pytest.fixture(scope="module")
def gateway(embedded_postgres: EmbeddedPostgres, pg_template: str, chdb_data_dir: Path,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[SmallQueueGateway]:
    with serve_audit(SmallQueueGateway, embedded_postgres, pg_template, "q", chdb_data_dir,
                     tmp_path_factory) as live:
        yield live


def test_a_live_page_that_fell_behind_says_so_and_reloads(gateway: SmallQueueGateway, new_page: NewPage) -> None:
    async def seed() -> Any:
        return await gateway.seed_acme(OWNER, "Ada Auditor", ("payments-prod", "production"))

    org, (stack,) = gateway.run(seed)
    page = new_page()
    browser_sign_in(page, gateway.base, OWNER, lambda p: p.get_by_role("link", name="Audit", exact=True))
    page.goto(f"{gateway.base}/o/acme/audit/live")
    expect(page.locator("#live-status")).to_contain_text("Live")
    pushed = records(fleet("payments", 2, ["s"], seed=3), 10)

    async def push() -> None:
        assert gateway.log is not None
        await publish(gateway.log, org.org_id, stack.stack_id, pushed)  # one commit: 10 rows at once

    gateway.run(push)
    status = page.locator("#live-status")
    expect(status).to_contain_text("fell behind the live stream")
    expect(page.locator("#live tbody tr[data-record]")).to_have_count(0)  # none of the 10 half-shown
    screenshot(page, "audit-live-behind")
    status.get_by_role("link", name="Reload").click()
    expect(page.locator("#live tbody tr[data-record]")).to_have_count(len(pushed))
    expect(page.locator(f'#live tbody tr[data-record="{pushed[-1]["record_id"]}"]')).to_be_visible()
