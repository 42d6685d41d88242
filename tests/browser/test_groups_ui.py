"""Settings → Members → Groups in a browser: make a group, add a member, map IdP groups to
it for SSO sync, see a refusal in the page, delete it."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from faramesh_cloud.identity.domain import OrgRef, Principal, PrincipalKind
from faramesh_cloud.identity.permissions import Role
from tests.fixtures.browser import LiveGateway, NewPage, screenshot
from tests.fixtures.identity import PASSWORD

OWNER = "olivia@example.test"
OPERATOR = "oscar@example.test"


@pytest.fixture(scope="module")
def acme(live_gateway: LiveGateway) -> OrgRef:
    async def seed() -> OrgRef:
        org, _ = await live_gateway.seed_acme(OWNER, "Olivia Owner")
        identity = live_gateway.identity
        assert identity is not None
        found = await identity.users.find_by_email(OWNER)
        assert found is not None
        user_id = found.user_id
        access = await identity.members.access(org.org_id, user_id)
        assert access is not None
        owner = Principal(PrincipalKind.USER, org, access, user_id, OWNER, "127.0.0.1", None)
        _, token = await identity.invitations.create(org.org_id, OPERATOR, Role.OPERATOR, owner)
        await identity.invitations.accept(token, name="Oscar", password=PASSWORD)
        return org

    return live_gateway.run(seed)


def test_groups_make_fill_map_and_delete(live_gateway: LiveGateway, acme: OrgRef, new_page: NewPage) -> None:
    page = new_page()
    page.goto(live_gateway.base + "/login")
    page.get_by_label("Email").fill(OWNER)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("heading", name="Fleet health")).to_be_visible()
    page.get_by_role("navigation", name="Sections").get_by_role("link", name="Settings").click()
    page.get_by_role("navigation", name="Settings").get_by_role("link", name="Members").click()
    page.get_by_role("navigation", name="Members").get_by_role("link", name="Groups").click()
    expect(page.get_by_text("No groups yet.")).to_be_visible()

    page.get_by_label("Group name").fill("payments-oncall")
    page.get_by_label("Description").fill("Who answers for payments at night")
    page.get_by_role("button", name="Create group").click()
    expect(page.get_by_text("Group payments-oncall created.")).to_be_visible()
    page.get_by_label("Add member").select_option(label=OPERATOR)
    page.get_by_role("button", name="Add to group").click()
    expect(page.locator("tr", has_text=OPERATOR)).to_contain_text("added here")
    page.get_by_label("IdP group names (comma-separated)").fill("sre, payments")
    page.get_by_role("button", name="Save SSO sync").click()
    expect(page.get_by_text("SSO sync saved")).to_be_visible()
    screenshot(page, "settings-group")

    page.get_by_role("link", name="← Groups").click()
    expect(page.locator("tr", has_text="payments-oncall")).to_contain_text("payments, sre")
    page.get_by_label("Group name").fill("PAYMENTS-ONCALL")
    page.get_by_role("button", name="Create group").click()
    expect(page.get_by_role("alert")).to_contain_text("exists already")
    screenshot(page, "settings-groups")

    page.locator("tr", has_text="payments-oncall").get_by_role("link", name="Manage").click()
    page.get_by_role("button", name="Delete group").click()
    expect(page.get_by_text("Group payments-oncall deleted.")).to_be_visible()
    expect(page.get_by_text("No groups yet.")).to_be_visible()
