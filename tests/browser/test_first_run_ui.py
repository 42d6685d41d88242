"""A fresh install in a browser: create the first owner, sign out, sign in with the password."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.fixtures.browser import LiveGateway, NewPage, screenshot
from tests.fixtures.identity import PASSWORD


def test_first_owner_then_local_sign_in(live_gateway: LiveGateway, new_page: NewPage) -> None:
    page = new_page()
    page.goto(live_gateway.base + "/")
    page.get_by_role("link", name="Create the first owner").click()
    page.get_by_label("Your name").fill("Ada Lovelace")
    page.get_by_label("Email").fill("ada@example.test")
    page.get_by_label("Password (at least 12 characters)").fill(PASSWORD)
    page.get_by_label("Organisation name").fill("Acme Payments")
    page.get_by_label("Organisation slug").fill("acme")
    page.get_by_role("button", name="Create owner and sign in").click()
    expect(page).to_have_url(live_gateway.base + "/o/acme/")
    expect(page.get_by_role("heading", name="Fleet health")).to_be_visible()
    nav = page.get_by_role("navigation", name="Sections")
    expect(nav.get_by_role("link")).to_have_text(["Home", "Settings"])

    page.locator("#user-menu summary").click()
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in to Faramesh Cloud")).to_be_visible()
    page.get_by_label("Email").fill("ada@example.test")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("wrong email or password")
    screenshot(page, "login")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page).to_have_url(live_gateway.base + "/o/acme/")
    expect(page.locator("#org-switcher summary")).to_have_text("Acme Payments ▾")
