"""Settings → Members → Groups: groups of members (routing rules and escalation steps can
notify a group), their manual members and the IdP group names SSO sign-in syncs into them."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote_plus

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from faramesh_cloud.gateway.web.auth import check_csrf, require
from faramesh_cloud.gateway.web.deps import web
from faramesh_cloud.gateway.web.render import page
from faramesh_cloud.identity.domain import IdentityError, NotFound, Principal
from faramesh_cloud.identity.permissions import Permission

router = APIRouter(include_in_schema=False)
READ = require(Permission.ORG_MEMBER_READ)
MANAGE = require(Permission.ORG_MEMBER_MANAGE)
SSO_MANAGE = require(Permission.ORG_SSO_MANAGE)


async def render_groups(request: Request, principal: Principal, **extra: Any) -> Response:
    groups = await web(request).identity.groups.all(principal.org.org_id)
    return await page(request, "settings/groups.html", principal, {
        "tab": "members", "groups": groups,
        "can_manage": principal.access.allows(Permission.ORG_MEMBER_MANAGE), **extra,
    }, section="settings", status_code=400 if "error" in extra else 200)


async def render_group(request: Request, principal: Principal, group_id: str, **extra: Any) -> Response:
    identity = web(request).identity
    group = await identity.groups.get(principal.org.org_id, group_id)
    inside = {m.user_id for m in group.members if m.manual}
    candidates = [m for m in await identity.members.all(principal.org.org_id) if m.user.user_id not in inside]
    return await page(request, "settings/group.html", principal, {
        "tab": "members", "group": group, "candidates": candidates,
        "can_manage": principal.access.allows(Permission.ORG_MEMBER_MANAGE),
        "can_map": principal.access.allows(Permission.ORG_SSO_MANAGE), **extra,
    }, section="settings", status_code=400 if "error" in extra else 200)


def _back(principal: Principal, group_id: str, flash: str) -> RedirectResponse:
    return RedirectResponse(f"/o/{principal.org.slug}/settings/members/groups/{group_id}?flash={quote_plus(flash)}",
                            status_code=303)


@router.get("/o/{org}/settings/members/groups", response_class=HTMLResponse)
async def groups(request: Request, principal: Principal = Depends(READ)) -> Response:
    return await render_groups(request, principal)


@router.post("/o/{org}/settings/members/groups", dependencies=[Depends(check_csrf)])
async def create(request: Request, name: str = Form(...), description: str = Form(""),
                 principal: Principal = Depends(MANAGE)) -> Response:
    try:
        made = await web(request).identity.groups.create(principal.org.org_id, name, description, principal)
    except IdentityError as exc:
        return await render_groups(request, principal, error=str(exc))
    return _back(principal, made.group_id, f"Group {made.name} created.")


@router.get("/o/{org}/settings/members/groups/{group_id}", response_class=HTMLResponse)
async def group(request: Request, group_id: str, principal: Principal = Depends(READ)) -> Response:
    return await render_group(request, principal, group_id)


@router.post("/o/{org}/settings/members/groups/{group_id}/members", dependencies=[Depends(check_csrf)])
async def add(request: Request, group_id: str, user_id: str = Form(...),
              principal: Principal = Depends(MANAGE)) -> Response:
    try:
        changed = await web(request).identity.groups.add_member(principal.org.org_id, group_id, user_id, principal)
    except IdentityError as exc:
        if isinstance(exc, NotFound) and "group" in str(exc):
            raise
        return await render_group(request, principal, group_id, error=str(exc))
    return _back(principal, changed.group_id, "Member added.")


@router.post("/o/{org}/settings/members/groups/{group_id}/members/{user_id}/remove",
             dependencies=[Depends(check_csrf)])
async def remove(request: Request, group_id: str, user_id: str, principal: Principal = Depends(MANAGE)) -> Response:
    try:
        changed = await web(request).identity.groups.remove_member(principal.org.org_id, group_id, user_id, principal)
    except IdentityError as exc:
        return await render_group(request, principal, group_id, error=str(exc))
    return _back(principal, changed.group_id, "Member removed.")


@router.post("/o/{org}/settings/members/groups/{group_id}/sso", dependencies=[Depends(check_csrf)])
async def sso(request: Request, group_id: str, claims: str = Form(""),
              principal: Principal = Depends(SSO_MANAGE)) -> Response:
    values = [c for c in claims.replace("\n", ",").split(",")]
    try:
        changed = await web(request).identity.groups.set_sso_claims(principal.org.org_id, group_id, values, principal)
    except IdentityError as exc:
        return await render_group(request, principal, group_id, error=str(exc))
    return _back(principal, changed.group_id, "SSO sync saved; it applies at each member's next SSO sign-in.")


@router.post("/o/{org}/settings/members/groups/{group_id}/delete", dependencies=[Depends(check_csrf)])
async def delete(request: Request, group_id: str, principal: Principal = Depends(MANAGE)) -> Response:
    gone = await web(request).identity.groups.delete(principal.org.org_id, group_id, principal)
    return RedirectResponse(f"/o/{principal.org.slug}/settings/members/groups?flash="
                            f"{quote_plus(f'Group {gone.name} deleted.')}", status_code=303)
