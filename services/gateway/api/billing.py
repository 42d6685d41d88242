"""``/api/v1/orgs/{org}/billing``: plans and the organisation's plan, usage per meter and
month, invoices (issue a finished month's; its PDF or CSV). Owner only
(``org:billing:read`` / ``org:billing:manage``)."""

from __future__ import annotations

from typing import Any, Final, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from faramesh_cloud.gateway.web.auth import check_csrf, require
from faramesh_cloud.gateway.web.billing_ports import (
    billing_port,
    invoice_json,
    plan_json,
    usage_json,
)
from faramesh_cloud.gateway.web.notifications_ports import not_found, refused
from faramesh_cloud.identity.domain import Principal
from faramesh_cloud.identity.permissions import Permission

router = APIRouter(prefix="/api/v1/orgs/{org}/billing", tags=["billing"])
READ = require(Permission.ORG_BILLING_READ)
MANAGE = require(Permission.ORG_BILLING_MANAGE)
DOCUMENT: Final[dict[int | str, dict[str, Any]]] = {200: {
    "content": {"application/pdf": {}, "text/csv": {}}, "description": "the invoice's PDF or CSV (identical bytes "
                                                                      "every time)"}}


ISSUED_BEFORE: Final[dict[int | str, dict[str, Any]]] = {200: {
    "description": "the month's invoice was issued before: it is answered unchanged (issued_now false)"}}


class PlanIn(BaseModel):
    plan_id: str = Field(min_length=1, max_length=100, description="one of the plans GET .../billing/plans lists")


class InvoiceIn(BaseModel):
    month: str = Field(min_length=7, max_length=7, pattern=r"^\d{4}-\d{2}$",
                       description="YYYY-MM (UTC), a month that has ended")


@router.get("/plans")
async def list_billing_plans(request: Request, principal: Principal = Depends(READ)) -> dict[str, Any]:
    plans, current = await billing_port(request).plans(principal.org.org_id)
    return {"current_plan_id": current, "plans": [plan_json(p) for p in plans]}


@router.put("/plan", dependencies=[Depends(check_csrf)])
async def set_billing_plan(body: PlanIn, request: Request, principal: Principal = Depends(MANAGE)) -> dict[str, Any]:
    try:
        return plan_json(await billing_port(request).set_plan(principal.org.org_id, body.plan_id, principal.actor))
    except ValueError as exc:
        raise refused(exc) from None


@router.get("/usage")
async def billing_usage(request: Request, principal: Principal = Depends(READ),
                        months: int = Query(12, ge=1, le=24)) -> list[dict[str, Any]]:
    """Each meter per month, oldest first, ending with the current (unfinished) month."""
    return [usage_json(m) for m in await billing_port(request).usage(principal.org.org_id, months)]


@router.get("/invoices")
async def list_billing_invoices(request: Request, principal: Principal = Depends(READ)) -> list[dict[str, Any]]:
    return [invoice_json(i) for i in await billing_port(request).invoices(principal.org.org_id)]


@router.post("/invoices", status_code=201, dependencies=[Depends(check_csrf)], responses=ISSUED_BEFORE)
async def issue_billing_invoice(body: InvoiceIn, request: Request, response: Response,
                                principal: Principal = Depends(MANAGE)) -> dict[str, Any]:
    """Issue the invoice of a finished month (201); the one issued before answers 200,
    unchanged. The current month or a later one: 400."""
    try:
        invoice, now = await billing_port(request).issue_invoice(principal.org.org_id, body.month, principal.actor)
    except ValueError as exc:
        raise refused(exc) from None
    if not now:
        response.status_code = 200
    return {**invoice_json(invoice), "issued_now": now}


@router.get("/invoices/{month}", response_class=Response, responses=DOCUMENT)
async def download_billing_invoice(month: str, request: Request, principal: Principal = Depends(READ),
                                   format: Literal["pdf", "csv"] = Query("pdf")) -> Response:
    try:
        content, media, name = await billing_port(request).invoice_document(principal.org.org_id, month, format)
    except LookupError as exc:
        raise not_found(exc) from None
    except ValueError as exc:
        raise refused(exc) from None
    return Response(content, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'})
