"""``/api/v1/orgs/{org}/notifications``: destinations (Settings → Integrations), routing rules
with escalation steps, test sends and the delivery history over the API. A webhook's signing
secret is in the creation response once, never again; no other secret is ever returned."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field, StrictBool, StrictInt

from faramesh_cloud.gateway.openapi import CONFLICT
from faramesh_cloud.gateway.web.auth import check_csrf, require, require_any
from faramesh_cloud.gateway.web.deps import web
from faramesh_cloud.gateway.web.notifications_ports import (
    need_route,
    not_found,
    notifications_port,
    refused,
    rule_stack_visible,
    rule_visible,
)
from faramesh_cloud.identity.domain import NotFound, Principal
from faramesh_cloud.identity.permissions import Permission

router = APIRouter(prefix="/api/v1/orgs/{org}/notifications", tags=["notifications"])
DESTINATIONS = require(Permission.ORG_INTEGRATION_MANAGE)
VIEW = require_any(Permission.ORG_INTEGRATION_MANAGE, Permission.APPROVALS_ROUTING_MANAGE)


class DestinationIn(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    kind: Literal["slack_webhook", "slack_api", "pagerduty", "email", "webhook"]
    url: str = Field(default="", max_length=2000, description="slack_webhook, webhook")
    token: str = Field(default="", max_length=500, description="slack_api: the bot token (xoxb-...)")
    channel: str = Field(default="", max_length=200, description="slack_api")
    routing_key: str = Field(default="", max_length=200, description="pagerduty: the Events API v2 key")
    smtp_host: str = Field(default="", max_length=253, description="email")
    smtp_port: StrictInt = Field(default=587, ge=1, le=65535, description="email")
    starttls: StrictBool = Field(default=True, description="email")
    username: str = Field(default="", max_length=254, description="email")
    password: str = Field(default="", max_length=500, description="email")
    sender: str = Field(default="", max_length=254, description="email: the From address")
    to: list[str] = Field(default_factory=list, max_length=50, description="email: recipients")


class DestinationPatch(BaseModel):
    """The fields to change (those left out keep their value). Secrets are not edited here:
    a webhook's signing secret rotates (``rotate-secret``); other secrets mean a new destination."""

    name: str | None = Field(default=None, min_length=1, max_length=100)
    url: str | None = Field(default=None, max_length=2000, description="webhook (its endpoint; SSRF-checked)")
    channel: str | None = Field(default=None, max_length=200, description="slack_api")
    smtp_host: str | None = Field(default=None, max_length=253, description="email")
    smtp_port: StrictInt | None = Field(default=None, ge=1, le=65535, description="email")
    starttls: StrictBool | None = Field(default=None, description="email")
    username: str | None = Field(default=None, max_length=254, description="email")
    sender: str | None = Field(default=None, max_length=254, description="email: the From address")
    to: list[str] | None = Field(default=None, max_length=50, description="email: recipients")


class StepIn(BaseModel):
    after_minutes: StrictInt = Field(ge=0)
    destinations: list[str] = Field(default_factory=list, max_length=10)
    groups: list[str] = Field(default_factory=list, max_length=10,
                              description="groups of members (Settings → Members → Groups), each member emailed")
    group_email: str = Field(default="", max_length=100,
                             description="the email destination (id) that sends to the groups' members")


class RuleIn(BaseModel):
    subject: Literal["approvals", "chain_integrity", "emergency_commands"] = Field(
        default="approvals", description="what the rule routes: approval requests (escalated while pending), "
        "critical chain-integrity alerts (one step, PagerDuty severity critical) or emergency commands (kill / "
        "isolate issued, applied, failed; one step)")
    stack_id: str = Field(default="", description="'' = every stack")
    agent_id: str = Field(default="", max_length=200, description="'' = every agent")
    steps: list[StepIn] = Field(min_length=1, max_length=6)


