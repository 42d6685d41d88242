"""Compliance → Coverage in a browser (Debian chromium via Playwright) against a running Cloud
(``up --demo``'s services, in a thread with its own loop): the demo fleet's daemons push signed
DPRs and report their applied governance.fms, an agent ``ops-bot`` has calls only the default
decided; the owner opens the Coverage tab (agents, tools, findings of the applied file in
context), clicks a gap, reads its calls and sample records, re-suggests the FPL rule for
``deny!`` and sees it in a copyable block with where it goes and that Cloud never pushes it."""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from faramesh_cloud.compliance.domain import to_ns
from tests.fixtures.browser import NewPage, screenshot
from tests.fixtures.browser import sign_in as browser_sign_in
from tests.integration.test_compliance_coverage_gateway import FLEET, GAPS, default_decided
from tests.simulator_support import eventually
from tests.system_support import OWNER, Person, cloud_settings, drop_olap_database, running_cloud

pytestmark = [pytest.mark.chdb, pytest.mark.grpc]


class DemoCloud:
    """``running_cloud`` with the demo fleet in a thread of its own, seeded and left running
    until the test is done."""

    def __init__(self, pg_url: str, chdb_dir: Path, data_dir: Path) -> None:
        self._args = (pg_url, chdb_dir, data_dir)
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self.error: BaseException | None = None
        self.base = ""
        self.org = ""
        self.stack_id = ""
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)

    def __enter__(self) -> DemoCloud:
        self._thread.start()
        assert self._ready.wait(240), "the demo cloud did not start"
        if self.error is not None:
            raise self.error
        return self

    def __exit__(self, *exc: object) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(60)

    async def _main(self) -> None:
        pg_url, chdb_dir, data_dir = self._args
        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        try:
            async with running_cloud(cloud_settings(data_dir, pg_url), chdb_dir, FLEET) as cloud, \
                    Person(cloud.base_url) as person:
                self.org = await person.sign_in()
                await self._seed(cloud)
                self.base = cloud.base_url
                self._ready.set()
                await self._stop.wait()
        except BaseException as exc:  # handed to the test
            self.error = exc
            self._ready.set()

    async def _seed(self, cloud: Any) -> None:
        assert cloud.demo is not None and cloud.demo._fleet is not None
        for daemon in cloud.demo._fleet.daemons:
            await daemon.write_decisions(30)
            daemon.flush.set()
        fleet = cloud.service("fleet").query
        audit = cloud.service("audit-index").reader
        async with cloud.db.connection() as conn:
            row = await (await conn.execute("SELECT org_id::text FROM orgs WHERE slug = %s", (self.org,))).fetchone()
        org_id = str(row[0])
        stacks: list[Any] = []

        async def reported() -> bool:
            nonlocal stacks
            stacks = [s for s in await fleet.stacks(org_id) if s.config_text_sha256]
            return bool(stacks) and await audit.count(org_id, {"verification": "verified"}, None, None) >= 90
        await eventually(reported, "the demo fleet's applied texts reported and its DPRs indexed")
        self.stack_id = stacks[0].stack_id
        await default_decided(cloud, org_id, self.stack_id)

        async def with_gaps() -> bool:
            return await audit.count(org_id, {"verification": "verified", "agent_id": "ops-bot"},
                                     to_ns(datetime.now(UTC) - timedelta(days=1)), None) == len(GAPS)
        await eventually(with_gaps, "the default-decided calls indexed")


@pytest.fixture
def demo(pg_url: str, chdb_data_dir: Path, tmp_path: Path) -> Iterator[DemoCloud]:
    drop_olap_database(chdb_data_dir)
    with DemoCloud(pg_url, chdb_data_dir, tmp_path / "cloud") as cloud:
        yield cloud
    drop_olap_database(chdb_data_dir)


def test_the_coverage_tab_and_a_gaps_snippet(demo: DemoCloud, new_page: NewPage) -> None:
    page = new_page()
    browser_sign_in(page, demo.base, OWNER, lambda p: p.get_by_role("navigation", name="Sections"))
    page.get_by_role("navigation", name="Sections").get_by_role("link", name="Compliance").click()
    page.get_by_role("navigation", name="Compliance").get_by_role("link", name="Coverage").click()
    page.locator("#coverage-form #stack").select_option(demo.stack_id)
    page.get_by_role("button", name="Analyse").click()
    ops = page.locator('article.agent[data-agent="ops-bot"]')
    expect(ops).to_have_attribute("data-status", "partial")  # one tool a gap, one partly covered
    expect(ops.locator('tr.tool[data-tool="fs/write_file"]')).to_have_attribute("data-status", "gap")
    expect(ops.locator('tr.tool[data-tool="stripe/charge"]')).to_have_attribute("data-status", "partial")
    expect(ops.locator(".agent-note")).to_contain_text("the daemon enforces only agent")
    expect(page.locator("article.finding").first).to_be_visible()
    expect(page.locator('article.finding[data-kind="agent_dropped"] .finding-kind').first).to_have_text(
        "agent block dropped")
    expect(page.locator('article.finding[data-kind="agent_dropped"] tr.mark').first).to_contain_text("agent")
    screenshot(page, "compliance-coverage")

    ops.locator('tr.tool[data-tool="fs/write_file"] a.gap-link').click()
    expect(page.get_by_role("heading", name="Tool fs/write_file of agent ops-bot")).to_be_visible()
    expect(page.locator("#gap-calls")).to_have_text("4")
    expect(page.locator("#samples a.record-link")).to_have_count(4)
    page.get_by_label("Effect").select_option("deny!")
    page.get_by_role("button", name="Suggest again").click()
    expect(page.locator("#snippet")).to_have_text(re.compile(r'^deny! "?fs/write_file"? reason: "'))
    expect(page.locator("#snippet-where")).not_to_be_empty()
    expect(page.locator("#never-pushed")).to_contain_text("faramesh apply")
    expect(page.locator("#snippet-placed tr.snippet")).to_contain_text("deny! ")
    screenshot(page, "compliance-coverage-gap")
    page.locator("#samples a.record-link").first.click()
    expect(page).to_have_url(re.compile(r"/o/[^/]+/audit/records/[0-9a-f-]+$"))
