"""The main pages of ``faramesh-cloud up --demo``, walked in a browser: shared by the
accessibility test (tests/browser/test_shell_ui.py) and ``scripts/screenshots.py``.

:func:`adopt_demo` makes the first owner (who adopts the demo organisation) and waits until the
demo fleet's records are searchable; :func:`main_pages` lists every main page as
``(name, url)``, the pages behind an id (a stack, an agent, a record, a session, an approval, a
registry item) found by following the first link of the list page above them, as a person does.
"""

from __future__ import annotations

import time
from typing import Any

from playwright.sync_api import expect

from tests.fixtures.identity import PASSWORD

ORG = "demo"
OWNER = "ada@example.test"
AXE = "tests/browser/vendor/axe-core/axe.min.js"  # axe-core from npm, vendored (README.md there)


def adopt_demo(page: Any, base: str, *, records: int = 20, within_s: float = 180) -> None:
    """The first owner adopts the demo organisation; returns once ``records`` DPRs are searchable
    and an approval is pending (a bound against hanging, not a timing assertion)."""
    page.goto(base + "/setup")
    page.get_by_label("Your name").fill("Ada Lovelace")
    page.get_by_label("Email").fill(OWNER)
    page.get_by_label("Password (at least 12 characters)").fill(PASSWORD)
    page.get_by_role("button", name="Create owner and sign in").click()
    expect(page).to_have_url(base + f"/o/{ORG}/")
    api = page.request
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        found = api.get(base + f"/api/v1/orgs/{ORG}/audit/records?limit={records}").json()["records"]
        pending = api.get(base + f"/api/v1/orgs/{ORG}/approvals").json()
        if len(found) >= records and pending:
            return
        time.sleep(1)
    raise AssertionError(f"the demo fleet's records and approvals did not arrive within {within_s:g} s")


def first_link(page: Any, url: str, selector: str) -> str:
    """The first link matching ``selector`` on the page at ``url`` (absolute)."""
    page.goto(url)
    link = page.locator(selector).first
    expect(link).to_be_attached()
    href = link.get_attribute("href")
    assert href, f"no link {selector} on {url}"
    return str(page.evaluate("h => new URL(h, document.baseURI).href", href))


def main_pages(page: Any, base: str) -> list[tuple[str, str]]:
    """Every main page of the demo organisation, as ``(name, url)``."""
    o = f"{base}/o/{ORG}"
    stack = first_link(page, o + "/fleet", "main a[href*='/fleet/stacks/']").split("?")[0].rstrip("/")
    agent = first_link(page, stack + "/agents", "main a[href*='/agents/']")
    record = first_link(page, o + "/audit", "main a[href*='/audit/records/']")
    session = first_link(page, o + "/audit", "main a[href*='/audit/sessions/']")
    integrity = first_link(page, o + "/audit/integrity", "main a[href*='/audit/integrity/']")
    approval = first_link(page, o + "/approvals", "main a[href*='/approvals/']:not([href$='/history'])")
    registry = first_link(page, o + "/registry/policies", "main a[href*='/registry/policies/']")
    return [
        ("home", o + "/"),
        ("fleet-list", o + "/fleet"),
        ("fleet-stack-overview", stack),
        ("fleet-stack-agents", stack + "/agents"),
        ("fleet-stack-config", stack + "/config"),
        ("fleet-stack-applies", stack + "/applies"),
        ("fleet-stack-providers", stack + "/providers"),
        ("fleet-stack-registry", stack + "/registry"),
        ("fleet-agent", agent),
        ("audit-search", o + "/audit"),
        ("audit-explain", record),
        ("audit-session", session),
        ("audit-live", o + "/audit/live"),
        ("audit-integrity", o + "/audit/integrity"),
        ("audit-integrity-stack", integrity),
        ("approvals-queue", o + "/approvals"),
        ("approvals-history", o + "/approvals/history"),
        ("approval-detail", approval),
        ("emergency-commands", o + "/emergency/commands"),
        ("compliance-posture", o + "/compliance"),
        ("compliance-coverage", o + "/compliance/coverage"),
        ("compliance-reports", o + "/compliance/reports"),
        ("compliance-library", o + "/compliance/library"),
        ("registry", o + "/registry"),
        ("registry-pack", registry),
        ("registry-trust-keys", o + "/registry/trust-keys"),
        ("registry-imports", o + "/registry/imports"),
        ("registry-mine", o + "/registry/mine"),
        ("settings-organization", o + "/settings/organization"),
        ("settings-members", o + "/settings/members"),
        ("settings-groups", o + "/settings/members/groups"),
        ("settings-stacks", o + "/settings/stacks"),
        ("settings-integrations", o + "/settings/integrations"),
        ("settings-api-keys", o + "/settings/api-keys"),
        ("settings-config-assistant", o + "/settings/config-assistant"),
        ("settings-billing", o + "/settings/billing"),
        ("settings-audit-log", o + "/settings/audit-log"),
        ("settings-retention", o + "/settings/retention"),
        ("not-found", o + "/settings"),
    ]
