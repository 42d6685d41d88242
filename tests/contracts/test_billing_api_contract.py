"""One contract for the gateway's ``BillingPort``, held by both adapters: the billing service's
``BillingApi`` in process, and ``BillingClient`` talking to the service's real servicer over
real mutual TLS on 127.0.0.1. On the same data (real PostgreSQL) every method gives the same
values (plans, usage, invoices and the documents' bytes); the same refusals with the same words
(a month not finished, a month that is not YYYY-MM, an unknown plan, a malformed organisation
id, an invoice never issued); the actor reaches the platform audit log; another organisation's
invoices are not found; and a caller other than the gateway is refused."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from faramesh_cloud.billing.api import BillingApi
from faramesh_cloud.billing.client import BillingClient
from faramesh_cloud.billing.domain import BillingRefused, Meter
from faramesh_cloud.billing.service import Billing
from faramesh_cloud.billing.servicer import internal_server
from faramesh_cloud.log.postgres import PostgresLog
from faramesh_cloud.platform_audit.events import Actor, ActorType
from faramesh_cloud.platform_audit.store import PlatformAuditLog
from faramesh_cloud.rpc.errors import ServiceUnavailable
from faramesh_cloud.sql.database import Database
from faramesh_cloud.stacks.store import StackStore
from tests.billing_support import billing
from tests.fixtures.internal_tls import ServiceTls

pytestmark = [pytest.mark.postgres, pytest.mark.grpc, pytest.mark.integration]
OWNER = Actor(ActorType.USER, str(uuid.uuid4()), "owner@acme.test", "203.0.113.7")
NOW = datetime(2026, 12, 7, 5, 30, tzinfo=UTC)


@pytest.fixture
async def service(database: Database, postgres_log: PostgresLog) -> Billing:
    made = billing(database, postgres_log, lambda: NOW)
    await made.prepare()
    return made


@contextlib.asynccontextmanager
async def adapter(kind: str, api: BillingApi, tls: ServiceTls, caller: str = "gateway") -> AsyncIterator[Any]:
    if kind == "in-process":
        yield api
        return
    server = internal_server(api, "127.0.0.1:0", tls("billing"))
    await server.start()
    client = BillingClient(server.address, tls(caller))
    try:
        yield client
    finally:
        await client.close()
        await server.stop()


@pytest.mark.parametrize("kind", ["in-process", "grpc"])
async def test_both_adapters_answer_alike(kind: str, service: Billing, internal_tls: ServiceTls,
                                          database: Database) -> None:
    api = service.api
    stacks = StackStore(database)
    await stacks.start()
    acme = (await stacks.create_org(f"acme-{uuid.uuid4().hex[:8]}", "Acme")).org_id
    beta = (await stacks.create_org(f"beta-{uuid.uuid4().hex[:8]}", "Beta")).org_id
    async with adapter(kind, api, internal_tls) as port:
        plans, current = await port.plans(acme)
        assert (plans, current) == await api.plans(acme) and current == "free"
        assert [p.plan_id for p in plans] == ["free", "team", "enterprise"]
        team = await port.set_plan(acme, "team", OWNER)
        assert team == api.catalog.get("team") and (await port.plans(acme))[1] == "team"
        with pytest.raises(BillingRefused, match="no plan 'gold'; the plans: free, team, enterprise"):
            await port.set_plan(acme, "gold", OWNER)
        usage = await port.usage(acme, 3)
        assert usage == await api.usage(acme, 3)
        assert [m.month for m in usage] == ["2026-10", "2026-11", "2026-12"]
        assert set(usage[0].meters) == set(Meter)
        with pytest.raises(BillingRefused, match="months must be 1 to 24"):
            await port.usage(acme, 25)
        with pytest.raises(BillingRefused, match="2026-12 has not ended yet"):
            await port.issue_invoice(acme, "2026-12", OWNER)
        with pytest.raises(BillingRefused, match="is not a month: write it as YYYY-MM"):
            await port.issue_invoice(acme, "Nov 2026", OWNER)
        with pytest.raises(LookupError, match="no invoice for 2026-11 yet"):
            await port.invoice_document(acme, "2026-11", "pdf")
        invoice, now = await port.issue_invoice(acme, "2026-11", OWNER)
        assert now and invoice.plan_id == "team" and invoice.total_cents == 49_900
        assert await port.issue_invoice(acme, "2026-11", OWNER) == (invoice, False)
        assert await port.invoices(acme) == await api.invoices(acme) == [invoice]
        for fmt in ("pdf", "csv"):
            assert await port.invoice_document(acme, "2026-11", fmt) == await api.invoice_document(
                acme, "2026-11", fmt)
        with pytest.raises(BillingRefused, match="format 'xls': choose pdf or csv"):
            await port.invoice_document(acme, "2026-11", "xls")
        assert await port.invoices(beta) == []
        with pytest.raises(LookupError):
            await port.invoice_document(beta, "2026-11", "pdf")  # another organisation's: not found
        with pytest.raises(BillingRefused, match="is not an organisation id"):
            await port.invoices("not-a-uuid")
    entries = await PlatformAuditLog(database).entries(acme)
    assert [(e.action, e.actor.label, e.actor.ip) for e in entries] == [
        ("org:billing:plan", "owner@acme.test", "203.0.113.7"),
        ("org:billing:invoice", "owner@acme.test", "203.0.113.7")]


async def test_only_the_gateway_may_call(service: Billing, internal_tls: ServiceTls) -> None:
    async with adapter("grpc", service.api, internal_tls, caller="ingest") as port:
        with pytest.raises(ServiceUnavailable):
            await port.invoices(str(uuid.uuid4()))
