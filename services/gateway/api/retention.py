"""``/api/v1/orgs/{org}/retention``: how long DPRs stay (the organisation's and per stack), the
declared frameworks' minimum, legal holds, a dry run, the job's runs. Owner and Admin
(``org:retention:manage``). A setting below a declared framework's minimum is a 422 with the
framework, the minimum and the citation; nothing is written."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, Field, StrictInt

from faramesh_cloud.gateway.web.auth import check_csrf, require
from faramesh_cloud.gateway.web.retention_ports import plan_json, retention_port, status_json
from faramesh_cloud.gateway.web.routes_retention import known_stack
from faramesh_cloud.identity.domain import Principal
from faramesh_cloud.identity.permissions import Permission

router = APIRouter(prefix="/api/v1/orgs/{org}/retention", tags=["retention"])
MANAGE = require(Permission.ORG_RETENTION_MANAGE)
REFUSED = {422: {"description": "below a declared framework's minimum, or out of range: the reason"}}


class RetentionIn(BaseModel):
    days: StrictInt = Field(ge=1, le=36_500, description="how many days DPRs stay in Cloud")


class LegalHoldIn(BaseModel):
    reason: str = Field(min_length=1, max_length=500, description="why (the matter, a ticket)")


def _refused(exc: ValueError) -> HTTPException:
    return HTTPException(422, str(exc))


@router.get("")
async def get_retention(request: Request, principal: Principal = Depends(MANAGE)) -> dict[str, Any]:
    return status_json(await retention_port(request).status(principal.org.org_id))


@router.put("", dependencies=[Depends(check_csrf)], responses=REFUSED)
async def set_retention(body: RetentionIn, request: Request, principal: Principal = Depends(MANAGE)) -> dict[str, Any]:
    port = retention_port(request)
    try:
        await port.set_retention(principal.org.org_id, body.days, principal.actor)
    except ValueError as exc:
        raise _refused(exc) from None
    return status_json(await port.status(principal.org.org_id))


@router.put("/stacks/{stack_id}", dependencies=[Depends(check_csrf)], responses=REFUSED)
async def set_stack_retention(stack_id: str, body: RetentionIn, request: Request,
                              principal: Principal = Depends(MANAGE)) -> dict[str, Any]:
    await known_stack(request, principal, stack_id)
    port = retention_port(request)
    try:
        await port.set_retention(principal.org.org_id, body.days, principal.actor, stack_id=stack_id)
    except ValueError as exc:
        raise _refused(exc) from None
    return status_json(await port.status(principal.org.org_id))


@router.delete("/stacks/{stack_id}", dependencies=[Depends(check_csrf)])
async def clear_stack_retention(stack_id: str, request: Request,
                                principal: Principal = Depends(MANAGE)) -> dict[str, Any]:
    await known_stack(request, principal, stack_id)
    port = retention_port(request)
    await port.clear_stack_retention(principal.org.org_id, stack_id, principal.actor)
    return status_json(await port.status(principal.org.org_id))


@router.put("/holds/{stack_id}", dependencies=[Depends(check_csrf)], responses=REFUSED)
async def place_legal_hold(stack_id: str, body: LegalHoldIn, request: Request,
                           principal: Principal = Depends(MANAGE)) -> dict[str, Any]:
    await known_stack(request, principal, stack_id)
    port = retention_port(request)
    try:
        await port.set_hold(principal.org.org_id, stack_id, principal.actor, held=True, reason=body.reason)
    except ValueError as exc:
        raise _refused(exc) from None
    return status_json(await port.status(principal.org.org_id))


@router.delete("/holds/{stack_id}", dependencies=[Depends(check_csrf)])
async def release_legal_hold(stack_id: str, request: Request, principal: Principal = Depends(MANAGE)) -> dict[str, Any]:
    await known_stack(request, principal, stack_id)
    port = retention_port(request)
    await port.set_hold(principal.org.org_id, stack_id, principal.actor, held=False)
    return status_json(await port.status(principal.org.org_id))


@router.get("/dry-run", responses=REFUSED)
async def retention_dry_run(request: Request, principal: Principal = Depends(MANAGE),
                            days: int | None = Query(None, ge=1, le=36_500,
                                                     description="the retention to try (none: the current)"),
                            stack_id: str = Query("", max_length=100,
                                                  description="try it on this stack (none: the organisation)")
                            ) -> dict[str, Any]:
    if stack_id:
        await known_stack(request, principal, stack_id)
    try:
        plan = await retention_port(request).dry_run(principal.org.org_id, days=days, stack_id=stack_id)
    except ValueError as exc:
        raise _refused(exc) from None
    return plan_json(plan)


@router.post("/sweep", dependencies=[Depends(check_csrf)])
async def run_retention(request: Request, principal: Principal = Depends(MANAGE)) -> dict[str, Any]:
    report = await retention_port(request).sweep_now(principal.org.org_id, principal.actor)
    return {"removed_months": [f"{m // 100}-{m % 100:02d}" for m in report.dropped_months],
            "records": report.swept.records if report.swept else 0,
            "chains_checkpointed": len(report.swept.checkpoints) if report.swept else 0,
            "postponed": report.postponed}
