"""Settings → Integrations (notification destinations, routing rules with escalation steps,
the delivery history, a test send) and the Fleet stack tab Integrations (that stack's
routing). Destinations need ``org:integration:manage``; rules ``approvals:routing:manage``."""

from __future__ import annotations

from typing import Any, Final
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from faramesh_cloud.gateway.web.auth import check_csrf, require, require_any
from faramesh_cloud.gateway.web.deps import web
from faramesh_cloud.gateway.web.fleet_view import load_stack, uptime_text
from faramesh_cloud.gateway.web.notifications_ports import (
    can_route,
    need_route,
    not_found,
    notifications_port,
    refusal,
    rule_stack_visible,
    rule_visible,
)
from faramesh_cloud.gateway.web.render import page
from faramesh_cloud.identity.domain import NotFound, Principal
from faramesh_cloud.identity.permissions import Permission

router = APIRouter(include_in_schema=False)
DESTINATIONS = require(Permission.ORG_INTEGRATION_MANAGE)
VIEW = require_any(Permission.ORG_INTEGRATION_MANAGE, Permission.APPROVALS_ROUTING_MANAGE)
HEALTH = require(Permission.FLEET_HEALTH_READ)
FORM_STEPS: Final = 3  # steps offered by the form (the API takes up to 6)
KIND_FIELDS: Final = ("url", "token", "channel", "routing_key", "smtp_host", "smtp_port", "starttls", "username",
                      "password", "sender", "to")


def _base(principal: Principal) -> str:
    return f"/o/{principal.org.slug}/settings/integrations"


def _back(principal: Principal, message: str) -> Response:
    return RedirectResponse(f"{_base(principal)}?{urlencode({'flash': message})}", status_code=303)


async def _stack_ids(request: Request, principal: Principal) -> set[str]:
    return {s.stack_id for s in await web(request).stacks.list_stacks(principal.org.org_id) if s.registered}


async def _groups(request: Request, org_id: str) -> dict[str, Any]:
    """The organisation's groups, which a rule's steps may notify (names only: who is in them
    is Settings → Members → Groups, for those who may read members)."""
    groups = await web(request).identity.groups.all(org_id)
    return {"groups": groups, "group_names": {g.group_id: g.name for g in groups}}


async def render(request: Request, principal: Principal, *, status_code: int = 200, **extra: Any) -> Response:
    port = notifications_port(request)
    org_id = principal.org.org_id
    destinations = list(await port.destinations(org_id)) \
        if principal.access.allows(Permission.ORG_INTEGRATION_MANAGE) or \
        principal.access.allows_anywhere(Permission.APPROVALS_ROUTING_MANAGE) else []
    stacks = {s.stack_id: s.name for s in await web(request).stacks.list_stacks(org_id) if s.registered}
    rules = [r for r in await port.rules(org_id)
             if (not r.stack_id or r.stack_id in stacks) and rule_visible(principal, r)]
    return await page(request, "settings/integrations.html", principal, {
        "tab": "integrations", "destinations": destinations, "names": {d.destination_id: d.name for d in destinations},
        "rules": rules, "stack_names": stacks, "kinds": port.kinds, "form_steps": range(FORM_STEPS),
        **await _groups(request, org_id),
        "deliveries": await port.deliveries(org_id, limit=30),
        "manage_destinations": principal.access.allows(Permission.ORG_INTEGRATION_MANAGE),
        "can_route": lambda stack_id: can_route(principal, stack_id), **extra,
    }, section="settings", status_code=status_code)


@router.get("/o/{org}/settings/integrations", response_class=HTMLResponse)
async def integrations_page(request: Request, principal: Principal = Depends(VIEW)) -> Response:
    return await render(request, principal)


@router.post("/o/{org}/settings/integrations/destinations", dependencies=[Depends(check_csrf)])
async def create_destination(request: Request, principal: Principal = Depends(DESTINATIONS)) -> Response:
    form = await request.form()
    fields = {k: str(form.get(k) or "") for k in KIND_FIELDS}
    try:
        created, shown = await notifications_port(request).create_destination(
            principal.org.org_id, str(form.get("name") or ""), str(form.get("kind") or ""), fields, principal.actor)
    except ValueError as exc:
        return await render(request, principal, error=str(exc), status_code=refusal(exc))
    return await render(request, principal, created=created, shown_once=shown)


EDITABLE_FIELDS: Final = {"slack_api": ("channel",), "webhook": ("url",),
                           "email": ("smtp_host", "smtp_port", "starttls", "username", "sender", "to")}


async def render_edit(request: Request, principal: Principal, destination_id: str, *, status_code: int = 200,
                      **extra: Any) -> Response:
    try:
        found = await notifications_port(request).destination(principal.org.org_id, destination_id)
    except LookupError as exc:
        raise not_found(exc) from None
    return await page(request, "settings/destination_edit.html", principal, {
        "tab": "integrations", "d": found, "editable": EDITABLE_FIELDS.get(found.kind.value, ()), **extra,
    }, section="settings", status_code=status_code)


@router.get("/o/{org}/settings/integrations/destinations/{destination_id}/edit", response_class=HTMLResponse)
async def edit_destination_page(request: Request, destination_id: str,
                                principal: Principal = Depends(DESTINATIONS)) -> Response:
    return await render_edit(request, principal, destination_id)


@router.post("/o/{org}/settings/integrations/destinations/{destination_id}/edit",
             dependencies=[Depends(check_csrf)])
