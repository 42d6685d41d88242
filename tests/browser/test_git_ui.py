"""Git providers in a browser (Debian chromium via Playwright) against the real gateway on
127.0.0.1, the fleet projection (with its git integrations) on real PostgreSQL consuming the
real log, and a local fake of GitHub's API: an Owner connects GitHub with a token (never shown
again), maps a stack (a wrong path is refused with the provider's answer), sees the commit
link go to the provider; a change merged on main shows as drift with its diff on the Config tab
after "Check now", and in Home's attention panel."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from faramesh_cloud.events.topics import SYNC_ITEMS
from faramesh_cloud.fleet.service import FleetProjection, GitSettings
from faramesh_cloud.gateway.app import create_app
from faramesh_cloud.gateway.web.fleet_ports import FleetPorts, mount_fleet
from faramesh_cloud.gateway.web.git_ports import mount_git
from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.embedded import EmbeddedPostgres
from tests.fakes.git import FakeGit
from tests.fixtures.browser import LiveGateway, NewPage, screenshot, serve_live
from tests.fixtures.browser import sign_in as browser_sign_in
from tests.fixtures.gateway import static_status
from tests.fleet_items import record, status

OWNER = "gina@example.test"
TOKEN = "ghp_browser_test_token_7c1e"
V1 = 'agent "pay" {\n  default deny\n  rule permit http.get\n}\n'
V2 = 'agent "pay" {\n  default deny\n  rule permit http.get\n  rule permit shell.ls\n}\n'


class GitGateway(LiveGateway):
    pool_size = 6
    with_log = True
    projection: FleetProjection | None = None

    async def _start_parts(self, db: Database) -> None:
        assert self.log is not None and self.stacks is not None
        await self.log.create_topic(SYNC_ITEMS, 4)
        self.projection = FleetProjection(db, self.log, self.stacks, git=GitSettings(
            secrets.token_bytes(32), poll_interval_s=3600, allow_private=True))
        await self.projection.start()

    def _app(self, db: Database) -> Any:
        assert self.projection is not None and self.stacks is not None
        app = create_app(static_status, web=self._web_deps())
        mount_fleet(app, FleetPorts(query=self.projection.query, registry=self.stacks, cloud_url="https://c.test"))
        mount_git(app, self.projection.git)
        return app

    async def _stop_parts(self) -> None:
        if self.projection is not None:
            await self.projection.stop()


@pytest.fixture(scope="module")
def gateway(embedded_postgres: EmbeddedPostgres, pg_template: str,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[GitGateway]:
    with serve_live(embedded_postgres, pg_template, "g", lambda url: GitGateway(
            url, Path(tmp_path_factory.mktemp("git-gateway")))) as live:
        yield live


@pytest.fixture
def github() -> Iterator[FakeGit]:
    fake = FakeGit("github")
    fake.start()
    yield fake
    fake.stop()


def test_connect_github_map_a_stack_and_see_drift_from_main(gateway: GitGateway, github: FakeGit,
                                                            new_page: NewPage) -> None:
    head = github.commit("acme/gov", "main", {"deploy/governance.fms": V1})
    github.grant(TOKEN)

    async def seed() -> tuple[Any, Any]:
        assert gateway.log is not None
        org, [pay] = await gateway.seed_acme(OWNER, "Gina Owner", ("payments-prod", "production"))
        report = status(datetime.now(UTC), commit=head)
        report.applied_config.governance_fms = V1
        report.applied_config.governance_sha256 = hashlib.sha256(V1.encode()).hexdigest()
        await gateway.log.append(SYNC_ITEMS, [record(org.org_id, pay.stack_id, 1, "stack_status", report)])
        return org, pay

    org, pay = gateway.run(seed)
    base = f"{gateway.base}/o/{org.slug}"
    page = new_page()
    browser_sign_in(page, gateway.base, OWNER, lambda p: p.get_by_role("navigation", name="Sections"))
    page.goto(f"{base}/settings/integrations/git")
    expect(page.get_by_role("heading", name="Git providers")).to_be_visible()
    expect(page.locator("#no-connections")).to_be_visible()

    page.get_by_label("Name", exact=True).fill("github-acme")
    page.get_by_label("Provider", exact=True).select_option("github")
    page.locator("#git-base").fill(github.base_url)
    page.get_by_label("Token (read access to the repository's contents)").fill(TOKEN)
    page.get_by_role("button", name="Connect").click()
    expect(page.get_by_role("status")).to_contain_text("Connected github-acme")
    expect(page.locator("#git-connections")).to_contain_text("…" + TOKEN[-4:])
    assert TOKEN not in page.content()

    page.locator("#map-repo").fill("acme/gov")
    page.locator("#map-path").fill("governance.fms")  # not where the file is
    page.get_by_role("button", name="Map", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("cannot read governance.fms on main of acme/gov")
    expect(page.locator("#no-mappings")).to_be_visible()
    page.locator("#map-path").fill("deploy/governance.fms")
    page.get_by_role("button", name="Map", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("Mapped to deploy/governance.fms on main of acme/gov")
    expect(page.locator("#git-mappings .git-status")).to_contain_text("same as applied")
    screenshot(page, "settings-integrations-git")

    page.goto(f"{base}/fleet/stacks/{pay.stack_id}/config")
    expect(page.locator("#git-drift")).to_contain_text("the same as the applied text")
    commit_link = page.locator("table a", has_text=head[:12]).first
    expect(commit_link).to_have_attribute("href", f"{github.base_url}/acme/gov/commit/{head}")

    newer = github.commit("acme/gov", "main", {"deploy/governance.fms": V2})
    page.get_by_role("button", name="Check now").click()
    expect(page.get_by_role("status")).to_contain_text(f"Checked main at {newer[:12]}")
    expect(page.locator("#git-drift")).to_contain_text("differs from the applied text")
    expect(page.locator("#git-diff .add")).to_contain_text("+  rule permit shell.ls")
    expect(page.locator('#drift li[data-kind="differs_from_git"]')).to_be_visible()
    screenshot(page, "fleet-config-git-drift")

    page.goto(f"{base}/")
    expect(page.locator("#attention-items").get_by_text("Differs from git")).to_be_visible()
