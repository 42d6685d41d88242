"""The DPR explorer in a browser: search with filters and pages, explain + server-side
Verify, the session explorer, chain integrity (acknowledging a critical alert), and the live stream (a record indexed while
the page is open appears without a reload). The gateway runs on uvicorn with the real audit
index (PostgreSQL log + chDB) consuming in the background."""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from faramesh_cloud.events.legacy import SOURCE_HORIZON, LegacyDecision
from faramesh_cloud.events.topics import LEGACY_DECISIONS, Origin, stack_key
from faramesh_cloud.log.port import LogRecord
from faramesh_cloud.signing.dpr_bundle import verify_dpr_bundle
from faramesh_cloud.signing.keys import load_public_key
from faramesh_cloud.simulator.records import AgentWriter
from faramesh_cloud.sql.embedded import EmbeddedPostgres
from tests.browser.audit_gateway import AuditGateway, serve_audit
from tests.fixtures.browser import NewPage, screenshot
from tests.fixtures.browser import sign_in as browser_sign_in
from tests.integration.audit_explorer_support import XSS
from tests.integration.audit_support import BASE_NS, fleet, publish, records

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.chdb]
OWNER = "ada@example.test"


@pytest.fixture(scope="module")
def audit_gateway(embedded_postgres: EmbeddedPostgres, pg_template: str, chdb_data_dir: Path,
                  tmp_path_factory: pytest.TempPathFactory) -> Iterator[AuditGateway]:
    with serve_audit(AuditGateway, embedded_postgres, pg_template, "b", chdb_data_dir, tmp_path_factory) as live:
        yield live


@pytest.fixture(scope="module")
def fleet_records(audit_gateway: AuditGateway) -> dict[str, Any]:
    """Org acme with a stack; 40 records of three agents (session 'checkout-42') and one whose
    args hold markup, indexed before the tests look."""
    writers = fleet("payments", 3, ["checkout-42"], seed=5)
    pushed = records(writers, 40)
    xss = writers[1].next(BASE_NS + 10**12, selector_snapshot={"query": XSS}, tool_id="web/search",
                          session_id="checkout-42")

    async def seed() -> dict[str, Any]:
        assert audit_gateway.log is not None
        org, (stack,) = await audit_gateway.seed_acme(OWNER, "Ada Auditor", ("payments-prod", "production"))
        await publish(audit_gateway.log, org.org_id, stack.stack_id, [*pushed, xss])
        return {"org": org, "stack": stack, "writers": writers, "records": [*pushed, xss], "xss": xss}

    return audit_gateway.run(seed)


def sign_in(page: Any, base: str) -> None:
    browser_sign_in(page, base, OWNER, lambda p: p.get_by_role("link", name="Audit", exact=True))


def test_search_filters_pages_and_counts(audit_gateway: AuditGateway, fleet_records: dict[str, Any],
                                         new_page: NewPage) -> None:
    page = new_page()
    sign_in(page, audit_gateway.base)
    page.get_by_role("link", name="Audit", exact=True).click()
    total = len(fleet_records["records"])
    expect(page.locator("#counts")).to_contain_text(f"{total} matching")  # indexed in the background
    page.get_by_label("Effect").select_option("DENY")
    page.get_by_role("button", name="Search", exact=True).click()
    denies = [r for r in fleet_records["records"] if r["effect"] == "DENY"]
    expect(page.locator("#counts")).to_contain_text(f"{len(denies)} matching")
    expect(page.locator("#records tbody tr")).to_have_count(min(len(denies), 50))
    page.goto(f"{audit_gateway.base}/o/acme/audit?limit=25")
    expect(page.locator("#records tbody tr")).to_have_count(25)
    screenshot(page, "audit-search")
    page.locator("#next-page").click()
    expect(page.locator("#records tbody tr")).to_have_count(total - 25)

    # Export the DENY search: a signed bundle the offline verifier accepts.
    page.goto(f"{audit_gateway.base}/o/acme/audit?effect=DENY")
    with page.expect_download() as download:
        page.locator("#export").click()
    bundle = json.loads(Path(download.value.path()).read_text())
    assert sorted(e["record_id"] for e in bundle["entries"]) == sorted(r["record_id"] for r in denies)
    public = load_public_key(page.request.get(f"{audit_gateway.base}/api/v1/platform/signing-key?format=pem").text())
    assert verify_dpr_bundle(bundle, public).ok