def _destination(d: Any) -> dict[str, Any]:
    return {"destination_id": d.destination_id, "name": d.name, "kind": d.kind.value, "config": d.config,
            "summary": d.summary(), "created_at": d.created_at, "created_by": d.created_by}


def _rule(r: Any) -> dict[str, Any]:
    return {"rule_id": r.rule_id, "subject": r.subject.value, "stack_id": r.stack_id, "agent_id": r.agent_id,
            "scope": r.scope,
            "steps": [{"after_minutes": s.after_minutes, "destinations": list(s.destinations), "groups": list(s.groups),
                       "group_email": s.group_email} for s in r.steps],
            "updated_at": r.updated_at}


async def _own_stack(request: Request, principal: Principal, stack_id: str) -> None:
    if stack_id and stack_id not in {s.stack_id for s in await web(request).stacks.list_stacks(principal.org.org_id)
                                     if s.registered}:
        raise NotFound(f"no stack {stack_id!r} in this organisation")


@router.get("/destinations")
async def list_destinations(request: Request, principal: Principal = Depends(VIEW)) -> list[dict[str, Any]]:
    return [_destination(d) for d in await notifications_port(request).destinations(principal.org.org_id)]


@router.post("/destinations", status_code=201, dependencies=[Depends(check_csrf)], responses=CONFLICT)
async def create_destination(body: DestinationIn, request: Request,
                             principal: Principal = Depends(DESTINATIONS)) -> dict[str, Any]:
    fields = body.model_dump(exclude={"name", "kind"})
    try:
        created, shown = await notifications_port(request).create_destination(
            principal.org.org_id, body.name, body.kind, fields, principal.actor)
    except ValueError as exc:
        raise refused(exc) from None
    return {**_destination(created), **shown}


@router.get("/destinations/{destination_id}")
async def get_destination(destination_id: str, request: Request,
                          principal: Principal = Depends(VIEW)) -> dict[str, Any]:
    try:
        return _destination(await notifications_port(request).destination(principal.org.org_id, destination_id))
    except LookupError as exc:
        raise not_found(exc) from None


@router.patch("/destinations/{destination_id}", dependencies=[Depends(check_csrf)], responses=CONFLICT)
async def update_destination(destination_id: str, body: DestinationPatch, request: Request,
                             principal: Principal = Depends(DESTINATIONS)) -> dict[str, Any]:
    """Edit a destination's name and non-secret fields (400 for a secret field or an address
    the SSRF guard refuses; 409 for a name in use)."""
    fields = {k: v for k, v in body.model_dump(exclude_unset=True, exclude={"name"}).items() if v is not None}
    try:
        return _destination(await notifications_port(request).update_destination(
            principal.org.org_id, destination_id, body.name or "", fields, principal.actor))
    except LookupError as exc:
        raise not_found(exc) from None
    except ValueError as exc:
        raise refused(exc) from None


@router.delete("/destinations/{destination_id}", dependencies=[Depends(check_csrf)], responses=CONFLICT)
async def delete_destination(destination_id: str, request: Request,
                             principal: Principal = Depends(DESTINATIONS)) -> dict[str, Any]:
    try:
        return _destination(await notifications_port(request).delete_destination(
            principal.org.org_id, destination_id, principal.actor))
    except LookupError as exc:
        raise not_found(exc) from None
    except ValueError as exc:
        raise refused(exc) from None


@router.post("/destinations/{destination_id}/test", status_code=202, dependencies=[Depends(check_csrf)])
async def test_destination(destination_id: str, request: Request,
                           principal: Principal = Depends(DESTINATIONS)) -> dict[str, Any]:
    try:
        reference = await notifications_port(request).test_destination(principal.org.org_id, destination_id,
                                                                       principal.actor)
    except LookupError as exc:
        raise not_found(exc) from None
    return {"queued": reference}


