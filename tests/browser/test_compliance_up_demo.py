"""Issue #14 item 9 on `faramesh-cloud up --demo` as a user runs it (every service, the demo
fleet pushing signed DPRs, the real report pipeline): the first owner declares frameworks
and reads the posture the service evaluated from the demo's records, generates a report and
watches it to done, opens the evidence library, makes a share link and opens it in a fresh
browser context with no session, downloads the PDF, and verifies it offline with
`faramesh-cloud verify-report` and the public keys the share page offers."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.test_approvals_demo_e2e import UpDemo, until
from tests.fixtures.browser import NewPage, screenshot
from tests.fixtures.identity import PASSWORD

pytestmark = [pytest.mark.integration, pytest.mark.postgres, pytest.mark.chdb, pytest.mark.grpc]


def test_posture_report_share_and_offline_verification_on_up_demo(up_demo: UpDemo, new_page: NewPage,
                                                                   tmp_path: Path) -> None:
    base = up_demo.base
    since = datetime.now(UTC) - timedelta(hours=1)
    page = new_page()
    page.goto(base + "/setup")
    page.get_by_label("Your name").fill("Ada Lovelace")
    page.get_by_label("Email").fill("ada@example.test")
    page.get_by_label("Password (at least 12 characters)").fill(PASSWORD)
    page.get_by_role("button", name="Create owner and sign in").click()
    expect(page).to_have_url(base + "/o/demo/")
    api = page.request

    def records() -> int:
        return len(api.get(base + "/api/v1/orgs/demo/audit/records?verification=verified&limit=50")
                   .json()["records"])
    until("the demo fleet's DPRs indexed", lambda: records() >= 20, 120)

    page.get_by_role("navigation", name="Sections").get_by_role("link", name="Compliance").click()
    page.get_by_label("SOC 2", exact=False).first.check()
    page.get_by_label("HIPAA", exact=False).first.check()
    page.get_by_role("button", name="Save frameworks").click()
    expect(page.get_by_role("status")).to_contain_text("Declared frameworks")

    def evaluated() -> bool:
        rows = api.get(base + "/api/v1/orgs/demo/compliance/posture").json()
        return {r["framework"] for r in rows} == {"soc2", "hipaa"}
    until("posture evaluated by the service", evaluated, 60)
    page.reload()
    hipaa = page.locator("#framework-hipaa")
    expect(hipaa.locator("#control-hipaa-164\\.312\\(b\\)")).to_contain_text("evidence")
    screenshot(page, "compliance-demo-posture")

    page.get_by_role("navigation", name="Compliance").get_by_role("link", name="Reports").click()
    page.get_by_label("Framework").select_option("soc2")
    page.get_by_label("From (UTC)").fill(since.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("To (UTC)").fill((datetime.now(UTC) + timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M"))
    page.get_by_role("button", name="Generate report").click()
    expect(page.get_by_role("status")).to_contain_text("Report queued")
    row = page.locator("tr[data-report-id]").first
    expect(row).to_have_attribute("data-state", "done", timeout=120_000)
    screenshot(page, "compliance-demo-reports")

    page.get_by_role("navigation", name="Compliance").get_by_role("link", name="Evidence library").click()
    page.get_by_label("From (UTC)").fill(since.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("To (UTC)").fill((datetime.now(UTC) + timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M"))
    page.get_by_role("button", name="Sign a certificate").click()
    expect(page.get_by_role("status")).to_contain_text("Integrity certificate signed")
    expect(page.locator("article.artifact").first).to_contain_text("integrity-certificate")
    artifact = page.locator("article.artifact", has_text="SOC 2").first
    expect(artifact).to_contain_text("SOC 2")
    sha256 = artifact.locator(".sha256").inner_text().strip()
    artifact.get_by_label("Note (who it is for)").fill("Audit firm LLP")
    artifact.get_by_role("button", name="Create share link").click()
    share_url = page.locator("#share-url").inner_text().strip()
    screenshot(page, "compliance-demo-library")

    auditor = new_page()  # a fresh context: no cookies, no session
    auditor.goto(share_url)
    expect(auditor.locator("#artifact-sha256")).to_have_text(sha256)
    screenshot(auditor, "compliance-demo-share")
    keys: dict[str, Path] = {}
    for link in auditor.locator("a[download][href*='/keys/']").all():  # the public keys it offers
        href = link.get_attribute("href") or ""
        name = href.rsplit("/", 1)[-1]
        path = tmp_path / name
        path.write_bytes(auditor.request.get(base + href if href.startswith("/") else href).body())
        keys[name] = path
    with auditor.expect_download() as got:
        auditor.locator("#download").click()
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(Path(got.value.path()).read_bytes())

    platform = next(p for n, p in keys.items() if "platform" in n and "cert" not in n)
    certificate = next(p for n, p in keys.items() if "cert" in n)
    verified = subprocess.run([sys.executable, "-m", "faramesh_cloud", "verify-report", str(pdf), "--platform-key",
                               str(platform), "--certificate", str(certificate)],
                              capture_output=True, text=True, timeout=300)
    assert verified.returncode == 0, verified.stdout + verified.stderr
