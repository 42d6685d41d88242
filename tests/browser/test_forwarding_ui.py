"""Settings → Integrations → External observability in a browser (Debian chromium via
Playwright) against the real gateway on 127.0.0.1, with the forwarding service running in the
server's loop and a local OTLP/HTTP receiver: add an OTLP destination, send a test (the
collector gets it), then DPRs that reach the log are forwarded and the delivery log shows them."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from faramesh_cloud.events.topics import DPR_RECORDS, Origin, stack_key
from faramesh_cloud.forwarding.service import Forwarding, ForwardingConfig
from faramesh_cloud.gateway.app import create_app
from faramesh_cloud.gateway.web.forwarding_ports import mount_forwarding
from faramesh_cloud.identity.domain import OrgRef
from faramesh_cloud.log.port import LogRecord
from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.embedded import EmbeddedPostgres
from faramesh_cloud.stacks.domain import Stack
from tests.fixtures.browser import LiveGateway, NewPage, screenshot, serve_live
from tests.fixtures.browser import sign_in as browser_sign_in
from tests.fixtures.gateway import static_status
from tests.forwarding_receivers import Receiver, receiver
from tests.sync_items import synthetic_records

OWNER = "olga@example.test"


class ForwardingGateway(LiveGateway):
    pool_size = 6
    with_log = True
    forwarding: Forwarding | None = None

    async def _start_parts(self, db: Database) -> None:
        assert self.log is not None
        self.forwarding = Forwarding(db, self.log, ForwardingConfig(key=secrets.token_bytes(32), allow_private=True,
                                                                    send_interval_s=0.1))
        await self.forwarding.start()

    def _app(self, db: Database) -> Any:
        assert self.forwarding is not None
        app = create_app(static_status, web=self._web_deps())
        mount_forwarding(app, self.forwarding.api)
        return app

    async def _stop_parts(self) -> None:
        if self.forwarding is not None:
            await self.forwarding.stop()


@pytest.fixture(scope="module")
def gateway(embedded_postgres: EmbeddedPostgres, pg_template: str,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[ForwardingGateway]:
    with serve_live(embedded_postgres, pg_template, "f", lambda url: ForwardingGateway(
            url, tmp_path_factory.mktemp("forwarding-gateway"))) as live:
        yield live


@pytest.fixture
def collector() -> Iterator[Receiver]:
    with receiver("otlp", "Bearer s3cret") as r:
        yield r


def test_add_an_otlp_destination_test_it_and_see_dprs_delivered(gateway: ForwardingGateway, collector: Receiver,
                                                                 new_page: NewPage) -> None:
    async def seed() -> tuple[OrgRef, list[Stack]]:
        return await gateway.seed_acme(OWNER, "Olga Owner", ("payments-prod", "production"))

    org, [stack] = gateway.run(seed)
    page = new_page()
    browser_sign_in(page, gateway.base, OWNER, lambda p: p.get_by_role("navigation", name="Sections"))
    # (the link on Settings → Integrations needs the notifications service mounted too:
    # tests/integration/test_forwarding_gateway.py checks it)
    page.goto(f"{gateway.base}/o/{org.slug}/settings/integrations/observability")
    expect(page.get_by_role("heading", name="External observability")).to_be_visible()
    expect(page.get_by_text("Nothing is forwarded yet.")).to_be_visible()

    page.get_by_label("Name", exact=True).fill("collector")
    page.get_by_label("Kind", exact=True).select_option("otlp")
    page.get_by_label("URL (Splunk HEC, Elasticsearch, Grafana Cloud OTLP endpoint, OTLP/HTTP base)").fill(
        collector.url)
    page.get_by_label("OTLP headers (name=value,…)").fill("authorization=Bearer s3cret")
    page.get_by_role("button", name="Add destination").click()
    expect(page.get_by_role("status")).to_contain_text("Forwarding to collector from now on.")
    expect(page.locator("#forwarding-destinations")).not_to_contain_text("s3cret")

    page.locator("tr", has_text="collector").get_by_role("button", name="Send test").click()
    expect(page.get_by_role("status")).to_contain_text("Test send: delivered (HTTP 200)")
    assert len(collector.received) == 1

    raws = synthetic_records(3, seed=21)

    async def append() -> None:
        assert gateway.log is not None
        origin = Origin(org.org_id, stack.stack_id, "sync", 1, "b", time.time_ns())  # after the destination
        headers = origin.headers()
        await gateway.log.append(DPR_RECORDS, [LogRecord(stack_key(org.org_id, stack.stack_id), raw, headers)
                                               for raw in raws])

    gateway.run(append)
    for _ in range(200):
        if len(collector.received) >= 4:
            break
        page.wait_for_timeout(100)
    assert sorted(rec.body.string_value.encode() for _, rec in collector.received[1:]) == sorted(raws)
    for _ in range(50):
        page.reload()
        if page.locator("#forwarding-deliveries .outcome", has_text="delivered").count():
            break
        page.wait_for_timeout(100)
    expect(page.locator("#forwarding-deliveries")).to_contain_text("collector")
    screenshot(page, "settings-external-observability")
