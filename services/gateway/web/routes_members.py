"""Settings → Members: invite, remove, change role, per-stack overrides, invitations."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from faramesh_cloud.gateway.web.auth import check_csrf, require
from faramesh_cloud.gateway.web.deps import web
from faramesh_cloud.gateway.web.render import page
from faramesh_cloud.identity.domain import IdentityError, NotFound, Principal
from faramesh_cloud.identity.permissions import Permission, Role, StackRole

router = APIRouter(include_in_schema=False)
READ = require(Permission.ORG_MEMBER_READ)
MANAGE = require(Permission.ORG_MEMBER_MANAGE)


def grantable(principal: Principal) -> list[Role]:
    return [r for r in Role if principal.access.may_grant(r)]


async def render_list(request: Request, principal: Principal, **extra: Any) -> Response:
    identity = web(request).identity
    members = await identity.members.all(principal.org.org_id)
    invitations = await identity.invitations.all(principal.org.org_id)
    now = datetime.now(UTC)
    return await page(request, "settings/members.html", principal, {
        "tab": "members", "members": members, "now": now,
        "invitations": [(i, i.state(now)) for i in invitations if i.state(now) == "pending"],
        "roles": grantable(principal), "can_manage": principal.access.allows(Permission.ORG_MEMBER_MANAGE), **extra,
    }, section="settings", status_code=400 if "error" in extra else 200)


async def render_member(request: Request, principal: Principal, user_id: str, **extra: Any) -> Response:
    deps = web(request)
    person = await deps.identity.members.get(principal.org.org_id, user_id)
    stacks = [s for s in await deps.stacks.list_stacks(principal.org.org_id) if s.registered]
    return await page(request, "settings/member.html", principal, {
        "tab": "members", "member": person, "all_stacks": stacks, "stack_roles": list(StackRole),
        "roles": grantable(principal), "can_manage": principal.access.allows(Permission.ORG_MEMBER_MANAGE), **extra,
    }, section="settings", status_code=400 if "error" in extra else 200)


@router.get("/o/{org}/settings/members", response_class=HTMLResponse)
async def members(request: Request, principal: Principal = Depends(READ)) -> Response:
    return await render_list(request, principal)


@router.post("/o/{org}/settings/members/invite", dependencies=[Depends(check_csrf)])
async def invite(request: Request, email: str = Form(...), role: str = Form(...),
                 principal: Principal = Depends(MANAGE)) -> Response:
    try:
        invitation, token = await web(request).identity.invitations.create(principal.org.org_id, email, Role(role),
                                                                           principal)
    except (IdentityError, ValueError) as exc:
        return await render_list(request, principal, error=str(exc))
    link = str(request.url_for("invitation", token=token))
    return await render_list(request, principal, invited=invitation, invite_link=link)


@router.post("/o/{org}/settings/invitations/{invitation_id}/revoke", dependencies=[Depends(check_csrf)])
async def revoke_invitation(request: Request, invitation_id: str, principal: Principal = Depends(MANAGE)) -> Response:
    revoked = await web(request).identity.invitations.revoke(principal.org.org_id, invitation_id, principal)
    return RedirectResponse(f"/o/{principal.org.slug}/settings/members?flash=Invitation+for+{revoked.email}+revoked.",
                            status_code=303)


@router.get("/o/{org}/settings/members/{user_id}", response_class=HTMLResponse)
async def member_detail(request: Request, user_id: str, principal: Principal = Depends(READ)) -> Response:
    return await render_member(request, principal, user_id)


@router.post("/o/{org}/settings/members/{user_id}/role", dependencies=[Depends(check_csrf)])
async def change_role(request: Request, user_id: str, role: str = Form(...),
                      principal: Principal = Depends(MANAGE)) -> Response:
    try:
        changed = await web(request).identity.members.change_role(principal.org.org_id, user_id, Role(role), principal)
    except NotFound:
        raise
    except (IdentityError, ValueError) as exc:
        return await render_member(request, principal, user_id, error=str(exc))
    return RedirectResponse(f"/o/{principal.org.slug}/settings/members/{user_id}?flash="
                            f"{changed.user.email}+is+now+{changed.role.label}.", status_code=303)


@router.post("/o/{org}/settings/members/{user_id}/remove", dependencies=[Depends(check_csrf)])
async def remove(request: Request, user_id: str, principal: Principal = Depends(MANAGE)) -> Response:
    identity = web(request).identity
    try:
        gone = await identity.members.get(principal.org.org_id, user_id)
        await identity.members.remove(principal.org.org_id, user_id, principal)
    except NotFound:
        raise
    except IdentityError as exc:
        return await render_member(request, principal, user_id, error=str(exc))
    return RedirectResponse(f"/o/{principal.org.slug}/settings/members?flash={gone.user.email}+was+removed.",
                            status_code=303)


@router.post("/o/{org}/settings/members/{user_id}/stacks", dependencies=[Depends(check_csrf)])
async def set_stack_role(request: Request, user_id: str, stack_id: str = Form(...), role: str = Form(""),
                         principal: Principal = Depends(MANAGE)) -> Response:
    try:
        await web(request).identity.members.set_stack_role(
            principal.org.org_id, user_id, stack_id, StackRole(role) if role else None, principal)
    except NotFound:
        raise
    except (IdentityError, ValueError) as exc:
        return await render_member(request, principal, user_id, error=str(exc))
    return RedirectResponse(f"/o/{principal.org.slug}/settings/members/{user_id}?flash=Stack+role+saved.",
                            status_code=303)
