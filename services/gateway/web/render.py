"""Templates and the shared layout's context: navigation, org switcher, stack filter, CSRF.

Navigation is data: :class:`NavSection` entries (built-in Home and Settings plus whatever
the composition root passes to ``create_app``) shown when the member holds any of their
permissions. Sections not built yet are simply not in the list.
"""

from __future__ import annotations

from importlib import resources
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from markupsafe import escape

from faramesh_cloud.gateway.web.auth import caller, csrf_token
from faramesh_cloud.gateway.web.deps import NavSection, visible_stacks_of, web
from faramesh_cloud.gateway.web.shell import effect_badge, time_tag
from faramesh_cloud.identity.domain import Principal
from faramesh_cloud.identity.permissions import Permission

HOME = NavSection("home", "Home", "/")
SETTINGS_TABS: tuple[NavSection, ...] = (
    NavSection("organization", "Organization", "/settings/organization", (Permission.ORG_SETTINGS_READ,)),
    NavSection("members", "Members", "/settings/members", (Permission.ORG_MEMBER_READ,)),
    NavSection("stacks", "Stacks", "/settings/stacks", (Permission.ORG_STACK_MANAGE,)),
    NavSection("integrations", "Integrations", "/settings/integrations",
               (Permission.ORG_INTEGRATION_MANAGE, Permission.APPROVALS_ROUTING_MANAGE)),
    NavSection("api-keys", "API keys", "/settings/api-keys", (Permission.ORG_APIKEY_MANAGE,)),
    NavSection("config-assistant", "Config Assistant", "/settings/config-assistant", (Permission.ORG_SETTINGS_READ,)),
    NavSection("billing", "Billing", "/settings/billing", (Permission.ORG_BILLING_READ,)),
    NavSection("audit-log", "Platform audit log", "/settings/audit-log", (Permission.ORG_AUDITLOG_READ,)),
    NavSection("retention", "Retention", "/settings/retention", (Permission.ORG_RETENTION_MANAGE,)),
)


def make_templates() -> Jinja2Templates:
    directory = resources.files("faramesh_cloud.gateway") / "templates"
    templates = Jinja2Templates(directory=str(directory))
    templates.env.filters["ts"] = time_tag  # one timestamp format everywhere (web/shell.py)
    templates.env.filters["effect"] = effect_badge  # effects: colour and word (web/shell.py)
    templates.env.globals["escape"] = escape
    return templates


def allowed(section: NavSection, principal: Principal) -> bool:
    return not section.needs or any(principal.access.allows_anywhere(Permission(p)) for p in section.needs)


# Settings tabs that exist only when the service behind them is mounted (app.state attribute).
NEEDS_SERVICE = {"integrations": "notifications"}


def settings_tabs(principal: Principal, request: Request | None = None) -> list[NavSection]:
    return [t for t in SETTINGS_TABS if allowed(t, principal) and (
        t.key not in NEEDS_SERVICE
        or (request is not None and getattr(request.app.state, NEEDS_SERVICE[t.key], None) is not None))]


def nav_for(request: Request, principal: Principal) -> list[NavSection]:
    sections = [HOME, *web(request).sections]
    visible = [s for s in sections if allowed(s, principal)]
    tabs = settings_tabs(principal, request)
    if tabs:
        visible.append(NavSection("settings", "Settings", tabs[0].path))
    return visible


async def page(request: Request, template: str, principal: Principal | None, context: dict[str, Any],
               *, status_code: int = 200, section: str = "") -> HTMLResponse:
    """Render ``template`` in the layout (or bare, without a principal)."""
    templates: Jinja2Templates = request.app.state.templates
    found = await caller(request)
    ctx: dict[str, Any] = {"principal": principal, "section": section, "flash": request.query_params.get("flash")}
    if principal is not None:
        deps = web(request)
        stack = request.query_params.get("stack") or ""
        stacks = visible_stacks_of(principal, await deps.stacks.list_stacks(principal.org.org_id))
        ctx.update({
            "org": principal.org,
            "base": f"/o/{principal.org.slug}",
            "nav": nav_for(request, principal),
            "tabs": settings_tabs(principal, request),
            "stacks": [s for s in stacks if s.registered],
            "stack": stack,
            "stack_query": ("?" + urlencode({"stack": stack})) if stack else "",
            "memberships": (await deps.identity.members.memberships_of(principal.user.user_id)
                            if principal.user is not None else []),
        })
    ctx["user"] = found.session.user if found is not None and found.session is not None else None
    ctx["csrf"] = csrf_token(request)
    ctx.update(context)
    response = templates.TemplateResponse(request, template, ctx, status_code=status_code)
    csrf_token(request, response)  # signed out: sets the fmc_csrf cookie the forms' token matches
    return response