def test_explain_and_verify_on_the_server(audit_gateway: AuditGateway, fleet_records: dict[str, Any],
                                          new_page: NewPage) -> None:
    page = new_page()
    sign_in(page, audit_gateway.base)
    xss = fleet_records["xss"]
    page.goto(f"{audit_gateway.base}/o/acme/audit?tool=web%2Fsearch")
    page.locator("#records tbody tr a").first.click()
    expect(page.get_by_role("heading", name=re.compile("Decision record"))).to_be_visible()
    expect(page.locator("#group-args")).to_contain_text(XSS)  # shown as text, never run
    page.get_by_role("button", name="Verify", exact=True).click()
    results = page.locator("#verify-results")
    expect(results.locator('tr[data-check="hash"]')).to_contain_text("pass")
    expect(results.locator('tr[data-check="link"]')).to_contain_text("pass")
    expect(page.locator("#prev-record")).to_have_text(
        next(r["record_id"] for r in fleet_records["records"] if r["record_hash"] == xss["prev_record_hash"]))
    screenshot(page, "audit-explain")


def test_session_explorer_shows_every_agent(audit_gateway: AuditGateway, fleet_records: dict[str, Any],
                                            new_page: NewPage) -> None:
    page = new_page()
    sign_in(page, audit_gateway.base)
    page.goto(f"{audit_gateway.base}/o/acme/audit/sessions")
    page.get_by_label("Session id").fill("checkout-42")
    page.get_by_role("button", name="Show timeline").click()
    in_session = [r for r in fleet_records["records"] if r["session_id"] == "checkout-42"]
    expect(page.locator("#timeline tbody tr")).to_have_count(len(in_session))
    expect(page.locator("#session-agents")).to_contain_text("3 agents")
    screenshot(page, "audit-session")
    page.goto(f"{audit_gateway.base}/o/acme/audit/integrity")
    expect(page.locator(".chain-length")).to_contain_text(f"{len(fleet_records['records'])} records")
    screenshot(page, "audit-integrity")


def test_live_stream_appends_new_records(audit_gateway: AuditGateway, fleet_records: dict[str, Any],
                                         new_page: NewPage) -> None:
    page = new_page()
    sign_in(page, audit_gateway.base)
    page.goto(f"{audit_gateway.base}/o/acme/audit/live")
    expect(page.locator("#live tbody tr[data-record]")).to_have_count(min(50, len(fleet_records["records"])))
    fresh = fleet_records["writers"][2].next(BASE_NS + 2 * 10**12, tool_id="db/query")

    async def push() -> None:
        assert audit_gateway.log is not None
        await publish(audit_gateway.log, fleet_records["org"].org_id, fleet_records["stack"].stack_id, [fresh],
                      first_seq=1_000)

    audit_gateway.run(push)
    expect(page.locator(f'#live tbody tr[data-record="{fresh["record_id"]}"]')).to_be_visible()
    expect(page.locator("#live tbody tr").first).to_contain_text("db/query")
    screenshot(page, "audit-live")


