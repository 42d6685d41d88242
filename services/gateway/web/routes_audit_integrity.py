"""Audit → Chain integrity: per stack, last verified, chain length, segments, archive status
and every finding, each linked to the offending record; the critical alerts, open and
acknowledged (who, when, note), and acknowledging one with a required note."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from faramesh_cloud.gateway.web import blind_minutes
from faramesh_cloud.gateway.web.audit_common import audit_page, check_stack, reader
from faramesh_cloud.gateway.web.auth import check_csrf, require
from faramesh_cloud.gateway.web.deps import web
from faramesh_cloud.gateway.web.fleet_ports import maybe_fleet
from faramesh_cloud.identity.domain import Forbidden, NotFound, Principal
from faramesh_cloud.identity.permissions import Permission

router = APIRouter(include_in_schema=False)
# Cloud keeps every indexed record in its own store; an archive tier does not exist yet.
ARCHIVE_STATUS = "not archived: every record is in the live index"
RETAINED_STATUS = ("earlier records removed by retention (Settings → Retention); what is left of each agent chain "
                   "verifies from its checkpoint")


def archive_status(stack: Any) -> str:
    """What a stack's integrity says of its records' whereabouts (page and REST alike): all in
    the live index, or some removed by retention (a chain has a checkpoint)."""
    return RETAINED_STATUS if any(a.checkpoint is not None for a in stack.agents) else ARCHIVE_STATUS


def verified_at(stacks: list[Any]) -> dict[str, datetime]:
    return {s.stack_id: datetime.fromtimestamp(s.last_verified_ns / 1e9, UTC) for s in stacks if s.last_verified_ns}


async def integrity_view(request: Request, principal: Principal, stack_id: str | None) -> list[Any]:
    if stack_id is not None:
        known = {s.stack_id for s in await web(request).stacks.list_stacks(principal.org.org_id)}
        if stack_id not in known:
            raise NotFound("no such stack in this organisation")
        check_stack(principal, stack_id, Permission.AUDIT_CHAIN_READ)
    stacks = await reader(request).chain_integrity(principal.org.org_id, stack_id)
    return [s for s in stacks if principal.access.allows(Permission.AUDIT_CHAIN_READ, s.stack_id)]


ACK = Permission.AUDIT_ALERT_ACKNOWLEDGE


async def alerts_view(request: Request, principal: Principal, stack_id: str | None) -> list[Any]:
    """The alerts of the stacks the member may see: the open ones, then the recently
    acknowledged ones (many acknowledged alerts never push an open one off the page)."""
    audit = reader(request)
    open_ = await audit.alerts(principal.org.org_id)
    recent = await audit.alerts(principal.org.org_id, include_acknowledged=True)
    found = [*open_, *(a for a in recent if a.acknowledged)]
    return [a for a in found if (stack_id is None or a.stack_id == stack_id)
            and principal.access.allows(Permission.AUDIT_CHAIN_READ, a.stack_id)]


async def readable_alert(request: Request, principal: Principal, alert_id: str) -> Any:
    """The organisation's alert ``alert_id`` on a stack the member may read; another org's id,
    a stack the member cannot read, or no such alert: 404."""
    try:
        number = int(alert_id)
    except ValueError:
        raise NotFound(f"no audit alert {alert_id!r} in this organisation") from None
    found = await reader(request).alert(principal.org.org_id, number) if 0 < number < 2**63 else None
    if found is None or not principal.access.allows(Permission.AUDIT_CHAIN_READ, found.stack_id):
        raise NotFound(f"no audit alert {alert_id!r} in this organisation")
    return found


async def acknowledgeable_alert(request: Request, principal: Principal, alert_id: str) -> Any:
    """``readable_alert``, and the member's role on its stack may acknowledge it (else 403)."""
    found = await readable_alert(request, principal, alert_id)
    if not principal.access.allows(ACK, found.stack_id):
        raise Forbidden(f"your role ({principal.access.role.label}) does not include {ACK.value}; "
                        "an Owner, Admin or Operator can acknowledge alerts")
    return found


class Refused(Exception):
    """Acknowledging was refused (no note: 400; acknowledged already: 409)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


async def acknowledge(request: Request, principal: Principal, found: Any, note: str) -> Any:
    """Acknowledge ``found`` (from ``acknowledgeable_alert``) with ``note``: the page and its REST twin."""
    try:
        return await reader(request).acknowledge_alert(principal.org.org_id, found.alert_id, note, principal.actor)
    except LookupError as exc:
        raise NotFound(str(exc)) from None
    except ValueError as exc:
        raise Refused(str(exc), 409 if getattr(exc, "code", "") == "conflict" else 400) from None


async def _page(request: Request, principal: Principal, stack_id: str | None, *, error: str = "",
                status_code: int = 200) -> Response:
    stacks = await integrity_view(request, principal, stack_id)
    # One stack's page shows its blind minutes (when the fleet is mounted: contact is the fleet's).
    strip = (await blind_minutes.context(request, principal, stack_id, checked=True)
             if stack_id is not None and maybe_fleet(request) is not None else {})
    return await audit_page(request, "audit/integrity.html", principal, "integrity",
                            {"chains": stacks, "archive_status": archive_status, "one_stack": stack_id,
                             "verified_at": verified_at(stacks), "alerts": await alerts_view(request, principal, stack_id),
                             "can_acknowledge": principal.access.allows_anywhere(ACK), "error": error, **strip},
                            status_code=status_code)


@router.get("/o/{org}/audit/integrity", response_class=HTMLResponse)
async def integrity(request: Request, principal: Principal = Depends(require(Permission.AUDIT_CHAIN_READ))) -> Response:
    return await _page(request, principal, None)


@router.get("/o/{org}/audit/integrity/{stack_id}", response_class=HTMLResponse)
async def stack_integrity(request: Request, stack_id: str,
                          principal: Principal = Depends(require(Permission.AUDIT_CHAIN_READ))) -> Response:
    return await _page(request, principal, stack_id)


@router.post("/o/{org}/audit/integrity/alerts/{alert_id}/acknowledge", dependencies=[Depends(check_csrf)])
async def acknowledge_form(request: Request, alert_id: str, note: str = Form(""), back: str = Form(""),
                           principal: Principal = Depends(require(Permission.AUDIT_CHAIN_READ))) -> Response:
    found = await acknowledgeable_alert(request, principal, alert_id)
    one_stack = found.stack_id if back == "stack" else None
    try:
        await acknowledge(request, principal, found, note)
    except Refused as exc:
        return await _page(request, principal, one_stack, error=str(exc), status_code=exc.status)
    where = f"/o/{principal.org.slug}/audit/integrity" + (f"/{found.stack_id}" if one_stack else "")
    return RedirectResponse(f"{where}?flash=Alert+{found.alert_id}+acknowledged#alert-{found.alert_id}",
                            status_code=303)
