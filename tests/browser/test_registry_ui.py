"""The Registry section in a browser (Debian chromium via Playwright) against the real gateway
on 127.0.0.1 with the registry component running in the server's loop (the shipped catalog
seeded on start, Cloud's registry key listed): browse providers and open vault (capabilities,
platforms held as signature only, the config schema table), open a pack's rule preview
(stripe's counts; mcp@1.0.0, which the daemon's parser refuses at line 6), copy a framework
profile's snippet and Cloud's ``trust { }`` block through the Copy buttons (read back from the
clipboard), and a stack's "Registry imports" tab over its applied governance.fms."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from faramesh_cloud.blobstore.files import FileBlobStore
from faramesh_cloud.fleet.query import FleetQuery
from faramesh_cloud.gateway.app import create_app
from faramesh_cloud.gateway.web.fleet_ports import FleetPorts, mount_fleet
from faramesh_cloud.gateway.web.registry_ports import mount_registry
from faramesh_cloud.identity.domain import OrgRef
from faramesh_cloud.registry.keys import KeySource
from faramesh_cloud.registry.service import Registry, RegistryConfig
from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.embedded import EmbeddedPostgres
from tests.fixtures.browser import LiveGateway, NewPage, screenshot, serve_live
from tests.fixtures.browser import sign_in as browser_sign_in
from tests.fixtures.gateway import static_status
from tests.fleet_items import record, status
from tests.integration.test_fleet_api import feed
from tests.integration.test_registry_browse_gateway import GOVERNANCE, REGISTRY, store_rogue_version

OWNER = "rhea@example.test"
CLOUD_URL = "https://cloud.example.test:8443"


class RegistryGateway(LiveGateway):
    pool_size = 6
    with_log = True
    registry: Registry | None = None

    async def _start_parts(self, db: Database) -> None:
        assert self.log is not None
        self.registry = Registry(db, self.log, FileBlobStore(self._data_dir / "registry" / "blobs"),
                                 RegistryConfig(keys=KeySource(self._data_dir)))
        await self.registry.start()

    def _app(self, db: Database) -> Any:
        assert self.registry is not None and self.stacks is not None
        app = create_app(static_status, web=self._web_deps())
        mount_fleet(app, FleetPorts(query=FleetQuery(db, self.stacks), registry=self.stacks, cloud_url=CLOUD_URL))
        mount_registry(app, self.registry.api)
        return app

    async def _stop_parts(self) -> None:
        if self.registry is not None:
            await self.registry.stop()


@pytest.fixture(scope="module")
def gateway(embedded_postgres: EmbeddedPostgres, pg_template: str,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryGateway]:
    with serve_live(embedded_postgres, pg_template, "r", lambda url: RegistryGateway(
            url, Path(tmp_path_factory.mktemp("registry-gateway")))) as live:
        yield live


@pytest.fixture(scope="module")
def acme(gateway: RegistryGateway) -> tuple[OrgRef, str]:
    """Acme's payments-prod, whose daemon reported the governance.fms it applied."""

    async def seed() -> tuple[OrgRef, str]:
        assert gateway.db is not None
        org, (pay,) = await gateway.seed_acme(OWNER, "Rhea Owner", ("payments-prod", "production"))
        await store_rogue_version(gateway.db, gateway._data_dir)
        applied = status(datetime.now(UTC))
        applied.applied_config.governance_fms = GOVERNANCE
        applied.applied_config.governance_sha256 = hashlib.sha256(GOVERNANCE.encode()).hexdigest()
        await feed(gateway.db, [record(org.org_id, pay.stack_id, 1, "stack_status", applied)])
        return org, pay.stack_id

    return gateway.run(seed)


def signed_in(gateway: RegistryGateway, new_page: NewPage) -> Any:
    page = new_page()
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=gateway.base)
    browser_sign_in(page, gateway.base, OWNER, lambda p: p.get_by_role("navigation", name="Sections"))
    page.get_by_role("navigation", name="Sections").get_by_role("link", name="Registry").click()
    return page


def open_artifact(page: Any, tab: str, query: str, name: str) -> None:
    """From a Registry page: the ``tab`` list, searched for ``query``, then ``name``'s page."""
    page.get_by_role("navigation", name="Registry").get_by_role("link", name=tab).click()
    page.get_by_label("Search").fill(query)
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name=name, exact=True).click()


