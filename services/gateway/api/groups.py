"""``/api/v1/orgs/{org}/groups`` (Settings → Members → Groups): groups of members, their
manual members and the IdP group names SSO sign-in syncs into them."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from faramesh_cloud.gateway.api.models import GroupIn, GroupMemberIn, GroupOut, GroupSsoIn
from faramesh_cloud.gateway.web.auth import check_csrf, require
from faramesh_cloud.gateway.web.deps import web
from faramesh_cloud.identity.domain import Principal
from faramesh_cloud.identity.permissions import Permission

router = APIRouter(prefix="/api/v1/orgs/{org}", tags=["groups"])
READ = require(Permission.ORG_MEMBER_READ)
MANAGE = require(Permission.ORG_MEMBER_MANAGE)
SSO_MANAGE = require(Permission.ORG_SSO_MANAGE)


@router.get("/groups", response_model=list[GroupOut])
async def list_groups(request: Request, principal: Principal = Depends(READ)) -> list[GroupOut]:
    return [GroupOut.of(g) for g in await web(request).identity.groups.all(principal.org.org_id)]


@router.post("/groups", response_model=GroupOut, status_code=201, dependencies=[Depends(check_csrf)])
async def create_group(body: GroupIn, request: Request, principal: Principal = Depends(MANAGE)) -> GroupOut:
    """Create a group (names are unique per organisation, case-insensitively)."""
    return GroupOut.of(await web(request).identity.groups.create(principal.org.org_id, body.name, body.description,
                                                                 principal))


@router.get("/groups/{group_id}", response_model=GroupOut)
async def get_group(group_id: str, request: Request, principal: Principal = Depends(READ)) -> GroupOut:
    return GroupOut.of(await web(request).identity.groups.get(principal.org.org_id, group_id))


@router.delete("/groups/{group_id}", response_model=GroupOut, dependencies=[Depends(check_csrf)])
async def delete_group(group_id: str, request: Request, principal: Principal = Depends(MANAGE)) -> GroupOut:
    """Delete a group (its memberships and SSO sync go with it)."""
    return GroupOut.of(await web(request).identity.groups.delete(principal.org.org_id, group_id, principal))


@router.post("/groups/{group_id}/members", response_model=GroupOut, dependencies=[Depends(check_csrf)])
async def add_member(group_id: str, body: GroupMemberIn, request: Request,
                     principal: Principal = Depends(MANAGE)) -> GroupOut:
    """Add a member to the group by hand (kept apart from SSO-synced memberships)."""
    return GroupOut.of(await web(request).identity.groups.add_member(principal.org.org_id, group_id, body.user_id,
                                                                     principal))


@router.delete("/groups/{group_id}/members/{user_id}", response_model=GroupOut, dependencies=[Depends(check_csrf)])
async def remove_member(group_id: str, user_id: str, request: Request,
                        principal: Principal = Depends(MANAGE)) -> GroupOut:
    """Remove a membership added by hand (a synced one is the identity provider's to change)."""
    return GroupOut.of(await web(request).identity.groups.remove_member(principal.org.org_id, group_id, user_id,
                                                                        principal))


@router.put("/groups/{group_id}/sso", response_model=GroupOut, dependencies=[Depends(check_csrf)])
async def set_sso_groups(group_id: str, body: GroupSsoIn, request: Request,
                         principal: Principal = Depends(SSO_MANAGE)) -> GroupOut:
    """The IdP group names (values of the SSO groups claim) synced into this group at sign-in."""
    return GroupOut.of(await web(request).identity.groups.set_sso_claims(principal.org.org_id, group_id,
                                                                         body.sso_groups, principal))
