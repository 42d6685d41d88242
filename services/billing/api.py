"""What people do with billing (the gateway's ``BillingPort``): the plans and the
organisation's plan, usage per meter and month, issuing a finished month's invoice, and an
issued invoice's documents. Refusals raise ``BillingRefused`` (``code`` ``invalid`` 400);
an invoice never issued raises ``LookupError``. Each change runs in ONE tenant transaction
with its event (outbox ``billing_outbox``) and its platform audit entry
(``org:billing:plan`` / ``org:billing:invoice``), so all three exist exactly when the
change does. Owner only: the gateway checks ``org:billing:read`` / ``org:billing:manage``."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any, Final

from faramesh_cloud.billing import documents
from faramesh_cloud.billing.domain import (
    BillingRefused,
    Invoice,
    InvoiceLine,
    Meter,
    MonthUsage,
    Plan,
    check_month,
    invoice_lines,
    month_of,
    recent_months,
)
from faramesh_cloud.billing.events import OUTBOX, TOPIC, PlanSet, encode
from faramesh_cloud.billing.plans import Catalog
from faramesh_cloud.billing.projection import apply
from faramesh_cloud.billing.seats import SeatCounter
from faramesh_cloud.platform_audit.events import Actor, Target
from faramesh_cloud.platform_audit.store import PlatformAuditLog
from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.tenant import tenant_transaction

Clock = Callable[[], datetime]
PLAN_SET: Final = "org:billing:plan"
INVOICE_ISSUED: Final = "org:billing:invoice"
MAX_MONTHS: Final = 24
FORMATS: Final = ("pdf", "csv")


def _org(org_id: str) -> str:
    try:
        return str(uuid.UUID(str(org_id)))
    except ValueError:
        raise BillingRefused(f"org_id {org_id!r} is not an organisation id (a UUID)") from None


def _invoice_row(r: Any) -> Invoice:
    lines = tuple(InvoiceLine(**x) for x in (r[6] if isinstance(r[6], list) else json.loads(r[6])))
    return Invoice(str(r[0]), r[1], r[2], r[3], r[4], r[5], lines, int(r[7]), r[8], r[9], str(r[10]))


_INVOICE_COLUMNS: Final = ("org_id, month, invoice_number, plan_id, plan_name, currency, lines, total_cents, "
                           "issued_at, issued_by, event_id")


class BillingApi:
    def __init__(self, db: Database, audit: PlatformAuditLog, catalog: Catalog, seats: SeatCounter, *,
                 clock: Clock) -> None:
        self._db = db
        self._audit = audit
        self.catalog = catalog
        self._seats = seats
        self._clock = clock

    # plans

    async def plans(self, org_id: str) -> tuple[list[Plan], str]:
        """Every configured plan and the organisation's plan id (the default when none was set)."""
        return list(self.catalog.plans), (await self._plan(_org(org_id))).plan_id

    async def _plan(self, org: str) -> Plan:
        async with tenant_transaction(self._db, org) as conn:
            row = await (await conn.execute("SELECT plan_id FROM billing_plans WHERE org_id = %s", (org,))).fetchone()
        plan = self.catalog.get(row[0]) if row is not None else None
        default = self.catalog.get(self.catalog.default_plan)
        assert default is not None
        return plan or default

    async def set_plan(self, org_id: str, plan_id: str, actor: Actor) -> Plan:
        org = _org(org_id)
        plan = self.catalog.get((plan_id or "").strip())
        if plan is None:
            raise BillingRefused(f"no plan {plan_id!r}; the plans: {', '.join(p.plan_id for p in self.catalog.plans)}")
        change = PlanSet(str(uuid.uuid4()), self._clock(), org, plan.plan_id, actor.label)
        async with tenant_transaction(self._db, org) as conn:
            await apply(conn, change)
            await OUTBOX.add(conn, TOPIC, [encode(change)])
            await self._audit.append_in(conn, org, PLAN_SET, actor, target=Target("billing_plan", plan.plan_id),
                                        details={"plan_id": plan.plan_id, "plan": plan.name})
        return plan

    # usage

    async def usage(self, org_id: str, months: int = 12) -> list[MonthUsage]:
        """The meters of the ``months`` months ending with the current one, oldest first. The
        current month's seats are snapshotted now (the sweep snapshots them too)."""
        org = _org(org_id)
        if not 1 <= months <= MAX_MONTHS:
            raise BillingRefused(f"months must be 1 to {MAX_MONTHS}, not {months}")
        current = month_of(self._clock())
        await self._seats.snapshot(org)
        return await self._usage(org, recent_months(current, months))

    async def _usage(self, org: str, months: list[str]) -> list[MonthUsage]:
        meters: dict[str, dict[Meter, int]] = {m: {meter: 0 for meter in Meter} for m in months}
        async with tenant_transaction(self._db, org) as conn:
            for month, meter, n in await (await conn.execute(
                    "SELECT month, meter, count FROM billing_usage_counts WHERE org_id = %s AND month = ANY(%s)",
                    (org, months))).fetchall():
                meters[month][Meter(meter)] = int(n)
            for month, meter, n in await (await conn.execute(
                    "SELECT month, meter, count(*) FROM billing_usage_items WHERE org_id = %s AND month = ANY(%s) "
                    "AND meter <> %s GROUP BY month, meter", (org, months, Meter.REGISTRY_BYTES.value))).fetchall():
                meters[month][Meter(meter)] = int(n)
            for month, n in await (await conn.execute(
                    "SELECT m, (SELECT coalesce(sum(amount), 0) FROM billing_usage_items WHERE org_id = %s "
                    "AND meter = %s AND month <= m) FROM unnest(%s::text[]) AS m",
                    (org, Meter.REGISTRY_BYTES.value, months))).fetchall():
                meters[month][Meter.REGISTRY_BYTES] = int(n)
            for month, n in await (await conn.execute(
                    "SELECT month, seats FROM billing_seats WHERE org_id = %s AND month = ANY(%s)",
                    (org, months))).fetchall():
                meters[month][Meter.SEATS] = int(n)
        return [MonthUsage(m, meters[m]) for m in months]

    # invoices

    async def invoices(self, org_id: str) -> list[Invoice]:
        org = _org(org_id)
        async with tenant_transaction(self._db, org) as conn:
            rows = await (await conn.execute(f"SELECT {_INVOICE_COLUMNS} FROM billing_invoices WHERE org_id = %s "
                                             "ORDER BY month DESC", (org,))).fetchall()
        return [_invoice_row(r) for r in rows]

    async def invoice(self, org_id: str, month: str) -> Invoice:
        org, month = _org(org_id), check_month(month)
        async with tenant_transaction(self._db, org) as conn:
            row = await (await conn.execute(f"SELECT {_INVOICE_COLUMNS} FROM billing_invoices WHERE org_id = %s "
                                            "AND month = %s", (org, month))).fetchone()
        if row is None:
            raise LookupError(f"no invoice for {month} yet; issue it once the month has ended")
        return _invoice_row(row)

    async def issue_invoice(self, org_id: str, month: str, actor: Actor) -> tuple[Invoice, bool]:
        """The invoice of a finished month: issued now (an ``InvoiceIssued`` event), or the one
        issued before (immutable; ``False``). The current month and later are refused."""
        org, month = _org(org_id), check_month(month)
        now = self._clock()
        current = month_of(now)
        if month >= current:
            raise BillingRefused(f"{month} has not ended yet (it is {current} in UTC): an invoice covers a "
                                 f"finished month; the latest you can issue is the month before {current}")
        plan = await self._plan(org)
        [usage] = await self._usage(org, [month])
        lines, total = invoice_lines(plan, usage)
        invoice = Invoice(org, month, f"FC-{month.replace('-', '')}-{org[:8]}", plan.plan_id, plan.name,
                          plan.currency, lines, total, now, actor.label, str(uuid.uuid4()))
        async with tenant_transaction(self._db, org) as conn:
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"billing-invoice/{org}/{month}",))
            if not await apply(conn, invoice):
                row = await (await conn.execute(f"SELECT {_INVOICE_COLUMNS} FROM billing_invoices "
                                                "WHERE org_id = %s AND month = %s", (org, month))).fetchone()
                assert row is not None
                return _invoice_row(row), False
            await OUTBOX.add(conn, TOPIC, [encode(invoice)])
            await self._audit.append_in(conn, org, INVOICE_ISSUED, actor,
                                        target=Target("billing_invoice", invoice.invoice_number),
                                        details={"month": month, "plan_id": plan.plan_id,
                                                 "total_cents": total, "currency": plan.currency})
        return invoice, True

    async def invoice_document(self, org_id: str, month: str, fmt: str) -> tuple[bytes, str, str]:
        """(bytes, media type, file name) of an issued invoice; the same bytes every time."""
        if fmt not in FORMATS:
            raise BillingRefused(f"format {fmt!r}: choose pdf or csv")
        invoice = await self.invoice(org_id, month)
        name = f"invoice-{invoice.invoice_number}.{fmt}"
        if fmt == "csv":
            return documents.invoice_csv(invoice), "text/csv; charset=utf-8", name
        return documents.invoice_pdf(invoice), "application/pdf", name