class RotateIn(BaseModel):
    overlap_s: StrictInt = Field(default=24 * 3600, ge=0, le=7 * 24 * 3600,
                           description="how long the previous secret keeps signing too")


@router.post("/destinations/{destination_id}/rotate-secret", dependencies=[Depends(check_csrf)],
             responses=CONFLICT)
async def rotate_secret(destination_id: str, body: RotateIn, request: Request,
                        principal: Principal = Depends(DESTINATIONS)) -> dict[str, Any]:
    """A webhook's new signing secret, in this response only. Until the overlap ends every
    delivery carries two signatures (new and previous), so receivers can switch without a gap."""
    try:
        found, secret = await notifications_port(request).rotate_secret(
            principal.org.org_id, destination_id, body.overlap_s, principal.actor)
    except LookupError as exc:
        raise not_found(exc) from None
    except ValueError as exc:
        raise refused(exc) from None
    return {**_destination(found), "signing_secret": secret, "previous_secret_valid_for_s": body.overlap_s}


@router.get("/routing-rules")
async def list_rules(request: Request, stack_id: str | None = None,
                     principal: Principal = Depends(VIEW)) -> list[dict[str, Any]]:
    if stack_id:
        await _own_stack(request, principal, stack_id)
    return [_rule(r) for r in await notifications_port(request).rules(principal.org.org_id, stack_id=stack_id)
            if rule_visible(principal, r)]


@router.put("/routing-rules", dependencies=[Depends(check_csrf)], responses=CONFLICT)
async def put_rule(body: RuleIn, request: Request, principal: Principal = Depends(VIEW)) -> dict[str, Any]:
    """Create or replace the rule of one subject and scope (organisation, stack, agent, or stack
    and agent)."""
    await _own_stack(request, principal, body.stack_id)
    need_route(principal, body.stack_id)
    try:
        rule = await notifications_port(request).put_rule(
            principal.org.org_id, body.stack_id, body.agent_id, [s.model_dump() for s in body.steps],
            principal.actor, subject=body.subject)
    except ValueError as exc:
        raise refused(exc) from None
    return _rule(rule)


@router.get("/routing-rules/{rule_id}")
async def get_rule(rule_id: str, request: Request, principal: Principal = Depends(VIEW)) -> dict[str, Any]:
    try:
        rule = await notifications_port(request).rule(principal.org.org_id, rule_id)
    except LookupError as exc:
        raise not_found(exc) from None
    await rule_stack_visible(request, principal, rule)
    return _rule(rule)


@router.delete("/routing-rules/{rule_id}", dependencies=[Depends(check_csrf)])
async def delete_rule(rule_id: str, request: Request, principal: Principal = Depends(VIEW)) -> dict[str, Any]:
    port = notifications_port(request)
    try:
        rule = await port.rule(principal.org.org_id, rule_id)
        await rule_stack_visible(request, principal, rule)
        need_route(principal, rule.stack_id)
        return _rule(await port.delete_rule(principal.org.org_id, rule_id, principal.actor))
    except LookupError as exc:
        raise not_found(exc) from None


@router.get("/deliveries")
async def deliveries(request: Request, stack_id: str | None = None, limit: int = 50,
                     principal: Principal = Depends(VIEW)) -> list[dict[str, Any]]:
    """Recent notifications and their delivery state (pending, delivered, failed)."""
    if stack_id:
        await _own_stack(request, principal, stack_id)
    rows = await notifications_port(request).deliveries(principal.org.org_id, stack_id=stack_id,
                                                        limit=max(1, min(limit, 500)))
    return [{"notification_id": d.notification_id, "destination_id": d.destination_id,
             "destination": d.destination_name, "event": d.event, "stack_id": d.stack_id,
             "defer_token": d.defer_token, "step": d.step, "state": d.state, "attempts": d.attempts,
             "last_status": d.last_status, "last_error": d.last_error, "created_at": d.created_at,
             "delivered_at": d.delivered_at} for d in rows]
