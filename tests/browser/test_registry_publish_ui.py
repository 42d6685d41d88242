"""Issue #15 item 9 (publish) on ``faramesh-cloud up --demo`` as a person clicks it: the first
owner (a registry reviewer under --demo) claims a namespace and confirms it in the Review
queue, submits a policy pack (a broken one is refused with its line), approves one version and
rejects the next with a reason the Publish page then shows, a daemon fetches the published
version, and My artifacts shows its downloads, history and submissions; a yank there makes the
daemon API answer 404. Screenshots of each page (FARAMESH_CLOUD_SCREENSHOTS)."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import expect

from tests.browser.test_approvals_demo_e2e import UpDemo, until
from tests.fixtures.browser import NewPage, screenshot
from tests.fixtures.identity import PASSWORD

pytestmark = [pytest.mark.integration, pytest.mark.postgres, pytest.mark.chdb, pytest.mark.grpc]
PACK = """agent payments-bot {
  default deny
  rules {
    permit stripe/refund when amount < 100
    deny shell/run
  }
}
"""


def submit_pack(page: object, version: str, fpl: str = PACK) -> None:
    form = page.locator("#submit-pack")  # type: ignore[attr-defined]
    form.get_by_label("Name").fill("acme/payments")
    form.get_by_label("Version").fill(version)
    form.get_by_label("Domains (comma-separated)").fill("payments")
    form.get_by_label("FPL").fill(fpl)
    form.get_by_label("Changelog").fill(f"version {version}")
    form.get_by_role("button", name="Submit for review").click()


def test_publish_review_round_trip_and_my_artifacts_on_up_demo(up_demo: UpDemo, new_page: NewPage) -> None:
    base = up_demo.base
    page = new_page()
    page.goto(base + "/setup")
    page.get_by_label("Your name").fill("Ada Lovelace")
    page.get_by_label("Email").fill("ada@example.test")
    page.get_by_label("Password (at least 12 characters)").fill(PASSWORD)
    page.get_by_role("button", name="Create owner and sign in").click()
    expect(page).to_have_url(base + "/o/demo/")

    page.get_by_role("navigation", name="Sections").get_by_role("link", name="Registry").click()
    page.get_by_role("navigation", name="Registry").get_by_role("link", name="Publish").click()
    expect(page).to_have_url(base + "/o/demo/registry/publish")
    claim = page.locator("#namespaces")
    claim.get_by_label("Namespace").fill("acme")
    claim.get_by_label("Publisher name").fill("Acme Inc")
    claim.get_by_role("button", name="Claim namespace").click()
    expect(page.get_by_role("status")).to_contain_text("Namespace acme claimed")
    expect(page.locator("tr[data-namespace=acme] .state")).to_have_text("pending")

    tabs = page.get_by_role("navigation", name="Registry")
    tabs.get_by_role("link", name="Review queue").click()  # the demo's first owner reviews
    row = page.locator("form[data-namespace=acme]")
    row.get_by_label("Reason").fill("Acme is the demo's company")
    row.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("status")).to_contain_text("Namespace acme confirmed")

    tabs.get_by_role("link", name="Publish").click()
    submit_pack(page, "1.0.0", PACK.replace("amount < 100", "amount =~ 100"))
    expect(page.get_by_role("alert")).to_contain_text("FPL does not parse: line 4")
    submit_pack(page, "1.0.0")
    expect(page.get_by_role("status")).to_contain_text("acme/payments@1.0.0 submitted for review")
    submit_pack(page, "1.1.0", PACK.replace("< 100", "< 100000"))
    expect(page.get_by_role("status")).to_contain_text("acme/payments@1.1.0 submitted for review")
    screenshot(page, "registry-publish")

    tabs.get_by_role("link", name="Review queue").click()
    queue = page.locator("article.submission")
    expect(queue).to_have_count(2)
    first = queue.filter(has_text="1.0.0")
    expect(first.locator("pre.fpl")).to_contain_text("permit stripe/refund when amount < 100")
    screenshot(page, "registry-review-queue")
    first.get_by_role("button", name="Approve and sign").click()
    expect(page.get_by_role("status")).to_contain_text("acme/payments@1.0.0 approved and published")
    second = page.locator("article.submission", has_text="1.1.0")
    second.get_by_role("button", name="Reject").click()  # no reason: refused
    expect(page.get_by_role("alert")).to_contain_text("a reason is required")
    second = page.locator("article.submission", has_text="1.1.0")
    second.get_by_label("Reason", exact=False).fill("the refund limit of 100000 is not safe")
    second.get_by_role("button", name="Reject").click()
    expect(page.get_by_role("status")).to_contain_text("acme/payments@1.1.0 rejected")

    tabs.get_by_role("link", name="Publish").click()
    rejected = page.locator("#submissions tr[data-state=rejected]")
    expect(rejected.locator(".reason")).to_have_text("the refund limit of 100000 is not safe")

    daemon = f"{base}/registry/v1/policies/acme%2Fpayments/versions/1.0.0"
    for _ in range(2):
        assert httpx.get(daemon, timeout=30).json()["policy_fpl"] == PACK
    tabs.get_by_role("link", name="My artifacts").click()
    version = page.locator("tr[data-version='1.0.0']")
    expect(version).to_have_attribute("data-state", "published")

    def counted() -> bool:
        page.reload()
        return page.locator("tr[data-version='1.0.0'] .downloads").inner_text().strip() == "2"
    until("the two downloads counted (batched)", counted, 30)
    expect(page.locator("section.artifact #submissions tbody tr")).to_have_count(2)
    screenshot(page, "registry-my-artifacts")
    version = page.locator("tr[data-version='1.0.0']")
    version.get_by_label("Reason to yank 1.0.0").fill("superseded")
    version.get_by_role("button", name="Yank").click()
    expect(page.get_by_role("status")).to_contain_text("acme/payments@1.0.0 yanked")
    expect(page.locator("tr[data-version='1.0.0']")).to_have_attribute("data-state", "yanked")
    assert httpx.get(daemon, timeout=30).status_code == 404
