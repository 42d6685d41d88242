"""Fleet: the stack list (filters, sortable columns) and a stack's tabs: Overview, Agents,
Config (read-only, as synced, with config drift), Apply history (with the rollback command), Providers,
Registry imports (``routes_registry``) when the registry is mounted, and
Integrations (that stack's notification routing; ``routes_integrations``) when the
notifications service is mounted."""

from __future__ import annotations

from typing import Any, Final

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from faramesh_cloud.gateway.web import blind_minutes, burn_charts, config_drift, decision_charts
from faramesh_cloud.gateway.web.auth import require
from faramesh_cloud.gateway.web.deps import web
from faramesh_cloud.gateway.web.fleet_ports import fleet_ports
from faramesh_cloud.gateway.web.fleet_view import (
    FILTERS,
    SORTS,
    ListQuery,
    apply_list_query,
    load_stack,
    uptime_text,
    visible_stacks,
)
from faramesh_cloud.gateway.web.pack_alerts import open_alerts
from faramesh_cloud.gateway.web.render import page
from faramesh_cloud.identity.domain import NotFound, Principal
from faramesh_cloud.identity.permissions import Permission
from faramesh_cloud.rpc.errors import ServiceUnavailable

router = APIRouter(include_in_schema=False)
HEALTH = require(Permission.FLEET_HEALTH_READ)
STACK_TABS: Final = (("overview", "Overview", ""), ("agents", "Agents", "/agents"), ("config", "Config", "/config"),
                     ("applies", "Apply history", "/applies"), ("providers", "Providers", "/providers"))


def stack_tabs(request: Request) -> tuple[tuple[str, str, str], ...]:
    tabs = STACK_TABS
    if getattr(request.app.state, "registry", None) is not None:  # beside Providers and Config
        tabs = (*tabs, ("registry", "Registry imports", "/registry"))
    if getattr(request.app.state, "notifications", None) is not None:
        tabs = (*tabs, ("integrations", "Integrations", "/integrations"))
    return tabs


async def _sparks(request: Request, principal: Principal, stack_ids: list[str]) -> dict[str, Any]:
    """Decisions and denies per stack (the stacks whose records the member may read); none
    when the DPR index is not installed or is down."""
    audit = web(request).audit
    if audit is None:
        return {}
    try:
        return await decision_charts.sparks(audit, principal.org.org_id,
                                            principal.access.stacks_with(Permission.AUDIT_RECORD_READ, stack_ids))
    except ServiceUnavailable:
        return {}


@router.get("/o/{org}/fleet", response_class=HTMLResponse)
async def fleet_list(request: Request, principal: Principal = Depends(HEALTH)) -> Response:
    query = ListQuery.parse(request.query_params)
    views = await visible_stacks(request, principal)
    return await page(request, "fleet/list.html", principal, {
        "rows": apply_list_query(views, query), "total": len(views), "q": query, "filter_names": FILTERS,
        "sorts": list(SORTS), "environments": sorted({v.environment for v in views if v.environment}),
        "frameworks": sorted({v.framework for v in views if v.framework}),
        "can_detail": lambda stack_id: principal.access.allows(Permission.FLEET_STACK_READ, stack_id),
        "sparks": await _sparks(request, principal, [v.stack_id for v in views]),
    }, section="fleet")


async def _tab(request: Request, principal: Principal, stack_id: str, tab: str, template: str = "",
               **ctx: Any) -> Response:
    stack = await load_stack(request, principal, stack_id)
    return await page(request, f"fleet/stack_{template or tab}.html", principal, {
        "s": stack, "tab": tab, "stack_tabs": stack_tabs(request), "uptime": uptime_text(stack.uptime_s), **ctx,
    }, section="fleet")


