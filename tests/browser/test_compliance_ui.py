"""Compliance in a browser (Debian chromium via Playwright) against the real gateway on
127.0.0.1 with the compliance service (its own-events consumer, outbox relay and report
jobs) running in the server's loop: declare frameworks, read posture (as the posture sweep
stored it), queue a report and watch its progress until it is done, open the evidence
library, make a share link, open it in a NEW browser context with no session, download the
file (the same SHA-256 as the library says), revoke the link and see the 410 page."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from faramesh_cloud.compliance.domain import ReportView
from faramesh_cloud.compliance.jobs import MadeReport, Progress
from faramesh_cloud.compliance.service import Compliance, ComplianceConfig
from faramesh_cloud.gateway.app import create_app
from faramesh_cloud.gateway.web.compliance_ports import mount_compliance
from faramesh_cloud.identity.domain import OrgRef
from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.embedded import EmbeddedPostgres
from faramesh_cloud.sql.tenant import tenant_transaction
from tests.fixtures.browser import LiveGateway, NewPage, screenshot, serve_live
from tests.fixtures.browser import sign_in as browser_sign_in
from tests.fixtures.gateway import static_status

OWNER = "cora@example.test"
PDF = b"%PDF-1.7\n% compliance report made by the browser test's report maker\n%%EOF\n"


class SteppedMaker:
    """A report made in visible steps (the PDF pipeline is the report module's; here the
    job, its live progress and the library filing are under test)."""

    async def make(self, org_id: str, report: ReportView, scratch: Path, progress: Progress) -> MadeReport:
        for step, stage in ((0.15, "exporting the range"), (0.45, "certifying chain heads"), (0.75, "rendering"),
                            (0.9, "signing")):
            await progress(step, stage)
            await asyncio.sleep(1.0)
        path = scratch / "report.pdf"
        path.write_bytes(PDF)
        return MadeReport(path, "SOC 2 report, May 2026", "acme-soc2-2026-05.pdf", "cd" * 32,
                          {"framework": report.framework})


class ComplianceGateway(LiveGateway):
    pool_size = 8
    with_log = True
    compliance: Compliance | None = None

    async def _start_parts(self, db: Database) -> None:
        assert self.log is not None
        self.compliance = Compliance(db, self.log, ComplianceConfig(
            artifacts=self._data_dir / "compliance" / "artifacts", job_idle_s=0.2), maker=SteppedMaker())
        await self.compliance.start()

    def _app(self, db: Database) -> Any:
        assert self.compliance is not None
        app = create_app(static_status, web=self._web_deps())
        mount_compliance(app, self.compliance.api, keys_dir=self._data_dir / "keys")
        return app

    async def _stop_parts(self) -> None:
        if self.compliance is not None:
            await self.compliance.stop()


@pytest.fixture(scope="module")
def gateway(embedded_postgres: EmbeddedPostgres, pg_template: str,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[ComplianceGateway]:
    with serve_live(embedded_postgres, pg_template, "b", lambda url: ComplianceGateway(
            url, tmp_path_factory.mktemp("compliance-gateway"))) as live:
        yield live


@pytest.fixture(scope="module")
def acme(gateway: ComplianceGateway) -> OrgRef:
    async def seed() -> OrgRef:
        org, _ = await gateway.seed_acme(OWNER, "Cora Owner", ("payments-prod", "production"))
        return org

    return gateway.run(seed)


def seed_posture(gateway: ComplianceGateway, org_id: str) -> None:
    """What the posture sweep stores for SOC 2: two controls with evidence, one by policy, one
    gap that opened three days ago."""
    today = datetime.now(UTC).date()
    evidence = {"title": "Monitoring of system components", "citation": "TSC CC7.2", "evidence": [
        {"words": "verified DPRs recorded", "count": 48211, "start": (today - timedelta(days=30)).isoformat(),
         "end": today.isoformat(), "audit_query": "verification=verified", "threshold": ">= 1", "holds": True}]}
    policy = {"title": "Logical access restrictions", "citation": "TSC CC6.1", "policy": [
        {"words": "unmatched calls are denied", "holds": True,
         "stacks": [{"stack_id": "payments-prod", "holds": True, "lines": [12]}]}]}
    gap = {"title": "Change management", "citation": "TSC CC8.1", "evidence": [
        {"words": "approvals decided by a person", "count": 0, "threshold": ">= 1", "holds": False,
         "link": "/approvals/history"}]}

    async def seed() -> None:
        assert gateway.db is not None
        async with tenant_transaction(gateway.db, org_id) as conn:
            for control, status, detail in (("CC7.2", "evidence", evidence), ("CC6.1", "policy", policy),
                                            ("CC8.1", "gap", gap), ("CC7.3", "evidence", evidence)):
                await conn.execute("INSERT INTO compliance_posture VALUES (%s, 'soc2', %s, %s, %s, now(), now())",
                                   (org_id, control, status, json.dumps(detail)))
            for back in range(20, -1, -1):
                day = today - timedelta(days=back)
                for control, status in (("CC7.2", "evidence"), ("CC6.1", "policy"), ("CC7.3", "evidence"),
                                        ("CC8.1", "gap" if back <= 3 else "evidence")):
                    await conn.execute("INSERT INTO compliance_posture_days VALUES (%s, 'soc2', %s, %s, %s)",
                                       (org_id, day, control, status))

    gateway.run(seed)


def test_declare_read_posture_generate_a_report_share_it_and_open_it_without_an_account(
        gateway: ComplianceGateway, acme: OrgRef, new_page: NewPage) -> None:
    page = new_page()
    browser_sign_in(page, gateway.base, OWNER, lambda p: p.get_by_role("navigation", name="Sections"))
    page.get_by_role("navigation", name="Sections").get_by_role("link", name="Compliance").click()
    expect(page.locator("#no-frameworks")).to_be_visible()
    page.get_by_label("SOC 2", exact=True).check()
    page.get_by_label("HIPAA Security Rule").check()
    page.get_by_role("button", name="Save frameworks").click()
    expect(page.get_by_role("status")).to_contain_text("Declared frameworks: HIPAA Security Rule, SOC 2")

    seed_posture(gateway, acme.org_id)
    page.reload()
    soc2 = page.locator("#framework-soc2")
    expect(soc2.locator("#control-soc2-CC8\\.1")).to_contain_text("gap")
    expect(soc2.locator(".gap-opened")).to_have_count(1)
    link = soc2.get_by_role("link", name="Show these records").first
    expect(link).to_have_attribute("href", "/o/acme/audit?verification=verified&since="
                                   + (datetime.now(UTC).date() - timedelta(days=30)).isoformat()
                                   + "&until=" + datetime.now(UTC).date().isoformat())
    screenshot(page, "compliance-posture")

    page.get_by_role("navigation", name="Compliance").get_by_role("link", name="Reports").click()
    page.get_by_label("Framework").select_option("soc2")
    page.get_by_label("From (UTC)").fill("2026-05-01T00:00")
    page.get_by_label("To (UTC)").fill("2026-06-01T00:00")
    page.get_by_role("button", name="Generate report").click()
    expect(page.get_by_role("status")).to_contain_text("Report queued")
    row = page.locator("tr[data-report-id]").first
    expect(row.locator(".stage")).to_contain_text("certifying chain heads")  # updated in place by the poller
    screenshot(page, "compliance-report-progress")
    expect(row).to_have_attribute("data-state", "done", timeout=30_000)
    expect(page.get_by_role("link", name="Download PDF")).to_be_visible()
    screenshot(page, "compliance-reports")

    page.get_by_role("navigation", name="Compliance").get_by_role("link", name="Evidence library").click()
    artifact = page.locator("article.artifact").first
    expect(artifact).to_contain_text("SOC 2 report, May 2026")
    expect(artifact.locator(".sha256")).to_have_text(hashlib.sha256(PDF).hexdigest())
    artifact.get_by_label("Note (who it is for)").fill("Audit firm LLP")
    artifact.get_by_role("button", name="Create share link").click()
    share_url = page.locator("#share-url").inner_text().strip()
    assert "/share/fmc_sh_" in share_url
    screenshot(page, "compliance-library")

    auditor = new_page()  # a fresh context: no cookies, no session
    auditor.goto(share_url)
    expect(auditor.get_by_role("heading", name="SOC 2 report, May 2026")).to_be_visible()
    expect(auditor.locator("#artifact-sha256")).to_have_text(hashlib.sha256(PDF).hexdigest())
    expect(auditor.get_by_text("faramesh-cloud verify-report acme-soc2-2026-05.pdf")).to_be_visible()
    assert auditor.get_by_role("navigation", name="Sections").count() == 0
    screenshot(auditor, "compliance-share")
    with auditor.expect_download() as got:
        auditor.locator("#download").click()
    downloaded = Path(got.value.path())
    assert hashlib.sha256(downloaded.read_bytes()).hexdigest() == hashlib.sha256(PDF).hexdigest()

    page.goto(gateway.base + "/o/acme/compliance/library")  # not a reload: that would post the form again
    page.locator("article.artifact").first.get_by_role("button", name="Revoke").click()
    expect(page.get_by_role("status")).to_contain_text("Share link revoked")
    answer = auditor.goto(share_url)
    assert answer is not None and answer.status == 410
    expect(auditor.locator("#share-refusal")).to_contain_text("revoked on")
    screenshot(auditor, "compliance-share-revoked")
