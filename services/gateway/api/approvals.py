"""``/api/v1/orgs/{org}/approvals`` (the pending queue, history, one approval, decisions,
bulk decisions) and the emergency commands (``.../stacks/{stack_id}/agents/{agent_id}/kill``
and ``/isolate``, ``.../emergency-commands``)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from faramesh_cloud.gateway.openapi import CONFLICT
from faramesh_cloud.gateway.web.approvals_ports import (
    approval_in_org,
    approvals_port,
    as_identity_error,
    need,
    refusal_status,
    require_seen_agent,
    stack_in_org,
    stacks_allowed,
    visible_command,
)
from faramesh_cloud.gateway.web.auth import check_csrf, member
from faramesh_cloud.gateway.web.deps import web
from faramesh_cloud.identity.domain import NotFound, Principal
from faramesh_cloud.identity.permissions import Permission

router = APIRouter(prefix="/api/v1/orgs/{org}", tags=["approvals"])
READ, DECIDE = Permission.APPROVALS_REQUEST_READ, Permission.APPROVALS_REQUEST_DECIDE


async def known_approval(approval_id: str, request: Request, principal: Principal = Depends(member)) -> Principal:
    await approval_in_org(approval_id, request, principal)
    return principal


async def known_stack(stack_id: str, request: Request, principal: Principal = Depends(member)) -> Principal:
    await stack_in_org(stack_id, request, principal)
    return principal


class DecisionIn(BaseModel):
    verdict: Literal["approve", "deny"]
    reason: str = Field(min_length=1, max_length=2000)


class BulkDecisionIn(DecisionIn):
    approval_ids: list[str] = Field(min_length=1, max_length=200)


class CommandIn(BaseModel):
    reason: str = Field(min_length=1, max_length=2000)


def approval_json(a: Any) -> dict[str, Any]:
    return {
        "approval_id": a.approval_id, "stack_id": a.stack_id, "defer_token": a.defer_token,
        "agent_id": a.agent_id, "tool_id": a.tool_id, "session_id": a.session_id, "args_json": a.args_json,
        "matched_rule_id": a.matched_rule_id, "reason_code": a.reason_code, "reason": a.reason,
        "priority": a.priority, "dpr_record_id": a.dpr_record_id, "created_at": a.created_at.isoformat(),
        "deadline": a.deadline.isoformat(), "state": a.state, "age_band": a.age_band,
        "pending_seconds": round(a.pending_s, 3),
        "resolved_at": a.resolved_at.isoformat() if a.resolved_at else None,
        "resolved_by": a.resolved_by_label or a.resolved_by, "resolution_reason": a.resolution_reason,
        "resolution_source": a.resolution_source, "decision_id": a.decision_id or None,
        "resolution_record_id": a.resolution_record_id or None,
        "daemon_state": a.daemon_state, "withdrawn_how": a.withdrawn_how or None,
    }


def command_json(c: Any) -> dict[str, Any]:
    return {
        "command_id": c.command_id, "stack_id": c.stack_id, "agent_id": c.agent_id, "type": c.command_type,
        "reason": c.reason, "issued_by": c.issued_by_label, "issued_at": c.issued_at.isoformat(), "state": c.state,
        "delivered_at": c.delivered_at.isoformat() if c.delivered_at else None,
        "acknowledged_at": c.acked_at.isoformat() if c.acked_at else None,
        "outcome": c.outcome or None, "dpr_record_id": c.dpr_record_id or None, "message": c.message,
    }


def _refused(exc: ValueError) -> JSONResponse:
    return JSONResponse({"detail": str(exc), "code": getattr(exc, "code", "invalid")}, status_code=refusal_status(exc))


@router.get("/approvals")
async def pending(request: Request, stack: str | None = None, agent: str | None = None, tool: str | None = None,
                  rule: str | None = None, principal: Principal = Depends(member)) -> list[dict[str, Any]]:
    """Pending approvals across the fleet, oldest first (filters: stack, agent, tool, rule)."""
    need(principal, READ)
    stacks = await stacks_allowed(request, principal, READ)
    items = await approvals_port(request).pending(principal.org.org_id, stack_id=stack or None,
                                                  agent_id=agent or None, tool_id=tool or None, stacks=stacks,
                                                  rule_id=rule or None)
    return [approval_json(a) for a in items]


@router.get("/approvals/history")
async def history(request: Request, stack: str | None = None, agent: str | None = None, tool: str | None = None,
                  rule: str | None = None, principal: Principal = Depends(member)) -> list[dict[str, Any]]:
    need(principal, READ)
    stacks = await stacks_allowed(request, principal, READ)
    items = await approvals_port(request).history(principal.org.org_id, stack_id=stack or None,
                                                  agent_id=agent or None, tool_id=tool or None, stacks=stacks,
                                                  rule_id=rule or None)
    return [approval_json(a) for a in items]


@router.get("/approvals/{approval_id}")
async def one(approval_id: str, request: Request, principal: Principal = Depends(member)) -> dict[str, Any]:
    need(principal, READ)
    try:
        found = await approvals_port(request).get(principal.org.org_id, approval_id,
                                                  await stacks_allowed(request, principal, READ))
    except LookupError as exc:
        raise as_identity_error(exc) from None
    return approval_json(found)


@router.post("/approvals/{approval_id}/decision", dependencies=[Depends(check_csrf)], response_model=None,
             responses=CONFLICT)
async def decide(approval_id: str, body: DecisionIn, request: Request,
                 principal: Principal = Depends(known_approval)) -> dict[str, Any] | JSONResponse:
    """Approve or deny with a mandatory reason; 409 when someone (another approver, the daemon,
    the deadline) resolved it first."""
    need(principal, DECIDE)
    port = approvals_port(request)
    try:
        decision = await port.decide(principal.org.org_id, approval_id, principal.actor, body.verdict, body.reason,
                                     await stacks_allowed(request, principal, DECIDE))
    except LookupError as exc:
        raise as_identity_error(exc) from None
    except ValueError as exc:
        return _refused(exc)
    return {"approval_id": decision.approval_id, "decision_id": decision.decision_id,
            "state": str(decision.state), "decided_at": decision.decided_at.isoformat()}


@router.post("/approvals/bulk-decision", dependencies=[Depends(check_csrf)], response_model=None)
async def bulk(body: BulkDecisionIn, request: Request,
               principal: Principal = Depends(member)) -> dict[str, Any] | JSONResponse:
    """One verdict and one reason for several approvals of the same agent / tool / rule
    pattern (400 ``mixed_pattern`` otherwise, nothing decided); each approval is decided or
    refused on its own (``refused``: why, ``refused_codes``: already_resolved, expired,
    withdrawn, not_found)."""
    need(principal, DECIDE)
    try:
        result = await approvals_port(request).bulk_decide(
            principal.org.org_id, body.approval_ids, principal.actor, body.verdict, body.reason,
            await stacks_allowed(request, principal, DECIDE))
    except ValueError as exc:
        return _refused(exc)
    return {"bulk_action_id": result.bulk_action_id,
            "decided": [{"approval_id": d.approval_id, "decision_id": d.decision_id, "state": str(d.state)}
                        for d in result.decided],
            "refused": result.refused, "refused_codes": result.codes}


async def issue(request: Request, principal: Principal, stack_id: str, agent_id: str, reason: str,
                kind: str) -> Any:
    """Issue a kill / isolate; the role check is logged either way (ValueError when refused)."""
    permission = Permission.FLEET_AGENT_KILL if kind == "kill" else Permission.FLEET_AGENT_ISOLATE
    stacks = await web(request).stacks.list_stacks(principal.org.org_id)
    permitted = principal.access.allows(permission, stack_id)
    if permitted:  # a refused role is logged below whatever the agent id
        await require_seen_agent(request, principal, stack_id, agent_id)
    return await approvals_port(request).issue_command(
        principal.org.org_id, stack_id, agent_id, principal.actor, reason, kind, permitted=permitted,
        stack_exists=any(s.stack_id == stack_id for s in stacks))


@router.post("/stacks/{stack_id}/agents/{agent_id}/{kind}", dependencies=[Depends(check_csrf)],
             status_code=201, response_model=None)
async def emergency(stack_id: str, agent_id: str, kind: Literal["kill", "isolate"], body: CommandIn,
                    request: Request, principal: Principal = Depends(known_stack)) -> dict[str, Any] | JSONResponse:
    """Queue an emergency command (kill: terminate the agent's sessions; isolate: shadow mode)
    for the stack's daemon to pick up on its next poll. Owner, Admin, Operator only; every
    attempt, refused or not, is in the platform audit log."""
    try:
        command = await issue(request, principal, stack_id, agent_id, body.reason, kind)
    except NotFound:
        raise
    except ValueError as exc:
        return _refused(exc)
    return command_json(command)


@router.get("/emergency-commands")
async def commands(request: Request, stack: str | None = None, agent: str | None = None,
                   principal: Principal = Depends(member)) -> list[dict[str, Any]]:
    need(principal, Permission.FLEET_HEALTH_READ)
    allowed = await stacks_allowed(request, principal, Permission.FLEET_HEALTH_READ)
    found = await approvals_port(request).commands(principal.org.org_id, stack_id=stack or None,
                                                   agent_id=agent or None, stacks=allowed)
    return [command_json(c) for c in found]


@router.get("/emergency-commands/{command_id}")
async def command(command_id: str, request: Request, principal: Principal = Depends(member)) -> dict[str, Any]:
    found = await visible_command(command_id, request, principal)
    return command_json(found)
