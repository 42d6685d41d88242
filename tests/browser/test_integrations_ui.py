"""Settings → Integrations in a browser (Debian chromium via Playwright) against the real
gateway on 127.0.0.1, with the notifications service running in the server's loop and a
local webhook receiver: add a webhook destination (its signing secret shown once), route a
stack to it with an escalation step, send a test and see it delivered, signed, edit it (the
secret kept); route a stack
to a group of members through an email destination and see an approval emailed to them."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from faramesh_cloud.gateway.app import create_app
from faramesh_cloud.gateway.web.notifications_ports import mount_notifications
from faramesh_cloud.identity.domain import OrgRef, Principal, PrincipalKind
from faramesh_cloud.identity.permissions import Role
from faramesh_cloud.notifications.service import Notifications, NotificationsConfig
from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.embedded import EmbeddedPostgres
from tests.approvals_support import pending_event, push_events
from tests.fixtures.browser import LiveGateway, NewPage, screenshot, serve_live
from tests.fixtures.browser import sign_in as browser_sign_in
from tests.fixtures.gateway import static_status
from tests.notifications_support import HttpReceiver, SmtpSink, http_receiver, smtp_sink

OWNER = "nora@example.test"


class NotificationsGateway(LiveGateway):
    """The live gateway with Settings → Integrations mounted and the notifications service
    (consumer, escalation, sender) running beside it on the same database."""

    pool_size = 6
    with_log = True
    notifications: Notifications | None = None

    async def _start_parts(self, db: Database) -> None:
        assert self.log is not None
        self.notifications = Notifications(db, self.log, NotificationsConfig(
            key=secrets.token_bytes(32), allow_private=True, link_base=self.base, send_interval_s=0.1))
        await self.notifications.start()

    def _app(self, db: Database) -> Any:
        assert self.notifications is not None
        app = create_app(static_status, web=self._web_deps())
        mount_notifications(app, self.notifications.api)
        return app

    async def _stop_parts(self) -> None:
        if self.notifications is not None:
            await self.notifications.stop()


@pytest.fixture(scope="module")
def gateway(embedded_postgres: EmbeddedPostgres, pg_template: str,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[NotificationsGateway]:
    with serve_live(embedded_postgres, pg_template, "b", lambda url: NotificationsGateway(
            url, tmp_path_factory.mktemp("notifications-gateway"))) as live:
        yield live


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    with http_receiver() as fake:
        yield fake


@pytest.fixture(scope="module")
def acme(gateway: NotificationsGateway) -> OrgRef:
    async def seed() -> OrgRef:
        org, _ = await gateway.seed_acme(OWNER, "Nora Owner", ("payments-prod", "production"))
        return org

    return gateway.run(seed)


def sign_in(page: Any, base: str) -> None:
    browser_sign_in(page, base, OWNER, lambda p: p.get_by_role("navigation", name="Sections"))


def test_add_a_webhook_route_a_stack_and_send_a_signed_test(gateway: NotificationsGateway, acme: OrgRef,
                                                           receiver: HttpReceiver, new_page: NewPage) -> None:
    page = new_page()
    sign_in(page, gateway.base)
    page.get_by_role("navigation", name="Sections").get_by_role("link", name="Settings").click()
    page.get_by_role("navigation", name="Settings").get_by_role("link", name="Integrations").click()
    expect(page.get_by_role("heading", name="Notification destinations")).to_be_visible()

    page.get_by_label("Name", exact=True).fill("payments-hook")
    page.get_by_label("Kind", exact=True).select_option("webhook")
    page.get_by_label("URL (Slack incoming webhook, or your webhook endpoint)").fill(receiver.url + "/faramesh")
    page.get_by_role("button", name="Add destination").click()
    secret = page.locator("#signing-secret").inner_text().strip()
    assert secret.startswith("whsec_")

    page.get_by_label("Of stack").select_option(label="payments-prod")
    page.locator("input[name=step0_destinations]").check()
    page.get_by_label("Step 2 minutes").fill("15")
    page.locator("input[name=step1_destinations]").check()
    page.get_by_role("button", name="Save rule").click()
    expect(page.get_by_role("status")).to_contain_text("Routing rule saved")
    rules = page.locator("#routing-rules")
    expect(rules).to_contain_text("payments-prod")
    expect(rules).to_contain_text("after 15 min: payments-hook")
    expect(page.locator("#signing-secret")).to_have_count(0)  # shown once

    page.locator("tr", has_text="payments-hook").get_by_role("button", name="Send test").click()
    expect(page.get_by_role("status")).to_contain_text("queued")
    for _ in range(100):
        if receiver.requests:
            break
        page.wait_for_timeout(100)
    [request] = receiver.requests
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{request.headers['webhook-id']}.{request.headers['webhook-timestamp']}.".encode() + request.body
    assert request.headers["webhook-signature"] == "v1," + base64.b64encode(
        hmac.new(key, signed, hashlib.sha256).digest()).decode()
    assert request.json()["type"] == "notification.test"
    page.reload()
    expect(page.locator("#deliveries")).to_contain_text("delivered")
    screenshot(page, "settings-integrations")

    # Edit it: a new name and endpoint, the signing secret kept.
    page.locator("tr", has_text="payments-hook").get_by_role("link", name="Edit").click()
    expect(page.get_by_label("Endpoint URL")).to_have_value(receiver.url + "/faramesh")
    page.get_by_label("Name", exact=True).fill("payments-hook-v2")
    page.get_by_label("Endpoint URL").fill(receiver.url + "/faramesh/v2")
    screenshot(page, "settings-integrations-edit-destination")
    page.get_by_role("button", name="Save destination").click()
    expect(page.get_by_role("status")).to_contain_text("Destination payments-hook-v2 saved")
    expect(page.locator("#destinations")).to_contain_text("/faramesh/v2")
    page.locator("tr", has_text="payments-hook-v2").get_by_role("button", name="Send test").click()
    for _ in range(100):
        if len(receiver.requests) == 2:
            break
        page.wait_for_timeout(100)
    edited = receiver.requests[1]
    assert edited.path == "/faramesh/v2"
    signed = f"{edited.headers['webhook-id']}.{edited.headers['webhook-timestamp']}.".encode() + edited.body
    assert edited.headers["webhook-signature"] == "v1," + base64.b64encode(
        hmac.new(key, signed, hashlib.sha256).digest()).decode()


def test_route_a_stack_to_a_group_and_email_its_members(gateway: NotificationsGateway, acme: OrgRef,
                                                        new_page: NewPage) -> None:
    async def seed() -> str:
        identity = gateway.identity
        assert identity is not None
        found = await identity.users.find_by_email(OWNER)
        assert found is not None
        access = await identity.members.access(acme.org_id, found.user_id)
        assert access is not None
        owner = Principal(PrincipalKind.USER, acme, access, found.user_id, OWNER, "127.0.0.1", found)
        _, token = await identity.invitations.create(acme.org_id, "oscar@example.test", Role.OPERATOR, owner)
        oscar, _ = await identity.invitations.accept(token, name="Oscar", password="correct horse battery staple")
        group = await identity.groups.create(acme.org_id, "payments-oncall", "", owner)
        await identity.groups.add_member(acme.org_id, group.group_id, oscar.user_id, owner)
        return group.group_id

    gateway.run(seed)
    with smtp_sink() as sink:
        _route_to_group(gateway, acme, new_page, sink)


def _route_to_group(gateway: NotificationsGateway, acme: OrgRef, new_page: NewPage, sink: SmtpSink) -> None:
    page = new_page()
    sign_in(page, gateway.base)
    page.goto(f"{gateway.base}/o/acme/settings/integrations")
    page.get_by_label("Name", exact=True).fill("oncall-mail")
    page.get_by_label("Kind", exact=True).select_option("email")
    page.get_by_label("SMTP server").fill("127.0.0.1")
    page.get_by_label("Port").fill(str(sink.port))
    page.get_by_label("STARTTLS").select_option("false")
    page.get_by_label("From").fill("cloud@example.test")
    page.get_by_label("To (comma-separated)").fill("team@example.test")
    page.get_by_role("button", name="Add destination").click()
    expect(page.get_by_role("status")).to_contain_text("oncall-mail")

    page.get_by_label("Of stack").select_option(label="payments-prod")
    page.locator("fieldset.step").first.get_by_label("payments-oncall").check()
    page.get_by_label("Step 1 group email").select_option(label="oncall-mail")
    page.get_by_role("button", name="Save rule").click()
    expect(page.get_by_role("status")).to_contain_text("Routing rule saved")
    expect(page.locator("#routing-rules")).to_contain_text("group payments-oncall (emailed via oncall-mail)")
    screenshot(page, "settings-integrations-group-routing")

    async def approval() -> None:
        assert gateway.log is not None and gateway.stacks is not None
        [stack] = [s for s in await gateway.stacks.list_stacks(acme.org_id) if s.name == "payments-prod"]
        await push_events(gateway.log, acme.org_id, stack.stack_id, [pending_event("tok-group")])

    gateway.run(approval)
    for _ in range(200):
        if sink.mails:
            break
        page.wait_for_timeout(100)
    [mail] = sink.mails
    assert mail.recipients == ["oscar@example.test"]  # the group's member, not the destination's own list
    assert "Approval needed" in str(mail.message["Subject"])
