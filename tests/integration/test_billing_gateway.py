"""Settings → Billing through the gateway (httpx over ASGI, real PostgreSQL and the
PostgreSQL log): Owner only (Admin, Operator 403); the usage page draws a chart per meter from
what the consumers counted; an invoice of the current or a future month is refused with the
reason and nothing recorded; a finished month's invoice is issued once (an InvoiceIssued event
relayed to billing.events.v1, a platform audit entry), its PDF and CSV re-download as
identical bytes, also after the invoices are rebuilt from the log; the REST twin answers the
same; another organisation sees none of it."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner, Result
from fastapi import FastAPI

from faramesh_cloud.billing.events import decode
from faramesh_cloud.billing.plans import parse_catalog
from faramesh_cloud.billing.processor import DecisionCounter
from faramesh_cloud.billing.projection import EventSink
from faramesh_cloud.billing.service import Billing
from faramesh_cloud.billing.sink import UsageSink
from faramesh_cloud.cli.main import cli
from faramesh_cloud.events.records import OwnEventProcessor
from faramesh_cloud.events.topics import (
    BILLING_EVENTS,
    DEAD_LETTERS,
    DPR_RECORDS,
    Origin,
    stack_key,
)
from faramesh_cloud.gateway.web.billing_ports import mount_billing
from faramesh_cloud.identity.permissions import Role
from faramesh_cloud.log.port import LogRecord
from faramesh_cloud.log.postgres import PostgresLog
from faramesh_cloud.outbox.relay import OutboxRelay
from faramesh_cloud.platform_audit.store import PlatformAuditLog
from faramesh_cloud.sql.database import Database
from tests.billing_support import billing
from tests.fixtures.gateway import MakeClient, csrf_of, sign_in
from tests.fixtures.identity import People, Person
from tests.fixtures.ingest import read_topic
from tests.notifications_support import FakeClock

pytestmark = [pytest.mark.postgres, pytest.mark.integration]
NOW = datetime(2026, 12, 7, 5, 30, tzinfo=UTC)
# the plans as an operator configures them (billing_plans_file's JSON)
PLANS = {"default_plan": "free", "plans": [
    {"plan_id": "free", "name": "Free", "base_cents": 0},
    {"plan_id": "team", "name": "Team", "base_cents": 49_900, "currency": "USD",
     "prices": {"decisions": {"included": 100, "unit_cents": 50, "per": 10}, "seats": {"included": 5, "unit_cents": 100}}}]}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
async def service(database: Database, postgres_log: PostgresLog, clock: FakeClock) -> Billing:
    made = billing(database, postgres_log, clock, catalog=parse_catalog(PLANS))
    await made.prepare()
    return made


@pytest.fixture
def gateway_app(gateway_app: FastAPI, service: Billing) -> FastAPI:
    mount_billing(gateway_app, service.api)
    return gateway_app


async def signed_in(client_factory: MakeClient, person: Person) -> httpx.AsyncClient:
    client = client_factory()
    response = await sign_in(client, person.email, person.password)
    assert response.status_code in (302, 303), response.text[:300]
    return client


async def decisions(log: PostgresLog, org_id: str, when: datetime, count: int) -> None:
    """``count`` DPRs as ingest appends them (origin headers; the body is never read by billing)."""
    ns = int(when.timestamp() * 1e9)
    await log.append(DPR_RECORDS, [LogRecord(stack_key(org_id, "s1"), b'{"record_id": "r"}', Origin(
        org_id, "s1", "sync", i, "buf", ns).headers()) for i in range(count)])


async def consume(database: Database, log: PostgresLog) -> None:
    await UsageSink(database).write([DecisionCounter().process(m) for m in await read_topic(log, DPR_RECORDS)])  # type: ignore[misc]


async def test_only_the_owner_sees_billing_and_each_meter_has_its_chart(
        client_factory: MakeClient, people: People, database: Database, postgres_log: PostgresLog) -> None:
    owner = await people.org("acme")
    admin = await people.member(owner, Role.ADMIN)
    operator = await people.member(owner, Role.OPERATOR)
    await decisions(postgres_log, owner.org.org_id, datetime(2026, 11, 20, tzinfo=UTC), 7)
    await decisions(postgres_log, owner.org.org_id, datetime(2026, 12, 1, tzinfo=UTC), 3)
    await consume(database, postgres_log)
    client = await signed_in(client_factory, owner)
    page = await client.get("/o/acme/settings/billing")
    assert page.status_code == 200
    for meter in ("stacks", "decisions", "reports", "registry_bytes", "seats"):
        assert f'id="chart-{meter}"' in page.text
    assert 'data-month="2026-11" data-value="7"' in page.text and 'data-month="2026-12" data-value="3"' in page.text
    assert '<a href="/o/acme/settings/billing"' in page.text  # the Settings tab
    for person in (admin, operator):
        other = await signed_in(client_factory, person)
        assert (await other.get("/o/acme/settings/billing")).status_code == 403
        assert (await other.get("/api/v1/orgs/acme/billing/usage")).status_code == 403
        assert 'href="/o/acme/settings/billing"' not in (await other.get("/o/acme/settings/members")).text
    document = (await client.get("/api/v1/openapi.json")).json()["paths"]
    assert {"200", "201", "400"} <= set(document["/api/v1/orgs/{org}/billing/invoices"]["post"]["responses"])
    assert "/api/v1/orgs/{org}/billing/invoices/{month}" in document
    usage = (await client.get("/api/v1/orgs/acme/billing/usage?months=2")).json()
    assert [(m["month"], m["meters"]["decisions"], m["meters"]["seats"]) for m in usage] == [
        ("2026-11", 7, 0), ("2026-12", 3, 3)]


async def test_an_invoice_is_issued_once_for_a_finished_month_and_downloads_as_the_same_bytes(
        client_factory: MakeClient, people: People, database: Database, postgres_log: PostgresLog,
        service: Billing) -> None:
    owner = await people.org("acme")
    await decisions(postgres_log, owner.org.org_id, datetime(2026, 11, 20, tzinfo=UTC), 123)
    await consume(database, postgres_log)
    client = await signed_in(client_factory, owner)
    page = await client.get("/o/acme/settings/billing")
    plan = await client.post("/o/acme/settings/billing/plan", data={"csrf_token": csrf_of(page.text),
                                                                    "plan_id": "team"})
    assert plan.status_code == 303
    audit = PlatformAuditLog(database)
    before = len(await audit.entries(owner.org.org_id))
    for month, says in (("2027-01", "2027-01 has not ended yet"), ("2026-12", "2026-12 has not ended yet"),
                        ("2026-13", "is not a month")):
        refused = await client.post("/o/acme/settings/billing/invoices",
                                    data={"csrf_token": csrf_of(page.text), "month": month})
        assert refused.status_code == 400 and says in refused.text, month
    headers = {"X-CSRF-Token": (await client.get("/api/v1/me")).json()["csrf_token"]}
    api_refused = await client.post("/api/v1/orgs/acme/billing/invoices", headers=headers, json={"month": "2026-12"})
    assert api_refused.status_code == 400 and "has not ended yet" in api_refused.json()["detail"]
    assert (await client.get("/api/v1/orgs/acme/billing/invoices")).json() == []
    assert len(await audit.entries(owner.org.org_id)) == before  # nothing half-applied

    issued = await client.post("/o/acme/settings/billing/invoices", data={"csrf_token": csrf_of(page.text),
                                                                          "month": "2026-11"})
    assert issued.status_code == 303 and "issued" in issued.headers["location"]
    again = await client.post("/api/v1/orgs/acme/billing/invoices", headers=headers, json={"month": "2026-11"})
    assert again.status_code == 200 and again.json()["issued_now"] is False
    [invoice] = (await client.get("/api/v1/orgs/acme/billing/invoices")).json()
    lines = {x["meter"]: x for x in invoice["lines"]}
    # Team: 100 decisions included, 0.50 USD per started 10 beyond → 3 blocks
    assert (lines["decisions"]["quantity"], lines["decisions"]["billable"], lines["decisions"]["amount_cents"]) == (
        123, 23, 150)
    assert invoice["total_cents"] == 49_900 + 150 and invoice["plan_id"] == "team"
    pdf = await client.get("/o/acme/settings/billing/invoices/2026-11.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF") and pdf.headers["content-type"] == "application/pdf"
    await asyncio.sleep(1.1)  # a PDF stamped with the wall clock would differ now
    assert (await client.get("/api/v1/orgs/acme/billing/invoices/2026-11?format=pdf")).content == pdf.content
    csv_bytes = (await client.get("/api/v1/orgs/acme/billing/invoices/2026-11?format=csv")).content
    rows = list(csv.DictReader(io.StringIO(csv_bytes.decode())))
    assert [r["meter"] for r in rows] == ["", "stacks", "decisions", "reports", "registry_bytes", "seats", ""]
    assert rows[-1]["description"] == "Total" and rows[-1]["amount"] == "500.50"
    actions = [e.action for e in await audit.entries(owner.org.org_id)]
    assert actions.count("org:billing:invoice") == 1 and actions.count("org:billing:plan") == 1

    # the invoices rebuilt from billing.events.v1 into an emptied table: the same bytes
    assert await OutboxRelay(database, postgres_log, "billing_outbox").relay_once() == 2
    async with database.transaction() as conn:
        await conn.execute("DELETE FROM billing_invoices")
        await conn.execute("DELETE FROM billing_plans")
        await conn.execute("DELETE FROM billing_positions WHERE topic = %s", (BILLING_EVENTS,))
    assert (await client.get("/o/acme/settings/billing/invoices/2026-11.pdf")).status_code == 404
    await EventSink(database, postgres_log, DEAD_LETTERS).write(
        [OwnEventProcessor(decode).process(m) for m in await read_topic(postgres_log, BILLING_EVENTS)])
    assert (await client.get("/o/acme/settings/billing/invoices/2026-11.pdf")).content == pdf.content
    assert (await client.get("/api/v1/orgs/acme/billing/plans")).json()["current_plan_id"] == "team"

    other = await signed_in(client_factory, await people.org("globex"))
    assert (await other.get("/api/v1/orgs/globex/billing/invoices")).json() == []
    assert (await other.get("/api/v1/orgs/acme/billing/invoices")).status_code == 404
    assert (await other.get("/o/globex/settings/billing/invoices/2026-11.pdf")).status_code == 404


async def run_cli(*args: str, key: str) -> Result:
    """The CLI in a worker thread (the gateway answers it from this loop)."""
    return await asyncio.to_thread(CliRunner().invoke, cli, list(args), env={"FARAMESH_CLOUD_API_KEY": key})


async def test_the_cli_shows_usage_issues_and_downloads_invoices_with_an_owner_key(
        served: str, people: People, database: Database, postgres_log: PostgresLog, tmp_path: Path) -> None:
    owner = await people.org("acme")
    principal = await people.principal(owner)
    _, key = await people.identity.api_keys.create(owner.org.org_id, "finance", Role.OWNER, principal)
    _, admin_key = await people.identity.api_keys.create(owner.org.org_id, "ops", Role.ADMIN, principal)
    await decisions(postgres_log, owner.org.org_id, datetime(2026, 11, 20, tzinfo=UTC), 42)
    await consume(database, postgres_log)

    shown = await run_cli("billing", "usage", "--url", served, "--months", "2", key=key)
    assert shown.exit_code == 0, shown.output
    assert [line.split()[:3] for line in shown.output.splitlines()[1:]] == [["2026-11", "0", "42"],
                                                                           ["2026-12", "0", "0"]]
    early = await run_cli("billing", "invoice", "2026-12", "--url", served, key=key)
    assert early.exit_code == 2 and "2026-12 has not ended yet" in early.output
    out = tmp_path / "nov.csv"
    made = await run_cli("billing", "invoice", "2026-11", "--url", served, "--out", str(out), key=key)
    assert made.exit_code == 0, made.output
    assert "issued now" in made.output and out.read_bytes().startswith(b"invoice_number,month,")
    pdf = tmp_path / "nov.pdf"
    again = await run_cli("billing", "invoice", "2026-11", "--url", served, "--out", str(pdf), key=key)
    assert again.exit_code == 0 and "issued before" in again.output and pdf.read_bytes().startswith(b"%PDF")
    listed = await run_cli("billing", "invoices", "--url", served, key=key)
    assert listed.exit_code == 0 and listed.output.startswith("2026-11  FC-202611-")
    refused = await run_cli("billing", "invoices", "--url", served, key=admin_key)
    assert refused.exit_code == 1 and "403" in refused.output
