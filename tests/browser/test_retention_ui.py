"""Settings → Retention in a browser (Debian chromium via Playwright) against the real gateway
with the audit index (PostgreSQL log + chDB) in the server's loop: an Owner sets 30 days, sees
what a dry run would remove, runs the job, and Audit → Chain integrity says each chain
verifies from its checkpoint."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from faramesh_cloud.audit_index.postgres import TAIL_CHANNEL
from faramesh_cloud.audit_index.retention.api import RetentionApi
from faramesh_cloud.audit_index.retention.sweep import RetentionSweeper
from faramesh_cloud.audit_index.service import AuditIndex
from faramesh_cloud.gateway.web.retention_ports import mount_retention
from faramesh_cloud.log.pg_listener import PgListener
from faramesh_cloud.olap.chdb import ChdbOlap
from faramesh_cloud.signing.keys import load_or_create_signing_key
from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.embedded import EmbeddedPostgres
from tests.browser.audit_gateway import AuditGateway, serve_audit
from tests.fixtures.browser import NewPage, screenshot
from tests.fixtures.browser import sign_in as browser_sign_in
from tests.integration.audit_support import fast_config, publish
from tests.integration.retention_support import NOW, chains

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.chdb]
OWNER = "rita@example.test"


class RetentionGateway(AuditGateway):
    async def _start_parts(self, db: Database) -> None:
        assert self.log is not None
        self._olap = ChdbOlap(self._chdb_dir)
        config = replace(fast_config(self.olap_database), retention_sweep_interval_s=0)
        self._index = AuditIndex(db, self.log, self._olap, config,
                                 checkpoint_key=load_or_create_signing_key(self._data_dir))
        await self._index.start()
        self._commits = PgListener(db, TAIL_CHANNEL)
        await self._commits.start()

    def _app(self, db: Database) -> Any:
        app = super()._app(db)
        sweeper = RetentionSweeper(db, self.olap, self.tables, load_or_create_signing_key(self._data_dir),
                                   clock=lambda: NOW)
        mount_retention(app, RetentionApi(db, sweeper, clock=lambda: NOW))
        return app

    def indexed(self) -> int:
        assert self._index is not None
        return self._index.handled()


@pytest.fixture(scope="module")
def gateway(embedded_postgres: EmbeddedPostgres, pg_template: str, chdb_data_dir: Path,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[RetentionGateway]:
    with serve_audit(RetentionGateway, embedded_postgres, pg_template, "r", chdb_data_dir, tmp_path_factory) as live:
        yield live


def test_an_owner_shortens_retention_runs_the_job_and_the_chains_verify_from_checkpoints(
        gateway: RetentionGateway, new_page: NewPage) -> None:
    async def seed() -> int:
        assert gateway.log is not None
        org, [stack] = await gateway.seed_acme(OWNER, "Rita Owner", ("payments-prod", "production"))
        pushed = chains(stack.stack_id, per_agent=12)
        await publish(gateway.log, org.org_id, stack.stack_id, pushed)
        async with asyncio.timeout(60):
            while gateway.indexed() < len(pushed):
                await asyncio.sleep(0.05)
        return len(pushed)

    gateway.run(seed)
    page = new_page()
    browser_sign_in(page, gateway.base, OWNER, lambda p: p.get_by_role("navigation", name="Sections"))
    page.goto(f"{gateway.base}/o/acme/settings/retention")
    expect(page.get_by_role("heading", name="Retention", exact=True)).to_be_visible()
    expect(page.locator("#retention-current")).to_contain_text("No retention is set")

    page.get_by_label("Keep DPRs for (days)").fill("30")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("DPRs now stay 30 days")
    page.get_by_label("Days", exact=True).fill("30")
    page.get_by_role("button", name="Show what it would remove").click()
    expect(page.locator("#retention-preview")).to_contain_text("2026-01:")
    expect(page.locator("#retention-preview")).to_contain_text("2026-02:")
    screenshot(page, "retention-settings")

    page.get_by_role("button", name="Run now").click()
    expect(page.get_by_role("status")).to_contain_text("Retention ran: removed 2026-01, 2026-02.")
    expect(page.locator("#retention-sweeps")).to_be_visible()
    page.goto(f"{gateway.base}/o/acme/audit/integrity")
    expect(page.locator("tr.checkpoint").first).to_contain_text(
        "earlier records removed by retention on 2026-04-20")
    expect(page.get_by_text("intact").first).to_be_visible()
    screenshot(page, "retention-integrity-checkpoint")
