"""Issue #7 end to end in a browser, on `faramesh-cloud up --demo` as a user runs it: the
simulated fleet's defers appear in the queue; the first owner approves one with a reason and
the simulated agent proceeds (its resumed PERMIT record is indexed and linked); a bulk deny
of three approvals of one agent / tool / rule pattern; a kill that the simulated daemon
acknowledges (issued, delivered and acknowledged times shown)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from playwright.sync_api import expect

from tests.fixtures.browser import NewPage, free_port
from tests.fixtures.identity import PASSWORD
from tests.ports import free_internal_base

pytestmark = [pytest.mark.integration, pytest.mark.postgres, pytest.mark.chdb, pytest.mark.grpc]

T = TypeVar("T")


class UpDemo:
    def __init__(self, data_dir: Path) -> None:
        self.http, self.sync = free_port(), free_port()
        env = {**os.environ, "FARAMESH_CLOUD_INTERNAL_BASE_PORT": str(free_internal_base()),
               "FARAMESH_CLOUD_EMERGENCY_POLL_INTERVAL_S": "2"}  # the setting; default 30 s
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "faramesh_cloud", "up", "--demo", "--data-dir", str(data_dir),
             "--http-port", str(self.http), "--sync-port", str(self.sync)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        self.base = f"http://127.0.0.1:{self.http}"

    def wait_started(self) -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, "faramesh-cloud up --demo exited"
            try:
                # /healthz: anyone may read the services' states (the full status needs an
                # owner, and this test's browser is to become the first one)
                services = httpx.get(f"{self.base}/healthz", timeout=2).json()["services"]
                if services.get("demo") == "running":
                    return
            except (httpx.TransportError, ValueError, KeyError):
                pass
            time.sleep(0.3)
        raise AssertionError("faramesh-cloud up --demo did not start in 120 s")

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def until(what: str, check: Callable[[], T | None], within_s: float, every_s: float = 0.5) -> T:
    """``check()`` once it is truthy, asked every ``every_s`` (a bound against hanging, not a timing assertion)."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(every_s)
    raise AssertionError(f"not within {within_s:g} s: {what}")


def test_up_demo_approve_bulk_deny_and_kill_in_a_browser(up_demo: UpDemo, new_page: NewPage) -> None:
    base = up_demo.base
    page = new_page()
    page.goto(base + "/setup")  # the first owner adopts the demo organisation
    page.get_by_label("Your name").fill("Ada Lovelace")
    page.get_by_label("Email").fill("ada@example.test")
    page.get_by_label("Password (at least 12 characters)").fill(PASSWORD)
    page.get_by_role("button", name="Create owner and sign in").click()
    expect(page).to_have_url(base + "/o/demo/")
    api = page.request

    def pending() -> list[dict[str, Any]]:
        return list(api.get(base + "/api/v1/orgs/demo/approvals").json())

    # A defer from the simulated fleet appears in the queue; approve it with a reason.
    first = until("a pending approval from the demo fleet", lambda: (pending() or [None])[0], 120)
    page.get_by_role("navigation", name="Sections").get_by_role("link", name="Approvals").click()
    expect(page.locator(f"tr[data-approval-id='{first['approval_id']}']")).to_be_visible()
    page.locator(f"tr[data-approval-id='{first['approval_id']}']").get_by_role("link", name="Review").click()
    page.get_by_label("Reason (required, recorded and sent to the daemon)").fill("customer verified by phone")
    page.get_by_role("button", name="Approve", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("Approved")

    # The daemon applies it: the agent's call resumes as a PERMIT (APPROVAL_GRANTED) record,
    # which the daemon names in its acknowledgement and Cloud indexes.
    def resumed() -> str | None:
        got = api.get(base + f"/api/v1/orgs/demo/approvals/{first['approval_id']}").json()
        return got["resolution_record_id"] if got["state"] == "approved" else None
    record_id = until("the daemon applied the approval and named its resumed record", resumed, 90)

    def indexed() -> bool:
        return api.get(base + f"/o/demo/audit/records/{record_id}").status == 200
    until("the resumed record indexed", indexed, 60)
    page.goto(base + f"/o/demo/audit/records/{record_id}")
    expect(page.locator("main")).to_contain_text("APPROVAL_GRANTED")
    expect(page.locator("main")).to_contain_text("PERMIT")

    # Bulk deny of three approvals of one agent / tool / rule pattern.
    def three_alike() -> tuple[str, str, str] | None:
        counts = Counter((a["agent_id"], a["tool_id"], a["matched_rule_id"]) for a in pending())
        best = counts.most_common(1)
        return best[0][0] if best and best[0][1] >= 3 else None
    agent, tool, rule = until("three pending approvals of one pattern", three_alike, 240)
    page.goto(base + f"/o/demo/approvals?agent={agent}&tool={tool}&rule={rule}")
    rows = page.locator("#approval-queue tbody tr[data-approval-id]")
    count = rows.count()
    assert count >= 3
    # The three newest (oldest first in the queue): the demo daemons resolve some defers
    # themselves after 3 minutes and expire them after 5.
    chosen = [rows.nth(i).get_attribute("data-approval-id") for i in range(count - 3, count)]
    for approval_id in chosen:
        page.locator(f"tr[data-approval-id='{approval_id}'] input[type=checkbox]").check()
    page.get_by_label("Reason (recorded on every decision)").fill("incident freeze")
    page.get_by_role("button", name="Deny selected").click()
    expect(page.locator("#bulk-result")).to_contain_text("3 decided")

    def denied_by_daemon() -> bool:
        states = [api.get(base + f"/api/v1/orgs/demo/approvals/{i}").json() for i in chosen]
        return all(s["state"] == "denied" and s["resolution_record_id"] for s in states)
    until("the daemon applied the three denials", denied_by_daemon, 90)
    page.goto(base + "/o/demo/approvals/history")
    for approval_id in chosen:
        expect(page.locator(f"#approval-history tr[data-approval-id='{approval_id}']")).to_contain_text(
            "incident freeze")

    # Kill the agent from its Fleet page; the simulated daemon acknowledges it.
    page.goto(base + f"/o/demo/fleet/stacks/{first['stack_id']}/agents/{first['agent_id']}")
    page.get_by_label("Reason (required)").fill("runaway refunds")
    page.get_by_role("button", name="Kill agent…").click()
    page.get_by_role("button", name=re.compile(r"^Yes, kill ")).click()
    expect(page.locator("#command-state")).to_have_text(re.compile("issued|delivered|acknowledged"))

    def acknowledged() -> bool:
        page.reload()
        return page.locator("#command-state").inner_text().strip() == "acknowledged"
    until("the daemon acknowledged the kill", acknowledged, 90)
    command = page.locator("#emergency-command")
    expect(command).to_contain_text("applied")
    for label in ("Issued", "Delivered", "Acknowledged"):
        expect(command.locator(f"tr:has(th:text-is('{label}')) time")).to_have_count(1)
