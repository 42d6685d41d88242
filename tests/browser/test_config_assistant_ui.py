"""Settings → Config Assistant in a browser: pick a block, fill the form, see the governance.fms
snippet and copy it; the browser itself enforces the rules the server checks (every field's
pattern compiles under the `v` flag Chromium uses, and a bad tool id is blocked before sending);
a condition the daemon would fail to load is refused by the server naming the field."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from faramesh_cloud.fpl.snippets import BLOCKS, in_context
from faramesh_cloud.fpl.strict import parse_strict
from faramesh_cloud.identity.domain import OrgRef
from tests.fixtures.browser import LiveGateway, NewPage, screenshot, sign_in

OWNER = "olivia@example.test"


@pytest.fixture(scope="module")
def acme(live_gateway: LiveGateway) -> OrgRef:
    async def seed() -> OrgRef:
        org, _ = await live_gateway.seed_acme(OWNER, "Olivia Owner", ("payments-prod", "production"))
        return org

    return live_gateway.run(seed)


def open_assistant(live_gateway: LiveGateway, new_page: NewPage) -> Any:
    page = new_page()
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_gateway.base)
    sign_in(page, live_gateway.base, OWNER, lambda p: p.get_by_role("navigation", name="Sections"))
    page.get_by_role("navigation", name="Sections").get_by_role("link", name="Settings").click()
    page.get_by_role("navigation", name="Settings").get_by_role("link", name="Config Assistant").click()
    expect(page.get_by_role("heading", name="Config Assistant")).to_be_visible()
    return page


def test_fill_a_rule_see_the_snippet_and_copy_it(live_gateway: LiveGateway, acme: OrgRef, new_page: NewPage) -> None:
    page = open_assistant(live_gateway, new_page)
    expect(page.locator("#never-pushed")).to_have_text("Cloud never pushes it to a stack:")
    page.get_by_role("navigation", name="Block type").get_by_role("link", name="Rule").click()
    page.get_by_label("Effect").select_option("deny!")
    page.get_by_label("Tool (glob)").fill("shell/*")
    page.get_by_label("When (condition)").fill("cmd matches 'rm -rf|mkfs'")
    page.get_by_label("Reason").fill("destructive command — nie erlaubt")
    page.get_by_role("button", name="Generate").click()
    snippet = page.locator("#snippet")
    want = 'deny! shell/* when cmd matches "rm -rf|mkfs" reason: "destructive command — nie erlaubt"'
    expect(snippet).to_have_text(want)
    page.get_by_role("button", name="Copy").click()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == want
    rule = parse_strict(in_context("rule", copied)).agents[0].rules[0]
    assert (rule.effect, rule.tool, rule.condition) == ("deny!", "shell/*", 'cmd matches "rm -rf|mkfs"')
    screenshot(page, "config-assistant-rule")


def test_the_browser_and_the_server_refuse_what_the_daemon_would_not_read(
        live_gateway: LiveGateway, acme: OrgRef, new_page: NewPage) -> None:
    page = open_assistant(live_gateway, new_page)
    for block in BLOCKS:  # every pattern the form states is one the browser can apply
        page.goto(f"{live_gateway.base}/o/acme/settings/config-assistant?block={block}")
        broken = page.evaluate("""() => [...document.querySelectorAll('input[pattern]')].filter(el => {
            try { new RegExp('^(?:' + el.pattern + ')$', 'v'); return false; } catch (e) { return true; }
        }).map(el => el.name)""")
        assert broken == [], (block, broken)

    page.goto(f"{live_gateway.base}/o/acme/settings/config-assistant?block=rule")
    page.get_by_label("Tool (glob)").fill("mcp:fs.write")
    assert page.get_by_label("Tool (glob)").evaluate("el => el.validity.patternMismatch") is True
    page.get_by_role("button", name="Generate").click()  # the browser keeps the form
    expect(page.locator("#snippet")).to_have_count(0)

    page.get_by_label("Tool (glob)").fill("stripe/charge")
    page.get_by_label("When (condition)").fill("amount > $500")
    page.get_by_role("button", name="Generate").click()
    expect(page.get_by_role("alert")).to_contain_text("When (condition): no $ in a condition")
    expect(page.get_by_label("When (condition)")).to_have_value("amount > $500")
    expect(page.locator("#snippet")).to_have_count(0)
    screenshot(page, "config-assistant-refused")

    page.get_by_role("navigation", name="Block type").get_by_role("link", name="Budget").click()
    page.get_by_label("Per-session limit (USD)").fill("20")
    page.get_by_label("Per-day limit (USD)").fill("50.5")
    page.get_by_role("button", name="Generate").click()
    expect(page.locator("#snippet")).to_have_text("budget session {\n  max $20\n  daily $50.50\n  on_exceed deny\n}")
    screenshot(page, "config-assistant-budget")
