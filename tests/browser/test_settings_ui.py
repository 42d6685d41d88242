"""Settings in a browser: members (invite, accept, change role, per-stack role), SSO sign-in
against a real OIDC provider on loopback, and the platform audit log (filter, verify)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from faramesh_cloud.identity.domain import OrgRef
from tests.fixtures.browser import LiveGateway, NewPage, screenshot
from tests.fixtures.identity import PASSWORD
from tests.fixtures.oidc import OidcProvider

OWNER = "olivia@example.test"


@pytest.fixture(scope="module")
def acme(live_gateway: LiveGateway) -> OrgRef:
    async def seed() -> OrgRef:
        org, _ = await live_gateway.seed_acme(OWNER, "Olivia Owner", ("payments-prod", "production"),
                                              ("search-staging", "staging"))
        return org

    return live_gateway.run(seed)


def sign_in(page: Any, base: str, email: str, password: str = PASSWORD) -> None:
    page.goto(base + "/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("heading", name="Fleet health")).to_be_visible()


def test_members_invite_accept_and_roles(live_gateway: LiveGateway, acme: OrgRef, new_page: NewPage) -> None:
    base = live_gateway.base
    owner = new_page()
    sign_in(owner, base, OWNER)
    owner.get_by_role("navigation", name="Sections").get_by_role("link", name="Settings").click()
    owner.get_by_role("navigation", name="Settings").get_by_role("link", name="Members").click()
    owner.get_by_label("Email").fill("victor@example.test")
    owner.get_by_label("Role").select_option("viewer")
    owner.get_by_role("button", name="Create invitation").click()
    link = owner.locator("#invite-link").inner_text().strip()

    invitee = new_page()
    invitee.goto(link)
    expect(invitee.get_by_role("heading", name="Join Acme Payments")).to_be_visible()
    invitee.get_by_label("Your name").fill("Victor Viewer")
    invitee.get_by_label("Choose a password").fill(PASSWORD)
    invitee.get_by_role("button", name="Create account and join").click()
    expect(invitee.get_by_text("You are Viewer in Acme Payments")).to_be_visible()
    expect(invitee.get_by_role("navigation", name="Sections").get_by_role("link")).to_have_text(["Home"])

    owner.reload()
    row = owner.locator("tr", has_text="victor@example.test")
    expect(row).to_contain_text("Viewer")
    row.get_by_role("link", name="Manage").click()
    owner.get_by_label("Role", exact=True).select_option("operator")
    owner.get_by_role("button", name="Change role").click()
    expect(owner.get_by_role("status")).to_contain_text("victor@example.test is now Operator")
    owner.get_by_label("Role on search-staging").select_option("none")
    owner.locator("tr", has_text="search-staging").get_by_role("button", name="Save").click()
    expect(owner.get_by_role("status")).to_contain_text("Stack role saved")
    expect(owner.get_by_label("Role on search-staging")).to_have_value("none")

    invitee.reload()  # the new role shows on the next request; the stack with no access is gone
    expect(invitee.get_by_text("You are Operator in Acme Payments")).to_be_visible()
    expect(invitee.locator("table")).not_to_contain_text("search-staging")
    expect(invitee.locator("table")).to_contain_text("payments-prod")

    owner.get_by_role("link", name="← Members").click()
    expect(owner.locator("tr", has_text="victor@example.test")).to_contain_text("Operator")
    screenshot(owner, "members")


def test_sso_sign_in_with_attribute_mapping(live_gateway: LiveGateway, acme: OrgRef, new_page: NewPage,
                                            oidc_provider: OidcProvider) -> None:
    base = live_gateway.base
    owner = new_page()
    sign_in(owner, base, OWNER)
    owner.goto(base + "/o/acme/settings/organization")
    owner.get_by_label("Enabled").check()
    owner.get_by_label("Issuer URL").fill(oidc_provider.issuer)
    owner.get_by_label("Client id").fill("faramesh-cloud")
    owner.get_by_label("Client secret").fill("s3cret")
    owner.get_by_label("Attribute mapping").fill("sre = operator\nplatform = admin")
    owner.get_by_role("button", name="Save SSO settings").click()
    expect(owner.get_by_role("status")).to_contain_text("SSO settings saved")

    person = new_page()
    person.goto(base + "/login")
    person.get_by_label("Organisation (slug)").fill("acme")
    person.get_by_role("button", name="Sign in with SSO").click()
    expect(person.get_by_role("heading", name="Authorize Client")).to_be_visible()  # the provider's page
    person.get_by_role("button", name="alice").click()
    expect(person.get_by_text("You are Operator in Acme Payments")).to_be_visible()
    expect(person.locator("#user-menu summary")).to_contain_text("Alice")


def test_platform_audit_log_filters_and_verifies(live_gateway: LiveGateway, acme: OrgRef, new_page: NewPage) -> None:
    base = live_gateway.base
    page = new_page()
    sign_in(page, base, OWNER)
    page.goto(base + "/o/acme/settings/audit-log")
    entries = page.locator("#audit-entries tbody tr")
    expect(entries.first).to_contain_text("identity:session:login")
    page.get_by_label("Action").select_option("identity:member:add")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"action=identity%3Amember%3Aadd"))
    expect(entries.first).to_contain_text("identity:member:add")
    for text in entries.all_inner_texts():
        assert "identity:member:add" in text
    page.get_by_role("button", name="Verify chain").click()
    expect(page.locator("#verify-result")).to_contain_text("Chain intact")
    # Times render in the viewer's zone (Europe/Berlin here), from the ISO UTC instant.
    first_time = page.locator("#audit-entries time").first
    assert first_time.get_attribute("datetime", timeout=5_000).endswith("Z")
    expect(first_time).not_to_contain_text(" UTC")
    with page.expect_download() as download:
        page.get_by_role("link", name="Export signed bundle").click()
    assert download.value.suggested_filename.startswith("platform-audit-acme-")
    screenshot(page, "audit-log")
