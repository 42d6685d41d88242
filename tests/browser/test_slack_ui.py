"""Settings → Integrations → Slack in a browser (Debian chromium via Playwright) against the
real gateway on 127.0.0.1 and a local fake of Slack (``tests/fakes/slack.py``): the owner
connects a workspace with the OAuth v2 flow (Cloud's form → Slack's consent → Cloud's
callback), sees it listed with its channel and never the bot token, and the workspace is a
notification destination."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from faramesh_cloud.gateway.app import create_app
from faramesh_cloud.gateway.web.notifications_ports import mount_notifications
from faramesh_cloud.gateway.web.routes_slack import mount_slack
from faramesh_cloud.gateway.web.slack_app import SlackApp
from faramesh_cloud.identity.domain import OrgRef
from faramesh_cloud.notifications.senders import Endpoints
from faramesh_cloud.notifications.service import Notifications, NotificationsConfig
from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.embedded import EmbeddedPostgres
from tests.fakes.slack import CLIENT_ID, CLIENT_SECRET, SIGNING_SECRET, FakeSlack, fake_slack
from tests.fixtures.browser import LiveGateway, NewPage, screenshot, serve_live
from tests.fixtures.browser import sign_in as browser_sign_in
from tests.fixtures.gateway import static_status

OWNER = "sally@example.test"


class SlackGateway(LiveGateway):
    pool_size = 6
    with_log = True
    notifications: Notifications | None = None
    slack_base = ""

    async def _start_parts(self, db: Database) -> None:
        assert self.log is not None
        self.notifications = Notifications(db, self.log, NotificationsConfig(
            key=secrets.token_bytes(32), allow_private=True, link_base=self.base, send_interval_s=0.1,
            endpoints=Endpoints(slack_api=self.slack_base)))
        await self.notifications.start()

    def _app(self, db: Database) -> Any:
        assert self.notifications is not None
        app = create_app(static_status, web=self._web_deps())
        mount_notifications(app, self.notifications.api)
        mount_slack(app, SlackApp(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, signing_secret=SIGNING_SECRET,
                                  api_base=self.slack_base, allow_private=True))
        return app

    async def _stop_parts(self) -> None:
        if self.notifications is not None:
            await self.notifications.stop()


@pytest.fixture(scope="module")
def slack() -> Iterator[FakeSlack]:
    with fake_slack() as fake:
        yield fake


@pytest.fixture(scope="module")
def gateway(embedded_postgres: EmbeddedPostgres, pg_template: str, slack: FakeSlack,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[SlackGateway]:
    def make(url: str) -> SlackGateway:
        live = SlackGateway(url, tmp_path_factory.mktemp("slack-gateway"))
        live.slack_base = slack.base
        return live

    with serve_live(embedded_postgres, pg_template, "b", make) as live:
        yield live


@pytest.fixture(scope="module")
def acme(gateway: SlackGateway) -> OrgRef:
    async def seed() -> OrgRef:
        org, _ = await gateway.seed_acme(OWNER, "Sally Owner", ("payments-prod", "production"))
        return org

    return gateway.run(seed)


def test_connect_a_slack_workspace_with_oauth(gateway: SlackGateway, acme: OrgRef, slack: FakeSlack,
                                              new_page: NewPage) -> None:
    page = new_page()
    browser_sign_in(page, gateway.base, OWNER, lambda p: p.get_by_role("navigation", name="Sections"))
    page.get_by_role("navigation", name="Sections").get_by_role("link", name="Settings").click()
    page.get_by_role("navigation", name="Settings").get_by_role("link", name="Integrations").click()
    page.locator("#slack-integration").click()
    expect(page.get_by_role("heading", name="Slack workspaces")).to_be_visible()
    expect(page.locator("#slack-interactions-url")).to_contain_text("/integrations/slack/interactions")

    page.get_by_label("Destination name").fill("approvals-slack")
    page.get_by_label("Channel").fill("C0APPROVALS")
    page.get_by_role("button", name="Add to Slack").click()  # → Slack's consent (the fake's) → back
    expect(page.get_by_role("status")).to_contain_text("connected as approvals-slack")
    table = page.locator("#slack-workspaces")
    expect(table).to_contain_text("Acme Payments")
    expect(table).to_contain_text("C0APPROVALS")
    token = next(iter(slack.tokens))
    assert token not in page.content()
    screenshot(page, "settings-slack")

    page.get_by_role("link", name="Back to notification destinations").click()
    expect(page.locator("#destinations")).to_contain_text("Slack app (OAuth; approve from Slack)")
    expect(page.locator("#dest-kind option[value=slack_app]")).to_have_count(0)  # only by OAuth