def test_acknowledge_a_chain_integrity_alert_with_a_note(audit_gateway: AuditGateway, fleet_records: dict[str, Any],
                                                         new_page: NewPage) -> None:
    """A tampered record raises a critical alert on the chain-integrity page; the owner
    acknowledges it with a note and it stays listed, marked with who and the note."""
    writer = AgentWriter("ledger-bot", random.Random(17), ed25519_seed=b"\x05" * 32, hmac_key=b"k",
                         signed_share=0.0, sessions=["ledger"])
    chain = [writer.next(BASE_NS + 3 * 10**12 + i * 1_000_000) for i in range(3)]
    chain[1] = {**chain[1], "matched_rule_id": "rule-edited"}  # edited after hashing

    async def push() -> str:
        assert audit_gateway.log is not None and audit_gateway.stacks is not None
        stack, _ = await audit_gateway.stacks.register_stack(fleet_records["org"].org_id, "ledger-prod", "production")
        await publish(audit_gateway.log, fleet_records["org"].org_id, stack.stack_id, chain, first_seq=2_000)
        return str(stack.stack_id)

    stack_id = audit_gateway.run(push)
    page = new_page()
    sign_in(page, audit_gateway.base)
    page.goto(f"{audit_gateway.base}/o/acme/audit/integrity/{stack_id}")
    row = page.locator("#alerts tr.alert-row")
    for _ in range(50):  # indexed in the background
        if row.count():
            break
        page.wait_for_timeout(200)
        page.reload()
    expect(row).to_have_count(1)
    expect(row).to_contain_text("record_hash_mismatch")
    expect(row).to_contain_text(chain[1]["record_id"])
    expect(row.locator(".alert-status")).to_contain_text("open")
    row.get_by_label("Note").fill("drill: the edit was ours <b>on purpose</b>")
    row.get_by_role("button", name="Acknowledge").click()
    expect(page.get_by_role("status")).to_contain_text("acknowledged")
    row = page.locator("#alerts tr.alert-row")
    expect(row.locator(".alert-status")).to_contain_text(f"acknowledged by {OWNER}")
    expect(row.locator(".ack-note")).to_have_text("drill: the edit was ours <b>on purpose</b>")  # as text
    expect(row.get_by_role("button", name="Acknowledge")).to_have_count(0)
    screenshot(page, "audit-alert-acknowledged")


def test_a_legacy_feed_summary_streams_and_lists_marked_unverified(
        audit_gateway: AuditGateway, fleet_records: dict[str, Any], new_page: NewPage) -> None:
    """A decision summary from the legacy Horizon feed (as ingest appends it: the daemon's
    local-zone timestamp unchanged) appears in the open live stream and in search, marked."""
    page = new_page()
    sign_in(page, audit_gateway.base)
    page.goto(f"{audit_gateway.base}/o/acme/audit/live")
    expect(page.locator("#live tbody tr[data-record]").first).to_be_visible()
    summary = LegacyDecision(source=SOURCE_HORIZON, effect="DENY", timestamp="2026-05-30T15:42:18.1+02:00",
                             decided_at_ns=1_780_148_538_100_000_000, reason_code="RULE_DENY",
                             record_id="0b7e2c4a-3f1d-4e59-9a61-2d8f0c6b1a99", agent_id="payments-bot", tool_id="legacy/tool",
                             session_id="checkout-42", latency_ms=4, batch_agent_id="payments-bot")

    async def push() -> None:
        assert audit_gateway.log is not None
        org, stack = fleet_records["org"].org_id, fleet_records["stack"].stack_id
        origin = Origin(org, stack, SOURCE_HORIZON, 0, "req-browser", 1_780_148_540_000_000_000)
        await audit_gateway.log.append(LEGACY_DECISIONS, [LogRecord(stack_key(org, stack), summary.to_json(),
                                                                    origin.headers())])

    audit_gateway.run(push)
    row = page.locator(f'#live tbody tr[data-record="{summary.record_id}"]')
    expect(row).to_be_visible()
    # the local time, in UTC, on the row's <time> (shown relative, the absolute time on hover)
    expect(row.locator("time")).to_have_attribute("datetime", "2026-05-30T13:42:18.100000000Z")
    expect(row.locator("time")).to_have_attribute("title", re.compile(r"30 May 2026.*15:42:18"))
    expect(row.locator("td").last).to_have_text("unverified summary · legacy-feed")
    expect(page.locator("#live tbody tr[data-record]").nth(1).locator("td").last).to_have_text("DPR")

    page.goto(f"{audit_gateway.base}/o/acme/audit")
    page.get_by_label("Verification").select_option("unverified")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page.locator("#counts")).to_contain_text("1 matching")
    expect(page.locator("#records tbody tr")).to_have_count(1)
    expect(page.locator("#records tbody tr")).to_contain_text("unverified · legacy-feed")
    page.locator("#records tbody tr a").first.click()
    expect(page.get_by_role("heading", name=re.compile("Decision summary from the legacy Horizon feed"))).to_be_visible()
    expect(page.locator("#sent-timestamp")).to_have_text("2026-05-30T15:42:18.1+02:00")
    expect(page.locator("#unverified-why")).to_contain_text("no record_hash, prev_record_hash or signature")
    expect(page.get_by_role("button", name="Verify", exact=True)).to_have_count(0)
