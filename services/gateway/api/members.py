"""``/api/v1/orgs/{org}/members`` and ``/invitations`` (Settings → Members)."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Depends, Request, Response

from faramesh_cloud.gateway.api.models import (
    InvitationIn,
    InvitationOut,
    MemberOut,
    RoleIn,
    StackRoleIn,
)
from faramesh_cloud.gateway.web.auth import check_csrf, require
from faramesh_cloud.gateway.web.deps import web
from faramesh_cloud.identity.domain import Principal
from faramesh_cloud.identity.permissions import Permission

router = APIRouter(prefix="/api/v1/orgs/{org}", tags=["members"])
READ = require(Permission.ORG_MEMBER_READ)
MANAGE = require(Permission.ORG_MEMBER_MANAGE)


@router.get("/members", response_model=list[MemberOut])
async def list_members(request: Request, principal: Principal = Depends(READ)) -> list[MemberOut]:
    return [MemberOut.of(m) for m in await web(request).identity.members.all(principal.org.org_id)]


@router.get("/members/{user_id}", response_model=MemberOut)
async def get_member(user_id: str, request: Request, principal: Principal = Depends(READ)) -> MemberOut:
    return MemberOut.of(await web(request).identity.members.get(principal.org.org_id, user_id))


@router.patch("/members/{user_id}", response_model=MemberOut, dependencies=[Depends(check_csrf)])
async def change_role(user_id: str, body: RoleIn, request: Request, principal: Principal = Depends(MANAGE)) -> MemberOut:
    """Change a member's organisation role (only owners grant or remove Owner)."""
    return MemberOut.of(await web(request).identity.members.change_role(principal.org.org_id, user_id, body.role,
                                                                        principal))


@router.delete("/members/{user_id}", status_code=204, dependencies=[Depends(check_csrf)])
async def remove_member(user_id: str, request: Request, principal: Principal = Depends(MANAGE)) -> Response:
    await web(request).identity.members.remove(principal.org.org_id, user_id, principal)
    return Response(status_code=204)


@router.put("/members/{user_id}/stacks/{stack_id}", response_model=MemberOut, dependencies=[Depends(check_csrf)])
async def set_stack_role(user_id: str, stack_id: str, body: StackRoleIn, request: Request,
                         principal: Principal = Depends(MANAGE)) -> MemberOut:
    """Override the member's role on one stack ('none': no access to it)."""
    return MemberOut.of(await web(request).identity.members.set_stack_role(
        principal.org.org_id, user_id, stack_id, body.role, principal))


@router.delete("/members/{user_id}/stacks/{stack_id}", response_model=MemberOut, dependencies=[Depends(check_csrf)])
async def clear_stack_role(user_id: str, stack_id: str, request: Request,
                           principal: Principal = Depends(MANAGE)) -> MemberOut:
    return MemberOut.of(await web(request).identity.members.set_stack_role(
        principal.org.org_id, user_id, stack_id, None, principal))


@router.get("/invitations", response_model=list[InvitationOut])
async def list_invitations(request: Request, principal: Principal = Depends(MANAGE)) -> list[InvitationOut]:
    now = datetime.now(UTC)
    return [InvitationOut.of(i, now) for i in await web(request).identity.invitations.all(principal.org.org_id)]


@router.post("/invitations", response_model=InvitationOut, status_code=201, dependencies=[Depends(check_csrf)])
async def invite(body: InvitationIn, request: Request, principal: Principal = Depends(MANAGE)) -> InvitationOut:
    """Invite someone; the answer carries the one-time link (the only time it exists)."""
    invitation, token = await web(request).identity.invitations.create(principal.org.org_id, body.email, body.role,
                                                                       principal)
    return InvitationOut.of(invitation, datetime.now(UTC), str(request.url_for("invitation", token=token)))


@router.delete("/invitations/{invitation_id}", response_model=InvitationOut, dependencies=[Depends(check_csrf)])
async def revoke_invitation(invitation_id: str, request: Request,
                            principal: Principal = Depends(MANAGE)) -> InvitationOut:
    revoked = await web(request).identity.invitations.revoke(principal.org.org_id, invitation_id, principal)
    return InvitationOut.of(revoked, datetime.now(UTC))
