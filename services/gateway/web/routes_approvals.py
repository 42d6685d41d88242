"""Approvals: the pending queue (oldest first, colour by age, filters), one approval with
Approve / Deny (mandatory reason), bulk decisions, history; and the Kill / Isolate emergency
controls (reason, then a confirmation step) that the Fleet agent page includes."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from faramesh_cloud.gateway.api.approvals import issue, known_approval, known_stack
from faramesh_cloud.gateway.web import approval_charts
from faramesh_cloud.gateway.web.approvals_ports import (
    approvals_port,
    as_identity_error,
    need,
    refusal_status,
    require_seen_agent,
    stacks_allowed,
    visible_command,
)
from faramesh_cloud.gateway.web.auth import check_csrf, member
from faramesh_cloud.gateway.web.deps import visible_stacks_of, web
from faramesh_cloud.gateway.web.render import page
from faramesh_cloud.identity.domain import NotFound, Principal
from faramesh_cloud.identity.permissions import Permission
from faramesh_cloud.rpc.errors import ServiceUnavailable

router = APIRouter(include_in_schema=False)
READ, DECIDE = Permission.APPROVALS_REQUEST_READ, Permission.APPROVALS_REQUEST_DECIDE
LAST_ACTIONS = 20


def _query(request: Request) -> dict[str, str]:
    return {k: (request.query_params.get(k) or "").strip() for k in ("stack", "agent", "tool", "rule")}


async def _stack_names(request: Request, principal: Principal) -> dict[str, str]:
    return {s.stack_id: s.name for s in visible_stacks_of(principal, await web(request).stacks.list_stacks(
        principal.org.org_id))}


async def _list(request: Request, principal: Principal, template: str, tab: str, *, status_code: int = 200,
                **extra: Any) -> Response:
    need(principal, READ)
    q = _query(request)
    port = approvals_port(request)
    read = port.pending if tab == "queue" else port.history
    items = await read(principal.org.org_id, stack_id=q["stack"] or None, agent_id=q["agent"] or None,
                       tool_id=q["tool"] or None, stacks=await stacks_allowed(request, principal, READ),
                       rule_id=q["rule"] or None)
    patterns = {(a.agent_id, a.tool_id, a.matched_rule_id) for a in items}
    return await page(request, template, principal, {
        "tab": tab, "items": items, "q": q, "stack_names": await _stack_names(request, principal),
        "one_pattern": len(patterns) == 1,
        **({"pending": approval_charts.histogram(items)} if tab == "history" else {}),
        "can_decide": principal.access.allows_anywhere(DECIDE), **extra}, section="approvals",
        status_code=status_code)


@router.get("/o/{org}/approvals", response_class=HTMLResponse)
async def queue(request: Request, principal: Principal = Depends(member)) -> Response:
    return await _list(request, principal, "approvals/queue.html", "queue")


@router.get("/o/{org}/approvals/history", response_class=HTMLResponse)
async def history(request: Request, principal: Principal = Depends(member)) -> Response:
    return await _list(request, principal, "approvals/history.html", "history")


def _pretty(args_json: str) -> str:
    """The arguments as indented JSON text (escaped by the template), or as received."""
    if not args_json:
        return "(no arguments shared)"
    try:
        return json.dumps(json.loads(args_json), indent=2, ensure_ascii=False, sort_keys=True)
    except ValueError:
        return args_json


async def _session_actions(request: Request, org_id: str, session_id: str) -> list[Any] | None:
    audit = web(request).audit
    if audit is None:
        return None
    if not session_id:
        return []
    try:
        page_ = await audit.session_timeline(org_id, session_id, None, 500)
    except (LookupError, ValueError):
        return []
    except ServiceUnavailable:  # the approval is decided without the session's recent actions, not refused
        return None
    records = list(getattr(page_, "records", []) or [])
    records.sort(key=lambda r: getattr(r, "created_ns", 0))
    return records[-LAST_ACTIONS:][::-1]


async def _budget(request: Request, org_id: str, stack_id: str, agent_id: str) -> list[Any]:
    fleet = getattr(request.app.state, "fleet", None)
    if fleet is None:
        return []
    try:
        agent = await fleet.query.agent(org_id, stack_id, agent_id)
    except ServiceUnavailable:  # the approval is decided without the budget panel, not refused
        return []
    return list(getattr(agent, "budgets", []) or []) if agent is not None else []


async def _detail(request: Request, principal: Principal, approval_id: str, *, refused: str = "",
                  status_code: int = 200) -> Response:
    need(principal, READ)
    org_id = principal.org.org_id
    try:
        found = await approvals_port(request).get(org_id, approval_id, await stacks_allowed(request, principal, READ))
    except LookupError as exc:
        raise as_identity_error(exc) from None
    names = await _stack_names(request, principal)
    return await page(request, "approvals/detail.html", principal, {
        "a": found, "args": _pretty(found.args_json), "stack_name": names.get(found.stack_id, found.stack_id),
        "can_decide": principal.access.allows(DECIDE, found.stack_id), "refused": refused,
        "actions": await _session_actions(request, org_id, found.session_id),
        "budget": await _budget(request, org_id, found.stack_id, found.agent_id),
    }, section="approvals", status_code=status_code)


@router.get("/o/{org}/approvals/{approval_id}", response_class=HTMLResponse)
async def detail(approval_id: str, request: Request, principal: Principal = Depends(member)) -> Response:
    return await _detail(request, principal, approval_id)


@router.post("/o/{org}/approvals/{approval_id}/decide", dependencies=[Depends(check_csrf)])
async def decide(approval_id: str, request: Request, verdict: str = Form(""), reason: str = Form(""),
                 principal: Principal = Depends(known_approval)) -> Response:
    need(principal, DECIDE)
    if verdict not in ("approve", "deny"):
        return await _detail(request, principal, approval_id, refused="choose Approve or Deny", status_code=400)
    try:
        decision = await approvals_port(request).decide(principal.org.org_id, approval_id, principal.actor, verdict,
                                                        reason, await stacks_allowed(request, principal, DECIDE))
    except LookupError as exc:
        raise as_identity_error(exc) from None
    except ValueError as exc:
        return await _detail(request, principal, approval_id, refused=str(exc), status_code=refusal_status(exc))
    word = "Approved" if verdict == "approve" else "Denied"
    return RedirectResponse(f"/o/{principal.org.slug}/approvals?flash={word}+{decision.approval_id[:8]}"
                            "+%E2%80%94+the+daemon+gets+the+decision+on+its+next+poll.", status_code=303)


@router.post("/o/{org}/approvals/bulk", dependencies=[Depends(check_csrf)])
async def bulk(request: Request, principal: Principal = Depends(member)) -> Response:
    need(principal, DECIDE)
    form = await request.form()
    ids = [str(v) for v in form.getlist("approval_ids")]
    if form.get("all_shown"):  # "select all shown", offered when the queue is filtered to one pattern
        ids = list(dict.fromkeys([*ids, *(str(v) for v in form.getlist("shown_ids"))]))
    verdict, reason = str(form.get("verdict") or ""), str(form.get("reason") or "")
    if not ids or verdict not in ("approve", "deny"):
        return await _list(request, principal, "approvals/queue.html", "queue", status_code=400,
                           error="select at least one approval and choose Approve or Deny")
    try:
        result = await approvals_port(request).bulk_decide(principal.org.org_id, ids, principal.actor, verdict,
                                                           reason, await stacks_allowed(request, principal, DECIDE))
    except ValueError as exc:  # mixed patterns, no reason: nothing was decided
        return await _list(request, principal, "approvals/queue.html", "queue", status_code=refusal_status(exc),
                           error=str(exc))
    return await _list(request, principal, "approvals/queue.html", "queue", bulk=result)


# -- emergency controls -------------------------------------------------------------------


@router.post("/o/{org}/emergency/{stack_id}/{agent_id}", dependencies=[Depends(check_csrf)])
async def emergency(stack_id: str, agent_id: str, request: Request, kind: str = Form(""), reason: str = Form(""),
                    confirm: str = Form(""), principal: Principal = Depends(known_stack)) -> Response:
    """First post: the confirmation page. Confirmed post: the command is queued (or refused,
    and the refusal logged)."""
    names = await _stack_names(request, principal)
    back = f"/o/{principal.org.slug}/fleet/stacks/{stack_id}/agents/{agent_id}"
    if kind not in ("kill", "isolate"):
        return await page(request, "error.html", principal, {"title": "Unknown command",
                          "message": "only kill and isolate exist"}, status_code=400)
    if confirm != "yes":
        await require_seen_agent(request, principal, stack_id, agent_id)  # before asking to confirm
        return await page(request, "approvals/confirm_command.html", principal, {
            "kind": kind, "stack_id": stack_id, "agent_id": agent_id, "reason": reason,
            "stack_name": names.get(stack_id, stack_id), "back": back}, section="fleet")
    try:
        command = await issue(request, principal, stack_id, agent_id, reason, kind)
    except NotFound:
        raise
    except ValueError as exc:
        return await page(request, "error.html", principal, {"title": "Not issued", "message": str(exc)},
                          status_code=refusal_status(exc))
    return RedirectResponse(f"/o/{principal.org.slug}/emergency/commands/{command.command_id}?flash="
                            f"{kind.capitalize()}+queued+for+the+daemon%27s+next+poll.", status_code=303)


@router.get("/o/{org}/emergency/commands", response_class=HTMLResponse)
async def commands(request: Request, principal: Principal = Depends(member)) -> Response:
    """Emergency commands, newest first, with when each was issued, delivered to the daemon
    and acknowledged (filters: stack, agent)."""
    need(principal, Permission.FLEET_HEALTH_READ)
    stack = (request.query_params.get("stack") or "").strip() or None
    agent = (request.query_params.get("agent") or "").strip() or None
    allowed = await stacks_allowed(request, principal, Permission.FLEET_HEALTH_READ)
    found = await approvals_port(request).commands(principal.org.org_id, stack_id=stack, agent_id=agent,
                                                   stacks=allowed)
    return await page(request, "approvals/commands.html", principal, {
        "commands": found, "stack_names": await _stack_names(request, principal),
        "q": {"stack": stack or "", "agent": agent or ""}}, section="fleet")


@router.get("/o/{org}/emergency/commands/{command_id}", response_class=HTMLResponse)
async def command(command_id: str, request: Request, principal: Principal = Depends(member)) -> Response:
    found = await visible_command(command_id, request, principal)
    names = await _stack_names(request, principal)
    return await page(request, "approvals/command.html", principal,
                      {"c": found, "stack_name": names.get(found.stack_id, found.stack_id)}, section="fleet")