@router.get("/o/{org}/fleet/stacks/{stack_id}", response_class=HTMLResponse)
async def stack_overview(request: Request, stack_id: str, principal: Principal = Depends(HEALTH)) -> Response:
    ports = fleet_ports(request)
    alerts = [a for a in await ports.audit.alerts(principal.org.org_id) if a.stack_id == stack_id] \
        if ports.audit is not None else []
    agent_burn, agent_burn_svg = burn_charts.per_agent(await ports.query.agents(principal.org.org_id, stack_id))
    return await _tab(request, principal, stack_id, "overview", alerts=alerts, agent_burn=agent_burn,
                      agent_burn_svg=agent_burn_svg, **await blind_minutes.context(request, principal, stack_id))


@router.get("/o/{org}/fleet/stacks/{stack_id}/agents", response_class=HTMLResponse)
async def stack_agents(request: Request, stack_id: str, principal: Principal = Depends(HEALTH)) -> Response:
    await load_stack(request, principal, stack_id)
    ports = fleet_ports(request)
    agents = await ports.query.agents(principal.org.org_id, stack_id)
    effects = ({a.agent_id: await ports.audit.effect_counts(principal.org.org_id, stack_id, a.agent_id)
                for a in agents} if ports.audit is not None else None)
    return await _tab(request, principal, stack_id, "agents", agents=agents, effects=effects)


@router.get("/o/{org}/fleet/stacks/{stack_id}/config", response_class=HTMLResponse)
async def stack_config(request: Request, stack_id: str, principal: Principal = Depends(HEALTH)) -> Response:
    stack = await load_stack(request, principal, stack_id)
    drifts, peers = await config_drift.for_stack(fleet_ports(request), principal.org.org_id, stack,
                                                 await visible_stacks(request, principal))
    text = (await fleet_ports(request).query.config_text(principal.org.org_id, stack_id, stack.config_text_sha256)
            if stack.config_text_sha256 else None)
    git = fleet_ports(request).git
    git_state = await git.drift(principal.org.org_id, stack_id) if git is not None else None
    return await _tab(request, principal, stack_id, "config", drifts=drifts, peers=peers,
                      has_audit=fleet_ports(request).audit is not None, text=text, git_enabled=git is not None,
                      git_state=git_state, can_check=principal.access.allows(Permission.FLEET_STACK_READ, stack_id),
                      can_map=principal.access.allows(Permission.ORG_INTEGRATION_MANAGE),
                      pack_alerts=await open_alerts(request, principal.org.org_id, stack_id))


@router.get("/o/{org}/fleet/stacks/{stack_id}/config/{sha256}", response_class=HTMLResponse)
async def stack_config_version(request: Request, stack_id: str, sha256: str,
                               principal: Principal = Depends(HEALTH)) -> Response:
    """One applied version's governance.fms text, from the apply history."""
    await load_stack(request, principal, stack_id)
    text = await fleet_ports(request).query.config_text(principal.org.org_id, stack_id, sha256.lower())
    if text is None:
        raise NotFound("this stack reported no governance.fms text with that SHA-256")
    history = [h for h in await fleet_ports(request).query.apply_history(principal.org.org_id, stack_id)
               if h.text_sha256 == text.sha256]
    return await _tab(request, principal, stack_id, "applies", "config_version", text=text, versions=history)


@router.get("/o/{org}/fleet/stacks/{stack_id}/applies", response_class=HTMLResponse)
async def stack_applies(request: Request, stack_id: str, principal: Principal = Depends(HEALTH)) -> Response:
    await load_stack(request, principal, stack_id)
    history = await fleet_ports(request).query.apply_history(principal.org.org_id, stack_id)
    return await _tab(request, principal, stack_id, "applies", history=history)


@router.get("/o/{org}/fleet/stacks/{stack_id}/providers", response_class=HTMLResponse)
async def stack_providers(request: Request, stack_id: str, principal: Principal = Depends(HEALTH)) -> Response:
    await load_stack(request, principal, stack_id)
    providers = await fleet_ports(request).query.providers(principal.org.org_id, stack_id)
    return await _tab(request, principal, stack_id, "providers", providers=providers,
                      pack_alerts=await open_alerts(request, principal.org.org_id, stack_id))