async def edit_destination(request: Request, destination_id: str,
                           principal: Principal = Depends(DESTINATIONS)) -> Response:
    form = await request.form()
    port = notifications_port(request)
    try:
        found = await port.destination(principal.org.org_id, destination_id)
        fields = {k: str(form.get(k) or "") for k in EDITABLE_FIELDS.get(found.kind.value, ()) if k in form}
        changed = await port.update_destination(principal.org.org_id, destination_id, str(form.get("name") or ""),
                                                fields, principal.actor)
    except LookupError as exc:
        raise not_found(exc) from None
    except ValueError as exc:
        return await render_edit(request, principal, destination_id, error=str(exc), status_code=refusal(exc))
    return _back(principal, f"Destination {changed.name} saved.")


@router.post("/o/{org}/settings/integrations/destinations/{destination_id}/delete",
             dependencies=[Depends(check_csrf)])
async def delete_destination(request: Request, destination_id: str,
                             principal: Principal = Depends(DESTINATIONS)) -> Response:
    try:
        gone = await notifications_port(request).delete_destination(principal.org.org_id, destination_id,
                                                                    principal.actor)
    except LookupError as exc:
        raise not_found(exc) from None
    except ValueError as exc:
        return await render(request, principal, error=str(exc), status_code=refusal(exc))
    return _back(principal, f"Destination {gone.name} deleted.")


@router.post("/o/{org}/settings/integrations/destinations/{destination_id}/test",
             dependencies=[Depends(check_csrf)])
async def test_destination(request: Request, destination_id: str,
                           principal: Principal = Depends(DESTINATIONS)) -> Response:
    try:
        reference = await notifications_port(request).test_destination(principal.org.org_id, destination_id,
                                                                       principal.actor)
    except LookupError as exc:
        raise not_found(exc) from None
    return _back(principal, f"Test notification {reference} queued; its result shows under Recent deliveries.")


@router.post("/o/{org}/settings/integrations/destinations/{destination_id}/rotate-secret",
             dependencies=[Depends(check_csrf)])
async def rotate_secret(request: Request, destination_id: str,
                        principal: Principal = Depends(DESTINATIONS)) -> Response:
    try:
        found, secret = await notifications_port(request).rotate_secret(
            principal.org.org_id, destination_id, 24 * 3600, principal.actor)
    except LookupError as exc:
        raise not_found(exc) from None
    except ValueError as exc:
        return await render(request, principal, error=str(exc), status_code=refusal(exc))
    return await render(request, principal, created=found, rotated=True, shown_once={"signing_secret": secret})


@router.post("/o/{org}/settings/integrations/rules", dependencies=[Depends(check_csrf)])
async def put_rule(request: Request, principal: Principal = Depends(VIEW)) -> Response:
    form = await request.form()
    stack_id = str(form.get("stack_id") or "").strip()
    if stack_id and stack_id not in await _stack_ids(request, principal):
        raise NotFound(f"no stack {stack_id!r} in this organisation")
    need_route(principal, stack_id)
    steps = []
    for i in range(FORM_STEPS):
        chosen = [str(d) for d in form.getlist(f"step{i}_destinations")]
        groups = [str(g) for g in form.getlist(f"step{i}_groups")]
        after = str(form.get(f"step{i}_after") or "0").strip() if i else "0"
        if chosen or groups or (i and after not in ("", "0")):
            steps.append({"after_minutes": after or "0", "destinations": chosen, "groups": groups,
                          "group_email": str(form.get(f"step{i}_group_email") or "")})
    try:
        rule = await notifications_port(request).put_rule(principal.org.org_id, stack_id,
                                                         str(form.get("agent_id") or ""), steps, principal.actor,
                                                         subject=str(form.get("subject") or "approvals"))
    except ValueError as exc:
        return await render(request, principal, error=str(exc), status_code=refusal(exc))
    target = _back(principal, "Routing rule saved.")
    back_to = str(form.get("back") or "")
    if back_to == "stack" and rule.stack_id:
        target = RedirectResponse(f"/o/{principal.org.slug}/fleet/stacks/{rule.stack_id}/integrations?"
                                  + urlencode({"flash": "Routing rule saved."}), status_code=303)
    return target


@router.post("/o/{org}/settings/integrations/rules/{rule_id}/delete", dependencies=[Depends(check_csrf)])
async def delete_rule(request: Request, rule_id: str, principal: Principal = Depends(VIEW)) -> Response:
    port = notifications_port(request)
    try:
        rule = await port.rule(principal.org.org_id, rule_id)
        await rule_stack_visible(request, principal, rule)
        need_route(principal, rule.stack_id)
        await port.delete_rule(principal.org.org_id, rule_id, principal.actor)
    except LookupError as exc:
        raise not_found(exc) from None
    return _back(principal, "Routing rule deleted.")


@router.get("/o/{org}/fleet/stacks/{stack_id}/integrations", response_class=HTMLResponse)
async def stack_integrations(request: Request, stack_id: str, principal: Principal = Depends(HEALTH)) -> Response:
    from faramesh_cloud.gateway.web.routes_fleet import stack_tabs

    stack = await load_stack(request, principal, stack_id)
    port = notifications_port(request)
    org_id = principal.org.org_id
    destinations = list(await port.destinations(org_id))
    return await page(request, "fleet/stack_integrations.html", principal, {
        "s": stack, "tab": "integrations", "stack_tabs": stack_tabs(request), "uptime": uptime_text(stack.uptime_s),
        "rules": await port.rules(org_id, stack_id=stack_id), "destinations": destinations,
        "names": {d.destination_id: d.name for d in destinations}, "form_steps": range(FORM_STEPS),
        **await _groups(request, org_id),
        "deliveries": await port.deliveries(org_id, stack_id=stack_id, limit=20),
        "editable": can_route(principal, stack_id),
    }, section="fleet")
