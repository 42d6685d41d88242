"""What Settings → Billing uses: a port the composition root fills with the billing service's
API (in process under ``up``, its gRPC client under ``serve gateway``). Refusals raise
``ValueError`` (``BillingRefused``: 400); an invoice never issued raises ``LookupError``.
Owner only (``org:billing:read`` / ``org:billing:manage``: only Owner holds them)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from fastapi import FastAPI, Request

from faramesh_cloud.gateway.web.deps import mounted_port
from faramesh_cloud.platform_audit.events import Actor


class BillingPort(Protocol):
    async def plans(self, org_id: str) -> tuple[Sequence[Any], str]: ...

    async def set_plan(self, org_id: str, plan_id: str, actor: Actor) -> Any: ...

    async def usage(self, org_id: str, months: int = 12) -> Sequence[Any]: ...

    async def invoices(self, org_id: str) -> Sequence[Any]: ...

    async def issue_invoice(self, org_id: str, month: str, actor: Actor) -> tuple[Any, bool]: ...

    async def invoice_document(self, org_id: str, month: str, fmt: str) -> tuple[bytes, str, str]: ...


def mount_billing(app: FastAPI, port: BillingPort | None) -> None:
    """Add Settings → Billing and its API twin (``port`` None: billing does not run here)."""
    from faramesh_cloud.gateway.api import billing as api_billing
    from faramesh_cloud.gateway.web import routes_billing

    app.state.billing = port
    for router in (routes_billing.router, api_billing.router):
        app.include_router(router)


def billing_port(request: Request) -> BillingPort:
    port: BillingPort = mounted_port(request, "billing", "billing is")
    return port


def plan_json(p: Any) -> dict[str, Any]:
    return {"plan_id": p.plan_id, "name": p.name, "base_cents": p.base_cents, "currency": p.currency,
            "prices": {str(m): {"included": x.included, "unit_cents": x.unit_cents, "per": x.per}
                       for m, x in p.prices.items()}}


def usage_json(m: Any) -> dict[str, Any]:
    return {"month": m.month, "meters": {str(k): v for k, v in m.meters.items()}}


def invoice_json(i: Any) -> dict[str, Any]:
    return {"month": i.month, "invoice_number": i.invoice_number, "plan_id": i.plan_id, "plan_name": i.plan_name,
            "currency": i.currency, "total_cents": i.total_cents, "issued_at": i.issued_at, "issued_by": i.issued_by,
            "lines": [{"description": x.description, "meter": x.meter, "quantity": x.quantity,
                       "included": x.included, "billable": x.billable, "unit_cents": x.unit_cents, "per": x.per,
                       "amount_cents": x.amount_cents} for x in i.lines]}
