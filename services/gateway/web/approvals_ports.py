"""What the Approvals section and the emergency controls use, as a port the composition
root fills with the approvals service's API: its own API object when it runs in the
gateway's process, its gRPC client otherwise (one contract suite holds both). The gateway
imports no service: values come back as objects read by attribute. Refusals raise
``ValueError`` with a ``code`` attribute (``reason_required``, ``already_resolved``,
``expired``, ``withdrawn``, ``conflict``, ``forbidden``, ``invalid``); unknown ids raise
``LookupError``; the approvals service not answering raises
``rpc.errors.ServiceUnavailable`` (a 503 page or JSON with a message)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any, Protocol

from fastapi import FastAPI, Request

from faramesh_cloud.gateway.web.deps import NavSection, add_section, mounted_port, sees_stack, web
from faramesh_cloud.identity.domain import Forbidden, IdentityError, NotFound, Principal
from faramesh_cloud.identity.permissions import Permission
from faramesh_cloud.platform_audit.events import Actor
from faramesh_cloud.rpc.errors import ServiceUnavailable

APPROVALS_SECTION = NavSection("approvals", "Approvals", "/approvals", (Permission.APPROVALS_REQUEST_READ,))


class ApprovalsPort(Protocol):
    async def pending(self, org_id: str, *, stack_id: str | None = None, agent_id: str | None = None,
                      tool_id: str | None = None, stacks: Collection[str] | None = None,
                      rule_id: str | None = None) -> Sequence[Any]: ...

    async def history(self, org_id: str, *, stack_id: str | None = None, agent_id: str | None = None,
                      tool_id: str | None = None, stacks: Collection[str] | None = None,
                      rule_id: str | None = None) -> Sequence[Any]: ...

    async def get(self, org_id: str, approval_id: str, stacks: Collection[str] | None = None) -> Any: ...

    async def delivery(self, org_id: str, decision_id: str) -> Any | None: ...

    async def decide(self, org_id: str, approval_id: str, actor: Actor, verdict: str, reason: str,
                     stacks: Collection[str] | None = None) -> Any: ...

    async def bulk_decide(self, org_id: str, approval_ids: Sequence[str], actor: Actor, verdict: str, reason: str,
                          stacks: Collection[str] | None = None) -> Any: ...

    async def issue_command(self, org_id: str, stack_id: str, agent_id: str, actor: Actor, reason: str, kind: str,
                            *, permitted: bool, stack_exists: bool) -> Any: ...

    async def commands(self, org_id: str, *, stack_id: str | None = None, agent_id: str | None = None,
                       stacks: Collection[str] | None = None) -> Sequence[Any]:
        """Newest first (at most 100), only of ``stacks`` when given (before the limit)."""
        ...

    async def command(self, org_id: str, command_id: str) -> Any: ...


def mount_approvals(app: FastAPI, port: ApprovalsPort) -> None:
    """Add the Approvals section, the emergency controls and their API twins."""
    from faramesh_cloud.gateway.api import approvals as api_approvals
    from faramesh_cloud.gateway.web import routes_approvals

    app.state.approvals = port
    add_section(app, APPROVALS_SECTION, routes_approvals.router, api_approvals.router)


def approvals_port(request: Request) -> ApprovalsPort:
    port: ApprovalsPort = mounted_port(request, "approvals", "approvals are")
    return port


async def stacks_allowed(request: Request, principal: Principal, permission: Permission) -> list[str]:
    """The organisation's stacks on which ``principal`` holds ``permission``."""
    stacks = await web(request).stacks.list_stacks(principal.org.org_id)
    return [s.stack_id for s in stacks if principal.access.allows(permission, s.stack_id)]


def need(principal: Principal, permission: Permission) -> None:
    if not principal.access.allows_anywhere(permission):
        raise Forbidden(f"your role ({principal.access.role.label}) does not include {permission}; "
                        "ask an owner or admin of this organisation")


def refusal_status(exc: ValueError) -> int:
    code = getattr(exc, "code", "")
    if code in ("already_resolved", "expired", "withdrawn", "conflict"):
        return 409
    if code == "forbidden":
        return 403
    return 400


def as_identity_error(exc: LookupError) -> IdentityError:
    return NotFound(str(exc.args[0]) if exc.args else "not found in this organisation")


async def approval_in_org(approval_id: str, request: Request, principal: Principal) -> None:
    """404 before anything else (form or body validation) for an approval this member cannot see."""
    need(principal, Permission.APPROVALS_REQUEST_READ)
    try:
        await approvals_port(request).get(principal.org.org_id, approval_id,
                                          await stacks_allowed(request, principal, Permission.APPROVALS_REQUEST_READ))
    except LookupError as exc:
        raise as_identity_error(exc) from None


async def visible_command(command_id: str, request: Request, principal: Principal) -> Any:
    """One emergency command, or 404 if it is another organisation's or on a stack hidden from
    this member (the UI page and the REST twin share this)."""
    need(principal, Permission.FLEET_HEALTH_READ)
    try:
        found = await approvals_port(request).command(principal.org.org_id, command_id)
    except LookupError as exc:
        raise as_identity_error(exc) from None
    if not principal.access.allows(Permission.FLEET_HEALTH_READ, found.stack_id):
        raise as_identity_error(LookupError(f"no emergency command {command_id!r} in this organisation"))
    return found


async def stack_in_org(stack_id: str, request: Request, principal: Principal) -> None:
    """404 before anything else for a stack of another organisation (or one hidden from this member)."""
    stacks = await web(request).stacks.list_stacks(principal.org.org_id)
    if not sees_stack(principal, stack_id) or not any(s.stack_id == stack_id for s in stacks):
        raise NotFound(f"no stack {stack_id!r} in this organisation")


async def require_seen_agent(request: Request, principal: Principal, stack_id: str, agent_id: str) -> None:
    """404 naming the agent unless this stack's daemon has reported it: in its status, budgets
    or credentials (the fleet projection), in its DPRs (the audit index) or in an approval
    request. A kill or isolate for an id nobody has seen is a typo or a probe, and would wait
    in the queue for ever. The fleet service not answering does not block an emergency
    command: the other sources are asked, and only when none knows the agent is the answer
    the fleet's ``ServiceUnavailable`` (503: the agent may be real), not a 404."""
    from faramesh_cloud.gateway.web.fleet_ports import maybe_fleet

    org_id = principal.org.org_id
    fleet = maybe_fleet(request)
    fleet_down: ServiceUnavailable | None = None
    if fleet is not None:
        try:
            if await fleet.query.agent(org_id, stack_id, agent_id) is not None:
                return
        except ServiceUnavailable as exc:
            fleet_down = exc
        if fleet.audit is not None and await fleet.audit.agent_records(org_id, stack_id, agent_id, 1):
            return
    port = approvals_port(request)
    for read in (port.pending, port.history):
        if await read(org_id, stack_id=stack_id, agent_id=agent_id, stacks=[stack_id]):
            return
    if fleet_down is not None:
        raise fleet_down
    raise NotFound(f"no agent {agent_id!r} has been seen on this stack (not in its daemon's status reports, "
                   "DPRs or approval requests); check the agent id on the stack's Agents tab")
