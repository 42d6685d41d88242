"""Approvals in a browser: a pending approval pushed by a daemon (on the real log, through
the approvals consumer) appears in the queue; the approver opens it, approves with a reason,
and it leaves the queue and shows in the history."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from faramesh_cloud.approvals.service import Approvals, ApprovalsConfig
from faramesh_cloud.gateway.app import create_app
from faramesh_cloud.gateway.web.approvals_ports import mount_approvals
from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.embedded import EmbeddedPostgres
from tests.approvals_support import pending_event, push_events
from tests.fixtures.browser import LiveGateway, NewPage, screenshot, serve_live
from tests.fixtures.gateway import static_status
from tests.fixtures.identity import PASSWORD


class LiveApprovalsGateway(LiveGateway):
    """The live gateway with the approvals service running beside it on the same database."""

    pool_size = 6
    with_log = True
    approvals: Approvals | None = None

    async def _start_parts(self, db: Database) -> None:
        assert self.log is not None
        self.approvals = Approvals(db, self.log, ApprovalsConfig(group="approvals-browser"))
        await self.approvals.start()
        await self.approvals.caught_up()

    def _app(self, db: Database) -> Any:
        assert self.approvals is not None
        app = create_app(static_status, web=self._web_deps())
        mount_approvals(app, self.approvals.api)
        return app

    async def _stop_parts(self) -> None:
        if self.approvals is not None:
            await self.approvals.stop()


@pytest.fixture(scope="module")
def live(embedded_postgres: EmbeddedPostgres, pg_template: str,
         tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApprovalsGateway]:
    with serve_live(embedded_postgres, pg_template, "b", lambda url: LiveApprovalsGateway(
            url, tmp_path_factory.mktemp("live-approvals"))) as gateway:
        yield gateway


def test_a_pending_approval_is_approved_with_a_reason_and_leaves_the_queue(
        live: LiveApprovalsGateway, new_page: NewPage, tmp_path: Path) -> None:
    async def seed() -> str:
        assert live.log is not None
        org, (stack,) = await live.seed_acme("ada@example.test", "Ada", ("payments-prod", "prod"))
        await push_events(live.log, org.org_id, stack.stack_id, [
            pending_event("c0ffee01", args=b'{"amount":120,"memo":"<img src=x onerror=alert(1)>"}'),
            pending_event("c0ffee02", "support-triage", tool="zendesk/close")])
        return org.org_id

    org_id = live.run(seed)

    async def projected() -> int:
        assert live.approvals is not None
        for _ in range(600):
            found = await live.approvals.queries.pending(org_id)
            if len(found) == 2:
                return len(found)
            await asyncio.sleep(0.05)
        return 0

    assert live.run(projected) == 2
    page = new_page()
    page.goto(live.base + "/login")
    page.get_by_label("Email").fill("ada@example.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page).to_have_url(live.base + "/o/acme/")
    page.get_by_role("navigation", name="Sections").get_by_role("link", name="Approvals").click()
    queue = page.locator("#approval-queue tbody tr")
    expect(queue).to_have_count(2)
    expect(page.locator("tr[data-token=c0ffee01] .age-green")).to_be_visible()
    screenshot(page, "approvals-queue")

    page.locator("tr[data-token=c0ffee01]").get_by_role("link", name="Review").click()
    expect(page.locator("#approval-args")).to_contain_text("<img src=x onerror=alert(1)>")  # shown as text
    page.get_by_label("Reason (required, recorded and sent to the daemon)").fill("customer verified by phone")
    screenshot(page, "approval-detail")
    page.get_by_role("button", name="Approve", exact=True).click()

    expect(page).to_have_url(re.compile(re.escape(live.base) + r"/o/acme/approvals\?flash="))
    expect(page.get_by_role("status")).to_contain_text("Approved")
    expect(page.locator("tr[data-token=c0ffee01]")).to_have_count(0)
    expect(page.locator("tr[data-token=c0ffee02]")).to_have_count(1)

    page.get_by_role("link", name="History").click()
    expect(page.locator("#approval-history")).to_contain_text("customer verified by phone")
    expect(page.locator("#approval-history")).to_contain_text("ada@example.test")
    # The pending-time distribution of the rows listed: one approval, in one bin.
    expect(page.locator("#pending-histogram")).to_be_visible()
    expect(page.locator("#pending-histogram rect.bar[data-value='1']")).to_have_count(1)
    screenshot(page, "approvals-history")