def test_browse_providers_and_open_vault(gateway: RegistryGateway, acme: tuple[OrgRef, str],
                                         new_page: NewPage) -> None:
    page = signed_in(gateway, new_page)
    rows = page.locator("#artifacts tr.artifact")
    expect(rows).to_have_count(3)
    page.get_by_label("Capability").select_option("SECRETS")
    page.get_by_role("button", name="Search").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("linux_amd64")
    screenshot(page, "registry-providers")

    rows.first.get_by_role("link", name="faramesh/vault").click()
    expect(page.locator("#signature")).to_have_attribute("data-verdict", "verified")
    expect(page.locator(".capability")).to_have_text(["SECRETS"])
    platforms = page.locator("#platforms tbody tr")
    expect(platforms).to_have_count(4)
    for row in platforms.all():
        expect(row).to_contain_text("signature only")
    schema = page.locator("#config-schema")
    expect(schema.locator("tr[data-required=true]")).to_have_count(2)
    expect(schema.locator("tr[data-field=addr]")).to_contain_text("required")
    expect(schema.locator("tr[data-field=mount]")).to_contain_text("optional")
    screenshot(page, "registry-provider-vault")


def test_a_packs_rule_preview_and_a_pack_the_daemon_cannot_parse(gateway: RegistryGateway, acme: tuple[OrgRef, str],
                                                                 new_page: NewPage) -> None:
    page = signed_in(gateway, new_page)
    open_artifact(page, "Policy packs", "refund", "faramesh/stripe")
    counts = page.locator("#rule-counts")
    for effect, n in (("permit", 2), ("deny", 0), ("defer", 1)):
        expect(counts.locator(f"[data-effect={effect}]")).to_have_text(f"{effect} {n}")
    expect(page.locator("#rules tr.rule")).to_have_count(3)
    expect(page.locator("#config-schema tr[data-field=charge_threshold]")).to_contain_text("2000")
    screenshot(page, "registry-pack-stripe")

    page.goto(gateway.base + "/o/acme/registry/policies/faramesh/mcp?version=1.0.0")
    expect(page.locator("#parse-error")).to_contain_text("line 6")
    expect(page.locator("#parse-error")).to_contain_text("unexpected character")
    expect(page.locator("#L6")).to_have_class("mark")
    expect(page.locator("#rules")).to_have_count(0)
    screenshot(page, "registry-pack-mcp-parse-error")


def test_copy_a_framework_profiles_snippet(gateway: RegistryGateway, acme: tuple[OrgRef, str],
                                          new_page: NewPage) -> None:
    page = signed_in(gateway, new_page)
    open_artifact(page, "Framework profiles", "langgraph", "langgraph")
    page.locator("#copy-snippet").click()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied.startswith(f'import "{REGISTRY}/frameworks/langgraph@1.0.0"\n'), copied
    assert 'agent "app-agent" {' in copied and copied == page.locator("#snippet").inner_text()
    screenshot(page, "registry-framework-langgraph")


def test_trust_keys_offer_clouds_key_as_a_trust_block(gateway: RegistryGateway, acme: tuple[OrgRef, str],
                                                      new_page: NewPage) -> None:
    assert gateway.registry is not None and gateway.registry.signing_key is not None
    mine = gateway.registry.signing_key
    page = signed_in(gateway, new_page)
    page.get_by_role("navigation", name="Registry").get_by_role("link", name="Trust keys").click()
    official = page.locator("article.key[data-origin=official]")
    expect(official).to_contain_text("faramesh-ed25519-2026")
    cloud = page.locator(f"article.key[data-key-id='{mine.key_id}']")
    expect(cloud.locator(".key-state")).to_have_text("active")
    cloud.get_by_role("button", name="Copy").click()
    assert page.evaluate("navigator.clipboard.readText()").strip() == (
        f'trust {{\n  key "{mine.key_id}" ed25519:{mine.public_key_b64}\n}}')
    screenshot(page, "registry-trust-keys")


def test_a_stacks_registry_imports_tab(gateway: RegistryGateway, acme: tuple[OrgRef, str], new_page: NewPage) -> None:
    _, stack_id = acme
    page = signed_in(gateway, new_page)
    page.goto(gateway.base + f"/o/acme/fleet/stacks/{stack_id}")
    page.get_by_role("link", name="Registry imports").click()
    rows = page.locator("tr.import")
    expect(rows).to_have_count(4)
    expect(rows.locator(".st")).to_have_text(["verified", "not in this registry", "unverified",
                                              "refused by the daemon"])
    expect(rows.nth(2)).to_contain_text("not a trusted registry key")
    screenshot(page, "registry-stack-imports")
