"""Settings → Retention: how long DPRs stay in Cloud (the organisation's, and per stack), the
declared frameworks' minimums with their citations, legal holds per stack, a dry run of a
change, and the job (last run, what went, what is next). Owner and Admin
(``org:retention:manage``); every change is a platform audit entry written by the index in
the change's transaction. A refusal (below a framework's minimum) is shown with its reason and
changes nothing."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from faramesh_cloud.gateway.web.auth import check_csrf, require
from faramesh_cloud.gateway.web.deps import web
from faramesh_cloud.gateway.web.render import page
from faramesh_cloud.gateway.web.retention_ports import plan_json, retention_port
from faramesh_cloud.identity.domain import NotFound, Principal
from faramesh_cloud.identity.permissions import Permission
from faramesh_cloud.stacks.domain import StackError

router = APIRouter(include_in_schema=False)
MANAGE = require(Permission.ORG_RETENTION_MANAGE)
PATH = "/settings/retention"


def _back(principal: Principal, message: str) -> Response:
    return RedirectResponse(f"/o/{principal.org.slug}{PATH}?{urlencode({'flash': message})}", status_code=303)


async def known_stack(request: Request, principal: Principal, stack_id: str) -> Any:
    try:
        stack = await web(request).stacks.get_stack(principal.org.org_id, stack_id)
    except StackError:  # not an id at all
        stack = None
    if stack is None:
        raise NotFound("no such stack in this organisation")
    return stack


def parse_days(value: Any) -> int:
    text = str(value or "").strip()
    if not text.isdigit():
        raise ValueError(f"retention must be a whole number of days, not {text!r}")
    return int(text)


def named(plan: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    """``plan`` (``plan_json``) with each month's reason naming stacks as people know them
    (the index speaks of stack ids)."""
    def why(text: str) -> str:
        for stack_id, name in names.items():
            text = text.replace(f"stack {stack_id}", f"stack {name}")
        return text
    return {**plan, **{k: [{**m, "why": why(m["why"])} for m in plan[k]] for k in ("removes", "keeps")}}


async def render(request: Request, principal: Principal, *, status_code: int = 200, **extra: Any) -> Response:
    org_id = principal.org.org_id
    status = await retention_port(request).status(org_id)
    stacks = await web(request).stacks.list_stacks(org_id)
    names = {s.stack_id: s.name for s in stacks}
    if "preview" in extra:
        extra["preview"] = named(extra["preview"], names)
    return await page(request, "settings/retention.html", principal, {
        "tab": "retention", "status": status, "plan": named(plan_json(status.plan), names), "stacks": stacks,
        "names": names, "path": PATH, **extra,
    }, section="settings", status_code=status_code)


@router.get("/o/{org}/settings/retention", response_class=HTMLResponse)
async def retention_page(request: Request, principal: Principal = Depends(MANAGE)) -> Response:
    query = request.query_params
    if "preview_days" not in query:
        return await render(request, principal)
    stack_id = query.get("preview_stack", "")
    try:
        if stack_id:
            await known_stack(request, principal, stack_id)
        days = parse_days(query.get("preview_days"))
        preview = await retention_port(request).dry_run(principal.org.org_id, days=days, stack_id=stack_id)
    except ValueError as exc:
        return await render(request, principal, error=str(exc), status_code=400)
    return await render(request, principal, preview=plan_json(preview), preview_days=days, preview_stack=stack_id)


@router.post("/o/{org}/settings/retention", dependencies=[Depends(check_csrf)])
async def set_org_retention(request: Request, principal: Principal = Depends(MANAGE)) -> Response:
    form = await request.form()
    try:
        days = parse_days(form.get("days"))
        await retention_port(request).set_retention(principal.org.org_id, days, principal.actor)
    except ValueError as exc:
        return await render(request, principal, error=str(exc), status_code=400)
    return _back(principal, f"DPRs now stay {days} days; the job removes older months at its next run.")


@router.post("/o/{org}/settings/retention/stacks/{stack_id}", dependencies=[Depends(check_csrf)])
async def set_stack_retention(request: Request, stack_id: str, principal: Principal = Depends(MANAGE)) -> Response:
    stack = await known_stack(request, principal, stack_id)
    form = await request.form()
    port = retention_port(request)
    try:
        if form.get("clear") is not None:
            await port.clear_stack_retention(principal.org.org_id, stack_id, principal.actor)
            return _back(principal, f"{stack.name} follows the organisation's retention again.")
        days = parse_days(form.get("days"))
        await port.set_retention(principal.org.org_id, days, principal.actor, stack_id=stack_id)
    except ValueError as exc:
        return await render(request, principal, error=str(exc), status_code=400)
    return _back(principal, f"{stack.name}: DPRs stay {days} days.")


@router.post("/o/{org}/settings/retention/holds/{stack_id}", dependencies=[Depends(check_csrf)])
async def change_legal_hold(request: Request, stack_id: str, principal: Principal = Depends(MANAGE)) -> Response:
    stack = await known_stack(request, principal, stack_id)
    form = await request.form()
    held = form.get("action") != "release"
    try:
        await retention_port(request).set_hold(principal.org.org_id, stack_id, principal.actor, held=held,
                                               reason=str(form.get("reason") or ""))
    except ValueError as exc:
        return await render(request, principal, error=str(exc), status_code=400)
    return _back(principal, f"{stack.name} is on legal hold: nothing of it is removed." if held
                 else f"Legal hold on {stack.name} released.")


@router.post("/o/{org}/settings/retention/sweep", dependencies=[Depends(check_csrf)])
async def run_retention_now(request: Request, principal: Principal = Depends(MANAGE)) -> Response:
    report = await retention_port(request).sweep_now(principal.org.org_id, principal.actor)
    gone = ", ".join(f"{m // 100}-{m % 100:02d}" for m in report.dropped_months) or "nothing"
    if report.postponed:
        return _back(principal, f"Retention ran: removed {gone}; postponed: {report.postponed}.")
    return _back(principal, f"Retention ran: removed {gone}.")
