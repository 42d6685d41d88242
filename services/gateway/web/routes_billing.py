"""Settings → Billing (Owner only, per the Members table): the plan, a chart per meter over
the last twelve months, the invoices (issue a finished month's; download PDF or CSV). Every
change is a platform audit entry the service writes in the change's transaction."""

from __future__ import annotations

from typing import Any, Final
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from faramesh_cloud.gateway.web.auth import check_csrf, require
from faramesh_cloud.gateway.web.billing_ports import billing_port
from faramesh_cloud.gateway.web.charts import bar_chart, human
from faramesh_cloud.gateway.web.notifications_ports import not_found, refusal
from faramesh_cloud.gateway.web.render import page
from faramesh_cloud.identity.domain import Principal
from faramesh_cloud.identity.permissions import Permission

router = APIRouter(include_in_schema=False)
READ = require(Permission.ORG_BILLING_READ)
MANAGE = require(Permission.ORG_BILLING_MANAGE)
PATH: Final = "/settings/billing"
# meter → (label, unit): what the page and its charts call each meter
METERS: Final = {
    "stacks": ("Connected stacks", ""),
    "decisions": ("Governed decisions (DPRs ingested)", ""),
    "reports": ("Compliance reports generated", ""),
    "registry_bytes": ("Registry storage", "bytes"),
    "seats": ("Approver/operator seats", ""),
}


def _back(principal: Principal, message: str) -> Response:
    return RedirectResponse(f"/o/{principal.org.slug}{PATH}?{urlencode({'flash': message})}", status_code=303)


def charts(usage: Any) -> list[dict[str, Any]]:
    out = []
    for meter, (label, unit) in METERS.items():
        points = [(m.month, int(m.meters.get(meter, 0))) for m in usage]
        current = points[-1][1] if points else 0
        out.append({"meter": meter, "label": label, "current": human(current, unit),
                    "svg": bar_chart(f"chart-{meter}", f"{label} per month", points, unit)})
    return out


async def render(request: Request, principal: Principal, *, status_code: int = 200, **extra: Any) -> Response:
    port = billing_port(request)
    org_id = principal.org.org_id
    plans, current = await port.plans(org_id)
    usage = await port.usage(org_id, 12)
    return await page(request, "settings/billing.html", principal, {
        "tab": "billing", "plans": plans, "current": current, "charts": charts(usage),
        "current_month": usage[-1].month if usage else "", "invoices": await port.invoices(org_id),
        "previous_month": usage[-2].month if len(usage) > 1 else "", "path": PATH, **extra,
    }, section="settings", status_code=status_code)


@router.get("/o/{org}/settings/billing", response_class=HTMLResponse)
async def billing_page(request: Request, principal: Principal = Depends(READ)) -> Response:
    return await render(request, principal)


@router.post("/o/{org}/settings/billing/plan", dependencies=[Depends(check_csrf)])
async def set_billing_plan(request: Request, principal: Principal = Depends(MANAGE)) -> Response:
    form = await request.form()
    try:
        plan = await billing_port(request).set_plan(principal.org.org_id, str(form.get("plan_id") or ""),
                                                    principal.actor)
    except ValueError as exc:
        return await render(request, principal, error=str(exc), status_code=refusal(exc))
    return _back(principal, f"The plan is {plan.name} from now on.")


@router.post("/o/{org}/settings/billing/invoices", dependencies=[Depends(check_csrf)])
async def issue_billing_invoice(request: Request, principal: Principal = Depends(MANAGE)) -> Response:
    form = await request.form()
    try:
        invoice, now = await billing_port(request).issue_invoice(principal.org.org_id, str(form.get("month") or ""),
                                                                 principal.actor)
    except ValueError as exc:
        return await render(request, principal, error=str(exc), status_code=refusal(exc))
    said = "issued" if now else "was issued before; nothing changed"
    return _back(principal, f"Invoice {invoice.invoice_number} for {invoice.month} {said}.")


@router.get("/o/{org}/settings/billing/invoices/{month}.{fmt}")
async def download_billing_invoice(request: Request, month: str, fmt: str,
                                   principal: Principal = Depends(READ)) -> Response:
    try:
        content, media, name = await billing_port(request).invoice_document(principal.org.org_id, month, fmt)
    except LookupError as exc:
        raise not_found(exc) from None
    except ValueError as exc:
        return await render(request, principal, error=str(exc), status_code=refusal(exc))
    return Response(content, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'})
