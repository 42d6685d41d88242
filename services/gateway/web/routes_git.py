"""Settings → Integrations → Git: connect GitHub, GitLab, Bitbucket or Azure DevOps with a token
(sealed, never shown again), map stacks to a repository + path + main branch (the token must
read that path: checked before anything is stored), the last drift check of each mapping; and
the Config tab's "Check now". Connect/map: Owner and Admin (``org:integration:manage``); check
now: ``fleet:stack:read`` (Operators too). Every change is a platform audit entry written by the fleet in the
change's transaction."""

from __future__ import annotations

from typing import Any, Final
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from faramesh_cloud.gateway.web.auth import check_csrf, require
from faramesh_cloud.gateway.web.fleet_ports import fleet_ports
from faramesh_cloud.gateway.web.git_ports import git_port
from faramesh_cloud.gateway.web.notifications_ports import not_found, refusal
from faramesh_cloud.gateway.web.render import page
from faramesh_cloud.identity.domain import Principal
from faramesh_cloud.identity.permissions import Permission

router = APIRouter(include_in_schema=False)
ADMIN = require(Permission.ORG_INTEGRATION_MANAGE)
STACKS = require(Permission.FLEET_STACK_READ)
PATH: Final = "/settings/integrations/git"


def _back(principal: Principal, message: str) -> Response:
    return RedirectResponse(f"/o/{principal.org.slug}{PATH}?{urlencode({'flash': message})}", status_code=303)


async def render(request: Request, principal: Principal, *, status_code: int = 200, **extra: Any) -> Response:
    port = git_port(request)
    org_id = principal.org.org_id
    stacks = await fleet_ports(request).query.stacks(org_id)
    return await page(request, "settings/git.html", principal, {
        "tab": "integrations", "connections": await port.connections(org_id), "providers": port.providers,
        "labels": port.labels, "defaults": port.defaults, "drifts": {d.stack_id: d for d in await port.drifts(org_id)},
        "mappings": await port.mappings(org_id), "stacks": stacks, "names": {s.stack_id: s.name for s in stacks},
        "path": PATH, "form": extra.pop("form", {}), **extra,
    }, section="settings", status_code=status_code)


@router.get("/o/{org}/settings/integrations/git", response_class=HTMLResponse)
async def git_page(request: Request, principal: Principal = Depends(ADMIN)) -> Response:
    return await render(request, principal)


@router.post("/o/{org}/settings/integrations/git/connections", dependencies=[Depends(check_csrf)])
async def connect_git(request: Request, principal: Principal = Depends(ADMIN)) -> Response:
    form = await request.form()
    values = {k: str(form.get(k) or "") for k in ("name", "provider", "base_url", "username")}
    try:
        made = await git_port(request).connect(principal.org.org_id, values["name"], values["provider"],
                                               values["base_url"], str(form.get("token") or ""), principal.actor,
                                               username=values["username"])
    except ValueError as exc:  # the token is not echoed back into the form
        return await render(request, principal, error=str(exc), status_code=refusal(exc), form=values)
    return _back(principal, f"Connected {made.name}; the token is sealed and will not be shown again.")


@router.post("/o/{org}/settings/integrations/git/connections/{connection_id}/delete",
             dependencies=[Depends(check_csrf)])
async def disconnect_git(request: Request, connection_id: str, principal: Principal = Depends(ADMIN)) -> Response:
    try:
        gone = await git_port(request).disconnect(principal.org.org_id, connection_id, principal.actor)
    except LookupError as exc:
        raise not_found(exc) from None
    return _back(principal, f"Disconnected {gone.name}; its token and its stacks' mappings are deleted.")


@router.post("/o/{org}/settings/integrations/git/mappings", dependencies=[Depends(check_csrf)])
async def map_stack(request: Request, principal: Principal = Depends(ADMIN)) -> Response:
    form = await request.form()
    values = {k: str(form.get(k) or "") for k in ("stack_id", "connection_id", "repository", "path", "branch")}
    try:
        mapped = await git_port(request).map_stack(principal.org.org_id, values["stack_id"], values["connection_id"],
                                                   values["repository"], values["path"], values["branch"],
                                                   principal.actor)
    except LookupError as exc:
        return await render(request, principal, error=str(exc.args[0]) if exc.args else "not found", status_code=404,
                            form=values)
    except ValueError as exc:
        return await render(request, principal, error=str(exc), status_code=refusal(exc), form=values)
    return _back(principal, f"Mapped to {mapped.path} on {mapped.branch} of {mapped.repository}.")


@router.post("/o/{org}/settings/integrations/git/mappings/{stack_id}/delete", dependencies=[Depends(check_csrf)])
async def unmap_stack(request: Request, stack_id: str, principal: Principal = Depends(ADMIN)) -> Response:
    try:
        gone = await git_port(request).unmap(principal.org.org_id, stack_id, principal.actor)
    except LookupError as exc:
        raise not_found(exc) from None
    return _back(principal, f"Unmapped from {gone.repository}; its drift is no longer checked.")


@router.post("/o/{org}/fleet/stacks/{stack_id}/config/git-check", dependencies=[Depends(check_csrf)])
async def check_now(request: Request, stack_id: str, principal: Principal = Depends(STACKS)) -> Response:
    if not principal.access.allows(Permission.FLEET_STACK_READ, stack_id):
        raise not_found(LookupError(f"no stack {stack_id!r}"))
    try:
        state = await git_port(request).check(principal.org.org_id, stack_id, principal.actor)
    except LookupError as exc:
        raise not_found(exc) from None
    message = f"Check failed: {state.error}" if state.error else f"Checked {state.branch} at {state.head_commit[:12]}."
    return RedirectResponse(f"/o/{principal.org.slug}/fleet/stacks/{stack_id}/config?{urlencode({'flash': message})}",
                            status_code=303)
