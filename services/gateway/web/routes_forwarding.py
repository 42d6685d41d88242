"""Settings → Integrations → External observability: forwarding destinations (Datadog,
Grafana Cloud OTLP, Splunk HEC, Elastic, generic OTLP/HTTP), a test send and the delivery
log. Owner and Admin only (``org:integration:manage``); every change is a platform audit
entry written by the service in the change's transaction."""

from __future__ import annotations

from typing import Any, Final
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from faramesh_cloud.gateway.web.auth import check_csrf, require
from faramesh_cloud.gateway.web.forwarding_ports import forwarding_port
from faramesh_cloud.gateway.web.notifications_ports import not_found, refusal
from faramesh_cloud.gateway.web.render import page
from faramesh_cloud.identity.domain import Principal
from faramesh_cloud.identity.permissions import Permission

router = APIRouter(include_in_schema=False)
ADMIN = require(Permission.ORG_INTEGRATION_MANAGE)
FIELDS: Final = ("url", "site", "api_key", "token", "instance_id", "index", "sourcetype", "metrics_index", "headers")
PATH: Final = "/settings/integrations/observability"


def _base(principal: Principal) -> str:
    return f"/o/{principal.org.slug}{PATH}"


def _back(principal: Principal, message: str) -> Response:
    return RedirectResponse(f"{_base(principal)}?{urlencode({'flash': message})}", status_code=303)


async def render(request: Request, principal: Principal, *, status_code: int = 200, **extra: Any) -> Response:
    port = forwarding_port(request)
    org_id = principal.org.org_id
    return await page(request, "settings/observability.html", principal, {
        "tab": "integrations", "destinations": await port.destinations(org_id), "kinds": port.kinds,
        "labels": port.labels, "backlog": await port.backlog(org_id),
        "deliveries": await port.deliveries(org_id, limit=50), "path": PATH, **extra,
    }, section="settings", status_code=status_code)


@router.get("/o/{org}/settings/integrations/observability", response_class=HTMLResponse)
async def observability_page(request: Request, principal: Principal = Depends(ADMIN)) -> Response:
    return await render(request, principal)


@router.post("/o/{org}/settings/integrations/observability/destinations", dependencies=[Depends(check_csrf)])
async def create_forwarding_destination(request: Request, principal: Principal = Depends(ADMIN)) -> Response:
    form = await request.form()
    fields = {k: str(form.get(k) or "") for k in FIELDS}
    try:
        created = await forwarding_port(request).create_destination(
            principal.org.org_id, str(form.get("name") or ""), str(form.get("kind") or ""), fields, principal.actor,
            forward_dprs=form.get("forward_dprs") is not None, forward_metrics=form.get("forward_metrics") is not None)
    except ValueError as exc:
        return await render(request, principal, error=str(exc), status_code=refusal(exc))
    return _back(principal, f"Forwarding to {created.name} from now on.")


@router.post("/o/{org}/settings/integrations/observability/destinations/{destination_id}/delete",
             dependencies=[Depends(check_csrf)])
async def delete_forwarding_destination(request: Request, destination_id: str,
                                        principal: Principal = Depends(ADMIN)) -> Response:
    try:
        gone = await forwarding_port(request).delete_destination(principal.org.org_id, destination_id,
                                                                 principal.actor)
    except LookupError as exc:
        raise not_found(exc) from None
    return _back(principal, f"Destination {gone.name} deleted; nothing more is sent there.")


@router.post("/o/{org}/settings/integrations/observability/destinations/{destination_id}/test",
             dependencies=[Depends(check_csrf)])
async def test_forwarding_destination(request: Request, destination_id: str,
                                      principal: Principal = Depends(ADMIN)) -> Response:
    try:
        result = await forwarding_port(request).test_destination(principal.org.org_id, destination_id,
                                                                 principal.actor)
    except LookupError as exc:
        raise not_found(exc) from None
    return _back(principal, f"Test send: {result}.")
